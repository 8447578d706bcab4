"""What a job's log reads like: one line per step, each stage's output once (folded on CI), and none
of DVC's or DVCLive's advice to someone at a terminal. Real git + DVC, a stage that logs with DVCLive."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from bot.ci.context import GITHUB, GITLAB
from bot.ci.folds import LogFolds
from bot.cli import main
from bot.workspace.capture import OutputCapture
from bot.workspace.demo import git
from tests.servers.github import actions_environ, pull_request_event

LIVE = """\
from dvclive import Live

with Live(save_dvc_exp=True, dvcyaml=None) as live:
    for epoch in range(3):
        live.log_metric("accuracy", 0.5 + epoch / 10)
        print(f"epoch {epoch} done", flush=True)
        live.next_step()
"""
HINTS = ("To track the changes with git", "git add dvc.lock", "To enable auto staging", "core.autostage",
         "You can now commit", "save_dvc_exp", "dvc exp run")


@pytest.fixture
def live_project(demo_project) -> Path:
    """The demo on `experiment`, plus a stage that logs with DVCLive, committed without its lock:
    `dvc repro` runs it (and the stages whose params changed)."""
    (demo_project / "src" / "live.py").write_text(LIVE)
    pipeline = yaml.safe_load((demo_project / "dvc.yaml").read_text())
    pipeline["stages"]["live"] = {"cmd": f"{sys.executable} src/live.py", "deps": ["src/live.py"],
                                  "outs": [{"dvclive": {"cache": False}}]}
    (demo_project / "dvc.yaml").write_text(yaml.safe_dump(pipeline, sort_keys=False))
    params = (demo_project / "params.yaml").read_text()
    (demo_project / "params.yaml").write_text(params.replace("epochs: 60", "epochs: 61"))
    git(demo_project, "add", "-A")
    git(demo_project, "commit", "-q", "-m", "Log with DVCLive")
    return demo_project


def assert_reads_like_a_ci_log(log: str) -> list[str]:
    lines = log.splitlines()
    for hint in HINTS:
        assert hint not in log, f"{hint!r} in the log:\n{log}"
    said = [line for line in lines if line.strip()]
    # Nothing printed twice: once as DVC wrote it and again through mrbot's log, or back to back.
    doubled = [line for line in said if not line.startswith("mrbot: ") and f"mrbot: {line}" in said]
    assert not doubled, log
    assert not [a for a, b in zip(said, said[1:]) if a == b], log
    assert "mrbot: " not in [line.rstrip() for line in lines], log  # no empty message of DVC's
    return lines


def test_a_github_job_log_folds_each_stage_and_says_each_step_once(live_project, tmp_path, capfd):
    head, base = git(live_project, "rev-parse", "HEAD"), git(live_project, "rev-parse", "main")
    event = pull_request_event("octo-org/ml-project", 7, head, base, "http://127.0.0.1:9")
    environ = actions_environ(tmp_path / "runner", "pull_request", event, "octo-org/ml-project",
                              "http://127.0.0.1:9", "9" * 40)  # no token: the report is written, not posted

    code = main(["report", str(live_project), "--out", str(tmp_path / "out")], environ=environ)
    err = capfd.readouterr().err

    assert code == 0, err
    lines = assert_reads_like_a_ci_log(err)
    # Each stage that runs is one group: its reasons in the title, its output inside, once.
    opened = [index for index, line in enumerate(lines) if line.startswith("::group::")]
    closed = [index for index, line in enumerate(lines) if line == "::endgroup::"]
    assert len(opened) == len(closed) == 3, err  # train and evaluate (params), live (new)
    assert all(start < end for start, end in zip(opened, closed))
    assert all(end < start for end, start in zip(closed, opened[1:]))
    [live] = [index for index in opened if lines[index].startswith("::group::stage live")]
    inside = lines[live:closed[opened.index(live)]]
    assert [line for line in inside if line.startswith("epoch ")] == ["epoch 0 done", "epoch 1 done", "epoch 2 done"]
    assert sum(line.startswith("epoch ") for line in lines) == 3
    # One line per step, outside the groups, with its time.
    after = lines[closed[opened.index(live)] + 1]
    assert after.startswith("mrbot: stage 'live' ran in ") and after.endswith(" s"), err
    assert any(line.startswith("mrbot: dvc repro: 3 stages ran, 1 up to date (") for line in lines), err
    assert any(line.startswith("mrbot: report written to ") and line.endswith(" in all)") for line in lines), err


def test_the_demo_says_each_thing_once(tmp_path, capfd):
    code = main(["demo", "--dir", str(tmp_path / "demo")], environ={})
    captured = capfd.readouterr()

    assert code == 0, captured.err
    lines = assert_reads_like_a_ci_log(captured.err)
    assert lines[0] == f"mrbot: building the demo project in {tmp_path / 'demo'}"
    assert lines[1].startswith("mrbot: demo project built in ")
    assert "Initialized DVC repository." not in captured.err
    assert captured.out.startswith("## ")  # stdout is the report alone


def say(text: str) -> None:
    """Output of a stage's command: a child process writing to the job's stdout."""
    subprocess.run(["sh", "-c", f"echo {text}"], check=True)


@pytest.mark.parametrize("forge", [GITHUB, GITLAB])
def test_fold_markers_keep_their_place_in_the_output(forge):
    echoed: list[str] = []
    with OutputCapture(echo=echoed.append, folds=LogFolds(forge)) as capture:
        say("before")
        capture.start_fold("train", "stage train: params.yaml: lr changed\n::error::x")
        say("inside")
        capture.end_fold("train")
        say("after")
        tail = capture.tail()

    assert echoed[0] == "before\n" and echoed[2] == "inside\n" and echoed[4] == "after\n"
    opening, closing = echoed[1], echoed[3]
    if forge == GITHUB:
        # A title cannot end the marker's line and start a workflow command of its own.
        assert opening == "::group::stage train: params.yaml: lr changed_::error::x\n"
        assert closing == "::endgroup::\n"
    else:
        assert opening.startswith("\x1b[0Ksection_start:") and "mrbot_train[collapsed=true]\r\x1b[0K" in opening
        assert opening.endswith("stage train: params.yaml: lr changed_::error::x\n")
        assert closing.startswith("\x1b[0Ksection_end:") and ":mrbot_train\r" in closing
    assert tail == ["before", "inside", "after"]  # the markers are no part of the report's log tail


def test_no_folds_on_a_laptop():
    echoed: list[str] = []
    with OutputCapture(echo=echoed.append) as capture:
        capture.start_fold("train", "stage train")
        say("inside")
        capture.end_fold("train")
    assert echoed == ["inside\n"]
