"""Linters over the container and release files: hadolint (Dockerfile), actionlint and GitHub's
workflow schema (.github/workflows), shellcheck (the image's shell scripts). The linters come from
the `test` extra; a missing one fails here rather than passing silently."""

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
WORKFLOWS = [ROOT / ".github" / "workflows" / name for name in ("ci.yml", "release.yml")]
SHELL_SCRIPTS = [
    ROOT / path for path in ("scripts/test-image.sh", "docker/entrypoint.sh", "docker/strip-wheels.sh", ".ci/run")
]


def lint(tool: str, *args: str) -> subprocess.CompletedProcess:
    done = subprocess.run([str(BIN / tool), *args], cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0, f"{tool} found problems:\n{done.stdout}{done.stderr}"
    return done


def test_dockerfile_passes_hadolint():
    lint("hadolint", "--failure-threshold", "info", "Dockerfile")


def test_every_hadolint_ignore_in_the_dockerfile_is_explained():
    lines = (ROOT / "Dockerfile").read_text().splitlines()
    for number, line in enumerate(lines):
        ignored = re.match(r"# hadolint ignore=(\S+)", line)
        if ignored:
            comments = "\n".join(lines[max(0, number - 6):number])
            for rule in ignored.group(1).split(","):
                assert rule in comments, f"Dockerfile line {number + 1}: say why {rule} is ignored, just above"


@pytest.mark.parametrize("workflow", WORKFLOWS, ids=lambda path: path.name)
def test_workflow_passes_actionlint(workflow):
    # actionlint runs shellcheck over every `run:` block when shellcheck is on PATH: make sure it is.
    done = subprocess.run(
        [str(BIN / "actionlint"), "-verbose", str(workflow)],
        cwd=ROOT, capture_output=True, text=True, env={"PATH": f"{BIN}:/usr/bin:/bin"},
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert 'Rule "shellcheck" was disabled' not in done.stderr


@pytest.mark.parametrize("workflow", WORKFLOWS, ids=lambda path: path.name)
def test_workflow_matches_githubs_schema(workflow):
    lint("check-jsonschema", "--builtin-schema", "vendor.github-workflows", str(workflow))


def test_image_shell_scripts_pass_shellcheck():
    lint("shellcheck", *map(str, SHELL_SCRIPTS))


def test_the_changelog_has_a_section_for_the_current_version():
    # release.yml refuses to release a version the changelog does not describe; fail sooner.
    from bot import __version__

    changelog = (ROOT / "CHANGELOG.md").read_text(encoding="utf-8")
    assert re.search(rf"^## \[{re.escape(__version__)}\]", changelog, re.M)
