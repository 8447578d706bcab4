"""Collapsible sections of the job log, in each CI system's own markers, so a stage's output folds
under one line: GitHub's `::group::`/`::endgroup::` workflow commands, GitLab's section markers."""

from __future__ import annotations

import re
import time
from dataclasses import dataclass

from bot.ci.context import FORGEJO, GITHUB, GITLAB

# A title or section name from dvc.yaml must not end the marker line or start another command.
_UNSAFE_TITLE = re.compile(r"[^\w .,;:@/'()=+-]")
_UNSAFE_NAME = re.compile(r"[^A-Za-z0-9_.-]")


@dataclass(frozen=True)
class LogFolds:
    forge: str = ""  # GITHUB, FORGEJO, GITLAB; anything else writes no markers (a laptop's terminal)

    def start(self, key: str, title: str) -> str:
        """The line that opens a section; "" where the log has no sections."""
        title = _UNSAFE_TITLE.sub("_", title)[:200]
        if self.forge in (GITHUB, FORGEJO):  # Forgejo's runner (act) knows GitHub's workflow commands
            return f"::group::{title}\n"
        if self.forge == GITLAB:
            return f"\x1b[0Ksection_start:{int(time.time())}:{_name(key)}[collapsed=true]\r\x1b[0K{title}\n"
        return ""

    def end(self, key: str) -> str:
        if self.forge in (GITHUB, FORGEJO):
            return "::endgroup::\n"
        if self.forge == GITLAB:
            return f"\x1b[0Ksection_end:{int(time.time())}:{_name(key)}\r\x1b[0K\n"
        return ""


def _name(key: str) -> str:
    return "mrbot_" + _UNSAFE_NAME.sub("_", key)[:80]
