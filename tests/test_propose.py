"""mrbot propose on real git and DVC, with no forge: a bare origin, a source DVC repository imported
by the project, local DVC remotes; what it commits and pushes, and what it refuses."""

from __future__ import annotations

import base64
import json
import subprocess
import sys

import pytest

from bot.cli import main
from bot.errors import ForgeRefused
from bot.workspace.demo import git
from bot.workspace.proposal import check_at_tip, push_branch, remote_for
from tests.retrain_project import build_retrain_project, dvc
from tests.servers.git_http import GitHttpServer

BRANCH = "mrbot/retrain"


@pytest.fixture
def project(tmp_path):
    return build_retrain_project(tmp_path)


def propose(capsys, job, *args: str, environ: dict[str, str] | None = None) -> tuple[int, str]:
    code = main(["propose", str(job), "--out", str(job.parent / f"{job.name}-bundle"), *args], environ=environ or {})
    captured = capsys.readouterr()
    return code, captured.out + captured.err


def bundle_of(job) -> dict:
    return json.loads((job.parent / f"{job.name}-bundle" / "report.json").read_text())


def test_nothing_changed_pushes_no_branch(project, capsys):
    job = project.checkout()

    code, output = propose(capsys, job)

    assert code == 0, output
    assert "nothing the pipeline tracks changed on main" in output
    assert project.branch_sha(BRANCH) is None
    assert bundle_of(job)["proposal"] == {"branch": BRANCH, "pr_url": "", "action": "none"}
    assert git(job, "status", "--porcelain") == ""


def test_updated_imports_are_retrained_committed_and_pushed_on_one_commit_over_main(project, capsys):
    project.add_source_rows((3, 9), (4, 16))
    job = project.checkout()
    main_sha = git(job, "rev-parse", "HEAD")

    code, output = propose(capsys, job, "--update-imports", "--author", "Retrain Bot <retrain@example.com>")

    assert code == 0, output
    pushed = project.branch_sha(BRANCH)
    assert pushed and git(project.origin, "rev-parse", f"{BRANCH}^") == main_sha
    files = git(project.origin, "diff", "--name-only", main_sha, BRANCH).split()
    assert sorted(files) == ["data/raw.csv.dvc", "dvc.lock", "metrics.json"]
    assert project.metrics_on(BRANCH) == {"rows": 4, "total": 31.0}
    message = git(project.origin, "log", "-1", "--format=%an <%ae>%n%B", BRANCH)
    assert message.startswith("Retrain Bot <retrain@example.com>\nRetrain on main (mrbot)")
    assert "Imports updated: data/raw.csv.dvc" in message and "Stages run: train" in message
    assert message.rstrip().endswith("Signed-off-by: Retrain Bot <retrain@example.com>")
    # The checkout itself stays on main; the report compares the pushed commit with it.
    assert git(job, "rev-parse", "HEAD") == main_sha
    report = bundle_of(job)
    assert report["proposal"] == {"branch": BRANCH, "pr_url": "", "action": "pushed"}
    assert report["head"] == {"rev": BRANCH, "sha": pushed} and report["base"]["rev"] == "main"
    assert {row["name"]: (row["old"], row["new"]) for row in report["metrics"]} == {"rows": (2, 4), "total": (6.0, 31.0)}
    assert report["pipeline"]["imports"]["updated"] == ["data/raw.csv.dvc"]
    assert report["pipeline"]["stale_warning"] == ""
    # Reviewable: a clone of the branch gets the new model from the DVC remote.
    review = project.root / "review"
    git(project.root, "clone", "-q", "-b", BRANCH, str(project.origin), str(review))
    dvc(review, "pull")
    assert (review / "model.txt").read_text() == "model fitted on 4 rows\n"


def test_the_next_run_rebuilds_the_branch_from_main_instead_of_stacking_commits(project, capsys):
    project.add_source_rows((3, 9))
    code, output = propose(capsys, project.checkout("first"), "--update-imports")
    assert code == 0, output
    first = project.branch_sha(BRANCH)
    project.add_source_rows((4, 16))

    code, output = propose(capsys, project.checkout("second"), "--update-imports")

    assert code == 0, output
    second = project.branch_sha(BRANCH)
    assert second != first
    assert git(project.origin, "rev-list", "--count", f"main..{BRANCH}") == "1"
    assert project.metrics_on(BRANCH)["rows"] == 4


