"""End to end on GitHub: `mrbot report` / `mrbot publish` as a workflow step runs them (the runner's
environment and event payload), on a real git + DVC project, posting over real HTTP to the fake
api.github.com, which checks every request against GitHub's REST description."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.cli import main
from bot.forges.github import ACTIONS_LOGIN
from bot.workspace.demo import git
from tests.servers.github import (
    ACTIONS_BOT,
    CONTRIBUTOR,
    FakeGitHub,
    Pull,
    Token,
    actions_environ,
    pull_request_event,
    running,
    workflow_run_event,
)

REPO = "octo-org/ml-project"
FORK_REPO = f"{CONTRIBUTOR.login}/ml-project"
TOKEN = "ghs_E2eInstallationTokenThatMustNeverLeak01"
READ_ONLY = "ghs_E2eForkReadOnlyTokenThatMustNeverLeak2"
MERGE_SHA = "9" * 40  # GITHUB_SHA of a pull_request run: a merge commit the PR does not contain
FAST = {"MRBOT_SECONDS_BETWEEN_REQUESTS": "0", "MRBOT_SECONDS_BETWEEN_WRITES": "0"}


@pytest.fixture
def github():
    tokens = {
        TOKEN: Token(ACTIONS_BOT, reads_user=False),
        READ_ONLY: Token(ACTIONS_BOT, writes=frozenset(), reads_user=False),
    }
    with running(FakeGitHub(REPO, tokens)) as fake:
        yield fake


@pytest.fixture
def shas(demo_project) -> tuple[str, str]:
    """(head, base) of the demo project: branch `experiment` checked out, based on `main`."""
    return git(demo_project, "rev-parse", "HEAD"), git(demo_project, "rev-parse", "main")


def run(capsys, argv: list[str], environ: dict[str, str]) -> tuple[int, str]:
    code = main(argv, environ=environ)
    captured = capsys.readouterr()
    return code, captured.out + captured.err


def outputs(environ: dict[str, str]) -> dict[str, str]:
    lines = Path(environ["GITHUB_OUTPUT"]).read_text().splitlines()
    return dict(line.split("=", 1) for line in lines)


def assert_never_leaked(secret: str, text: str, *folders: Path) -> None:
    assert secret not in text
    for folder in folders:
        for path in folder.rglob("*"):
            if path.is_file():
                assert secret.encode() not in path.read_bytes(), path


def test_a_same_repo_pull_request_gets_one_report_comment(github, demo_project, shas, tmp_path, capsys):
    head, base = shas
    github.add_pull(Pull(7, head, base, head_ref="experiment"))
    runner = tmp_path / "runner"
    environ = actions_environ(runner, "pull_request", pull_request_event(REPO, 7, head, base, github.url), REPO,
                              github.url, MERGE_SHA, GITHUB_TOKEN=TOKEN, **FAST)
    bundle = tmp_path / "bundle"

    code, output = run(capsys, ["-v", "report", str(demo_project), "--out", str(bundle)], environ)

    assert code == 0, output
    [comment] = github.comments(7)
    assert comment["user"]["login"] == ACTIONS_LOGIN
    assert comment["body"].startswith(f"<!-- mrbot:report id=default head={head} -->")
    assert "Model improved" in comment["body"]
    assets = github.refs["refs/heads/mrbot-assets"]
    report = json.loads((bundle / "report.json").read_text())
    images = [image for plot in report["plots"] for image in plot["images"]]
    assert images
    for image in images:
        name = Path(image).name
        assert github.file_at(assets, f"pr-7/{head}/{name}") == (bundle / image).read_bytes()
        assert f"https://github.com/{REPO}/blob/{assets}/pr-7/{head}/{name}?raw=true" in comment["body"]
    [status] = github.statuses
    assert (status["sha"], status["state"], status["target_url"]) == (head, "success", comment["html_url"])
    assert "Model improved" in (runner / "step_summary.md").read_text()
    assert outputs(environ) == {"verdict": "improved", "comment-url": comment["html_url"], "report-dir": str(bundle)}
    assert_never_leaked(TOKEN, output, bundle, runner)

    # The job re-runs (or a new push with the same results): still one comment, updated in place.
    code, output = run(capsys, ["report", str(demo_project), "--out", str(bundle)], environ)
    assert code == 0, output
    assert [c["id"] for c in github.comments(7)] == [comment["id"]]
    assert len(github.calls_of("issues/create-comment")) == 1
    assert_never_leaked(TOKEN, output, bundle, runner)


def test_a_fork_pr_with_a_read_only_token_keeps_the_report_and_exits_4(github, demo_project, shas, tmp_path, capsys):
    head, base = shas
    github.add_pull(Pull(8, head, base, head_ref="experiment", head_owner=CONTRIBUTOR.login))
    runner = tmp_path / "runner"
    payload = pull_request_event(REPO, 8, head, base, github.url, head_repository=FORK_REPO, head_ref="experiment")
    environ = actions_environ(runner, "pull_request", payload, REPO, github.url, MERGE_SHA, GITHUB_TOKEN=READ_ONLY,
                              **FAST)
    bundle = tmp_path / "bundle"

    code, output = run(capsys, ["report", str(demo_project), "--out", str(bundle)], environ)

    assert code == 4
    assert "Resource not accessible by integration" in output and "two-stage mode" in output
    assert f"the report is kept in {bundle}" in output
    assert "Model improved" in (runner / "step_summary.md").read_text()  # the fork's author still sees it
    assert (bundle / "report.json").is_file() and (bundle / "report.md").is_file()
    assert outputs(environ)["comment-url"] == ""
    assert github.comments(8) == [] and github.refs == {}
    assert_never_leaked(READ_ONLY, output, bundle, runner)


def test_two_stage_mode_builds_without_a_token_and_publishes_from_workflow_run(
    github, demo_project, shas, tmp_path, capsys
):
    head, base = shas
    github.add_pull(Pull(9, head, base, head_ref="experiment", head_owner=CONTRIBUTOR.login))
    bundle = tmp_path / "artifact" / "mrbot-report"

    # Stage 1, `pull_request` from the fork: no token at all; the bundle is the artifact.
    stage1 = actions_environ(tmp_path / "stage1", "pull_request",
                             pull_request_event(REPO, 9, head, base, github.url, head_repository=FORK_REPO,
                                                head_ref="experiment"), REPO, github.url, MERGE_SHA)
    code, output = run(capsys, ["report", str(demo_project), "--out", str(bundle)], stage1)
    assert code == 0, output
    assert "not posted" in output
    assert github.calls == []
    assert json.loads((bundle / "report.json").read_text())["target"]["number"] == 9

    # Stage 2, `workflow_run` in the base repository with a write token; no PR code, no checkout.
    payload = workflow_run_event(REPO, head, github.url, head_repository=FORK_REPO, head_branch="experiment")
    stage2 = actions_environ(tmp_path / "stage2", "workflow_run", payload, REPO, github.url, "c" * 40,
                             GITHUB_TOKEN=TOKEN, **FAST)
    code, output = run(capsys, ["publish", str(bundle)], stage2)

    assert code == 0, output
    [comment] = github.comments(9)
    assert comment["body"].startswith(f"<!-- mrbot:report id=default head={head} -->")
    assert f"/blob/{github.refs['refs/heads/mrbot-assets']}/pr-9/{head}/" in comment["body"]
    assert github.statuses[0]["sha"] == head
    # The numbers are the fork's code's: the comment and the status say so.
    assert "Built by the pull request's own code from a fork" in comment["body"]
    assert github.statuses[0]["description"].startswith("fork build: ")
    assert outputs(stage2)["comment-url"] == comment["html_url"]
    assert_never_leaked(TOKEN, output, bundle, tmp_path / "stage2")


@pytest.mark.parametrize(
    "tamper, claim",
    [
        (lambda report: report["target"].update(repository="someone/else"), "repository someone/else"),
        (lambda report: report["target"].update(number=1), "pull request 1"),
        (lambda report: report["head"].update(sha="e" * 40), f"head commit {'e' * 40}"),
    ],
)
def test_publish_refuses_a_bundle_that_points_elsewhere(github, tmp_path, capsys, tamper, claim):
    github.add_pull(Pull(7, "1" * 40, "b" * 40))
    bundle = tmp_path / "bundle"
    bundle.mkdir()
    report = bundle_report()
    tamper(report)
    (bundle / "report.json").write_text(json.dumps(report))

    code, output = run(capsys, ["publish", str(bundle)], publish_environ(github, tmp_path))

    assert code == 2
    assert f"{bundle / 'report.json'}: the report is for {claim}" in output
    assert github.calls == []


def bundle_report(images: list[str] = ()) -> dict:
    """A report.json as `mrbot report --out` writes it for PR #7 at head 111..., plotting `images`."""
    plots = [{"id": "loss", "title": "Loss", "images": list(images)}] if images else []
    return {
        "schema": 1, "id": "default", "base": {"rev": "main", "sha": "b" * 40},
        "head": {"rev": "feature", "sha": "1" * 40}, "verdict": "unchanged", "summary": "no metric changed",
        "counts": {}, "metrics": [], "params": [], "plots": plots,
        "target": {"forge": "github", "repository": REPO, "number": 7, "head_sha": "1" * 40},
    }


