"""The report as plain data: what report.json holds and what templates receive."""

from __future__ import annotations

import functools
import math
import re
from dataclasses import asdict, dataclass, field, fields
from typing import Any, Iterable

from bot.charts.chart import Chart
from bot.compare.diff import CHANGED, IMPROVED, REGRESSED, UNCHANGED, VERDICT_ORDER, MetricRow, ParamRow
from bot.errors import BadInput
from bot.report.checks import (
    BOOL,
    NUMBER,
    OPTIONAL_INT,
    STR,
    choice,
    is_type,
    list_of,
    matching,
    object_of,
    optional_float,
    positive_int_or_null,
    scalar,
)
from bot.report.experiments import experiments_from_json
from bot.workspace.baseline import EXPLICIT, KINDS

SCHEMA_VERSION = 1
# The report's overall verdict: diff's, or the pipeline's failure when no metrics could be compared.
PIPELINE_FAILED = "failed"
OVERALL_VERDICTS = (REGRESSED, IMPROVED, CHANGED, UNCHANGED, PIPELINE_FAILED)
# Image paths in a bundle are names we generated; anything else in report.json is refused.
_IMAGE_PATH = re.compile(r"images/[A-Za-z0-9._-]{1,120}")  # whole strings: fullmatch
_SHA = re.compile(r"[0-9a-f]{7,64}")
_REPORT_ID = re.compile(r"[A-Za-z0-9_.-]{1,64}")


def check_report_id(report_id: str, where: str) -> str:
    """The id goes into the comment's hidden marker, so it is held to a plain alphabet."""
    if not _REPORT_ID.fullmatch(report_id):
        raise BadInput(f"{where} must be 1-64 letters, digits, '.', '_' or '-'")
    return report_id


@dataclass(frozen=True)
class RevisionInfo:
    rev: str
    sha: str


@dataclass
class Report:
    base: RevisionInfo
    head: RevisionInfo
    metrics: list[MetricRow]
    params: list[ParamRow]
    charts: list[Chart]
    verdict: str
    summary: str
    counts: dict[str, int]
    report_id: str = "default"
    warnings: list[str] = field(default_factory=list)
    gate_failed: bool = False
    version: str = ""
    # Where the report is going (forge, repo, PR/MR number, run URL): filled by the context step.
    target: dict[str, Any] = field(default_factory=dict)
    # Pipeline run details (stages, times, failures), when mrbot ran the pipeline.
    pipeline: dict[str, Any] = field(default_factory=dict)
    # Which commit `base` is and why: {"kind", "ahead", "branch"}; {} in a bundle of an older mrbot.
    baseline: dict[str, Any] = field(default_factory=dict)
    # The base branch's commits read for trend and noise, oldest first: [{"sha", "rev"}].
    history: list[dict[str, str]] = field(default_factory=list)
    # Extra baselines shown beside the base: name -> {"rev", "sha"}.
    baselines: dict[str, dict[str, str]] = field(default_factory=dict)
    # Train-test gaps of paired metrics: [{"name", "train", "test", "base", "head", "grew"}].
    gaps: list[dict[str, Any]] = field(default_factory=list)
    # The head's DVC experiments, best first ({"name", "rev", "params", "metrics", "status", "best"}),
    # and how the section shows them (report/experiments.py).
    experiments: list[dict[str, Any]] = field(default_factory=list)
    experiment_view: dict[str, Any] = field(default_factory=dict)
    # `mrbot propose`: {"branch", "pr_url", "action": opened | updated | pushed | none}.
    proposal: dict[str, str] = field(default_factory=dict)
    # Set by `mrbot publish` when the bundle was built by a fork's code; never read from report.json.
    built_by_fork: bool = False


