"""Markdown from a Report: Jinja2 template, tabulate tables, every untrusted value escaped."""

from __future__ import annotations

import functools
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Callable

import jinja2
from markupsafe import Markup
from tabulate import tabulate

from bot.compare.diff import IMPROVED, REGRESSED, UNCHANGED, MetricRow, ParamRow
from bot.errors import BadInput
from bot.report.experiments import experiments_section
from bot.report.markdown import code_block, escape, escape_prose
from bot.report.model import PIPELINE_FAILED, Report
from bot.report.trend import sparkline
from bot.results import is_number

TEMPLATES_DIR = Path(__file__).parent / "templates"
DEFAULT_TEMPLATE = TEMPLATES_DIR / "report.md.j2"

VERDICT_ICONS = {
    "improved": "✅",
    "regressed": "❌",
    "unchanged": "➖",
    "new": "🆕",
    "removed": "🗑️",
    "changed": "🔀",
    "unknown": "❔",
}
HEADLINES = {
    REGRESSED: "❌ Model regressed",
    IMPROVED: "✅ Model improved",
    "changed": "🔀 Metrics changed",
    UNCHANGED: "➖ No metric changed",
    PIPELINE_FAILED: "❌ Pipeline failed",
}


@dataclass(frozen=True)
class Detail:
    """How much of the report to show; lowered step by step to fit a size budget."""

    show_unchanged: bool = True
    # Past these many, rows are counted, not listed: no reviewer reads more, and report.json has them all.
    max_unchanged_rows: int = 1000
    max_metric_rows: int = 1000
    max_param_rows: int = 1000
    show_params: bool = True
    show_plot_details: bool = True
    omitted: list[str] = field(default_factory=list)


def format_value(value: Any) -> str:
    if value is None:
        return "—"
    if is_number(value):
        return f"{value:.6g}" if isinstance(value, float) else str(value)
    return str(value)


def format_change(row: MetricRow) -> str:
    if row.change is None:
        return ""
    change = f"{row.change:+.4g}"
    return f"{change} ({row.change_pct:+.1f}%)" if row.change_pct is not None else change


# tabulate pads every row to the widest cell: a long name in untrusted input must not multiply the size.
MAX_CELL_CHARS = 200


def cell(text: str) -> str:
    return escape(text if len(text) <= MAX_CELL_CHARS else text[: MAX_CELL_CHARS - 1] + "…")


def metrics_table(rows: list[MetricRow], with_path: bool) -> Markup:
    """Metric, Base, one column per extra baseline, Head, Change, Verdict, and the base branch's
    history where it was read."""
    baselines = sorted({name for row in rows for name in row.baselines})
    sparklines = [sparkline(row.history, row.new) for row in rows]
    with_history = any(sparklines)
    table = [
        [
            cell(f"{row.path}: {row.name}" if with_path else row.name),
            cell(format_value(row.old)),
            *(cell(_beside_head(row.baselines.get(name), row.new)) for name in baselines),
            cell(format_value(row.new)),
            cell(format_change(row)),
            verdict_cell(row),
            *([cell(line)] if with_history else []),
        ]
        for row, line in zip(rows, sparklines)
    ]
    headers = ["Metric", "Base", *(cell(name) for name in baselines), "Head", "Change", "Verdict"]
    headers += ["Base history → head"] if with_history else []
    return Markup(tabulate(table, headers, tablefmt="github", disable_numparse=True))


def verdict_cell(row: MetricRow) -> str:
    text = f"{VERDICT_ICONS.get(row.verdict, '')} {row.verdict}"
    if row.within_noise:
        text += f" (within noise; spread {row.noise:.3g})" if row.noise is not None else " (within noise)"
    if not row.judged:
        text += " · train side, context only"
    return text + (" ¹" if row.note else "")


def _split_name(test: str, train: str) -> str:
    """'test.loss (against train.loss)', the file named only where the sides differ in it."""
    test_path, _, test_name = test.rpartition(": ")
    train_path, _, train_name = train.rpartition(": ")
    return f"{test_name} (against {train_name})" if test_path == train_path else f"{test} (against {train})"


def _beside_head(value: Any, head: Any) -> str:
    """An extra baseline's value, and how far head is from it."""
    if value is None:
        return "—"
    if is_number(value) and is_number(head):
        return f"{format_value(value)} ({head - value:+.4g})"
    return format_value(value)


def params_table(rows: list[ParamRow], with_path: bool) -> Markup:
    table = [
        [
            cell(f"{row.path}: {row.name}" if with_path else row.name),
            cell(format_value(row.old)),
            cell(format_value(row.new)),
        ]
        for row in rows
    ]
    return Markup(tabulate(table, ["Param", "Base", "Head"], tablefmt="github", disable_numparse=True))


