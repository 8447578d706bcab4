"""Real-shaped plot projects, made like the common public DVC examples: a train and a test file per
plot (ROC, precision-recall, confusion), DVCLive's output with steps, a classification report with
several classes, images per class in a folder, and one plot per template and definition option."""

from __future__ import annotations

import json
import math
import random
from pathlib import Path

from tests.projects import make_project

CLASSES = ["cat", "dog", "bird"]

DVC_YAML = """\
plots:
  - ROC:
      template: simple
      x: fpr
      y:
        eval/plots/sklearn/roc/train.json: tpr
        eval/plots/sklearn/roc/test.json: tpr
  - Precision-Recall:
      template: linear
      title: Precision against recall
      x_label: Recall
      y_label: Precision
      x:
        eval/prc/train.json: recall
        eval/prc/test.json: recall
      y:
        eval/prc/train.json: precision
        eval/prc/test.json: precision
  - Confusion-Matrix:
      template: confusion
      x: actual
      y:
        eval/plots/sklearn/cm/train.json: predicted
        eval/plots/sklearn/cm/test.json: predicted
  - Confusion-Normalized:
      template: confusion_normalized
      x: actual
      y:
        eval/plots/sklearn/cm/test.json: predicted
  - Losses:
      template: smooth
      x: step
      y:
        history.csv: [train_loss, val_loss]
  - Mixed-x:
      x:
        curves/a.json: epoch
        curves/b.json: step
      y:
        curves/a.json: score
        curves/b.json: score
  - Per-class:
      template: bar_horizontal
      x: f1
      y:
        eval/report/test.json: label
  - Per-class-sorted:
      template: bar_horizontal_sorted
      x: f1
      y:
        eval/report/train.json: label
        eval/report/test.json: label
  - Embedding:
      template: scatter
      x: u
      y:
        embedding.json: v
  - Votes:
      template: scatter_jitter
      x: votes
      y:
        votes.json: stars
  - Residuals:
      template: .dvc/plots/residuals.json
      x: fitted
      y:
        residuals.json: residual
  - New-in-head:
      x: step
      y:
        new.csv: value
  - Many-sources:
      x: step
      y:
        many/s0.csv: value
        many/s1.csv: value
        many/s2.csv: value
        many/s3.csv: value
        many/s4.csv: value
        many/s5.csv: value
  - dvclive/plots/metrics:
      x: step
  - eval/importance.png
  - eval/samples
"""

# A custom template whose first mark is a point: drawn as a scatter.
CUSTOM_TEMPLATE = {"$schema": "https://vega.github.io/schema/vega-lite/v5.json", "data": {"values": "<DVC_METRIC_DATA>"},
                   "mark": {"type": "point"}, "encoding": {"x": {"field": "<DVC_METRIC_X>", "type": "quantitative"},
                                                        "y": {"field": "<DVC_METRIC_Y>", "type": "quantitative"}}}


def _roc(points: int, skill: float) -> dict:
    xs = [index / (points - 1) for index in range(points)]
    return {"roc": [{"fpr": x, "tpr": x ** (1 - skill), "threshold": 1 - x} for x in xs]}


def _prc(points: int, skill: float) -> dict:
    rows = []
    for index in range(points):
        recall = index / (points - 1)
        rows.append({"recall": recall, "precision": 1 - (1 - skill) * recall ** 2, "threshold": 1 - recall})
    return {"prc": rows}


def _predictions(count: int, accuracy: float, seed: int) -> list[dict]:
    rng = random.Random(seed)
    rows = []
    for _ in range(count):
        actual = rng.choice(CLASSES)
        predicted = actual if rng.random() < accuracy else rng.choice(CLASSES)
        rows.append({"actual": actual, "predicted": predicted})
    return rows


def _history(steps: int, rate: float) -> str:
    lines = ["step,train_loss,val_loss"]
    for step in range(steps):
        train = math.exp(-rate * step) + 0.02 * math.sin(step)
        lines.append(f"{step},{train:.5f},{train + 0.1 + 0.03 * math.cos(step):.5f}")
    return "\n".join(lines) + "\n"


