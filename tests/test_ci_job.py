"""The whole job from a fresh CI checkout: shallow clone, dvc pull from a real remote, dvc repro,
the report, and the report of a failure. Real git, real DVC, no mocks."""

import gc
import json
import logging
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

import pytest
from dvc.repo import Repo

from bot.ci.context import Context
from bot.cli import main
from bot.errors import BadInput
from bot.job import ReportOptions, run_report
from bot.report.model import from_json
from bot.workspace.demo import git, reproduce
from bot.workspace.git import temporary_worktree
from bot.workspace.run import reproduce_base
from tests.ci_projects import (
    copy_origin,
    detached_shallow_checkout,
    publish,
    push_branch,
    set_dvc_remote,
    shallow_clone,
)
from tests.projects import write_files

SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"


@pytest.fixture(scope="session")
def published_demo(demo_template, tmp_path_factory):
    """The demo with a local-directory DVC remote holding both branches' outputs, as a bare origin."""
    where = tmp_path_factory.mktemp("published-demo")
    shutil.copytree(demo_template, where / "project", symlinks=True)
    return publish(where / "project", where)


@pytest.fixture
def origin(published_demo, tmp_path):
    return copy_origin(published_demo, tmp_path / "server")


def run_job(clone, tmp_path, context=Context(), **options):
    """run_report as the CLI calls it, with the streamed log collected."""
    log_chunks = []
    outcome = run_report(
        ReportOptions(path=clone, out_dir=tmp_path / "bundle", echo=log_chunks.append, **options), context
    )
    # `mrbot publish` validates a bundle's pipeline against what pipeline_section writes: they agree.
    written = json.loads((tmp_path / "bundle" / "report.json").read_text())
    assert from_json(written, "report.json").pipeline == written["pipeline"]
    return outcome, "".join(log_chunks)


def stages(outcome):
    return {stage["name"]: stage for stage in outcome.report.pipeline["stages"]}


def test_fresh_shallow_clone_fetches_the_base_pulls_and_reports(origin, tmp_path, caplog):
    caplog.set_level(logging.INFO, logger="bot")
    clone = shallow_clone(origin, tmp_path / "clone")
    assert not (clone / "models" / "model.npy").exists()

    outcome, _ = run_job(clone, tmp_path, base="main")

    assert outcome.exit_code == 0
    assert "git fetch --depth=1 --no-tags --no-recurse-submodules origin +refs/heads/main" in caplog.text
    assert outcome.report.base.sha == origin.sha("main")
    assert outcome.report.verdict == "improved"
    pipeline = outcome.report.pipeline
    assert pipeline["pull"]["files"] == 2 and "storage" in pipeline["pull"]["remote"]
    assert (clone / "models" / "model.npy").is_file()
    assert {name: stage["status"] for name, stage in stages(outcome).items()} == {
        "prepare": "skipped",
        "train": "skipped",
        "evaluate": "skipped",
    }
    assert pipeline["stale_warning"] == ""
    # The model is DVC-tracked and differs between base and head; its size comes from dvc.lock.
    changes = {change["path"]: change for change in pipeline["data_changes"]}
    assert set(changes) == {"models/model.npy"}
    assert changes["models/model.npy"]["change"] == "modified" and changes["models/model.npy"]["new_size"] == 200
    markdown = outcome.markdown
    assert "### Pipeline" in markdown and "| models/model.npy | modified | 200 B | 200 B |" in markdown
    assert json.loads((tmp_path / "bundle" / "report.json").read_text())["pipeline"]["pull"]["files"] == 2


