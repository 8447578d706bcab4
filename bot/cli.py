"""Command line: the commands and their exit codes (arguments.py parses them); the work is in job.py,
propose.py and publish.py."""

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
from typing import TYPE_CHECKING, Mapping, NoReturn, Sequence

from bot.arguments import build_parser, forge_settings
from bot.ci.outputs import report_outputs, write_outputs, write_step_summary
from bot.errors import EXIT_BAD_INPUT, EXIT_INTERNAL_ERROR, MrbotError
from bot.masking import mask, secret_values

if TYPE_CHECKING:
    from bot.charts.pool import ChartRenderer

log = logging.getLogger("bot")

class RedactSecrets(logging.Filter):
    """Mask secrets in every log record as in the pipeline's output (bot.masking)."""

    def __init__(self, secrets: Sequence[str]):
        super().__init__()
        self.secrets = list(secrets)

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg, record.args = mask(record.getMessage(), self.secrets), None
        return True


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
        if args.command == "propose":
            return _propose(args, environ)
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
    from bot.charts.pool import ChartRenderer

    # The chart workers first, so their matplotlib import overlaps the job's own imports too. The job
    # tells them to end once the charts are drawn, and they end while the report is posted; leaving
    # this block waits for them (and ends them, if the job failed before).
    with ChartRenderer() as renderer:
        return _report_with(args, environ, renderer)


def _report_with(args: argparse.Namespace, environ: Mapping[str, str], renderer: "ChartRenderer") -> int:
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
        outcome = run_report(options, context, renderer)
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


def _propose(args: argparse.Namespace, environ: Mapping[str, str]) -> int:
    from bot.ci import detect
    from bot.job import ReportOptions
    from bot.propose import ProposeOptions, run_propose
    from bot.workspace.proposal import parse_identity

    context = detect(environ, args.allow_pull_request_target)
    report = ReportOptions(
        path=args.path,
        base=args.base,
        out_dir=args.out or Path("mrbot-report"),
        template=args.template,
        config=args.config,
        fail_on_regression=args.fail_on_regression,
        report_id=args.report_id,
        pull=args.pull,
        secrets=tuple(secret_values(environ)),
    )
    author = parse_identity(args.author, "--author / MRBOT_AUTHOR") if args.author else None
    options = ProposeOptions(report, args.branch, args.title, args.update_imports, author)
    proposal = run_propose(options, context)
    outcome = proposal.outcome
    log.info("report written to %s", outcome.bundle_dir / "report.md")
    write_step_summary(context, outcome.markdown)
    if proposal.post_to is None:
        write_outputs(context, report_outputs(outcome.report.verdict, "", outcome.bundle_dir, outcome.report.proposal))
        if proposal.refused is not None:
            log.error("error: %s", proposal.refused)
            log.error("the report is kept in %s", outcome.bundle_dir)
            return proposal.refused.exit_code
        return outcome.exit_code
    return _post(proposal.post_to, outcome.report, outcome.bundle_dir, args, outcome.exit_code, outcome.template)


def _post(
    context, report, bundle_dir: Path, args: argparse.Namespace, exit_code: int, template: Path | None = None
) -> int:
    from bot.forges import open_forge
    from bot.publish import PublishOptions, publish

    comment_url = ""
    try:
        forge = open_forge(context, forge_settings(args))
        options = PublishOptions(
            comment_mode=args.comment_mode, template=template or args.template, set_status=args.set_status,
            check_run=args.check_run,
        )
        comment_url = publish(forge, report, bundle_dir, options).comment_url
    except MrbotError as exc:
        log.error("error: %s", exc)
        log.error("the report is kept in %s", bundle_dir)
        return exc.exit_code
    finally:
        write_outputs(context, report_outputs(report.verdict, comment_url, bundle_dir, report.proposal))
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
