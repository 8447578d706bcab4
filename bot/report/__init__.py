"""Report: data model, Markdown rendering, bundle on disk. Knows neither DVC nor any forge."""
