"""What the docs show users to copy: their YAML blocks, and checking a file against one of the CI
schemas check-jsonschema vendors (GitLab's, GitHub's workflows, Bitbucket's pipelines)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def yaml_blocks(*documents: str, containing: str) -> list[str]:
    """The ```yaml blocks of these files (relative to the repository) that match `containing`."""
    texts = [(ROOT / document).read_text(encoding="utf-8") for document in documents]
    return [block for text in texts for block in re.findall(r"```yaml\n(.*?)```", text, flags=re.S)
            if re.search(containing, block, re.M)]


def schema_check(schema: str, *paths: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "check_jsonschema", "--builtin-schema", f"vendor.{schema}",
                           *map(str, paths)], capture_output=True, text=True, timeout=120)
