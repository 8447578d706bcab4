"""The report job: the steps of DESIGN.md in order, from a checkout to a bundle (and a post)."""

from __future__ import annotations

import logging
import os
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Callable

from bot import __version__
from bot.charts.chart import Chart
from bot.charts.experiments import search_plot
from bot.charts.pool import ChartRenderer
from bot.charts.trend import trend_plot
from bot.ci.context import LOCAL, Context
from bot.ci.folds import LogFolds
from bot.compare.diff import MetricRule, compare_params
from bot.compare.experiments import Ranking, rank
from bot.compare.judge import gap_json, judge
from bot.config import Config, load_config
from bot.errors import EXIT_GATE_FAILED, EXIT_OK, EXIT_PIPELINE_FAILED, BadInput
from bot.masking import secret_values
from bot.report.experiments import experiments_json
from bot.report.model import PIPELINE_FAILED, Report, RevisionInfo, check_report_id
from bot.report.pipeline import SectionInputs, pipeline_section
from bot.results import BASE, HEAD
from bot.results.experiments import FAILED, Experiment, read_experiments
from bot.results.history import History, read_history, read_metrics_at
from bot.results.values import Results, read_revisions
from bot.workspace import git
from bot.workspace.baseline import Baseline, choose_baseline
from bot.workspace.collector import CollectorPause
from bot.workspace.experiments import (
    GIT_REMOTE,
    RUN,
    ExperimentPlan,
    Ran,
    check_grid,
    fetch_remote,
    head_params,
    push_experiments,
    run_grid,
    search_plan,
)
from bot.workspace.recorded import compare as compare_recorded
from bot.workspace.repo import MISSING_FROM_STORAGE, open_repo
from bot.workspace.run import BaseRun, StepOptions, WorkspaceRun, pending_stages, reproduce_base, run_steps

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
    push: bool = False
    base_repro: bool = False
    history: int | None = None  # None: as .mrbot.yml says
    exp_sets: tuple[str, ...] = ()  # --exp-set PARAM=V1,V2: a grid that replaces .mrbot.yml's
    # Secret values to mask (the CLI's, from the environ it was given); None: os.environ's.
    secrets: tuple[str, ...] | None = None
    # Where the pipeline's output is streamed (default: the job's stderr); tests watch it here.
    echo: Callable[[str], None] | None = None
    # mrbot propose: the steps it ran already, the commit the workspace now holds, where it was proposed.
    steps: WorkspaceRun | None = None
    head: git.Revision | None = None
    proposal: dict[str, str] = field(default_factory=dict)


@dataclass
class Outcome:
    report: Report
    markdown: str
    bundle_dir: Path
    exit_code: int
    template: Path | None = None  # the one report.md was rendered with; the posted comment uses it too


def revision_labels(base: git.Revision, head: git.Revision) -> dict[str, str]:
    return {BASE: f"base {base.rev} {base.sha[:8]}", HEAD: f"head {head.rev} {head.sha[:8]}"}


@dataclass
class Beside:
    """What the report shows beside base and head: the base branch's history, the extra baselines."""

    history: History = field(default_factory=History)
    baselines: dict[str, git.Revision] = field(default_factory=dict)
    baseline_values: dict[str, dict[tuple[str, str], object]] = field(default_factory=dict)  # name -> metrics
    warnings: list[str] = field(default_factory=list)


def build_report(
    results: Results,
    config: Config,
    baseline: Baseline,
    head: git.Revision,
    charts: list[Chart],
    fail_on_regression: bool,
    beside: Beside | None = None,
) -> Report:
    beside = beside or Beside()
    base = baseline.revision
    judgement = judge(
        results.metrics[BASE],
        results.metrics[HEAD],
        config.metric_rules,
        config.splits,
        fail_on_regression,
        results.unreadable[BASE],
        beside.history.values if beside.history.commits else None,
        beside.baseline_values,
    )
    params = compare_params(results.params[BASE], results.params[HEAD])
    warnings = [baseline.warning] if baseline.warning else []
    warnings += [f"Could not read {problem}" for problem in results.problems()]
    warnings += [f"Skipped {value}" for value in results.skipped]
    warnings += beside.warnings
    warnings += [beside.history.warning] if beside.history.warning else []
    warnings += judgement.warnings
    return Report(
        base=RevisionInfo(base.rev, base.sha),
        head=RevisionInfo(head.rev, head.sha),
        metrics=judgement.rows,
        params=params,
        charts=charts,
        verdict=judgement.verdict,
        summary=judgement.summary,
        counts=judgement.counts,
        report_id=config.report_id,
        warnings=warnings,
        gate_failed=judgement.gate_failed,
        version=__version__,
        baseline={"kind": baseline.kind, "ahead": baseline.ahead, "branch": baseline.branch},
        history=[{"sha": commit.sha, "rev": commit.rev} for commit in beside.history.commits],
        baselines={name: {"rev": revision.rev, "sha": revision.sha} for name, revision in beside.baselines.items()},
        gaps=[gap_json(gap) for gap in judgement.gaps],
    )


