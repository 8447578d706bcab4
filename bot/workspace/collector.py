"""Python's cyclic collector during a report. Starting up (imports, DVC's repo and index, and in a
chart worker matplotlib) and reading the revisions build objects that live until the report is
written and are no garbage; the collector would scan them again and again as they are made (a
quarter of DVC's start-up, an eighth of matplotlib's import). So it pauses while they are built,
and then they are set aside (gc.freeze): later collections, of the garbage that the pipeline's
steps, charts and rendering do make, leave them alone."""

from __future__ import annotations

import gc


class CollectorPause:
    """Pauses the collector from its creation; `set_aside` resumes it, `pause` stops it again."""

    def __init__(self) -> None:
        self._collecting = gc.isenabled()  # a caller that turned it off keeps it off
        gc.disable()

    def pause(self) -> None:
        gc.disable()

    def set_aside(self) -> None:
        """Keep everything alive now out of later collections, and resume them."""
        gc.freeze()
        if self._collecting:
            gc.enable()

    def end(self) -> None:
        """Undo both, for a caller that goes on in the same process."""
        gc.unfreeze()
        if self._collecting:
            gc.enable()
