"""End to end on a real git + DVC project: mrbot in a GitLab CI job, talking over a socket to the fake
GitLab on 127.0.0.1. The first test runs the template's own job script with the installed `mrbot`."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot.cli import main
from bot.errors import EXIT_BAD_INPUT, EXIT_FORGE_REFUSED, EXIT_OK
from bot.forges.base import marker, parse_marker
from bot.report.openmetrics import METRICS_TXT
from tests.gitlab_template import job_environment, job_script, resolve
from tests.servers.gitlab import FakeGitLab
from tests.test_gitlab_openmetrics import parse_like_gitlab

TOKEN = "glpat-E2eTokenThatMustNeverLeak"
JOB_TOKEN = "glcbt-64_JobTokenThatMustNeverLeak"


def git(root: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=root, capture_output=True, text=True, check=True).stdout.strip()


@pytest.fixture
def gitlab(demo_project):
    with FakeGitLab() as fake:
        fake.add_token(TOKEN, 7, "project_42_bot")
        fake.add_merge_request(3, git(demo_project, "rev-parse", "HEAD"), source_branch="experiment")
        yield fake


def predefined_variables(fake: FakeGitLab, project: Path, **overrides: str | None) -> dict[str, str]:
    """What GitLab sets in the job of a pipeline for MR !3 (the demo's experiment branch into main)."""
    head, base = git(project, "rev-parse", "HEAD"), git(project, "rev-parse", "main")
    variables = {"CI_COMMIT_REF_NAME": "experiment", "CI_JOB_TOKEN": JOB_TOKEN, "GITLAB_TOKEN": TOKEN, **overrides}
    return fake.pipeline_variables(3, head, base, **variables)


def run_template_job(fake: FakeGitLab, project: Path, inputs: dict) -> subprocess.CompletedProcess:
    job = resolve(inputs)["mrbot"]
    environ = {
        # The runner's own environment: the image's PATH (here: the venv with mrbot), HOME, git config.
        "PATH": f"{Path(sys.executable).parent}:/usr/local/bin:/usr/bin:/bin",
        **{name: os.environ[name] for name in ("HOME", "GIT_CONFIG_GLOBAL", "GIT_CONFIG_NOSYSTEM",
                                               "DVC_NO_ANALYTICS") if name in os.environ},
        **predefined_variables(fake, project),
        **job_environment(job),
    }
    return subprocess.run(["sh", "-e", "-c", job_script(job)], cwd=project, env=environ, capture_output=True,
                          text=True, timeout=300)


def bundle_text(bundle: Path) -> str:
    return "".join(path.read_bytes().decode("utf-8", "replace") for path in sorted(bundle.rglob("*")) if path.is_file())


def test_template_job_posts_one_report_note_and_a_rerun_edits_it_reusing_the_images(gitlab, demo_project):
    head = git(demo_project, "rev-parse", "HEAD")
    inputs = {"pull": False, "repro": False, "fail-on-regression": True}

    done = run_template_job(gitlab, demo_project, inputs)

    assert done.returncode == EXIT_OK, done.stderr
    [note] = gitlab.merge_requests[3].notes
    assert note.author.id == 7
    assert parse_marker(note.body) == ("default", head)
    assert "✅ Model improved" in note.body and "test.accuracy" in note.body
    assert gitlab.uploads, "the demo's charts are uploaded"
    for upload in gitlab.uploads:
        assert f"]({upload['url']})" in note.body
        assert gitlab.upload_files[upload["url"]].startswith(b"\x89PNG")
    [status] = gitlab.statuses
    assert (status["sha"], status["status"], status["name"]) == (head, "success", "mrbot")
    assert status["target_url"].endswith(f"/-/merge_requests/3#note_{note.id}")
    bundle = demo_project / "mrbot-report"
    assert {"report.md", "report.json", METRICS_TXT} <= {path.name for path in bundle.iterdir()}
    assert set(parse_like_gitlab((bundle / METRICS_TXT).read_text())) == {"test_accuracy", "test_loss", "train_loss"}
    for output in (done.stdout, done.stderr, bundle_text(bundle), note.body):
        assert TOKEN not in output and JOB_TOKEN not in output

    # The same commit again (a retried job): the same note, and the same images are not uploaded again.
    # (The body itself may differ: the pipeline section reports the job's own wall time.)
    uploads_before = len(gitlab.uploads)
    again = run_template_job(gitlab, demo_project, inputs)

    assert again.returncode == EXIT_OK, again.stderr
    assert len(gitlab.uploads) == uploads_before
    assert len(gitlab.requests_to("POST", r"/merge_requests/3/notes$")) == 1
    [rerun_note] = gitlab.merge_requests[3].notes
    assert rerun_note.id == note.id
    assert all(f"]({upload['url']})" in rerun_note.body for upload in gitlab.uploads)


def test_job_token_only_exits_4_keeps_the_bundle_and_publish_posts_it_later(gitlab, demo_project, capsys):
    bundle = demo_project.parent / "bundle"
    environ = predefined_variables(gitlab, demo_project, GITLAB_TOKEN=None)

    code = main(["report", str(demo_project), "--no-pull", "--no-repro", "--out", str(bundle)], environ=environ)

    captured = capsys.readouterr()
    assert code == EXIT_FORGE_REFUSED
    assert "GitLab does not let job tokens write merge request notes" in captured.err
    assert "masked, protected CI/CD variable GITLAB_TOKEN" in captured.err
    assert f"the report is kept in {bundle}" in captured.err
    assert (bundle / "report.md").read_text().startswith("## ✅ Model improved")
    assert gitlab.server.requests == []
    assert JOB_TOKEN not in captured.out + captured.err + bundle_text(bundle)

    # A later job with the token fixed posts the kept bundle without re-running anything.
    code = main(["publish", str(bundle)], environ=predefined_variables(gitlab, demo_project))

    captured = capsys.readouterr()
    assert code == EXIT_OK, captured.err
    [note] = gitlab.merge_requests[3].notes
    assert note.body.startswith(marker("default", git(demo_project, "rev-parse", "HEAD")))
    assert TOKEN not in captured.out + captured.err


def test_forbidden_token_exits_4_with_the_fix_and_keeps_the_bundle(gitlab, demo_project, capsys):
    gitlab.fail("POST", r"/merge_requests/3/notes$", 403, times=None)
    bundle = demo_project.parent / "bundle"

    code = main(["report", str(demo_project), "--no-pull", "--no-repro", "--out", str(bundle)],
                environ=predefined_variables(gitlab, demo_project))

    captured = capsys.readouterr()
    assert code == EXIT_FORGE_REFUSED
    error_lines = [line for line in captured.err.splitlines() if line.startswith("mrbot: error:")]
    assert len(error_lines) == 1
    assert "403 Forbidden" in error_lines[0] and "Developer role on group/project" in error_lines[0]
    assert "Traceback" not in captured.err
    assert (bundle / "report.json").is_file() and (bundle / METRICS_TXT).is_file()
    assert gitlab.merge_requests[3].notes == []
    assert TOKEN not in captured.out + captured.err + bundle_text(bundle)


PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32
HTML = b"<!doctype html><script>fetch('/-/user_settings/personal_access_tokens')</script>"


@pytest.mark.parametrize(
    "name, content, rule",
    [("x.html", HTML, "not a .png, .jpg, .jpeg or .gif file"),
     ("x.png", HTML, "named .png but its content is not a PNG, JPEG or GIF image")],
)
def test_publish_refuses_a_bundle_with_a_hostile_image_and_uploads_nothing(tmp_path, capsys, name, content, rule):
    head, base = "1" * 40, "b" * 40
    bundle = tmp_path / "bundle"
    (bundle / "images").mkdir(parents=True)
    (bundle / "images" / "loss.png").write_bytes(PNG)
    (bundle / "images" / name).write_bytes(content)
    report = {
        "schema": 1, "id": "default", "base": {"rev": "main", "sha": base}, "head": {"rev": "feature", "sha": head},
        "verdict": "unchanged", "summary": "no metric changed", "counts": {}, "metrics": [], "params": [],
        "plots": [{"id": "loss", "title": "Loss", "images": ["images/loss.png", f"images/{name}"]}],
    }
    (bundle / "report.json").write_text(json.dumps(report))

    with FakeGitLab() as fake:
        fake.add_token(TOKEN, 7, "project_42_bot")
        fake.add_merge_request(3, head)
        code = main(["publish", str(bundle)], environ=fake.pipeline_variables(3, head, base, GITLAB_TOKEN=TOKEN))

    captured = capsys.readouterr()
    assert code == EXIT_BAD_INPUT, captured.err
    assert f"{bundle / 'images' / name}: {rule}" in captured.err
    # Refused before the first image went out: no upload, no note, no status.
    assert fake.uploads == [] and fake.merge_requests[3].notes == [] and fake.statuses == []
    assert [request.method for request in fake.server.requests if request.method != "GET"] == []
