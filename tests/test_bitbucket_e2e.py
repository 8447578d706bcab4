"""End to end on a real git + DVC project: the example bitbucket-pipelines.yml's own step script,
run with the variables Bitbucket Pipelines sets, through the image's entrypoint and the installed
`mrbot`, talking over a socket to the fake Bitbucket Cloud on 127.0.0.1."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from bot.errors import EXIT_FORGE_REFUSED, EXIT_OK
from bot.forges.base import parse_marker
from tests.documented import schema_check, yaml_blocks
from tests.servers.bitbucket import FakeBitbucket, User

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "bitbucket" / "bitbucket-pipelines.yml"
TOKEN = "ATCTT3xFfGN0E2eTokenThatMustNeverLeak"
BOT = User("{0b0b0b0b-0000-4000-8000-00000000b0b0}", "mrbot token", "mrbot-token", "acc-bot")


def git(root: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=root, capture_output=True, text=True, check=True).stdout.strip()


def pull_request_script() -> list[str]:
    pipelines = yaml.safe_load(EXAMPLE.read_text(encoding="utf-8"))["pipelines"]
    [entry] = pipelines["pull-requests"]["**"]
    return entry["step"]["script"]


@pytest.fixture
def bitbucket(demo_project):
    with FakeBitbucket() as fake:
        fake.add_token(TOKEN, BOT)
        fake.add_pull_request(5, git(demo_project, "rev-parse", "HEAD"), source_branch="experiment",
                              destination_sha=git(demo_project, "rev-parse", "main"))
        yield fake


def run_step(fake: FakeBitbucket, project: Path, tmp_path: Path, **variables: str) -> subprocess.CompletedProcess:
    """The step as Pipelines runs it: its script lines in one shell, stopping at the first failure."""
    tools = tmp_path / "image-bin"
    tools.mkdir(exist_ok=True)
    if not (tools / "mrbot-entrypoint").exists():
        (tools / "mrbot-entrypoint").symlink_to(ROOT / "docker" / "entrypoint.sh")
    head = git(project, "rev-parse", "HEAD")
    environ = {
        "PATH": f"{tools}:{Path(sys.executable).parent}:/usr/local/bin:/usr/bin:/bin",
        **{name: os.environ[name] for name in ("HOME", "GIT_CONFIG_GLOBAL", "GIT_CONFIG_NOSYSTEM",
                                               "DVC_NO_ANALYTICS") if name in os.environ},
        **fake.pipeline_variables(5, head),
        "BITBUCKET_TOKEN": TOKEN,  # the secured repository variable
        "MRBOT_PULL": "false",  # the demo's outputs are in its workspace; no remote to pull from here
        **variables,
    }
    return subprocess.run(["sh", "-e", "-c", "\n".join(pull_request_script())], cwd=project, env=environ,
                          capture_output=True, text=True, timeout=300)


def bundle_text(bundle: Path) -> str:
    return "".join(path.read_bytes().decode("utf-8", "replace") for path in sorted(bundle.rglob("*")) if path.is_file())


def test_the_example_step_posts_one_comment_status_and_insights_and_a_rerun_edits_it(bitbucket, demo_project, tmp_path):
    head = git(demo_project, "rev-parse", "HEAD")

    done = run_step(bitbucket, demo_project, tmp_path)

    assert done.returncode == EXIT_OK, done.stderr
    [comment] = bitbucket.pull_comments(5)
    assert comment.user == BOT
    assert parse_marker(comment.raw) == ("default", head)
    assert "✅ Model improved" in comment.raw and "test.accuracy" in comment.raw
    assert not re.search(r"<(details|summary|sub|!--)", comment.raw)  # Bitbucket would show tags as text
    tip = bitbucket.branches["mrbot-assets"]
    images = bitbucket.trees[tip]
    assert images and all(data.startswith(b"\x89PNG") for data in images.values())
    for path in images:
        assert f"]({bitbucket.url}/team/model/raw/{tip}/{path})" in comment.raw
    status = bitbucket.statuses[(head, "mrbot")]
    assert status["state"] == "SUCCESSFUL" and status["url"].endswith(f"#comment-{comment.id}")
    insights = bitbucket.reports[(head, "mrbot-default")]
    assert insights["result"] == "PASSED" and insights["title"].startswith("mrbot: ✅ Model improved")
    bundle = demo_project / "mrbot-report"  # the step's artifact
    assert {"report.md", "report.json"} <= {path.name for path in bundle.iterdir()}
    for output in (done.stdout, done.stderr, bundle_text(bundle), comment.raw):
        assert TOKEN not in output

    again = run_step(bitbucket, demo_project, tmp_path)

    assert again.returncode == EXIT_OK, again.stderr
    assert len(bitbucket.requests_to("POST", r"/pullrequests/5/comments$")) == 1
    assert [c.id for c in bitbucket.pull_comments(5)] == [comment.id]
    assert bitbucket.branches["mrbot-assets"] == tip  # the same charts: linked again, not committed again


def documented_pipe() -> dict:
    """The pipe step docs/bitbucket.md shows: its image and the variables it passes."""
    [block] = yaml_blocks("docs/bitbucket.md", containing=r"^\s*- pipe: ")
    [step] = yaml.safe_load(block)
    [entry] = step["step"]["script"]
    return entry


def test_the_documented_pipe_runs_the_report_with_only_the_variables_it_passes(bitbucket, demo_project, tmp_path):
    """A pipe's container gets Bitbucket's default variables and the pipe's own, no arguments; the
    image's entrypoint then runs `mrbot report`. The rest of the step's variables stay outside."""
    pipe = documented_pipe()
    assert pipe["pipe"] == "docker://ghcr.io/mrbot-dev/mrbot:v0"
    passed = {name: value.replace("$BITBUCKET_TOKEN", TOKEN) for name, value in pipe["variables"].items()}
    assert passed["BITBUCKET_TOKEN"] == TOKEN
    (demo_project / "requirements.txt").write_text("PyYAML\n")  # already in mrbot's environment: no download
    tools = tmp_path / "image-bin"
    tools.mkdir()
    (tools / "mrbot-entrypoint").symlink_to(ROOT / "docker" / "entrypoint.sh")
    environ = {
        "PATH": f"{tools}:{Path(sys.executable).parent}:/usr/local/bin:/usr/bin:/bin",
        "PIP_DISABLE_PIP_VERSION_CHECK": "1",
        **{name: os.environ[name] for name in ("HOME", "GIT_CONFIG_GLOBAL", "GIT_CONFIG_NOSYSTEM",
                                               "DVC_NO_ANALYTICS") if name in os.environ},
        **bitbucket.pipeline_variables(5, git(demo_project, "rev-parse", "HEAD")),
        **passed,
        "MRBOT_PULL": "false",  # one more pipe variable here: the demo has no DVC remote to pull from
    }
    done = subprocess.run(["mrbot-entrypoint"], cwd=demo_project, env=environ, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == EXIT_OK, done.stderr
    assert "running MRBOT_INSTALL: pip install -r requirements.txt" in done.stderr
    [comment] = bitbucket.pull_comments(5)
    assert "✅ Model improved" in comment.raw
    assert TOKEN not in done.stdout + done.stderr


def test_a_refused_token_exits_4_with_the_fix_and_keeps_the_report(bitbucket, demo_project, tmp_path):
    done = run_step(bitbucket, demo_project, tmp_path, BITBUCKET_TOKEN="ATCTT3xFfGN0RevokedTokenValue")

    assert done.returncode == EXIT_FORGE_REFUSED
    assert "401" in done.stderr and "access token" in done.stderr and "BITBUCKET_TOKEN" in done.stderr
    assert "Traceback" not in done.stderr and "RevokedTokenValue" not in done.stderr
    assert (demo_project / "mrbot-report" / "report.md").is_file()
    assert not bitbucket.pull_comments(5)


def test_the_example_validates_against_bitbuckets_pipelines_schema():
    done = schema_check("bitbucket-pipelines", EXAMPLE)
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_schema_check_catches_a_broken_pipeline(tmp_path):
    broken = tmp_path / "bitbucket-pipelines.yml"
    # The schema is loose about unknown keys, but not about the shape of a step's script.
    broken.write_text("pipelines:\n  pull-requests:\n    '**':\n      - step:\n          script: mrbot report\n")
    done = schema_check("bitbucket-pipelines", broken)
    assert done.returncode != 0


def test_the_readme_and_docs_pipelines_are_valid(tmp_path):
    blocks = yaml_blocks("README.md", "docs/bitbucket.md", containing=r"^pipelines:")
    assert len(blocks) == 2
    for index, block in enumerate(blocks):
        path = tmp_path / f"bitbucket-pipelines-{index}.yml"
        path.write_text(block, encoding="utf-8")
        done = schema_check("bitbucket-pipelines", path)
        assert done.returncode == 0, done.stdout + done.stderr
        [entry] = yaml.safe_load(block)["pipelines"]["pull-requests"]["**"]
        assert entry["step"]["script"] == pull_request_script()


def test_the_retrain_pipeline_in_the_docs_is_valid_and_runs_propose(tmp_path):
    [block] = yaml_blocks("docs/retrain.md", containing=r"^pipelines:")
    path = tmp_path / "bitbucket-pipelines.yml"
    path.write_text(block, encoding="utf-8")
    done = schema_check("bitbucket-pipelines", path)
    assert done.returncode == 0, done.stdout + done.stderr
    [entry] = yaml.safe_load(block)["pipelines"]["custom"]["retrain"]
    assert entry["step"]["script"] == ["mrbot-entrypoint propose --update-imports"]