def publish_environ(github: FakeGitHub, tmp_path: Path) -> dict[str, str]:
    """The `workflow_run` job that publishes PR #7's bundle with a write token."""
    return actions_environ(tmp_path / "runner", "workflow_run",
                           workflow_run_event(REPO, "1" * 40, github.url, pull=(7, "b" * 40)), REPO, github.url,
                           "c" * 40, GITHUB_TOKEN=TOKEN, **FAST)


PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32
HTML = b"<!doctype html><script>fetch('/settings/tokens')</script>"


@pytest.mark.parametrize(
    "name, content, rule",
    [("x.html", HTML, "not a .png, .jpg, .jpeg or .gif file"),
     ("x.png", HTML, "named .png but its content is not a PNG, JPEG or GIF image")],
)
def test_publish_refuses_a_bundle_with_a_hostile_image_and_uploads_nothing(github, tmp_path, capsys, name, content,
                                                                           rule):
    github.add_pull(Pull(7, "1" * 40, "b" * 40))
    bundle = tmp_path / "bundle"
    (bundle / "images").mkdir(parents=True)
    (bundle / "images" / "loss.png").write_bytes(PNG)
    (bundle / "images" / name).write_bytes(content)
    (bundle / "report.json").write_text(json.dumps(bundle_report(["images/loss.png", f"images/{name}"])))

    code, output = run(capsys, ["publish", str(bundle)], publish_environ(github, tmp_path))

    assert code == 2, output
    assert f"{bundle / 'images' / name}: {rule}" in output
    # Refused before the first image went out: no blob, no commit, no comment, no status.
    assert github.blobs == {} and github.commits == {}
    assert github.comments(7) == [] and github.statuses == []
    assert [call.method for call in github.calls if call.method != "GET"] == []