def baseline_note(baseline: dict[str, Any]) -> Markup:
    """What the base column is and why, for the footer; "" for a bundle that does not say."""
    if not baseline:
        return Markup("")
    branch = escape(str(baseline.get("branch") or "")[:MAX_CELL_CHARS])
    named = branch or "the base branch"  # escaped text, so no code span: backslashes would show in one
    ahead = baseline.get("ahead")
    moved = f"{ahead} commit{'s' if ahead != 1 else ''}" if isinstance(ahead, int) and ahead > 0 else ""
    kind = baseline.get("kind")
    if kind == "merge-base":
        note = f"Base: where this branch forked from {named} (their merge-base), so {named}'s later changes are not counted"
        note += f"; {named} is {moved} ahead of it." if moved else f"; {named} has not moved since." if ahead == 0 else "."
    elif kind == "first-parent":
        note = f"Base: {named} as the forge merged this branch into it (the test merge commit's base side)"
        note += f"; {named} has moved {moved} since." if moved else "."
    elif kind == "tip":
        note = f"Base: the tip of {named}"
        verb = "is" if ahead == 1 else "are"
        note += f", so the {moved} it gained since this branch forked {verb} counted too." if moved else "."
    else:
        note = f"Base: {named}, as --base named it."
    return Markup(note)


@functools.lru_cache(maxsize=8)
def _environment(template_dir: Path) -> jinja2.Environment:
    # One per folder, so a template is compiled once per process (jinja re-reads it when it changes).
    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader([str(template_dir), str(TEMPLATES_DIR)]),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        # Every {{ value }} is escaped for Markdown unless it is already Markup (our tables).
        finalize=lambda value: value if isinstance(value, Markup) else escape(value),
        autoescape=False,
    )
    environment.filters["value"] = format_value
    environment.filters["code_block"] = lambda text, lang="": Markup(code_block(str(text), lang))
    environment.filters["prose"] = lambda text: Markup(escape_prose(text))
    return environment


class Tables:
    """The Markdown tables of one report's rows, each made once: a report is rendered several times
    (report.md, the comment fitted to the forge's limit), the first time while its charts are drawn."""

    def __init__(self) -> None:
        self._report: Report | None = None
        self._made: dict[tuple, Markup] = {}

    def get(self, report: Report, key: tuple, make: Callable[[], Markup]) -> Markup:
        if self._report is not report:
            self._report, self._made = report, {}
        if key not in self._made:
            self._made[key] = make()
        return self._made[key]


def template_context(
    report: Report,
    image_url: Callable[[str], str] | None,
    detail: Detail,
    images_note: str = "",
    tables: Tables | None = None,
) -> dict[str, Any]:
    """Everything a template gets; README documents these names."""
    tables = tables or Tables()
    metric_files = {row.path for row in report.metrics}
    param_files = {row.path for row in report.params}
    # A move within noise is shown with the moves: the row says it is within noise.
    changed = [row for row in report.metrics if row.verdict != UNCHANGED or row.within_noise]
    unchanged = [row for row in report.metrics if row.verdict == UNCHANGED and not row.within_noise]
    shown_changed = changed[: detail.max_metric_rows]
    charts = []
    for chart in report.charts:
        images = [
            {"url": Markup(image_url(path)), "label": label}
            for path, label in zip(chart.images, chart.image_labels or [chart.title] * len(chart.images))
        ] if image_url else []
        charts.append(
            {
                "id": chart.plot_id,
                "title": chart.title,
                "template": chart.template,
                "images": images,
                "mermaid": Markup(code_block(chart.mermaid, "mermaid")) if chart.mermaid and not image_url else "",
                "mermaid_caption": chart.mermaid_caption if not image_url else "",
                # An image plot's base and head side by side, each under a visible caption.
                "side_by_side": chart.template == "image" and len(images) == 2,
                "show_captions": chart.template == "image" or len(images) > 1,
                "notes": chart.notes if detail.show_plot_details else [],
            }
        )
    return {
        "report": report,
        "headline": HEADLINES.get(report.verdict, report.verdict),
        "summary": report.summary,
        "base": report.base,
        "head": report.head,
        "changed_metrics": shown_changed,
        "changed_metrics_table": tables.get(
            report, ("changed", len(shown_changed)), lambda: metrics_table(shown_changed, len(metric_files) > 1)
        ) if shown_changed else "",
        "hidden_changed_count": len(changed) - len(shown_changed),
        "unchanged_metrics": unchanged,
        "unchanged_metrics_table": (
            tables.get(report, ("unchanged", detail.max_unchanged_rows),
                       lambda: metrics_table(unchanged[: detail.max_unchanged_rows], len(metric_files) > 1))
            if unchanged and detail.show_unchanged
            else ""
        ),
        "hidden_unchanged_count": max(0, len(unchanged) - detail.max_unchanged_rows),
        "notes": [row for row in shown_changed if row.note],
        "params": report.params,
        "params_table": (
            tables.get(report, ("params", detail.max_param_rows),
                       lambda: params_table(report.params[: detail.max_param_rows], len(param_files) > 1))
            if report.params and detail.show_params
            else ""
        ),
        "hidden_params_count": max(0, len(report.params) - detail.max_param_rows),
        "charts": charts,
        "images_note": images_note,
        "warnings": report.warnings,
        "pipeline": report.pipeline,
        "omitted": detail.omitted,
        "version": report.version,
        "baseline": report.baseline,
        "gap_notes": [
            f"{_split_name(gap['test'], gap['train'])}: train–test gap {gap['base']:.4g} → {gap['head']:.4g}; the change may overfit"
            for gap in report.gaps
            if gap.get("grew") and is_number(gap.get("base")) and is_number(gap.get("head"))
        ],
        "history": report.history,
        "baselines": report.baselines,
        "baseline_note": baseline_note(report.baseline),
        "built_by_fork": report.built_by_fork,
        "experiments_section": experiments_section(
            report.experiments, report.experiment_view, {row.name: row.old for row in report.metrics},
            format_value, format_change,
        ),
    }


