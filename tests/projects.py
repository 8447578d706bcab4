"""Small real git + DVC projects for tests: base committed on `main`, head on branch `pr`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from dvc.repo import Repo

from bot.workspace.demo import git


def write_files(root: Path, files: dict[str, Any]) -> None:
    """Write each file; dicts and lists become JSON, everything else is text as given."""
    for name, content in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if content is None:
            path.unlink(missing_ok=True)
        elif isinstance(content, (dict, list)):
            path.write_text(json.dumps(content))
        else:
            path.write_text(str(content))


def make_project(root: Path, base: dict[str, Any], head: dict[str, Any] | None = None) -> Path:
    """`base` files committed on main; `head` (changes on top, None deletes) committed on branch pr."""
    root.mkdir(parents=True, exist_ok=True)
    git(root, "init", "-q", "-b", "main")
    Repo.init(str(root)).close()
    write_files(root, base)
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "base")
    git(root, "checkout", "-q", "-b", "pr")
    if head:
        write_files(root, head)
        git(root, "add", "-A")
        git(root, "commit", "-q", "-m", "head")
    return root


METRICS_ONLY_DVC_YAML = "metrics:\n  - metrics.json\n"
