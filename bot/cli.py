"""Command line: argument parsing and exit codes; the work is in job.py and publish.py."""

from __future__ import annotations

import argparse
import atexit
import contextlib
import logging
import os
import subprocess
import sys
import tempfile
import threading
import time
import traceback
from pathlib import Path
from typing import Mapping, NoReturn, Sequence

from bot import __version__
from bot.ci.outputs import report_outputs, write_outputs, write_step_summary
from bot.errors import EXIT_BAD_INPUT, EXIT_INTERNAL_ERROR, MrbotError
from bot.forges.base import COMMENT_MODES
from bot.masking import mask, secret_values

log = logging.getLogger("bot")

EXIT_CODES_HELP = """exit codes:
  0  report written (and posted) and no gate failed
  1  a gate failed: a metric regressed beyond its threshold (--fail-on-regression)
  2  bad usage or input (the message names the file or option to fix)
  3  the DVC pipeline failed (dvc pull / dvc repro); the report says where
  4  the forge refused (token, permissions, not found); the report is still on disk
  5  mrbot itself failed (a bug): one line here, the traceback with -v; please report it
130  interrupted (Ctrl-C); no report
"""


class RedactSecrets(logging.Filter):
    """Mask secrets in every log record as in the pipeline's output (bot.masking)."""

    def __init__(self, secrets: Sequence[str]):
        super().__init__()
        self.secrets = list(secrets)

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg, record.args = mask(record.getMessage(), self.secrets), None
        return True


def _env_flag(environ: Mapping[str, str], name: str) -> bool | None:
    value = environ.get(name)
    if value is None or value == "":
        return None
    return value.strip().lower() in ("1", "true", "yes", "on")


