"""The pipeline's output: streamed line by line while it runs, its tail kept, secrets masked."""

import logging
import subprocess
import sys
import textwrap

from bot.workspace.capture import MAX_LINE_CHARS, OutputCapture
from bot.workspace.repo import open_repo
from bot.workspace.run import StepOptions, run_steps
from tests.projects import make_project

SECRET = "s3cr3t-value-0123456789"


def shell(script: str) -> None:
    subprocess.run(["sh", "-c", script], check=True)


def test_child_output_is_echoed_masked_and_its_tail_kept():
    echoed = []
    with OutputCapture([SECRET], echo=echoed.append, tail_lines=3) as capture:
        shell(f"for i in 1 2 3 4 5; do echo line $i; done; echo token={SECRET} >&2")
        tail = capture.tail()
    assert tail == ["line 4", "line 5", "token=***"]
    assert "".join(echoed) == "line 1\nline 2\nline 3\nline 4\nline 5\ntoken=***\n"


def test_mark_starts_a_new_tail_and_collects_dvc_problems():
    with OutputCapture(echo=lambda text: None) as capture:
        shell("echo before")
        capture.mark()
        logging.getLogger("dvc.anything").warning("remote is %s", "slow")
        shell("echo after")
        assert capture.tail() == ["WARNING: remote is slow", "after"]
        assert capture.problems() == ["WARNING: remote is slow"]


def test_a_dvc_error_is_logged_on_one_line_with_each_cause_once():
    from dvc.exceptions import DvcException

    error, cause = DvcException("failed to push"), DvcException("failed to push")
    error.__cause__, cause.__cause__ = cause, OSError("disk\n  full")
    with OutputCapture(echo=lambda text: None) as capture:
        logging.getLogger("dvc").error("push", exc_info=(DvcException, error, None))
        assert capture.problems() == ["ERROR: push - failed to push: disk full"]


def test_progress_bars_colours_and_huge_lines_stay_readable():
    long_line = "x" * (MAX_LINE_CHARS * 3)
    with OutputCapture(echo=lambda text: None) as capture:
        shell(f"printf '10%%\\r50%%\\r100%%\\n'; printf '\\033[31mred\\033[0m\\n'; echo {long_line}; printf 'no newline'")
        tail = capture.tail()
    assert tail[:4] == ["10%", "50%", "100%", "red"]
    assert len(tail[4]) == MAX_LINE_CHARS and tail[4].endswith("…")
    assert tail[5] == "no newline"


def test_a_secret_split_between_pieces_of_a_long_line_is_still_masked():
    # More than the pending limit arrives ending in half the secret; the other half comes later.
    head, tail = SECRET[:10], SECRET[10:]
    echoed = []
    with OutputCapture([SECRET], echo=echoed.append):
        shell(f"printf '%s' {'x' * 8000}{head}; sleep 0.3; printf '%s\\n' {tail}")
    assert "".join(echoed) == "x" * 8000 + "***\n"


def test_stdout_and_stderr_are_restored():
    with OutputCapture(echo=lambda text: None):
        pass
    done = subprocess.run([sys.executable, "-c", "print('still here')"], capture_output=True, text=True)
    assert done.stdout == "still here\n"


WAITING_STAGE = textwrap.dedent(
    """\
    import os, sys, time
    print("waiting for go", flush=True)
    deadline = time.monotonic() + 120
    while not os.path.exists("go"):
        if time.monotonic() > deadline:
            sys.exit("nobody saw my output while I ran")
        time.sleep(0.02)
    print("got go", flush=True)
    open("out.txt", "w").write("done")
    """
)


def test_a_running_stage_output_reaches_the_log_before_it_ends(tmp_path):
    # The stage waits until the test has seen its first line in the log: buffered output would
    # make it give up and fail instead.
    root = make_project(
        tmp_path / "p",
        {
            "wait.py": WAITING_STAGE,
            "dvc.yaml": f"stages:\n  slow:\n    cmd: {sys.executable} wait.py\n    deps: [wait.py]\n    outs: [out.txt]\n",
        },
    )
    seen = []

    def echo(text):
        seen.append(text)
        if "waiting for go" in text:
            (root / "go").write_text("")

    with open_repo(root) as repo:
        run = run_steps(repo, StepOptions(pull=False), secrets=[], echo=echo)

    assert run.failure is None
    assert [stage.status for stage in run.repro.stages] == ["ran"]
    log_text = "".join(seen)
    assert log_text.index("waiting for go") < log_text.index("got go")
    assert "Running stage 'slow'" in log_text
