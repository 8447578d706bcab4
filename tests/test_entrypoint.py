"""The image's entrypoint (docker/entrypoint.sh), run with the real mrbot of this venv: mrbot's
arguments run mrbot (after MRBOT_INSTALL), any other command runs as given (GitLab's job shell).
scripts/test-image.sh runs the same entrypoint inside the built image."""

import os
import re
import subprocess
import sys
from pathlib import Path

from bot import __version__
from bot.cli import build_parser

ENTRYPOINT = Path(__file__).resolve().parents[1] / "docker" / "entrypoint.sh"


def run(*args: str, install: str | None = None, stdin: str | None = None, **variables: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}", **variables}
    env.pop("MRBOT_INSTALL", None)
    if install is not None:
        env["MRBOT_INSTALL"] = install
    return subprocess.run(["sh", str(ENTRYPOINT), *args], env=env, input=stdin, capture_output=True, text=True)


def test_mrbot_arguments_run_mrbot():
    assert run("--version").stdout == f"mrbot {__version__}\n"
    assert "--fail-on-regression" in run("report", "--help").stdout
    assert run("mrbot", "--version").stdout == f"mrbot {__version__}\n"


def test_install_runs_first_then_mrbot_with_the_same_arguments():
    done = run("--version", install="echo install ran; command -v pip >/dev/null && echo pip found")
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["install ran", "pip found", f"mrbot {__version__}"]
    assert "running MRBOT_INSTALL: echo install ran" in done.stderr


def test_a_failing_install_stops_before_mrbot():
    done = run("--version", install="echo broken; exit 7")
    assert done.returncode == 7
    assert done.stdout == "broken\n"


def test_another_command_runs_as_given_without_install():
    done = run("sh", "-c", 'echo "args: $*"', "sh", "a b", "c", install="echo must not run")
    assert done.returncode == 0, done.stderr
    assert done.stdout == "args: a b c\n"


def test_a_shell_reads_the_job_script_from_stdin_like_gitlab_runs_it():
    done = run("sh", stdin="mrbot --version\nexit 3\n")
    assert done.returncode == 3
    assert done.stdout == f"mrbot {__version__}\n"


def test_no_arguments_show_mrbot_usage():
    done = run()
    assert done.returncode == 2
    assert "usage: mrbot" in done.stdout


def test_no_arguments_in_bitbucket_pipelines_run_report_as_a_pipe_needs():
    done = run(BITBUCKET_BUILD_NUMBER="17")  # here, in mrbot's own checkout, which has no pipeline
    assert "usage: mrbot" not in done.stdout
    assert "no dvc.yaml; mrbot reports on DVC pipelines" in done.stderr  # it is `mrbot report`'s answer
    assert run("", BITBUCKET_BUILD_NUMBER="17").returncode == 2  # an empty argument is still mrbot's usage


def test_the_entrypoint_knows_every_subcommand_of_the_cli():
    subcommands = next(action.choices for action in build_parser({})._actions if action.dest == "command")
    case_line = next(line for line in ENTRYPOINT.read_text().splitlines() if "-*)" in line)
    listed = set(re.findall(r"\b[a-z]+\b", case_line.split(")")[0])) - {"run_mrbot"}
    assert listed == set(subcommands)