def test_without_update_imports_a_changed_source_is_not_pulled_in(project, capsys):
    project.add_source_rows((3, 9))

    code, output = propose(capsys, project.checkout())

    assert code == 0, output
    assert project.branch_sha(BRANCH) is None


def test_a_failed_dvc_push_opens_nothing_and_exits_3(project, capsys):
    project.add_source_rows((3, 9))
    job = project.checkout()
    blocked = project.root / "not-a-directory"
    blocked.write_text("a file where the remote's folder should be")
    dvc(job, "remote", "modify", "--local", "store", "url", str(blocked / "store"))

    code, output = propose(capsys, job, "--update-imports", "--no-pull")

    assert code == 3, output
    assert "dvc push" in output and "no branch pushed" in output
    assert project.branch_sha(BRANCH) is None
    assert bundle_of(job)["proposal"]["action"] == "none"
    assert bundle_of(job)["pipeline"]["failure"]["step"] == "dvc push"


@pytest.mark.parametrize("spoil, words", [
    (lambda job: (job / "train.py").write_text("# edited by hand\n"), "tracked files changed before the run (train.py)"),
    (lambda job: git(job, "checkout", "-q", "-b", "feature"), "not at the tip"),
])
def test_a_dirty_checkout_or_another_commit_is_refused_before_the_pipeline(project, capsys, spoil, words):
    job = project.checkout()
    if "tip" in words:
        (job / "notes.txt").write_text("a commit main does not have")
        git(job, "add", "notes.txt")
        git(job, "-c", "user.name=x", "-c", "user.email=x@x", "commit", "-q", "-m", "elsewhere")
        spoil = lambda job: None  # noqa: E731 - on a commit past main's tip
    spoil(job)

    code, output = propose(capsys, job, "--base", "main")

    assert code == 2, output
    assert words in output and "Traceback" not in output
    assert "dvc pull" not in output
    assert len(output.strip().splitlines()) == 1


def test_a_checkout_without_origin_is_refused(project, capsys):
    job = project.checkout()
    git(job, "remote", "remove", "origin")

    code, output = propose(capsys, job)

    assert code == 2 and "no git remote 'origin' to push the proposal branch to" in output


def test_a_pull_request_pipeline_is_refused(project, capsys, tmp_path):
    job = project.checkout()
    environ = {"GITLAB_CI": "true", "CI_MERGE_REQUEST_IID": "3", "CI_PIPELINE_SOURCE": "merge_request_event",
               "CI_COMMIT_SHA": git(job, "rev-parse", "HEAD")}

    code, output = propose(capsys, job, environ=environ)

    assert code == 2 and "not on a pull or merge request" in output


@pytest.mark.parametrize("args, words", [
    (["--branch", "main"], "is the base branch itself"),
    (["--branch", "bad..name"], "is not a valid git branch name"),
    (["--author", "nobody"], "--author / MRBOT_AUTHOR: 'nobody' is not a git identity"),
])
def test_bad_options_name_the_option(project, capsys, args, words):
    code, output = propose(capsys, project.checkout(), *args)

    assert code == 2 and words in output


def test_a_protected_branch_refusal_names_the_setting(project, capsys):
    hook = project.origin / "hooks" / "pre-receive"
    hook.write_text("#!/bin/sh\necho 'GH006: Protected branch update failed for refs/heads/mrbot/retrain.' >&2\nexit 1\n")
    hook.chmod(0o755)
    project.add_source_rows((3, 9))
    job = project.checkout()

    code, output = propose(capsys, job, "--update-imports")

    assert code == 4, output
    assert "the branch is protected" in output and "Allowed to force push" in output
    assert project.branch_sha(BRANCH) is None
    assert bundle_of(job)["proposal"]["action"] == "none" and "the report is kept in" in output


def test_no_hook_of_the_checkout_runs(project, capsys):
    project.add_source_rows((3, 9))
    job = project.checkout()
    ran = project.root / "hook-ran"
    for name in ("pre-commit", "commit-msg", "post-commit", "pre-push"):
        hook = job / ".git" / "hooks" / name
        hook.write_text(f"#!/bin/sh\necho {name} >> {ran}\nexit 1\n")
        hook.chmod(0o755)

    code, output = propose(capsys, job, "--update-imports")

    assert code == 0, output
    assert not ran.exists() and project.branch_sha(BRANCH)


