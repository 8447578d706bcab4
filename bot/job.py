"""The report job: the steps of DESIGN.md in order, from a checkout to a bundle (and a post)."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

from bot import __version__, workspace
from bot.charts import Chart, ChartRenderer
from bot.config import Config, load_config
from bot.context import LOCAL, Context
from bot.diff import compare_metrics, compare_params, overall_verdict, regressions, summarize
from bot.errors import EXIT_GATE_FAILED, EXIT_OK
from bot.report.bundle import write_bundle
from bot.report.model import Report, RevisionInfo
from bot.results import BASE, HEAD, Results, open_repo, read_plots, read_values

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ReportOptions:
    path: Path = Path(".")
    base: str | None = None
    out_dir: Path = Path("mrbot-report")
    template: Path | None = None
    config: Path | None = None
    fail_on_regression: bool | None = None  # None: as .mrbot.yml says
    report_id: str | None = None
    pull: bool = True
    repro: bool = True


@dataclass
class Outcome:
    report: Report
    markdown: str
    bundle_dir: Path
    exit_code: int
    messages: list[str] = field(default_factory=list)


def choose_base(root: Path, options: ReportOptions, context: Context) -> workspace.Revision:
    if options.base:
        return workspace.resolve(root, options.base)
    if context.base_sha:
        return workspace.resolve(root, context.base_sha)
    return workspace.default_base(root)


def revision_labels(base: workspace.Revision, head: workspace.Revision) -> dict[str, str]:
    return {BASE: f"base {base.rev} {base.sha[:7]}", HEAD: f"head {head.rev} {head.sha[:7]}"}


def build_report(
    results: Results,
    config: Config,
    base: workspace.Revision,
    head: workspace.Revision,
    charts: list[Chart],
    fail_on_regression: bool,
) -> Report:
    metrics = compare_metrics(
        results.metrics[BASE], results.metrics[HEAD], config.metric_rules, results.unreadable[BASE]
    )
    params = compare_params(results.params[BASE], results.params[HEAD])
    warnings = [f"Could not read {problem}" for problem in results.problems()]
    return Report(
        base=RevisionInfo(base.rev, base.sha),
        head=RevisionInfo(head.rev, head.sha),
        metrics=metrics.rows,
        params=params,
        charts=charts,
        verdict=overall_verdict(metrics.counts),
        summary=summarize(metrics.counts),
        counts=metrics.counts,
        report_id=config.report_id,
        warnings=warnings,
        gate_failed=fail_on_regression and bool(regressions(metrics)),
        version=__version__,
    )


def run_report(options: ReportOptions, context: Context) -> Outcome:
    root = workspace.find_repo_root(options.path.resolve())
    config = load_config(root, options.config)
    if options.report_id:
        config = _with_id(config, options.report_id)
    fail_on_regression = (
        config.fail_on_regression if options.fail_on_regression is None else options.fail_on_regression
    )
    base = choose_base(root, options, context)
    head = workspace.head(root)
    if context.head_sha and context.forge != LOCAL:
        head = workspace.Revision(head.rev, context.head_sha)
    log.info("comparing head %s (%s) with base %s (%s)", head.rev, head.sha[:8], base.rev, base.sha[:8])
    # Plots first, so charts render in a worker while DVC reads metrics and params.
    with ChartRenderer() as renderer, open_repo(root) as repo:
        plots = read_plots(repo, base.sha, config.plots_include, config.plots_exclude)
        charts = renderer.start(plots, options.out_dir, revision_labels(base, head))
        results = read_values(repo, base.sha, plots)
        report = build_report(results, config, base, head, charts(), fail_on_regression)
    report.target = _target(context)
    markdown = write_bundle(report, options.out_dir, options.template or config.template)
    exit_code = EXIT_GATE_FAILED if report.gate_failed else EXIT_OK
    return Outcome(report, markdown, options.out_dir, exit_code)


def _with_id(config: Config, report_id: str) -> Config:
    from dataclasses import replace

    return replace(config, report_id=report_id)


def _target(context: Context) -> dict[str, object]:
    """What `mrbot publish` needs to post this bundle later, from another job."""
    return {
        "forge": context.forge,
        "repository": context.repository,
        "project_id": context.project_id,
        "number": context.number,
        "head_sha": context.head_sha,
        "run_url": context.run_url,
    }
