"""The README tells a newcomer what to type and copy: its runnable command blocks run, and what it
copies from elsewhere (the CLI's flags, the example workflow, the config keys, links) is still true."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from bot.config import _TOP_LEVEL_KEYS, parse_config

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")
MARKER = "<!-- runnable -->"


def fenced_blocks(text: str) -> list[tuple[str, str, str]]:
    """(what stands before the fence, language, body) of every fenced block."""
    pattern = re.compile(r"^```(\w*)\n(.*?)^```$", re.S | re.M)
    return [(text[: match.start()], match.group(1), match.group(2)) for match in pattern.finditer(text)]


def runnable_blocks() -> list[str]:
    return [body for before, _, body in fenced_blocks(README) if before.rstrip().endswith(MARKER)]


def block_after(heading: str, language: str) -> str:
    """The first `language` block after the line `heading`."""
    start = README.index(heading)
    return next(body for before, lang, body in fenced_blocks(README) if len(before) > start and lang == language)


def test_the_readme_marks_its_runnable_blocks():
    blocks = runnable_blocks()
    assert len(blocks) >= 2
    assert README.count(MARKER) == len(blocks), "a runnable marker must stand right before a ```sh fence"


@pytest.mark.parametrize("block", runnable_blocks(), ids=lambda block: block.splitlines()[0])
def test_runnable_block_runs(block, tmp_path):
    # As a newcomer would: a fresh directory, mrbot on PATH; every line must succeed.
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}", "DVC_NO_ANALYTICS": "1"}
    done = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", block], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, f"README block failed:\n{block}\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    assert done.stdout.strip()


def test_the_readme_lists_every_flag_of_mrbot_report():
    pasted = block_after("### Command line", "text")
    real = subprocess.run(
        [sys.executable, "-m", "bot", "report", "--help"], capture_output=True, text=True, check=True
    ).stdout
    flags = re.compile(r"(?<![\w-])--[a-z][a-z-]+")
    assert set(flags.findall(pasted)) == set(flags.findall(real)), "paste the output of `mrbot report --help` again"


def test_the_github_workflow_is_the_example_file():
    workflow = block_after("## GitHub: the workflow to copy", "yaml")
    assert workflow == (ROOT / "examples" / "github" / "mrbot.yml").read_text(encoding="utf-8")


def test_the_config_table_names_every_key_and_the_example_is_valid():
    table = README[README.index("### `.mrbot.yml`"):README.index("### Command line")]
    documented = set(re.findall(r"^\| `([a-z_.]+)` \|", table, re.M))
    top_level = {key.split(".")[0] for key in documented}
    assert top_level == set(_TOP_LEVEL_KEYS)
    example = yaml.safe_load(block_after("### `.mrbot.yml`", "yaml"))
    config = parse_config(example, "README.md", ROOT)
    assert config.fail_on_regression is True
    assert config.plots_exclude == ["*.png"]


def test_relative_links_point_at_files_in_the_repository():
    targets = re.findall(r"\]\((?!https?://|#)([^)#\s]+)", README)
    assert targets
    missing = [target for target in targets if not (ROOT / target).exists()]
    assert missing == []


@pytest.mark.parametrize("document", ["README.md", "CONTRIBUTING.md"])
def test_the_paths_the_tree_map_names_exist(document):
    # The map of the tree goes stale when a module moves: every bot/ or tests/ path it names exists.
    text = (ROOT / document).read_text(encoding="utf-8")
    named = set(re.findall(r"`((?:bot|tests|benchmarks|scripts)/[A-Za-z0-9_./-]*)", text))
    assert any(path.startswith("bot/") for path in named)
    missing = sorted(path for path in named if not (ROOT / path.rstrip("/")).exists())
    assert missing == []