def test_a_merge_base_the_ci_names_is_fetched_by_sha_and_main_s_lead_counted(origin, tmp_path, caplog):
    # GitLab's MR pipeline names the diff base (a merge-base) and the target branch, not its tip.
    caplog.set_level(logging.INFO, logger="bot")
    clone = shallow_clone(origin, tmp_path / "clone")
    forked_at = origin.sha("main~1")  # main gained its DVC-remote commit after the branch point
    context = Context(forge="gitlab", head_sha=origin.sha("experiment"), merge_base_sha=forked_at, base_ref="main")

    outcome, _ = run_job(clone, tmp_path, context)

    assert outcome.exit_code == 0
    assert f"--no-recurse-submodules origin {forked_at}" in caplog.text
    assert "git fetch --deepen=50" in caplog.text  # main's history down to the merge-base, to count
    assert outcome.report.base.sha == forked_at
    assert outcome.report.baseline == {"kind": "merge-base", "ahead": 1, "branch": "main"}
    assert outcome.report.summary == "2 improved"
    assert "main is 1 commit ahead of it." in outcome.markdown


def test_merge_commit_of_a_pull_request_event_is_compared_with_its_first_parent(origin, tmp_path):
    # main moves on after the PR branched; GitHub checks out its merge of the PR into main (detached).
    work = tmp_path / "work"
    git(tmp_path, "clone", "-q", "--branch", "main", f"file://{origin.repo}", str(work))
    (work / "NOTES.md").write_text("main moved on\n")
    git(work, "add", "NOTES.md")
    git(work, "commit", "-q", "-m", "main moves on")
    git(work, "push", "-q", "origin", "main")
    git(work, "checkout", "-q", "--detach", "main")
    git(work, "merge", "-q", "--no-ff", "--no-edit", "origin/experiment")
    git(work, "push", "-q", "origin", "HEAD:refs/pull/1/merge")
    clone = detached_shallow_checkout(origin, "refs/pull/1/merge", tmp_path / "clone")
    pr_head = origin.sha("experiment")
    stale_event_base = origin.sha("main~1")  # what the event said before main moved
    context = Context(forge="github", head_sha=pr_head, base_sha=stale_event_base)

    outcome, _ = run_job(clone, tmp_path, context)

    assert outcome.exit_code == 0
    assert outcome.report.base.sha == origin.sha("main")
    assert outcome.report.head.sha == pr_head
    assert outcome.report.head.rev == "HEAD"  # detached
    assert outcome.report.summary == "2 improved"


def test_failing_stage_still_gives_a_report_with_the_stage_exit_code_and_masked_tail(origin, tmp_path, monkeypatch):
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET)
    noisy_failure = (
        "import os, sys\n"
        "for epoch in range(80):\n"
        "    print(f'epoch {epoch}', flush=True)\n"
        "print('key=' + os.environ['AWS_SECRET_ACCESS_KEY'])\n"
        "print('``` <img src=x> @alice')\n"
        "sys.exit(3)\n"
    )
    push_branch(origin, "broken", {"src/train.py": noisy_failure})
    clone = shallow_clone(origin, tmp_path / "clone", branch="broken")

    outcome, log_text = run_job(clone, tmp_path, base="main")

    assert outcome.exit_code == 3
    report = outcome.report
    assert report.verdict == "failed" and report.metrics == [] and report.charts == []
    pipeline = report.pipeline
    assert pipeline["failure"] == {
        "step": "dvc repro",
        "stage": "train",
        "exit_code": 3,
        "message": "Stage 'train' failed with exit code 3",
    }
    assert {name: stage["status"] for name, stage in stages(outcome).items()} == {
        "prepare": "skipped",
        "train": "failed",
        "evaluate": "not run",
    }
    assert stages(outcome)["train"]["reasons"] == ["src/train.py modified"]
    assert stages(outcome)["evaluate"]["reasons"] == ["train failed"]
    tail = pipeline["log_tail"].splitlines()
    assert len(tail) == 50 and tail[-2:] == ["key=***", "``` <img src=x> @alice"]
    assert "epoch 79" in tail and "epoch 20" not in tail
    markdown = outcome.markdown
    assert markdown.startswith("## ❌ Pipeline failed: Stage 'train' failed with exit code 3")
    assert "Metrics were not compared" in markdown
    assert re.search(r"\| train\.lr +\| 0\.05 +\| 0\.3 +\|", markdown)  # the params that changed
    assert "\n````\n" in markdown  # the tail's own ``` cannot close its block
    bundle_text = (tmp_path / "bundle" / "report.json").read_text() + (tmp_path / "bundle" / "report.md").read_text()
    for text in (bundle_text, log_text):
        assert SECRET not in text
    assert "epoch 79" in log_text  # streamed to the log too