def run_report(options: ReportOptions, context: Context, renderer: ChartRenderer | None = None) -> Outcome:
    """`renderer`: chart workers started already; the job stops them once the charts are drawn."""
    collector = CollectorPause()  # until DVC has started, and again while the revisions are read
    try:
        return _run_report(options, context, renderer or ChartRenderer(), collector)
    finally:
        collector.end()  # a CLI run ends here, a caller in the same process goes on


def resolved(options: ReportOptions) -> ReportOptions:
    """DVC's API works from inside the repository; paths the user gave are relative to where they are."""
    return replace(
        options,
        path=options.path.resolve(),
        out_dir=options.out_dir.resolve(),
        template=options.template.resolve() if options.template else None,
        config=options.config.resolve() if options.config else None,
    )


def checkout_root(path: Path, context: Context) -> Path:
    """The DVC project's root for `path`, with git told to trust a CI checkout owned by another user."""
    if path.is_dir():
        git.trust_checkout(path, in_ci=context.forge != LOCAL)
    return git.find_repo_root(path)


def job_secrets(options: ReportOptions, context: Context) -> list[str]:
    """What the job's output is masked for: the given secrets (else the environment's) and the token."""
    secrets = list(secret_values(os.environ) if options.secrets is None else options.secrets)
    return secrets + ([context.token] if context.token else [])


def report_config(root: Path, options: ReportOptions) -> Config:
    """.mrbot.yml (or --config) with --id applied, and the template checked: before minutes of
    pipeline, not after."""
    config = load_config(root, options.config)
    if options.report_id:
        config = replace(config, report_id=check_report_id(options.report_id, "--id / MRBOT_ID"))
    if options.template or config.template:
        from bot.report.render import check_template

        check_template(options.template or config.template)
    return config


def _run_report(options: ReportOptions, context: Context, renderer: ChartRenderer, collector: CollectorPause) -> Outcome:
    started = time.perf_counter()
    options = resolved(options)
    root = checkout_root(options.path, context)
    config = report_config(root, options)
    fail_on_regression = (
        config.fail_on_regression if options.fail_on_regression is None else options.fail_on_regression
    )
    baseline = choose_baseline(root, context, options.base, config.base)
    base = baseline.revision
    head = options.head or git.head(root)
    if context.head_sha and context.forge != LOCAL and not options.head:
        head = git.Revision(head.rev, context.head_sha)
    log.info("comparing head %s (%s) with base %s (%s)", head.rev, head.sha[:8], base.rev, base.sha[:8])
    secrets = job_secrets(options, context)
    # One dvc Repo for the steps and the reading: DVC reloads what repro changed when it unlocks.
    # The chart worker starts first (if the CLI has not started it already), so its matplotlib
    # import overlaps DVC's start-up.
    template = options.template or config.template
    with renderer, open_repo(root) as repo:
        collector.set_aside()  # DVC's modules, its repo and index: alive to the end; the steps make garbage
        plan = search_plan(config.experiments, options.exp_sets)
        chosen = check_grid(plan, head_params(repo), "experiments") if plan and plan.source == RUN else []
        folds = LogFolds(context.forge)
        run = options.steps or run_steps(
            repo, StepOptions(options.pull, options.repro, options.push), secrets, options.echo, folds
        )
        # After a failed pull or repro the workspace holds no reproduced results: only params are compared.
        complete = run.failure is None or run.failure.step == "dvc push"
        results, pending_charts = _read(repo, renderer, collector, config, base.sha, base, head, options.out_dir, complete)
        # Between the DVC files of the base commit and the workspace (what --base-repro reads does not
        # change it), compared while the charts are still drawn.
        data_changes = compare_recorded(results.recorded[BASE], results.recorded[HEAD], cached_only=True)
        if not options.repro and run.failure is None:
            run.pending = pending_stages(repo)  # what repro would run; found while the charts are drawn
        base_missing = missing_from_storage(results)
        base_run: BaseRun | None = None
        if base_missing and options.base_repro and complete:
            pending_charts()  # finished first: the re-read below draws the same image files
            base_run = reproduce_base(root, base.sha, secrets, options.echo, folds)
            if base_run.sha:
                results, pending_charts = _read(
                    repo, renderer, collector, config, base_run.sha, base, head, options.out_dir, complete
                )
                base_missing = missing_from_storage(results)
        # Compared, and the Markdown writer loaded (jinja2, tabulate: tens of ms), while the charts
        # are still drawn.
        beside = _beside(repo, root, config, options, baseline, results) if complete else Beside()
        report = build_report(results, config, baseline, head, [], fail_on_regression, beside)
        pending_search = list
        if plan and complete:
            ranking = run_search(repo, root, plan, chosen, head.sha, secrets, report, results, config.metric_rules)
            if ranking and (plot := search_plot(ranking)):
                pending_search = renderer.start([plot], options.out_dir, revision_labels(base, head))
        trend = trend_plot(report.metrics)
        pending_trend = renderer.start([trend], options.out_dir, revision_labels(base, head)) if trend else list
        from bot.report.bundle import prepare_bundle, write_bundle

        prepared = prepare_bundle(report, options.out_dir, template)  # while the charts are still drawn
        report.charts = pending_charts() + pending_trend() + pending_search()
        renderer.close()  # the workers end while the bundle is written
        if run.failure is not None and not complete:
            report.verdict, report.summary, report.gate_failed = PIPELINE_FAILED, run.failure.message, False
        report.pipeline = pipeline_section(
            SectionInputs(run, data_changes, base_run, base_missing, total_seconds=time.perf_counter() - started)
        )
        report.target = _target(context)
        report.proposal = options.proposal
        markdown = write_bundle(report, options.out_dir, template, prepared)
    return Outcome(report, markdown, options.out_dir, _exit_code(run, report), template)