def render(
    report: Report,
    template: Path | None = None,
    image_url: Callable[[str], str] | None = lambda path: path,
    detail: Detail = Detail(),
    images_note: str = "",
    tables: Tables | None = None,
) -> str:
    """`image_url` maps a bundle path (images/x.png) to where the forge serves it; None means
    images cannot be shown (Mermaid and tables stand in)."""
    template_path = template or DEFAULT_TEMPLATE
    compiled = _load(template_path)
    try:
        return compiled.render(template_context(report, image_url, detail, images_note, tables))
    except jinja2.UndefinedError as exc:
        raise BadInput(f"{template_path}: {exc.message}; see README 'Template context' for the names") from None
    except Exception as exc:  # noqa: BLE001 - a template is code: {{ 1/0 }}, a filter given the wrong type
        reason = (str(exc).splitlines() or [""])[0][:200]
        raise BadInput(f"{template_path}: the template failed ({type(exc).__name__}: {reason}); fix it") from None


def check_template(template: Path) -> None:
    """Load `template`, so a missing file or a syntax error stops the job before the pipeline runs,
    not after. The names it uses can only be checked against the real report."""
    _load(template)


def preload_templates(template: Path | None = None) -> None:
    """Compile the built-in templates (the report and the parts it includes, which jinja would
    compile only when rendering reached them) and `template` now, not when the report waits for
    them (tens of ms); a broken `template` is left for render to report."""
    for built_in in sorted(TEMPLATES_DIR.glob("*.j2")):
        _load(built_in)
    if template is not None:
        try:
            _load(template)
        except BadInput:
            pass


def _load(template_path: Path) -> jinja2.Template:
    if not template_path.is_file():
        raise BadInput(f"{template_path}: template not found; check --template / template in .mrbot.yml")
    try:
        return _environment(template_path.parent).get_template(template_path.name)
    except jinja2.TemplateSyntaxError as exc:
        raise BadInput(f"{template_path}:{exc.lineno}: template syntax error: {exc.message}") from None
    except UnicodeDecodeError:
        raise BadInput(f"{template_path}: not UTF-8 text; save the template as UTF-8") from None


def render_within(
    report: Report,
    budget: int,
    where_full: str,
    template: Path | None = None,
    image_url: Callable[[str], str] | None = lambda path: path,
    images_note: str = "",
    reserve: int = 0,
) -> str:
    """Render, then leave out detail step by step until the body fits `budget` characters.
    `reserve` is room the caller needs (e.g. the hidden marker). Never fails on size."""
    limit = budget - reserve
    tables = Tables()
    steps = [
        Detail(),
        Detail(show_unchanged=False, omitted=["unchanged metrics"]),
        Detail(show_unchanged=False, show_params=False, omitted=["unchanged metrics", "params table"]),
        Detail(
            show_unchanged=False,
            show_params=False,
            show_plot_details=False,
            omitted=["unchanged metrics", "params table", "plot notes"],
        ),
    ]
    for detail in steps:
        detail = replace(detail, omitted=[*detail.omitted, where_full] if detail.omitted else [])
        body = render(report, template, image_url, detail, images_note, tables)
        if len(body) <= limit:
            return body
    # Still too long: keep as many changed rows as fit, halving until it does.
    rows = min(len(report.metrics), steps[-1].max_metric_rows)
    while rows > 0:
        rows //= 2
        detail = replace(steps[-1], max_metric_rows=rows, omitted=[*steps[-1].omitted, "some changed metrics", where_full])
        body = render(report, template, image_url, detail, images_note, tables)
        if len(body) <= limit:
            return body
    notice = f"\n\n… report cut to fit the comment size limit; the full report is in {where_full}.\n"
    return body[: max(0, limit - len(notice))] + notice