def to_json(report: Report, metrics: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """`metrics`: the rows as metrics_json gave them, when made already."""
    return {
        "schema": SCHEMA_VERSION,
        "id": report.report_id,
        "mrbot_version": report.version,
        "base": asdict(report.base),
        "head": asdict(report.head),
        "baseline": report.baseline,
        "history": report.history,
        "baselines": report.baselines,
        "gaps": [dict(zip(gap, _json_numbers(gap.values()))) for gap in report.gaps],
        "verdict": report.verdict,
        "summary": report.summary,
        "counts": report.counts,
        "gate_failed": report.gate_failed,
        "metrics": metrics_json(report) if metrics is None else metrics,
        "params": [_fields(row) for row in report.params],
        "plots": [
            {
                "id": chart.plot_id,
                "title": chart.title,
                "template": chart.template,
                "images": chart.images,
                "image_labels": chart.image_labels,
                "notes": chart.notes,
                "mermaid": chart.mermaid,
                "mermaid_caption": chart.mermaid_caption,
            }
            for chart in report.charts
        ],
        "warnings": report.warnings,
        "experiments": report.experiments,
        "experiment_view": report.experiment_view,
        "target": report.target,
        "pipeline": report.pipeline,
        "proposal": report.proposal,
    }


def metrics_json(report: Report) -> list[dict[str, Any]]:
    return [_metric_json(row) for row in report.metrics]


def _metric_json(row: MetricRow) -> dict[str, Any]:
    names = _field_names(type(row))
    fields_ = dict(zip(names, _json_numbers([getattr(row, name) for name in names])))
    if row.history is not None:
        fields_["history"] = _json_numbers(row.history)
    if row.baselines:
        fields_["baselines"] = dict(zip(row.baselines, _json_numbers(row.baselines.values())))
    return fields_


def _fields(row: Any) -> dict[str, Any]:
    # Rows hold scalars only: a shallow copy, unlike dataclasses.asdict's deep one, which is slow at scale.
    return {name: getattr(row, name) for name in _field_names(type(row))}


@functools.cache
def _field_names(row_type: type) -> tuple[str, ...]:
    return tuple(item.name for item in fields(row_type))  # fields() itself is slow for 10,000 rows


def _json_numbers(values: Iterable[Any]) -> list[Any]:
    # JSON has no NaN/inf; keep them readable instead of writing invalid JSON. One comprehension,
    # not a call per value: 10,000 rows of 25 values at scale.
    return [str(value) if isinstance(value, float) and not math.isfinite(value) else value for value in values]


def from_json(data: Any, source: str) -> Report:
    """Load report.json from a bundle, treating it as untrusted input (it may come from a fork)."""
    try:
        if not isinstance(data, dict) or data.get("schema") != SCHEMA_VERSION:
            raise ValueError(f"not a schema {SCHEMA_VERSION} mrbot report")
        base, head = (_revision(data[key], key) for key in ("base", "head"))
        metrics = [
            MetricRow(
                path=str(row["path"]),
                name=str(row["name"]),
                old=scalar(row.get("old")),
                new=scalar(row.get("new")),
                change=optional_float(row.get("change")),
                change_pct=optional_float(row.get("change_pct")),
                direction="lower" if row.get("direction") == "lower" else "higher",
                verdict=choice(row.get("verdict"), VERDICT_ORDER, "metrics[].verdict"),
                note=str(row.get("note", "")),
                history=_history_values(row.get("history")),
                noise=optional_float(row.get("noise")),
                within_noise=row.get("within_noise") is True,
                split=choice(row.get("split", ""), ("", "train", "test"), "metrics[].split"),
                judged=row.get("judged", True) is not False,
                baselines={_baseline_name(name): scalar(value) for name, value in dict(row.get("baselines") or {}).items()},
            )
            for row in data["metrics"]
        ]
        params = [
            ParamRow(str(row["path"]), str(row["name"]), scalar(row.get("old")), scalar(row.get("new")))
            for row in data["params"]
        ]
        charts = [_chart(plot) for plot in data["plots"]]
        counts = {choice(k, VERDICT_ORDER, "counts"): int(v) for k, v in dict(data.get("counts", {})).items()}
        experiments, experiment_view = experiments_from_json(data.get("experiments"), data.get("experiment_view"))
        return Report(
            base=base,
            head=head,
            metrics=metrics,
            params=params,
            charts=charts,
            verdict=choice(data["verdict"], OVERALL_VERDICTS, "verdict"),
            summary=str(data["summary"]),
            counts=counts,
            report_id=check_report_id(str(data.get("id", "default")), f"{source}: id"),
            warnings=[str(item) for item in data.get("warnings", [])],
            gate_failed=bool(data.get("gate_failed", False)),
            version=str(data.get("mrbot_version", "")),
            target=_target(data.get("target") or {}),
            pipeline=_pipeline(data.get("pipeline") or {}),
            proposal=_PROPOSAL(data["proposal"], "proposal") if data.get("proposal") else {},
            baseline=_baseline(data.get("baseline") or {}),
            history=[_HISTORY_COMMIT(commit, "history[]") for commit in data.get("history") or []],
            baselines={_baseline_name(name): _HISTORY_COMMIT(rev, "baselines") for name, rev in dict(data.get("baselines") or {}).items()},
            gaps=[_GAP(gap, "gaps[]") for gap in data.get("gaps") or []],
            experiments=experiments,
            experiment_view=experiment_view,
        )
    except (KeyError, TypeError, ValueError, AttributeError, OverflowError) as exc:
        raise BadInput(f"{source}: invalid mrbot report ({exc}); regenerate it with `mrbot report --out`") from None


def _revision(raw: Any, key: str) -> RevisionInfo:
    sha = str(raw["sha"])
    if not _SHA.fullmatch(sha):
        raise ValueError(f"{key}.sha is not a commit sha")
    return RevisionInfo(str(raw["rev"]), sha)


def _chart(raw: dict[str, Any]) -> Chart:
    images = [str(path) for path in raw.get("images", [])]
    for path in images:
        if not _IMAGE_PATH.fullmatch(path):
            raise ValueError(f"plots[].images has an unexpected path {path!r}")
    return Chart(
        plot_id=str(raw["id"]),
        title=str(raw.get("title", raw["id"])),
        template=str(raw.get("template", "")),
        images=images,
        image_labels=[str(label) for label in raw.get("image_labels", [])],
        notes=[str(note) for note in raw.get("notes", [])],
        mermaid=_mermaid(str(raw.get("mermaid", ""))),
        mermaid_caption=str(raw.get("mermaid_caption", "")),
    )


# The only Mermaid mrbot writes (bot/charts/mermaid.py); anything else in a bundle is dropped, not posted.
_MERMAID_TEXT = r'"[^"`<>\n%{}\[\]]*"'
_MERMAID_NUMBER = r"[-0-9.eE+]+"
_MERMAID_LINE = re.compile(
    "|".join([
        r"---|config:|  themeVariables:|    xyChart:",
        r'      plotColorPalette: "#[0-9a-f]{6}(, #[0-9a-f]{6})*"',
        r"xychart-beta( horizontal)?",
        rf"    title {_MERMAID_TEXT}",
        rf"    x-axis ({_MERMAID_TEXT} )?(\[[^\]`<>\n%{{}}]*\]|{_MERMAID_NUMBER} --> {_MERMAID_NUMBER})",
        rf"    y-axis {_MERMAID_TEXT}",
        r"    (line|bar) \[[-0-9.eE+, ]*\]",
    ])
)


def _mermaid(text: str) -> str:
    lines = text.splitlines()
    return text if lines and all(_MERMAID_LINE.fullmatch(line) for line in lines) else ""


# The `pipeline` object as bot/report/pipeline.py writes it and the templates read it: key -> (check,
# default). A missing key gets its default, as the templates read most keys without .get(); an
# unknown key is dropped rather than refused, so a bundle from a newer mrbot still posts, and no
# unchecked value reaches a template.
_STRINGS = list_of(STR)
_TRANSFER = object_of({
    "remote": (STR, ""), "files": (is_type(int, name="an integer"), 0), "seconds": (NUMBER, 0.0),
    "time": (STR, ""), "note": (STR, ""), "to_rebuild": (_STRINGS, []),
}, optional=True)
_PIPELINE = object_of({
    "failed": (STR, ""),
    "failure": (object_of({
        "step": (STR, ""), "stage": (STR, ""), "exit_code": (OPTIONAL_INT, None), "message": (STR, ""),
    }, optional=True), None),
    "log_tail": (STR, ""),
    "ran_pipeline": (BOOL, False),
    "stages": (list_of(object_of({
        "name": (STR, ""), "status": (STR, ""), "status_text": (STR, ""), "seconds": (NUMBER, 0.0),
        "time": (STR, ""), "reasons": (_STRINGS, []), "why": (STR, ""),
    })), []),
    "imports": (object_of({"checked": (_STRINGS, []), "updated": (_STRINGS, []), "time": (STR, "")}, optional=True), None),
    "pull": (_TRANSFER, None),
    "push": (_TRANSFER, None),
    "data_changes": (list_of(object_of({
        "path": (STR, ""), "change": (STR, ""), "old_size": (OPTIONAL_INT, None), "new_size": (OPTIONAL_INT, None),
        "old_files": (OPTIONAL_INT, None), "new_files": (OPTIONAL_INT, None), "old": (STR, ""), "new": (STR, ""),
    })), []),
    "stale_warning": (STR, ""),
    "stale_outputs": (_STRINGS, []),
    "base": (object_of({
        "reproduced": (BOOL, False), "note": (STR, ""), "log_tail": (STR, ""), "seconds": (NUMBER, 0.0),
    }), {}),
    "seconds": (object_of({key: (NUMBER, 0.0) for key in ("pull", "repro", "push", "total")}), {}),
    "total_time": (STR, ""),
    "summary": (STR, ""),
    "show": (BOOL, True),  # what report.md.j2 assumes when a report has no "show"
})


def _baseline_kind(value: Any, where: str) -> str:
    return choice(value, KINDS, where)


_BASELINE = object_of({"kind": (_baseline_kind, EXPLICIT), "ahead": (OPTIONAL_INT, None), "branch": (STR, "")})


def _commit_sha(value: Any, where: str) -> str:
    if not isinstance(value, str) or not _SHA.fullmatch(value):
        raise ValueError(f"{where} is not a commit sha")
    return value


_HISTORY_COMMIT = object_of({"sha": (_commit_sha, None), "rev": (STR, "")})
_OPTIONAL_NUMBER = is_type(int, float, type(None), name="a number or null")
_GAP = object_of({
    "name": (STR, ""), "train": (STR, ""), "test": (STR, ""),
    "base": (_OPTIONAL_NUMBER, None), "head": (_OPTIONAL_NUMBER, None), "grew": (BOOL, False),
})
_BASELINE_NAME = re.compile(r"[A-Za-z0-9_.-]{1,40}")


def _baseline_name(name: Any) -> str:
    if not isinstance(name, str) or not _BASELINE_NAME.fullmatch(name):
        raise ValueError("baselines has a name that is not 1-40 letters, digits, '.', '_' or '-'")
    return name


# Where the bundle says it is going; the publishing run's CI context decides, and refuses a mismatch.
_TARGET = object_of({
    "forge": (matching(r"local|github|gitlab", "a known forge", 10), "local"),
    "repository": (matching(r"([A-Za-z0-9_.-]+/)*[A-Za-z0-9_.-]+|", "owner/name", 200), ""),
    "project_id": (matching(r"[0-9]*", "a number", 20), ""),
    "number": (positive_int_or_null, None),
    "head_sha": (matching(r"([0-9a-f]{7,64})?", "a commit sha", 64), ""),
    "run_url": (matching(r"(https?://[^\s<>\"'`]+)?", "an http(s) URL", 500), ""),
})


PROPOSAL_ACTIONS = ("opened", "updated", "pushed", "none")
_PROPOSAL = object_of({
    "branch": (matching(r"[A-Za-z0-9._/-]{0,200}", "a branch name", 200), ""),
    "pr_url": (matching(r"(https?://[^\s<>\"'`]+)?", "an http(s) URL", 500), ""),
    "action": (matching("|".join(PROPOSAL_ACTIONS), "opened, updated, pushed or none", 10), "none"),
})


def _target(raw: Any) -> dict[str, Any]:
    return _TARGET(raw, "target") if raw else {}


def _history_values(raw: Any) -> tuple[float | None, ...] | None:
    if raw is None:
        return None
    if not isinstance(raw, list):
        raise ValueError("metrics[].history is not a list")
    return tuple(optional_float(value) for value in raw)


def _baseline(raw: Any) -> dict[str, Any]:
    return _BASELINE(raw, "baseline") if raw else {}


def _pipeline(raw: Any) -> dict[str, Any]:
    return _PIPELINE(raw, "pipeline") if raw else {}  # {}: mrbot did not run the pipeline