def test_stale_lock_reruns_stages_with_reasons_and_warns(origin, tmp_path):
    # The PR changed params but committed the old dvc.lock and results.
    text = git(origin.repo, "show", "experiment:params.yaml").replace("lr: 0.3", "lr: 0.2")
    push_branch(origin, "stale", {"params.yaml": text + "\n"})
    clone = shallow_clone(origin, tmp_path / "clone", branch="stale")
    committed_metrics = (clone / "metrics.json").read_text()

    outcome, log_text = run_job(clone, tmp_path, base="main", push=True)

    assert outcome.exit_code == 0, outcome.report.pipeline["failed"]
    by_name = stages(outcome)
    assert by_name["prepare"]["status"] == "skipped"
    assert by_name["train"]["status"] == "ran" and by_name["train"]["reasons"] == ["params.yaml: train.lr changed"]
    assert by_name["evaluate"]["status"] == "ran" and by_name["evaluate"]["reasons"] == ["models/model.npy modified"]
    assert by_name["train"]["seconds"] > 0 and by_name["train"]["time"].endswith(" s")
    assert "Running stage 'train'" in log_text
    pipeline = outcome.report.pipeline
    assert "models/model.npy" in pipeline["stale_outputs"] and "metrics.json" in pipeline["stale_outputs"]
    assert "committed results do not match its code" in pipeline["stale_warning"]
    assert "committed results do not match its code" in outcome.markdown
    assert (clone / "metrics.json").read_text() != committed_metrics  # the report shows reproduced numbers
    params = {(row.name, row.new) for row in outcome.report.params}
    assert ("train.lr", 0.2) in params
    # --push sent what repro built to the remote.
    assert pipeline["push"]["files"] >= 1
    model_md5 = re.search(r"path: models/model.npy\n\s+hash: md5\n\s+md5: (\w+)", (clone / "dvc.lock").read_text())
    assert model_md5 is not None
    digest = model_md5.group(1)
    assert (origin.remote / "files" / "md5" / digest[:2] / digest[2:]).is_file()


def test_a_failing_push_is_exit_3_with_the_report_of_what_ran(origin, tmp_path):
    clone = shallow_clone(origin, tmp_path / "clone")
    not_a_directory = tmp_path / "remote-file"
    not_a_directory.write_text("a file where the remote's directory should be\n")
    set_dvc_remote(clone, str(not_a_directory), local=True)

    outcome, _ = run_job(clone, tmp_path, base="main", pull=False, push=True)

    assert outcome.exit_code == 3
    pipeline = outcome.report.pipeline
    assert pipeline["failure"]["step"] == "dvc push"
    message = pipeline["failure"]["message"]
    assert message.startswith(f"dvc push to remote 'storage' ({not_a_directory}) failed: ")
    assert "check that the directory exists and the job can read it" in message
    # The pipeline ran and its results are reported: a push failure loses nothing but the upload.
    statuses = {stage["name"]: stage["status"] for stage in pipeline["stages"]}
    assert statuses["prepare"] == statuses["train"] == "ran" and "failed" not in statuses.values()
    assert outcome.report.summary == "2 improved" and outcome.report.metrics
    assert "> [!CAUTION]\n> **dvc push to remote 'storage'" in outcome.markdown


