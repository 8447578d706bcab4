"""Train against held-out: the same metric reported for a train and a test split is one judgement,
made on the held-out side; the train side is context, and a growing gap between them is said. Pure."""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from bot.compare.diff import HIGHER, MetricRow
from bot.results import is_finite_number

# Name parts (between '.', '/', '_', '-', ':') that mark a split, as projects and DVCLive name them.
_PARTS = re.compile(r"([./_:-])")
# A gap that grows by more than this share of its old size (and by more than float noise) is said.
GAP_GROWTH = 0.10


@dataclass(frozen=True)
class Splits:
    train: tuple[str, ...]
    test: tuple[str, ...]  # held-out names, preferred first


DEFAULT_SPLITS = Splits(("train", "training"), ("test", "eval", "val", "valid", "validation", "holdout"))


@dataclass(frozen=True)
class Gap:
    """Train minus test, signed so that positive means train is better (the usual overfit)."""

    name: str  # the metric with its split part as '*', e.g. "metrics.json:roc_auc.*"
    train: str  # "path: name" of each side
    test: str
    base: float | None
    head: float | None

    @property
    def grew(self) -> bool:
        if self.base is None or self.head is None:
            return False
        growth = self.head - self.base
        return growth > 1e-12 and (self.base <= 0 or growth > GAP_GROWTH * abs(self.base))


def pair_splits(rows: list[MetricRow], splits: Splits) -> tuple[list[MetricRow], list[Gap]]:
    """Rows with each paired train row marked as context (judged False) and both sides' `split` set;
    and the train-test gap of every pair."""
    if not splits.train or not splits.test:
        return rows, []
    sides: dict[str, dict[str, list[int]]] = {}
    for index, row in enumerate(rows):
        found = _split_of(f"{row.path}:{row.name}", splits)
        if found:
            side, key = found
            sides.setdefault(key, {"train": [], "test": []})[side].append(index)
    marked = list(rows)
    gaps = []
    for key, found in sorted(sides.items()):
        if len(found["train"]) != 1 or not found["test"]:
            continue  # no pair, or several train rows for one name: nothing to say for sure
        train = rows[found["train"][0]]
        tests = sorted(found["test"], key=lambda index: _preference(rows[index], splits))
        test = rows[tests[0]]
        marked[found["train"][0]] = replace(train, split="train", judged=False)
        for index in found["test"]:
            marked[index] = replace(rows[index], split="test")
        gaps.append(Gap(key, _label(train), _label(test), _gap(train.old, test.old, test.direction), _gap(train.new, test.new, test.direction)))
    return marked, gaps


def _split_of(qualified: str, splits: Splits) -> tuple[str, str] | None:
    parts = _PARTS.split(qualified)
    for index, part in enumerate(parts):
        lowered = part.lower()
        side = "train" if lowered in splits.train else "test" if lowered in splits.test else ""
        if side:
            return side, "".join(parts[:index] + ["*"] + parts[index + 1:])
    return None


def _preference(row: MetricRow, splits: Splits) -> int:
    parts = {part.lower() for part in _PARTS.split(f"{row.path}:{row.name}")}
    return next((rank for rank, word in enumerate(splits.test) if word in parts), len(splits.test))


def _label(row: MetricRow) -> str:
    return f"{row.path}: {row.name}"


def _gap(train: object, test: object, direction: str) -> float | None:
    if not (is_finite_number(train) and is_finite_number(test)):
        return None
    return float(train - test) if direction == HIGHER else float(test - train)