def _class_report(f1: dict[str, float]) -> list[dict]:
    return [{"label": label, "f1": value, "support": 10} for label, value in f1.items()]


def _tsv(values: list[float], name: str) -> str:
    return f"step\t{name}\n" + "".join(f"{step}\t{value}\n" for step, value in enumerate(values))


def _csv(values: list[float]) -> str:
    return "step,value\n" + "".join(f"{step},{value}\n" for step, value in enumerate(values))


def _png(colour: str, size: int = 12) -> bytes:
    import io

    from matplotlib.figure import Figure

    figure = Figure(figsize=(1, 1), dpi=size)
    figure.patch.set_facecolor(colour)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()


def _revision(skill: float, seed: int) -> dict:
    return {
        "eval/plots/sklearn/roc/train.json": _roc(30, skill + 0.2),
        "eval/plots/sklearn/roc/test.json": _roc(25 + seed, skill),
        "eval/prc/train.json": _prc(20, skill + 0.1),
        "eval/prc/test.json": _prc(18 + seed, skill),
        "eval/plots/sklearn/cm/train.json": _predictions(60, skill + 0.2, seed),
        "eval/plots/sklearn/cm/test.json": _predictions(40, skill, seed + 10),
        "history.csv": _history(30 + 5 * seed, 0.1 + skill / 5),
        "curves/a.json": [{"epoch": epoch * 2, "score": skill * epoch} for epoch in range(6)],
        "curves/b.json": [{"step": step * 3, "score": skill * step / 2} for step in range(5 + seed)],
        "eval/report/test.json": _class_report({label: round(skill - 0.05 * index, 3) for index, label in enumerate(CLASSES)}),
        "eval/report/train.json": _class_report({label: round(skill + 0.1 - 0.03 * index, 3) for index, label in enumerate(CLASSES)}),
        "embedding.json": [{"u": index * 0.1, "v": math.sin(index * skill)} for index in range(25)],
        "votes.json": [{"votes": index % 4, "stars": (index * 7 + seed) % 5} for index in range(30)],
        "residuals.json": [{"fitted": index / 4, "residual": math.cos(index) * (1 - skill)} for index in range(20)],
        ".dvc/plots/residuals.json": json.dumps(CUSTOM_TEMPLATE),
        **{f"many/s{number}.csv": _csv([skill * number + step * 0.1 for step in range(4 + seed)]) for number in range(6)},
        "dvclive/plots/metrics/train/loss.tsv": _tsv([1 / (step + 1 + skill) for step in range(8 + seed)], "loss"),
        "dvclive/plots/metrics/eval/accuracy.tsv": _tsv([skill * (1 - 0.5 ** step) for step in range(8 + seed)], "accuracy"),
    }


IMAGE_COLOURS = {"cat": ("red", "orange"), "dog": ("green", "teal")}


def make_plot_corpus(root: Path) -> Path:
    """The project: base on main (a weaker model), head on pr (a better one, one plot only in head)."""
    base = {"dvc.yaml": DVC_YAML, **_revision(0.6, 0)}
    head = {**_revision(0.8, 1), "new.csv": _csv([0.1, 0.3, 0.2])}
    make_project(root, base | {"eval/importance.png": "", **{f"eval/samples/{label}.png": "" for label in IMAGE_COLOURS}}, head)
    from bot.workspace.demo import git

    # Images: base's committed on main, head's in the checkout of pr.
    git(root, "checkout", "-q", "main")
    (root / "eval/importance.png").write_bytes(_png("grey"))
    for label, (base_colour, _) in IMAGE_COLOURS.items():
        (root / f"eval/samples/{label}.png").write_bytes(_png(base_colour))
    git(root, "commit", "-q", "-am", "base images")
    git(root, "checkout", "-q", "pr")
    (root / "eval/importance.png").write_bytes(_png("black"))
    for label, (_, head_colour) in IMAGE_COLOURS.items():
        (root / f"eval/samples/{label}.png").write_bytes(_png(head_colour))
    git(root, "commit", "-q", "-am", "head images")
    return root