def test_no_repro_lists_stale_stages_and_warns_without_running(origin, tmp_path):
    text = git(origin.repo, "show", "experiment:params.yaml").replace("epochs: 60", "epochs: 70")
    push_branch(origin, "stale", {"params.yaml": text + "\n"})
    clone = shallow_clone(origin, tmp_path / "clone", branch="stale")

    outcome, log_text = run_job(clone, tmp_path, base="main", repro=False)

    assert outcome.exit_code == 0
    assert "Running stage" not in log_text
    pipeline = outcome.report.pipeline
    assert [(stage["name"], stage["reasons"]) for stage in pipeline["stages"]] == [
        ("train", ["params.yaml: train.epochs changed"])
    ]
    assert "Stage train is stale" in pipeline["stale_warning"] and "--no-repro" in outcome.markdown
    assert outcome.report.summary == "2 improved"  # the committed numbers


def test_outputs_missing_from_the_remote_are_rebuilt_by_repro(origin, tmp_path):
    clone = shallow_clone(origin, tmp_path / "clone")
    model_md5 = re.search(r"path: models/model.npy\n\s+hash: md5\n\s+md5: (\w+)", (clone / "dvc.lock").read_text())
    digest = model_md5.group(1)
    (origin.remote / "files" / "md5" / digest[:2] / digest[2:]).unlink()  # nobody pushed the model

    outcome, _ = run_job(clone, tmp_path, base="main")

    assert outcome.exit_code == 0
    pipeline = outcome.report.pipeline
    assert pipeline["pull"]["to_rebuild"] == ["models/model.npy"]
    assert "dvc repro builds it again" in outcome.markdown
    train = stages(outcome)["train"]
    assert train["status"] in ("ran", "restored") and train["reasons"] == ["output models/model.npy missing"]


def test_missing_files_without_repro_fail_the_pull_naming_the_remote(origin, tmp_path):
    clone = shallow_clone(origin, tmp_path / "clone")
    shutil.rmtree(origin.remote / "files")

    outcome, _ = run_job(clone, tmp_path, base="main", repro=False)

    assert outcome.exit_code == 3
    failure = outcome.report.pipeline["failure"]
    assert failure["step"] == "dvc pull"
    assert "2 files missing" in failure["message"] and f"remote 'storage' ({origin.remote})" in failure["message"]
    assert outcome.markdown.startswith("## ❌ Pipeline failed: dvc pull: 2 files missing")
    assert (tmp_path / "bundle" / "report.md").is_file()


def test_dry_run_keeps_stage_output_off_stdout(demo_project, capfd):
    params = demo_project / "params.yaml"
    params.write_text(params.read_text().replace("epochs: 60", "epochs: 61"))

    code = main(["report", str(demo_project), "--base", "main", "--dry-run"], environ={})

    out, err = capfd.readouterr()
    assert code == 0
    assert out.startswith("## ")
    assert "Running stage 'train'" in err and "Running stage" not in out
    assert "| train | ✅ ran |" in out


SCORE = """\
import json, yaml
scale = yaml.safe_load(open("params.yaml"))["scale"]
json.dump({"score": scale * 1.5}, open("metrics.json", "w"))
"""


@pytest.fixture(scope="session")
def unpushed_base(tmp_path_factory):
    """A pipeline whose metrics file is a DVC-cached output; only the PR branch's outputs were pushed."""
    where = tmp_path_factory.mktemp("unpushed-base")
    project = where / "project"
    project.mkdir()
    git(project, "init", "-q", "-b", "main")
    Repo.init(str(project)).close()
    dvc_yaml = (
        f"stages:\n  score:\n    cmd: {sys.executable} score.py\n    deps: [score.py]\n"
        "    params: [scale]\n    metrics: [metrics.json]\n"
    )
    write_files(project, {"score.py": SCORE, "params.yaml": "scale: 1\n", "dvc.yaml": dvc_yaml})
    reproduce(project)
    git(project, "add", "-A")
    git(project, "commit", "-q", "-m", "base")
    git(project, "checkout", "-q", "-b", "experiment")
    write_files(project, {"params.yaml": "scale: 2\n"})
    reproduce(project)
    git(project, "add", "-A")
    git(project, "commit", "-q", "-m", "scale 2")
    return publish(project, where, push_branches=("experiment",))


