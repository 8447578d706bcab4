"""`.mrbot.yml`: metric directions and thresholds, plot selection, template, report id."""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bot.compare.diff import HIGHER, LOWER, MetricRule, Threshold
from bot.compare.noise import DEFAULT_K
from bot.compare.splits import DEFAULT_SPLITS, Splits
from bot.errors import BadInput, brief
from bot.report.model import check_report_id
from bot.workspace.baseline import MERGE_BASE, PREFERENCES
from bot.workspace.experiments import ExperimentPlan, parse_plan

DEFAULT_FILE = ".mrbot.yml"
_TOP_LEVEL_KEYS = {"id", "fail_on_regression", "template", "metrics", "plots", "base", "history", "splits", "baselines",
                   "experiments"}
DEFAULT_HISTORY = 10
MAX_HISTORY = 1000
MAX_BASELINES = 5
_BASELINE_NAME = re.compile(r"[A-Za-z0-9_.-]{1,40}")
_RELATIVE = re.compile(r"^\s*([0-9]*\.?[0-9]+)\s*%\s*$")


@dataclass(frozen=True)
class Config:
    report_id: str = "default"
    fail_on_regression: bool = False
    template: Path | None = None
    metric_rules: list[MetricRule] = field(default_factory=list)
    plots_include: list[str] = field(default_factory=list)
    plots_exclude: list[str] = field(default_factory=list)
    base: str = MERGE_BASE  # which commit of the base branch a PR is compared with, unless --base names one
    history: int = DEFAULT_HISTORY  # first-parent commits of the base branch read for trend and noise
    splits: Splits = DEFAULT_SPLITS
    baselines: dict[str, str] = field(default_factory=dict)  # name -> revision, shown beside the base
    experiments: ExperimentPlan | None = None  # a hyperparameter search to run or report


def load_config(repo_root: Path, explicit: Path | None = None) -> Config:
    """Read `explicit`, else `<repo>/.mrbot.yml` if present; a repo without one gets defaults."""
    path = explicit or repo_root / DEFAULT_FILE
    if not path.exists():
        if explicit:
            raise BadInput(f"{path}: config file not found; check --config / MRBOT_CONFIG")
        return Config()
    import yaml  # here: a project without .mrbot.yml does without its import

    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except UnicodeDecodeError as exc:
        raise BadInput(f"{path}: is not UTF-8 text (bad byte at offset {exc.start}); save it as UTF-8") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark else ""
        raise BadInput(f"{path}:{where} is not valid YAML; fix the syntax") from None
    except (RecursionError, ValueError):
        # PyYAML recurses once per nesting level, and int() refuses numbers of over 4300 digits.
        raise BadInput(f"{path}: nests too deeply or holds too long a number; simplify it") from None
    return parse_config(raw, str(path), base_dir=path.parent)


def parse_config(raw: Any, source: str, base_dir: Path) -> Config:
    if not isinstance(raw, dict):
        raise BadInput(f"{source}: expected a mapping of settings at the top level")
    unknown = sorted(set(raw) - _TOP_LEVEL_KEYS, key=str)  # keys may be numbers or dates too
    if unknown:
        raise BadInput(f"{source}: unknown key {brief(unknown[0])}; allowed: {', '.join(sorted(_TOP_LEVEL_KEYS))}")
    # Checked before str(): a list built of YAML aliases is small, its text is not.
    report_id = raw.get("id")
    if report_id is None:
        report_id = "default"
    elif isinstance(report_id, bool) or not isinstance(report_id, (str, int, float)):
        raise BadInput(f"{source}: id must be 1-64 letters, digits, '.', '_' or '-', not {brief(report_id)}")
    report_id = check_report_id(str(report_id), f"{source}: id")
    fail = raw.get("fail_on_regression", False)
    if not isinstance(fail, bool):
        raise BadInput(f"{source}: fail_on_regression must be true or false")
    template = raw.get("template")
    if template is not None and not isinstance(template, str):
        raise BadInput(f"{source}: template must be the path of a Jinja2 template, relative to the file, "
                       f"not {brief(template)}")
    plots = raw.get("plots") or {}
    if not isinstance(plots, dict) or set(plots) - {"include", "exclude"}:
        raise BadInput(f"{source}: plots takes 'include' and/or 'exclude' lists of plot ids or globs")
    base = raw.get("base", MERGE_BASE)
    if base not in PREFERENCES:
        raise BadInput(f"{source}: base must be 'merge-base' (where the branch forked) or 'tip' (the base branch now), "
                       f"not {brief(base)}")
    return Config(
        report_id=report_id,
        base=base,
        history=check_history(raw.get("history", DEFAULT_HISTORY), f"{source}: history"),
        splits=_splits(raw.get("splits", DEFAULT_SPLITS), source),
        baselines=_baselines(raw.get("baselines") or {}, source),
        experiments=parse_plan(raw.get("experiments"), source),
        fail_on_regression=fail,
        template=(base_dir / template) if template else None,
        metric_rules=_metric_rules(raw.get("metrics") or {}, source),
        plots_include=_string_list(plots.get("include"), f"{source}: plots.include"),
        plots_exclude=_string_list(plots.get("exclude"), f"{source}: plots.exclude"),
    )


