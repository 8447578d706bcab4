"""A drawn chart, as the report shows it: its images in the bundle, notes, and Mermaid text."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Chart:
    plot_id: str
    title: str
    template: str
    images: list[str] = field(default_factory=list)  # paths relative to the bundle
    image_labels: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    mermaid: str = ""
    mermaid_caption: str = ""  # what Mermaid cannot say itself: which colour is which, what was resampled