def test_base_outputs_missing_from_the_remote_are_reported_with_the_way_out(unpushed_base, tmp_path):
    origin = copy_origin(unpushed_base, tmp_path / "server")
    clone = shallow_clone(origin, tmp_path / "clone")

    outcome, _ = run_job(clone, tmp_path, base="main")

    assert outcome.exit_code == 0
    row = outcome.report.metrics[0]
    assert (row.name, row.old, row.new, row.verdict) == ("score", None, 3.0, "unknown")
    assert any("Could not read base metrics.json: not in the DVC cache" in w for w in outcome.report.warnings)
    base = outcome.report.pipeline["base"]
    assert base["reproduced"] is False and "--base-repro" in base["note"] and "metrics.json" in base["note"]
    assert "--base-repro" in outcome.markdown


def test_base_repro_reproduces_the_base_in_a_worktree_sharing_the_cache(unpushed_base, tmp_path, monkeypatch):
    origin = copy_origin(unpushed_base, tmp_path / "server")
    clone = shallow_clone(origin, tmp_path / "clone")
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))

    outcome, log_text = run_job(clone, tmp_path, base="main", base_repro=True)

    assert outcome.exit_code == 0
    row = outcome.report.metrics[0]
    assert (row.name, row.old, row.new, row.verdict) == ("score", 1.5, 3.0, "improved")
    assert outcome.report.warnings == []
    assert outcome.report.base.sha == origin.sha("main")  # the report names the real base
    base = outcome.report.pipeline["base"]
    assert base["reproduced"] is True and "1 stage(s) ran" in base["note"]
    assert "Running stage 'score'" in log_text
    # The worktree is gone, the checkout untouched.
    assert git(clone, "worktree", "list").count("\n") == 0
    assert list(scratch.iterdir()) == []
    assert git(clone, "status", "--porcelain") == ""
    # The base's output went into the checkout's own DVC cache (shared, not a second one).
    assert len(list((clone / ".dvc" / "cache" / "files" / "md5").rglob("*"))) >= 4


def test_checkout_owned_by_another_user_is_trusted_in_ci_only(published_demo, tmp_path, monkeypatch):
    clone = shallow_clone(published_demo, tmp_path / "clone")
    if os.geteuid() == 0:
        for path in [clone, *clone.rglob("*")]:
            os.lchown(path, 65534, 65534)
    else:  # git's own switch for this check, for runs without root
        monkeypatch.setenv("GIT_TEST_ASSUME_DIFFERENT_OWNER", "1")

    with pytest.raises(BadInput, match="owned by another user.*safe.directory"):
        run_job(clone, tmp_path, base="main")
    outcome, _ = run_job(clone, tmp_path, Context(forge="gitlab"), base="main")

    assert outcome.exit_code == 0 and outcome.report.pipeline["pull"]["files"] == 2
    assert f"directory = {clone}" in (tmp_path / "gitconfig").read_text()


def test_a_base_the_remote_does_not_have_is_one_line_exit_2(published_demo, tmp_path, capsys):
    clone = shallow_clone(published_demo, tmp_path / "clone")

    code = main(["report", str(clone), "--base", "no-such-branch", "--dry-run"], environ={})

    out, err = capsys.readouterr()
    assert code == 2 and out == ""
    error = [line for line in err.splitlines() if line.startswith("mrbot: error:")]
    assert len(error) == 1 and "Traceback" not in err
    assert "base revision 'no-such-branch'" in error[0] and "couldn't find remote ref" in error[0]


def test_a_worktree_git_cannot_add_is_one_line_and_leaves_no_directory(demo_project, tmp_path, monkeypatch):
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))

    with pytest.raises(BadInput) as raised, temporary_worktree(demo_project, "0" * 40):
        pass

    message = str(raised.value)
    assert message.startswith("`git worktree add --detach") and "failed: fatal:" in message and "\n" not in message
    assert list(scratch.iterdir()) == []


