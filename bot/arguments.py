"""The command line's arguments: the commands, their options and the MRBOT_* variables behind them."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Mapping

from bot import __version__
from bot.forges.base import COMMENT_MODES

EXIT_CODES_HELP = """exit codes:
  0  report written (and posted) and no gate failed
  1  a gate failed: a metric regressed beyond its threshold (--fail-on-regression)
  2  bad usage or input (the message names the file or option to fix)
  3  the DVC pipeline failed (dvc pull / dvc repro); the report says where
  4  the forge refused (token, permissions, not found); the report is still on disk
  5  mrbot itself failed (a bug): one line here, the traceback with -v; please report it
130  interrupted (Ctrl-C); no report
"""


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
    _add_report_options(report, environ, REPORT_BASE_HELP)
    report.add_argument("--dry-run", action="store_true",
                        help="print the Markdown report to stdout; contact no forge")
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

    propose = commands.add_parser(
        "propose",
        help="retrain on the base branch and open (or update) one PR/MR with the report (scheduled jobs)",
        description="On a checkout of the base branch's tip: optionally `dvc update` the imports, then dvc pull, "
        "dvc repro and dvc push. When the results changed, commit them to --branch (rebuilt from the base), push "
        "it, open or update its one pull/merge request, and post the report on it. See docs/retrain.md.",
        epilog=EXIT_CODES_HELP + "\nEvery option can also be set as MRBOT_<OPTION> (e.g. MRBOT_BRANCH).",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _add_report_options(propose, environ, PROPOSE_BASE_HELP)
    propose.add_argument("--update-imports", action="store_true", default=bool(_env_flag(environ, "MRBOT_UPDATE_IMPORTS")),
                         help="`dvc update` the project's import stages first, to pull in the sources' new data")
    propose.add_argument("--branch", default=environ.get("MRBOT_BRANCH", "mrbot/retrain"),
                         help="the branch to commit to and open the PR/MR from (default: mrbot/retrain)")
    propose.add_argument("--title", default=environ.get("MRBOT_TITLE"),
                         help="the PR/MR title (default: 'Retrain on BASE (mrbot)')")
    propose.add_argument("--author", default=environ.get("MRBOT_AUTHOR"), metavar="'NAME <EMAIL>'",
                         help="who the commit is by (default: github-actions[bot] on GitHub, else mrbot)")
    _add_forge_options(propose, environ)

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


REPORT_BASE_HELP = (
    "revision to compare with (default: where the PR/MR forked from its base branch, or the first parent of "
    "the forge's test merge; locally the merge-base with origin/HEAD, main or master)"
)
PROPOSE_BASE_HELP = (
    "the base branch the checkout is at the tip of, and the PR/MR's target (default: the branch the CI "
    "pipeline runs on, else the checkout's branch)"
)


def _add_report_options(parser: argparse.ArgumentParser, environ: Mapping[str, str], base_help: str) -> None:
    """What `report` and `propose` share: the project, the base, the bundle, the rules, the pull."""
    parser.add_argument("path", nargs="?", default=".", type=Path, help="the DVC project: the repository, or a project folder in a monorepo (default: .)")
    parser.add_argument("--base", default=environ.get("MRBOT_BASE"), help=base_help)
    parser.add_argument("--out", type=Path, default=environ.get("MRBOT_OUT"),
                        help="bundle directory: report.md, report.json, images/ (default: mrbot-report)")
    parser.add_argument("--template", type=Path, default=environ.get("MRBOT_TEMPLATE"),
                        help="Jinja2 template for the report (default: the built-in one)")
    parser.add_argument("--config", type=Path, default=environ.get("MRBOT_CONFIG"),
                        help="config file (default: .mrbot.yml in the repository, if present)")
    parser.add_argument("--id", dest="report_id", default=environ.get("MRBOT_ID"),
                        help="report id, so several reports can live on one PR (default: 'default')")
    parser.add_argument("--fail-on-regression", action="store_true",
                        default=_env_flag(environ, "MRBOT_FAIL_ON_REGRESSION"),
                        help="exit 1 when a metric regressed beyond its threshold")
    parser.add_argument("--no-pull", dest="pull", action="store_false",
                        default=_env_flag(environ, "MRBOT_PULL") is not False,
                        help="do not `dvc pull` first (MRBOT_PULL=false)")


def _add_forge_options(parser: argparse.ArgumentParser, environ: Mapping[str, str]) -> None:
    forge = parser.add_argument_group("posting (GitHub / GitLab / Bitbucket)")
    forge.add_argument("--comment-mode", choices=COMMENT_MODES,
                       default=environ.get("MRBOT_COMMENT_MODE", "update"),
                       help="update the one report comment (default), add a new one, or post none")
    forge.add_argument("--status-context", default=environ.get("MRBOT_STATUS_CONTEXT", "mrbot"),
                       help="name of the commit status mrbot sets (default: mrbot)")
    forge.add_argument("--no-status", dest="set_status", action="store_false",
                       default=not _env_flag(environ, "MRBOT_NO_STATUS"), help="set no commit status")
    forge.add_argument("--no-check-run", dest="check_run", action="store_false",
                       default=not _env_flag(environ, "MRBOT_NO_CHECK_RUN"),
                       help="GitHub: no check run beside the status (it needs `checks: write`); Bitbucket: no Code Insights report")
    forge.add_argument("--assets-branch", default=environ.get("MRBOT_ASSETS_BRANCH", "mrbot-assets"),
                       help="GitHub, Bitbucket: branch that holds the report's images (default: mrbot-assets)")
    forge.add_argument("--allow-pull-request-target", action="store_true",
                       default=bool(_env_flag(environ, "MRBOT_ALLOW_PULL_REQUEST_TARGET")),
                       help="GitHub: run on pull_request_target events (runs PR code with a write token: "
                       "only for trusted PRs)")


def forge_settings(args: argparse.Namespace) -> dict[str, str]:
    return {"status_context": args.status_context, "assets_branch": args.assets_branch}