def build_parser(environ: Mapping[str, str]) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="mrbot",
        description="Reproduce a DVC pipeline and report metrics, params and plots against the base branch.",
        epilog=EXIT_CODES_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"mrbot {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log more detail to stderr")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    report = commands.add_parser(
        "report",
        help="build the report for the current checkout (and post it in CI)",
        epilog=EXIT_CODES_HELP + "\nEvery option can also be set as MRBOT_<OPTION> (e.g. MRBOT_BASE).",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    report.add_argument("path", nargs="?", default=".", type=Path, help="the DVC project: the repository, or a project folder in a monorepo (default: .)")
    report.add_argument("--base", default=environ.get("MRBOT_BASE"),
                        help="revision to compare with (default: where the PR/MR forked from its base "
                        "branch, or the first parent of the forge's test merge; locally the merge-base "
                        "with origin/HEAD, main or master)")
    report.add_argument("--out", type=Path, default=environ.get("MRBOT_OUT"),
                        help="bundle directory: report.md, report.json, images/ (default: mrbot-report)")
    report.add_argument("--dry-run", action="store_true",
                        help="print the Markdown report to stdout; contact no forge")
    report.add_argument("--template", type=Path, default=environ.get("MRBOT_TEMPLATE"),
                        help="Jinja2 template for the report (default: the built-in one)")
    report.add_argument("--config", type=Path, default=environ.get("MRBOT_CONFIG"),
                        help="config file (default: .mrbot.yml in the repository, if present)")
    report.add_argument("--id", dest="report_id", default=environ.get("MRBOT_ID"),
                        help="report id, so several reports can live on one PR (default: 'default')")
    report.add_argument("--fail-on-regression", action="store_true",
                        default=_env_flag(environ, "MRBOT_FAIL_ON_REGRESSION"),
                        help="exit 1 when a metric regressed beyond its threshold")
    report.add_argument("--no-pull", dest="pull", action="store_false",
                        default=_env_flag(environ, "MRBOT_PULL") is not False,
                        help="do not `dvc pull` first (MRBOT_PULL=false)")
    report.add_argument("--no-repro", dest="repro", action="store_false",
                        default=_env_flag(environ, "MRBOT_REPRO") is not False,
                        help="do not `dvc repro` first (MRBOT_REPRO=false)")
    report.add_argument("--base-repro", action="store_true",
                        default=bool(_env_flag(environ, "MRBOT_BASE_REPRO")),
                        help="when the base's results are in neither the DVC cache nor the remote, reproduce "
                        "the base in a temporary git worktree (MRBOT_BASE_REPRO=true)")
    report.add_argument("--history", metavar="N", default=environ.get("MRBOT_HISTORY"),
                        help="read the metrics of the base branch's last N commits for trends and `auto` "
                        "thresholds; 0 turns it off (default: history in .mrbot.yml, else 10)")
    report.add_argument("--exp-set", dest="exp_sets", action="append", default=[], metavar="PARAM=V1,V2",
                        help="run a hyperparameter search: every combination of the values given (repeat for "
                        "more params) as a DVC experiment, shown in the report (see docs/experiments.md)")
    report.add_argument("--push", action="store_true", default=bool(_env_flag(environ, "MRBOT_PUSH")),
                        help="`dvc push` what dvc repro built to the default remote (MRBOT_PUSH=true)")
    _add_forge_options(report, environ)

    publish = commands.add_parser(
        "publish",
        help="post a bundle written by `mrbot report --out` (fork-safe second stage)",
        epilog=EXIT_CODES_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    publish.add_argument("bundle", type=Path, help="the bundle directory")
    publish.add_argument("--template", type=Path, default=environ.get("MRBOT_TEMPLATE"),
                         help="Jinja2 template for the report (default: the built-in one)")
    judging = publish.add_argument_group("judging (the bundle's numbers, this run's rules)")
    judging.add_argument("--project", type=Path, default=Path(environ.get("MRBOT_WORKING_DIRECTORY", ".")),
                         help="this run's checkout of the DVC project, whose .mrbot.yml judges the bundle "
                         "(default: MRBOT_WORKING_DIRECTORY, else .)")
    judging.add_argument("--config", type=Path, default=environ.get("MRBOT_CONFIG"),
                         help="config file to judge with (default: .mrbot.yml in --project, if present)")
    judging.add_argument("--id", dest="report_id", default=environ.get("MRBOT_ID"),
                         help="the report id this run posts; a bundle with another id is refused "
                         "(default: id in the config, else 'default')")
    judging.add_argument("--fail-on-regression", action="store_true",
                         default=_env_flag(environ, "MRBOT_FAIL_ON_REGRESSION"),
                         help="exit 1 and fail the status when a metric regressed beyond this run's thresholds")
    _add_forge_options(publish, environ)

    demo = commands.add_parser("demo", help="build a small DVC project in a temp dir and report on it")
    demo.add_argument("--dir", type=Path, help="where to build it (default: a new temp dir)")
    return parser


def _add_forge_options(parser: argparse.ArgumentParser, environ: Mapping[str, str]) -> None:
    forge = parser.add_argument_group("posting (GitHub / GitLab)")
    forge.add_argument("--comment-mode", choices=COMMENT_MODES,
                       default=environ.get("MRBOT_COMMENT_MODE", "update"),
                       help="update the one report comment (default), add a new one, or post none")
    forge.add_argument("--status-context", default=environ.get("MRBOT_STATUS_CONTEXT", "mrbot"),
                       help="name of the commit status mrbot sets (default: mrbot)")
    forge.add_argument("--no-status", dest="set_status", action="store_false",
                       default=not _env_flag(environ, "MRBOT_NO_STATUS"), help="set no commit status")
    forge.add_argument("--assets-branch", default=environ.get("MRBOT_ASSETS_BRANCH", "mrbot-assets"),
                       help="GitHub: branch that holds the report's images (default: mrbot-assets)")
    forge.add_argument("--allow-pull-request-target", action="store_true",
                       default=bool(_env_flag(environ, "MRBOT_ALLOW_PULL_REQUEST_TARGET")),
                       help="GitHub: run on pull_request_target events (runs PR code with a write token: "
                       "only for trusted PRs)")


def _forge_settings(args: argparse.Namespace) -> dict[str, str]:
    return {"status_context": args.status_context, "assets_branch": args.assets_branch}


def main(argv: Sequence[str] | None = None, environ: Mapping[str, str] | None = None) -> int:
    environ = os.environ if environ is None else environ
    # An empty variable means unset: CI templates and the GitHub action pass unset inputs as "".
    environ = {name: value for name, value in environ.items() if value != ""}
    parser = build_parser(environ)
    args = parser.parse_args(argv)
    _configure_logging(args.verbose, secret_values(environ))
    if args.command is None:
        parser.print_help()
        return EXIT_BAD_INPUT
    try:
        if args.command == "report":
            return _report(args, environ)
        if args.command == "publish":
            return _publish(args, environ)
        return _demo(args)
    except MrbotError as exc:
        log.error("error: %s", exc)
        return exc.exit_code
    except OSError as exc:
        # A file or directory mrbot was pointed at (--out, --template, a bundle) cannot be used.
        where = f"{exc.filename}: " if exc.filename else ""
        log.error("error: %s%s; check the path and its permissions", where, exc.strerror or exc)
        return EXIT_BAD_INPUT
    except subprocess.CalledProcessError as exc:
        command = " ".join(str(part) for part in exc.cmd)
        from bot.workspace.git import last_error_line

        log.error("error: `%s` failed: %s", command, last_error_line(exc) or f"exit code {exc.returncode}")
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        log.error("interrupted")
        return 130
    except Exception as exc:  # noqa: BLE001 - a bug: one masked line, not a traceback (-v shows it)
        reason = (str(exc).strip().splitlines() or [""])[0][:300]
        log.error("error: mrbot failed (%s: %s); this is a bug, please report it with the -v log",
                  type(exc).__name__, reason)
        log.debug("%s", "".join(traceback.format_exception(exc)))  # in the message, so it is masked too
        return EXIT_INTERNAL_ERROR


def run() -> NoReturn:
    """The `mrbot` command: main(), then an exit without Python's teardown of the thousands of
    modules DVC and matplotlib load, which takes about 0.2 s that every CI job would wait for."""
    code = main()
    if threading.active_count() > 1:
        raise SystemExit(code)  # a thread still running: the normal exit waits for it
    # What the normal exit does that matters here: atexit handlers (logging's flush, pending
    # weakref finalizers such as temporary directories' cleanup), then the stdio buffers.
    atexit._run_exitfuncs()
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except (OSError, ValueError):
        raise SystemExit(code) from None  # a closed pipe: the normal exit reports it as Python does
    os._exit(code)


class _CurrentStderrHandler(logging.StreamHandler):
    """Writes to whatever sys.stderr is at the time of the record, not when logging was set up."""

    @property
    def stream(self):
        return sys.stderr

    @stream.setter
    def stream(self, _value) -> None:
        pass


def _configure_logging(verbose: bool, secrets: list[str]) -> None:
    handler = _CurrentStderrHandler()
    handler.setFormatter(logging.Formatter("mrbot: %(message)s"))
    handler.addFilter(RedactSecrets(secrets))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.WARNING)
    log.setLevel(logging.DEBUG if verbose else logging.INFO)


def _history(raw: str | None) -> int | None:
    from bot.config import check_history

    if raw is None:
        return None
    text = raw.strip()
    return check_history(int(text) if text.isascii() and text.isdigit() else raw, "--history / MRBOT_HISTORY")


def _report(args: argparse.Namespace, environ: Mapping[str, str]) -> int:
    from bot.ci import detect
    from bot.ci.context import GITHUB, LOCAL
    from bot.job import ReportOptions, run_report

    context = detect(environ, args.allow_pull_request_target)
    out_dir = args.out
    scratch = None
    if out_dir is None and args.dry_run:
        scratch = tempfile.TemporaryDirectory(prefix="mrbot-dry-run-")
        out_dir = Path(scratch.name)
    options = ReportOptions(
        path=args.path,
        base=args.base,
        out_dir=out_dir or Path("mrbot-report"),
        template=args.template,
        config=args.config,
        fail_on_regression=args.fail_on_regression,
        report_id=args.report_id,
        pull=args.pull,
        repro=args.repro,
        push=args.push,
        base_repro=args.base_repro,
        history=_history(args.history),
        exp_sets=tuple(args.exp_sets),
        secrets=tuple(secret_values(environ)),
    )
    try:
        outcome = run_report(options, context)
        if args.dry_run:
            sys.stdout.write(outcome.markdown)
            return outcome.exit_code
        took = outcome.report.pipeline.get("total_time")
        log.info("report written to %s%s", outcome.bundle_dir / "report.md", f" ({took} in all)" if took else "")
        # The job summary needs no write token, so even a fork PR's run shows the report.
        write_step_summary(context, outcome.markdown)
        if context.forge == GITHUB and not context.token:
            # The fork-safe first stage: build the bundle with no token; `mrbot publish` posts it later.
            log.warning("no token (MRBOT_TOKEN or GITHUB_TOKEN): the report is not posted; "
                        "`mrbot publish %s` with a token posts it", outcome.bundle_dir)
        if context.forge == LOCAL or (context.forge == GITHUB and not context.token):
            write_outputs(context, report_outputs(outcome.report.verdict, "", outcome.bundle_dir))
            return outcome.exit_code
        return _post(context, outcome.report, outcome.bundle_dir, args, outcome.exit_code, outcome.template)
    finally:
        if scratch:
            scratch.cleanup()


def _post(
    context, report, bundle_dir: Path, args: argparse.Namespace, exit_code: int, template: Path | None = None
) -> int:
    from bot.forges import open_forge
    from bot.publish import PublishOptions, publish

    comment_url = ""
    try:
        forge = open_forge(context, _forge_settings(args))
        options = PublishOptions(
            comment_mode=args.comment_mode, template=template or args.template, set_status=args.set_status
        )
        comment_url = publish(forge, report, bundle_dir, options).comment_url
    except MrbotError as exc:
        log.error("error: %s", exc)
        log.error("the report is kept in %s", bundle_dir)
        return exc.exit_code
    finally:
        write_outputs(context, report_outputs(report.verdict, comment_url, bundle_dir))
    return exit_code


def _publish(args: argparse.Namespace, environ: Mapping[str, str]) -> int:
    from bot.ci import detect
    from bot.config import DEFAULT_FILE as DEFAULT_CONFIG
    from bot.config import load_config
    from bot.errors import EXIT_GATE_FAILED, EXIT_OK
    from bot.publish import TrustedRules, trust_bundle
    from bot.report.bundle import read_bundle
    from bot.report.model import check_report_id

    report = read_bundle(args.bundle)
    context = detect(environ, args.allow_pull_request_target)
    config = load_config(args.project, args.config)
    if args.config is None and not (args.project / DEFAULT_CONFIG).exists():
        log.info("no %s in %s: verdicts follow the default rules; check out the base branch before "
                 "`mrbot publish` (or pass --project / --config) to judge with its rules", DEFAULT_CONFIG, args.project)
    fail_on_regression = config.fail_on_regression if args.fail_on_regression is None else args.fail_on_regression
    report_id = check_report_id(args.report_id, "--id / MRBOT_ID") if args.report_id else config.report_id
    report = trust_bundle(report, args.bundle, context, TrustedRules(config, fail_on_regression, report_id))
    exit_code = EXIT_GATE_FAILED if report.gate_failed else EXIT_OK
    return _post(context, report, args.bundle, args, exit_code, args.template or config.template)


def _demo(args: argparse.Namespace) -> int:
    from bot.ci.context import Context
    from bot.job import ReportOptions, run_report
    from bot.workspace.demo import build_demo_project

    root = (args.dir or Path(tempfile.mkdtemp(prefix="mrbot-demo-"))).resolve()
    log.info("building the demo project in %s", root)
    started = time.perf_counter()
    # The demo's stdout is the report; anything of building the project goes to stderr.
    with contextlib.redirect_stdout(sys.stderr):
        build_demo_project(root)
    log.info("demo project built in %.1f s: branch main holds the baseline run, experiment a changed one",
             time.perf_counter() - started)
    outcome = run_report(ReportOptions(path=root, base="main", out_dir=root / "mrbot-report"), Context())
    sys.stdout.write(outcome.markdown)
    log.info("demo project: %s", root)
    log.info("report bundle: %s", outcome.bundle_dir)
    return outcome.exit_code