# DVC runs a stage's command with $SHELL, or /bin/sh when it is unset (most CI images): bash execs the
# command, so it dies of the signal (-2); dash runs it as a child and exits 130.
@pytest.mark.parametrize("shell", ["/bin/bash", "/bin/sh"])
def test_ctrl_c_during_a_stage_ends_the_run_as_an_interrupt(demo_project, capfd, monkeypatch, shell):
    # What Ctrl-C does to the stage's command (DVC itself ignores SIGINT while the command runs).
    # The default action is restored first: a CI runner may start jobs with SIGINT ignored, and the
    # stage's command would inherit that.
    monkeypatch.setenv("SHELL", shell)
    interrupted = (
        "import os, signal\n"
        "signal.signal(signal.SIGINT, signal.SIG_DFL)\n"
        "os.kill(os.getpid(), signal.SIGINT)\n"
    )
    (demo_project / "src" / "train.py").write_text(interrupted)

    code = main(["report", str(demo_project), "--base", "main", "--dry-run"], environ={})

    out, err = capfd.readouterr()
    assert code == 130 and out == ""
    assert "mrbot: interrupted" in err and "Pipeline failed" not in err


def test_ctrl_c_to_the_whole_job_is_exit_130_without_a_traceback_from_any_process(demo_project):
    # What a terminal's Ctrl-C (or a CI cancel) does: SIGINT to the process group, chart worker included.
    stage = "import signal, time\nsignal.signal(signal.SIGINT, signal.SIG_DFL)  # dies quietly\ntime.sleep(60)\n"
    (demo_project / "src" / "train.py").write_text(stage)
    job = subprocess.Popen(
        [sys.executable, "-m", "bot", "report", str(demo_project), "--base", "main", "--dry-run", "--no-pull"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),  # as a shell starts it, even under CI
    )
    deadline = time.monotonic() + 30
    stderr = ""
    while "Running stage 'train'" not in stderr and time.monotonic() < deadline:
        stderr += os.read(job.stderr.fileno(), 4096).decode()
    time.sleep(1.5)  # the chart worker has imported matplotlib by now
    os.killpg(job.pid, signal.SIGINT)
    out, rest = job.communicate(timeout=30)
    stderr += rest
    assert job.returncode == 130 and out == ""
    assert "mrbot: interrupted" in stderr and "Traceback" not in stderr, stderr[-2000:]


def test_a_dvc_without_the_stage_step_mrbot_wraps_is_one_line_exit_2(demo_project, capfd, monkeypatch):
    import dvc
    import dvc.repo.reproduce

    monkeypatch.delattr(dvc.repo.reproduce, "_reproduce_stage")

    code = main(["report", str(demo_project), "--base", "main", "--dry-run"], environ={})

    out, err = capfd.readouterr()
    error = [line for line in err.splitlines() if line.startswith("mrbot: error:")]
    assert code == 2 and out == "" and "Traceback" not in err
    assert error == [
        f"mrbot: error: DVC {dvc.__version__} is not supported: mrbot needs dvc>=3.50,<4 (pip install 'dvc>=3.50,<4')"
    ]


def test_secrets_of_the_environ_the_cli_was_given_are_masked_in_the_report_and_log(demo_project, capfd):
    # The stage prints a secret from a file: only the CLI's environ says it is one.
    (demo_project / "secret.txt").write_text(SECRET)
    (demo_project / "src" / "train.py").write_text("import sys\nprint('key=' + open('secret.txt').read())\nsys.exit(1)\n")

    code = main(["report", str(demo_project), "--base", "main", "--dry-run"], environ={"DB_PASSWORD": SECRET})

    out, err = capfd.readouterr()
    assert code == 3 and "key=***" in out and "key=***" in err
    assert SECRET not in out + err