def serve_origin(project, tmp_path, job, token: str) -> GitHttpServer:
    """The project's origin over HTTP behind basic auth (oauth2:token), with the job's checkout
    pointed at it as a GitLab runner leaves it: its own job token in the URL."""
    served = tmp_path / "served"
    served.mkdir()
    subprocess.run(["git", "clone", "-q", "--bare", str(project.origin), str(served / "ml.git")], check=True)
    server = GitHttpServer(served, "oauth2", token)
    server.__enter__()
    git(job, "remote", "set-url", "origin", f"{server.url.replace('://', '://gitlab-ci-token:job-secret@')}/ml.git")
    return server


def header_for(token: str) -> str:
    return "Authorization: Basic " + base64.b64encode(f"oauth2:{token}".encode()).decode()


@pytest.mark.parametrize("persisted_scope", ["host", "repository"])
def test_the_push_over_https_replaces_the_checkouts_own_credentials(project, tmp_path, persisted_scope):
    token = "glpat-PushTokenThatMustNeverLeak0001"
    job = project.checkout()
    server = serve_origin(project, tmp_path, job, token)
    try:
        # What actions/checkout persists (for the host), or a header scoped to the repository's URL:
        # a stale credential the server refuses, which the push must not send.
        scope = server.url + "/" if persisted_scope == "host" else f"{server.url}/ml.git"
        stale = header_for("stale-token")
        git(job, "config", f"http.{scope}.extraheader", stale)
        config_before = (job / ".git" / "config").read_text()
        sha = git(job, "rev-parse", "HEAD")

        remote = remote_for(job, header_for(token))
        check_at_tip(job, remote, "main", sha)  # ls-remote with the token, too
        push_branch(job, remote, sha, BRANCH)

        assert git(tmp_path / "served" / "ml.git", "rev-parse", BRANCH) == sha
        assert remote.url == f"{server.url}/ml.git"  # without the job token the checkout's URL carries
        sent = [value for value in server.authorizations if value]
        assert sent and all(value == header_for(token).split(": ", 1)[1] for value in sent)
    finally:
        server.__exit__(None, None, None)
    assert (job / ".git" / "config").read_text() == config_before
    assert token not in (job / ".git" / "config").read_text()


def test_without_the_token_header_the_server_refuses_the_push(project, tmp_path):
    job = project.checkout()
    server = serve_origin(project, tmp_path, job, "glpat-TheRightToken000000000001")
    try:
        remote = remote_for(job, header_for("glpat-AWrongToken00000000000002"))
        with pytest.raises(ForgeRefused) as refused:
            push_branch(job, remote, git(job, "rev-parse", "HEAD"), BRANCH)
    finally:
        server.__exit__(None, None, None)
    assert "glpat-AWrongToken" not in str(refused.value) and "write access" in str(refused.value)


def test_an_ssh_origin_is_pushed_over_the_forges_https_url_with_the_token(project):
    job = project.checkout()
    git(job, "remote", "set-url", "origin", "git@gitlab.example.com:group/ml.git")

    remote = remote_for(job, "X: y", "https://gitlab.example.com/group/ml.git")

    assert remote.url == "https://gitlab.example.com/group/ml.git"
    assert remote.env["GIT_CONFIG_KEY_1"] == "http.https://gitlab.example.com/group/ml.git.extraheader"
    assert (remote.env["GIT_CONFIG_VALUE_0"], remote.env["GIT_CONFIG_VALUE_1"]) == ("", "X: y")
    git(job, "remote", "set-url", "origin", str(project.origin))
    assert remote_for(job, "X: y", "https://gitlab.example.com/group/ml.git").url == str(project.origin)


def test_an_http_origin_of_the_forges_host_is_pushed_over_https_with_the_token(project):
    job = project.checkout()
    git(job, "remote", "set-url", "origin", "http://bitbucket.org/team/model")  # as Pipelines clones

    remote = remote_for(job, "X: y", "https://bitbucket.org/team/model.git")

    assert remote.url == "https://bitbucket.org/team/model.git"
    git(job, "remote", "set-url", "origin", "http://127.0.0.1:8/team/model")  # another host: left as it is
    assert remote_for(job, "X: y", "https://bitbucket.org/team/model.git").url == "http://127.0.0.1:8/team/model"