def test_pull_request_target_is_refused_with_the_reason(github, demo_project, shas, tmp_path, capsys):
    head, base = shas
    environ = actions_environ(tmp_path / "runner", "pull_request_target",
                              pull_request_event(REPO, 7, head, base, github.url), REPO, github.url, base,
                              GITHUB_TOKEN=TOKEN)
    code, output = run(capsys, ["report", str(demo_project), "--out", str(tmp_path / "bundle")], environ)
    assert code == 2
    assert "pwn request" in output and "--allow-pull-request-target" in output
    assert "Traceback" not in output and github.calls == []


def test_the_template_from_mrbot_yml_shapes_the_posted_comment_too(github, demo_project, shas, tmp_path, capsys):
    head, base = shas
    (demo_project / ".mrbot").mkdir()
    (demo_project / ".mrbot" / "report.md.j2").write_text("Team report: {{ summary }} ({{ head.rev }})\n")
    (demo_project / ".mrbot.yml").write_text("template: .mrbot/report.md.j2\n")
    github.add_pull(Pull(8, head, base, head_ref="experiment"))
    environ = actions_environ(tmp_path / "runner", "pull_request", pull_request_event(REPO, 8, head, base, github.url),
                              REPO, github.url, MERGE_SHA, GITHUB_TOKEN=TOKEN, **FAST)
    bundle = tmp_path / "bundle"

    code, output = run(capsys, ["report", str(demo_project), "--out", str(bundle), "--no-pull", "--no-repro"], environ)

    assert code == 0, output
    assert (bundle / "report.md").read_text() == "Team report: 2 improved (experiment)\n"
    [comment] = github.comments(8)
    assert comment["body"] == f"<!-- mrbot:report id=default head={head} -->\nTeam report: 2 improved (experiment)\n"