def test_unreadable_committed_dvc_files_only_cost_the_comparison_with_them(demo_project, tmp_path, caplog):
    # HEAD's dvc.yaml does not parse; the working tree's does, and a stage reruns.
    dvc_yaml = (demo_project / "dvc.yaml").read_text()
    (demo_project / "dvc.yaml").write_text("stages: [\n")
    git(demo_project, "commit", "-q", "-am", "broken dvc.yaml")
    (demo_project / "dvc.yaml").write_text(dvc_yaml)
    params = demo_project / "params.yaml"
    params.write_text(params.read_text().replace("epochs: 60", "epochs: 61"))

    outcome, _ = run_job(demo_project, tmp_path, base="main")

    assert outcome.exit_code == 0
    assert stages(outcome)["train"]["status"] == "ran"
    assert "could not compare the DVC-tracked data with HEAD:" in caplog.text


def test_a_base_whose_stage_fails_ends_as_the_report_s_note(unpushed_base, tmp_path):
    origin = copy_origin(unpushed_base, tmp_path / "server")
    push_branch(origin, "broken-base", {"score.py": "import sys\nsys.exit(2)\n"}, start="main")
    clone = shallow_clone(origin, tmp_path / "clone")

    outcome, _ = run_job(clone, tmp_path, base="broken-base", base_repro=True)

    assert outcome.exit_code == 0
    base = outcome.report.pipeline["base"]
    assert base["reproduced"] is False
    assert base["note"] == (
        "--base-repro could not reproduce the base: Stage 'score' failed with exit code 2. Base values are missing."
    )
    assert git(clone, "worktree", "list").count("\n") == 0


def test_a_base_git_cannot_check_out_ends_as_a_failed_base_run(demo_project):
    run = reproduce_base(demo_project, "0" * 40, secrets=[])

    assert run.sha == "" and run.failure.message.startswith("`git worktree add --detach")


def test_the_collector_pauses_while_dvc_starts_and_the_revisions_are_read_and_is_restored_after_the_job(
    demo_project, tmp_path, monkeypatch
):
    import contextlib

    import bot.job

    seen = {}
    open_repo, run_steps, read_revisions, compared = (
        bot.job.open_repo, bot.job.run_steps, bot.job.read_revisions, bot.job.compare_recorded)

    @contextlib.contextmanager
    def opening(*args, **kwargs):
        seen["collecting while DVC starts"] = gc.isenabled()
        with open_repo(*args, **kwargs) as repo:
            yield repo

    def steps(*args, **kwargs):
        seen["collecting in the steps"], seen["frozen in the steps"] = gc.isenabled(), gc.get_freeze_count()
        return run_steps(*args, **kwargs)

    def reading(*args, **kwargs):
        seen["collecting while reading"] = gc.isenabled()
        return read_revisions(*args, **kwargs)

    def writing(*args, **kwargs):
        seen["collecting after reading"], seen["frozen after reading"] = gc.isenabled(), gc.get_freeze_count()
        return compared(*args, **kwargs)

    for name, function in [("open_repo", opening), ("run_steps", steps), ("read_revisions", reading),
                           ("compare_recorded", writing)]:
        monkeypatch.setattr(bot.job, name, function)
    frozen_before = gc.get_freeze_count()

    outcome, _ = run_job(demo_project, tmp_path, base="main", pull=False)

    assert outcome.exit_code == 0 and len(outcome.report.charts) == 4
    assert seen["collecting while DVC starts"] is False
    assert seen["collecting in the steps"] is True and seen["frozen in the steps"] > frozen_before
    assert seen["collecting while reading"] is False
    assert seen["collecting after reading"] is True and seen["frozen after reading"] > seen["frozen in the steps"]
    assert gc.isenabled() and gc.get_freeze_count() == 0


def test_a_job_that_fails_while_reading_still_restores_the_collector(demo_project, tmp_path, monkeypatch):
    import bot.job

    def broken(*args, **kwargs):
        raise RuntimeError("a bug while reading plots")

    monkeypatch.setattr(bot.job, "read_revisions", broken)

    with pytest.raises(RuntimeError):
        run_job(demo_project, tmp_path, base="main", pull=False)

    assert gc.isenabled() and gc.get_freeze_count() == 0