def test_a_branch_mrbot_did_not_make_is_not_force_pushed(project, capsys):
    job = project.checkout()
    git(job, "checkout", "-q", "-b", "someone")
    (job / "notes.txt").write_text("a person's work")
    git(job, "add", "notes.txt")
    git(job, "-c", "user.name=x", "-c", "user.email=x@x", "commit", "-q", "-m", "work")
    git(job, "push", "-q", "origin", f"someone:{BRANCH}")
    git(job, "checkout", "-q", "main")
    before = project.branch_sha(BRANCH)
    project.add_source_rows((3, 9))

    code, output = propose(capsys, job, "--update-imports")

    assert code == 2 and "is not a commit of mrbot propose" in output
    assert project.branch_sha(BRANCH) == before


def test_files_no_one_tracks_are_left_out_of_the_commit(project, capsys):
    (project.root / "seed" / "train.py").write_text(
        (project.root / "seed" / "train.py").read_text() + "open('train.log', 'w').write('a log')\n")
    git(project.root / "seed", "commit", "-q", "-am", "a stage that writes a log")
    git(project.root / "seed", "push", "-q", "origin", "main")
    job = project.checkout()

    # The stage's code changed, so it runs: dvc.lock changes, and it writes train.log nobody tracks.
    code, output = propose(capsys, job)

    assert code == 0, output
    assert "not committed, as neither git nor DVC tracks them: train.log" in output
    files = git(project.origin, "diff", "--name-only", "main", BRANCH).split()
    assert "train.log" not in files and "dvc.lock" in files


def test_a_log_file_alone_is_no_change(project, capsys):
    job = project.checkout()
    (job / "scratch.txt").write_text("left by a step before mrbot")

    code, output = propose(capsys, job)

    assert code == 0, output
    assert project.branch_sha(BRANCH) is None and "nothing the pipeline tracks changed" in output


def test_a_broken_config_stops_before_the_pipeline(project, capsys):
    job = project.checkout()
    (job / ".mrbot.yml").write_text("metrics:\n  rows: {direction: sideways}\n")
    git(job, "-c", "user.name=x", "-c", "user.email=x@x", "commit", "-q", "-am", "broken")
    git(job, "push", "-q", "origin", "main")
    project.add_source_rows((3, 9))

    code, output = propose(capsys, job, "--update-imports")

    assert code == 2 and ".mrbot.yml" in output and "dvc update" not in output
    assert project.branch_sha(BRANCH) is None


def test_propose_has_its_help():
    done = subprocess.run([sys.executable, "-m", "bot", "propose", "--help"], capture_output=True, text=True)

    assert done.returncode == 0
    for option in ("--update-imports", "--branch", "--title", "--base", "--author"):
        assert option in done.stdout


def test_the_pull_request_body_escapes_the_projects_names():
    from bot.report.proposal import Proposed, pull_request_body

    body = pull_request_body(Proposed(
        "main", "a" * 40, BRANCH, "schedule", "https://ci.example.com/run/1\" onclick=x",
        imports_updated=["<img src=x onerror=alert(1)>.dvc"], stages_ran=["@org/team"], changed=["a|b`c.json"],
    ))

    assert "<img" not in body and "@org" not in body.replace("@\u200b", "") and "a|b`c" not in body
    assert "onclick" not in body  # a run URL that is not one is left out
    assert "started by a scheduled run" in body


def test_a_bundles_proposal_is_checked_when_it_is_read():
    from bot.errors import BadInput
    from bot.report.model import from_json
    from tests.test_publish_hardening import report_data

    good = {**report_data(), "proposal": {"branch": BRANCH, "pr_url": "https://github.com/o/r/pull/3", "action": "updated"}}
    assert from_json(good, "report.json").proposal == good["proposal"]
    for bad in ({"action": "merged"}, {"pr_url": "javascript:alert(1)"}, {"branch": "x y"}):
        with pytest.raises((BadInput, ValueError)):
            from_json({**report_data(), "proposal": {**good["proposal"], **bad}}, "report.json")
