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


def user_workflows(tmp_path: Path) -> list[Path]:
    """What users copy: the example workflows, and the workflows the docs and the README show."""
    documents = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
    blocks = [block for document in documents
              for block in re.findall(r"```yaml\n(.*?)```", document.read_text(encoding="utf-8"), flags=re.S)]
    paths = sorted((ROOT / "examples" / "github").glob("*.yml"))
    # Forgejo's workflows name actions by URL, which GitHub's actionlint refuses: tests/test_forgejo_e2e.py
    # checks those against the workflow schema.
    github = [block for block in blocks if re.search(r"^jobs:", block, re.M) and "data.forgejo.org" not in block]
    for index, block in enumerate(github):
        paths.append(tmp_path / f"documented-{index}.yml")
        paths[-1].write_text(block, encoding="utf-8")
    return paths


def actionlint(*workflows: Path) -> subprocess.CompletedProcess:
    # actionlint runs shellcheck over every `run:` block when shellcheck is on PATH: make sure it is.
    return subprocess.run(
        [str(BIN / "actionlint"), "-verbose", *map(str, workflows)],
        cwd=ROOT, capture_output=True, text=True, env={"PATH": f"{BIN}:/usr/bin:/bin"},
    )


@pytest.mark.parametrize("workflow", WORKFLOWS, ids=lambda path: path.name)
def test_workflow_passes_actionlint(workflow):
    done = actionlint(workflow)
    assert done.returncode == 0, done.stdout + done.stderr
    assert 'Rule "shellcheck" was disabled' not in done.stderr


def test_the_workflows_users_copy_pass_actionlint(tmp_path):
    workflows = user_workflows(tmp_path)
    assert len(workflows) >= 12  # 6 examples, and the docs' and the README's copies of them
    done = actionlint(*workflows)
    assert done.returncode == 0, done.stdout + done.stderr


# The first major of each action GitHub's own actions ship that runs on Node 24: GitHub retired Node 20
# from its runners in 2026, and older majors stop running (actions/checkout#2238: v5; setup-python v6;
# upload-artifact v5 and download-artifact v5/v6 were still Node 20).
FIRST_NODE24_MAJOR = {"checkout": 5, "setup-python": 6, "upload-artifact": 6, "download-artifact": 7,
                      "setup-node": 5, "cache": 5, "github-script": 8}


def test_every_workflow_uses_action_majors_that_still_run(tmp_path):
    uses = [(path.name, name, int(major))
            for path in [*WORKFLOWS, *user_workflows(tmp_path)]
            for name, major in re.findall(r"uses: actions/([a-z-]+)@v(\d+)", path.read_text(encoding="utf-8"))]
    assert {name for _, name, _ in uses} >= {"checkout", "upload-artifact", "download-artifact", "setup-python"}
    old = [(path, name, major) for path, name, major in uses if major < FIRST_NODE24_MAJOR.get(name, 0)]
    assert old == [], "these actions run on Node 20, which GitHub's runners no longer have"


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
