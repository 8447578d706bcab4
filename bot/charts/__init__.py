"""Drawing the charts of the plots (one module per chart kind), apart from the worker pool that runs it."""