def run_search(repo, root: Path, plan: ExperimentPlan, chosen: list[dict[str, str]], head_sha: str,
               secrets: list[str], report: Report, results: Results, rules: list[MetricRule]) -> Ranking | None:
    """Run the grid (or fetch the head's pushed experiments), rank them and put them in the report."""
    ran: list[Ran] = []
    files = (sorted(results.metrics[HEAD]), sorted(results.params[HEAD]))
    if plan.source == RUN:
        ran = run_grid(root, chosen, plan.jobs, secrets)
        found = read_experiments(repo, root, head_sha, *files, {one.rev for one in ran if one.rev})
    else:
        fetch_remote(repo, head_sha)
        found = read_experiments(repo, root, head_sha, *files)
        if not found:
            report.warnings.append(f"experiments from remote: {GIT_REMOTE} has no experiment of the head {head_sha[:8]}; "
                                   "push them with `dvc exp push origin`")
            return None
    found += [Experiment(f"failed-{index + 1}", "", dict(one.assignments), {}, FAILED, one.error, one.tail)
              for index, one in enumerate(ran) if not one.rev]
    if plan.push and (names := [experiment.name for experiment in found if experiment.rev]):
        report.warnings += [warning] if (warning := push_experiments(repo, names)) else []
    base = {name: value for values in results.metrics[BASE].values() for name, value in values.items()}
    moved = [row.name for row in report.metrics if row.change]
    ranking = rank(found, base, rules, plan.metrics, moved, plan.sort)
    report.experiments, report.experiment_view = experiments_json(ranking)
    return ranking


def _beside(repo, root: Path, config: Config, options: ReportOptions, baseline: Baseline, results: Results) -> Beside:
    """The base branch's history and the extra baselines, read while the charts are drawn."""
    paths = sorted(set(results.metrics[BASE]) | set(results.metrics[HEAD]))
    count = config.history if options.history is None else options.history
    beside = Beside(history=read_history(repo, root, baseline.revision.sha, count, paths))
    for name, rev in config.baselines.items():
        try:
            beside.baselines[name] = git.ensure_revision(root, rev)
        except BadInput:
            beside.warnings.append(f"Baseline {name}: revision {rev} not found; fix or remove it in baselines of .mrbot.yml")
    if beside.baselines:
        found = read_metrics_at(repo, root, [revision.sha for revision in beside.baselines.values()], paths)
        for name, revision in beside.baselines.items():
            if found[revision.sha] is None:
                beside.warnings.append(f"Baseline {name} ({revision.rev}): its metrics could not be read")
            beside.baseline_values[name] = found[revision.sha] or {}
    return beside


def _read(
    repo,
    renderer: ChartRenderer,
    collector: CollectorPause,
    config: Config,
    base_sha: str,
    base: git.Revision,
    head: git.Revision,
    out_dir: Path,
    complete: bool,
) -> tuple[Results, Callable[[], list[Chart]]]:
    """Results of base (read from `base_sha`) and head, and a function that waits for their charts,
    which are drawn while the values are read."""
    charts: list[Callable[[], list[Chart]]] = [list]

    def draw(plots: list) -> None:
        charts[0] = renderer.start(plots, out_dir, revision_labels(base, head))

    collector.pause()  # DVC's index, the revisions read, the plot definitions: alive to the end
    try:
        results = read_revisions(repo, base_sha, config.plots_include, config.plots_exclude, draw if complete else None)
    finally:
        collector.set_aside()
    if not complete:
        results.metrics, results.unreadable = {BASE: {}, HEAD: {}}, {BASE: {}, HEAD: {}}
    return results, lambda: charts[0]()


def missing_from_storage(results: Results) -> list[str]:
    """Base files DVC could find neither in its cache nor on the remote."""
    missing = [path for path, reason in results.unreadable[BASE].items() if MISSING_FROM_STORAGE in reason]
    missing += [
        plot.id
        for plot in results.plots
        if any(error.startswith(f"{BASE} ") and MISSING_FROM_STORAGE in error for error in plot.errors)
    ]
    return sorted(set(missing))


def _exit_code(run: WorkspaceRun, report: Report) -> int:
    if run.failure is not None:
        return EXIT_PIPELINE_FAILED
    return EXIT_GATE_FAILED if report.gate_failed else EXIT_OK


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