def _metric_rules(raw: Any, source: str) -> list[MetricRule]:
    if not isinstance(raw, dict):
        raise BadInput(f"{source}: metrics must map a metric name or glob to {{direction, threshold}}")
    rules = []
    for pattern, settings in raw.items():
        name = str(pattern)  # keys are scalars (YAML refuses a list as a key), so str() is cheap
        where = f"{source}: metrics.{name if name.isprintable() else brief(name)}"  # one line, even for "a\nb"
        if not isinstance(settings, dict) or set(settings) - {"direction", "threshold"}:
            raise BadInput(f"{where}: takes 'direction' (higher/lower) and/or 'threshold'")
        direction = settings.get("direction")
        if direction not in (None, HIGHER, LOWER):
            raise BadInput(f"{where}.direction must be 'higher' or 'lower', not {brief(direction)}")
        rules.append(MetricRule(name, direction, parse_threshold(settings.get("threshold"), where)))
    return rules


def check_history(raw: Any, where: str) -> int:
    if isinstance(raw, bool) or not isinstance(raw, int) or not 0 <= raw <= MAX_HISTORY:
        raise BadInput(f"{where} must be a whole number of commits from 0 (off) to {MAX_HISTORY}, not {brief(raw)}")
    return raw


def _splits(raw: Any, source: str) -> Splits:
    if raw is False or raw == {}:
        return Splits((), ())
    if isinstance(raw, Splits):
        return raw
    where = f"{source}: splits"
    if not isinstance(raw, dict) or set(raw) - {"train", "test"}:
        raise BadInput(f"{where} takes 'train' and 'test': lists of name parts (e.g. train: [train], test: [test, eval]), or false")
    words = {key: _string_list(raw.get(key, list(getattr(DEFAULT_SPLITS, key))), f"{where}.{key}") for key in ("train", "test")}
    return Splits(tuple(word.lower() for word in words["train"]), tuple(word.lower() for word in words["test"]))


def _baselines(raw: Any, source: str) -> dict[str, str]:
    if not isinstance(raw, dict):
        raise BadInput(f"{source}: baselines must map a name to a revision, e.g. production: model-prod")
    if len(raw) > MAX_BASELINES:
        raise BadInput(f"{source}: baselines lists {len(raw)}; at most {MAX_BASELINES} fit beside the base")
    baselines = {}
    for name, rev in raw.items():
        if not isinstance(name, str) or not _BASELINE_NAME.fullmatch(name):
            raise BadInput(f"{source}: baselines: the name {brief(name)} must be 1-40 letters, digits, '.', '_' or '-'")
        if not isinstance(rev, (str, int)) or isinstance(rev, bool) or not str(rev).strip() or str(rev).startswith("-"):
            raise BadInput(f"{source}: baselines.{name} must be a branch, tag or sha, not {brief(rev)}")
        baselines[name] = str(rev).strip()
    return baselines


def parse_threshold(raw: Any, where: str) -> Threshold | None:
    """A number is an absolute change; '1.5%' is relative to the base value; `auto` (or {auto: K})
    is K (default 2) times the spread of the base branch's history."""
    if raw is None:
        return None
    if raw == "auto":
        return Threshold(auto=DEFAULT_K)
    if isinstance(raw, dict) and set(raw) == {"auto"}:
        factor = raw["auto"]
        if isinstance(factor, bool) or not isinstance(factor, (int, float)) or not 0 < factor <= 1e6:
            raise BadInput(f"{where}.threshold: auto takes a factor above 0 (default {DEFAULT_K:g}), not {brief(factor)}")
        return Threshold(auto=float(factor))
    if isinstance(raw, (int, float)) and not isinstance(raw, bool) and 0 <= raw <= sys.float_info.max:
        return Threshold(absolute=float(raw))
    match = _RELATIVE.match(raw) if isinstance(raw, str) else None
    if match:
        return Threshold(relative_pct=float(match.group(1)))
    raise BadInput(
        f"{where}.threshold must be a non-negative number, a percentage like '1%', or auto (or {{auto: K}}), not {brief(raw)}"
    )


def _string_list(raw: Any, where: str) -> list[str]:
    if raw is None:
        return []
    if not isinstance(raw, list) or not all(isinstance(item, str) for item in raw):
        raise BadInput(f"{where} must be a list of strings")
    return raw
