"""Build a small but real DVC project (git repo, 3-stage numpy pipeline) for `mrbot demo` and tests."""

from __future__ import annotations

import logging
import sys
import textwrap
from pathlib import Path

from bot.errors import BadInput
from bot.workspace.capture import OutputCapture
from bot.workspace.git import git as run_git
from bot.workspace.git import working_directory

log = logging.getLogger(__name__)

PREPARE = '''\
import json, os, sys
import numpy as np
import yaml

params = yaml.safe_load(open("params.yaml"))["prepare"]
rng = np.random.default_rng(params["seed"])
n = params["samples"]
centers = np.array([[0.0, 0.0], [2.0, 2.0], [0.0, 3.0]])
labels = rng.integers(0, len(centers), n)
features = centers[labels] + rng.normal(0.0, params["noise"], (n, 2))
split = int(n * 0.8)
os.makedirs("data", exist_ok=True)
np.savez("data/prepared.npz", x_train=features[:split], y_train=labels[:split],
         x_test=features[split:], y_test=labels[split:])
'''

TRAIN = '''\
import json, os
import numpy as np
import yaml

params = yaml.safe_load(open("params.yaml"))["train"]
data = np.load("data/prepared.npz")
x, y = data["x_train"], data["y_train"]
classes = int(y.max()) + 1
x = np.hstack([x, np.ones((len(x), 1))])
onehot = np.eye(classes)[y]
weights = np.zeros((x.shape[1], classes))
history = []
for epoch in range(params["epochs"]):
    logits = x @ weights
    logits -= logits.max(axis=1, keepdims=True)
    probs = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    loss = float(-np.mean(np.sum(onehot * np.log(probs + 1e-12), axis=1)))
    accuracy = float(np.mean(probs.argmax(axis=1) == y))
    history.append({"epoch": epoch, "loss": round(loss, 6), "accuracy": round(accuracy, 6)})
    weights -= params["lr"] * x.T @ (probs - onehot) / len(x)
os.makedirs("models", exist_ok=True)
np.save("models/model.npy", weights)
os.makedirs("plots", exist_ok=True)
with open("plots/training.csv", "w") as out:
    out.write("epoch,loss,accuracy\\n")
    for row in history:
        out.write(f"{row['epoch']},{row['loss']},{row['accuracy']}\\n")
'''

EVALUATE = '''\
import json, os
import numpy as np

data = np.load("data/prepared.npz")
weights = np.load("models/model.npy")


def evaluate(x, y):
    x = np.hstack([x, np.ones((len(x), 1))])
    logits = x @ weights
    logits -= logits.max(axis=1, keepdims=True)
    probs = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    loss = float(-np.mean(np.log(probs[np.arange(len(y)), y] + 1e-12)))
    return probs.argmax(axis=1), loss


predicted, test_loss = evaluate(data["x_test"], data["y_test"])
_, train_loss = evaluate(data["x_train"], data["y_train"])
actual = data["y_test"]
metrics = {
    "train": {"loss": round(train_loss, 4)},
    "test": {"loss": round(test_loss, 4), "accuracy": round(float(np.mean(predicted == actual)), 4)},
}
with open("metrics.json", "w") as out:
    json.dump(metrics, out, indent=2)
os.makedirs("plots", exist_ok=True)
with open("plots/confusion.json", "w") as out:
    json.dump([{"actual": int(a), "predicted": int(p)} for a, p in zip(actual, predicted)], out)

import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt

fig, ax = plt.subplots(figsize=(3, 3), dpi=60)
ax.scatter(data["x_test"][:, 0], data["x_test"][:, 1], c=predicted, s=8)
ax.set_title("test predictions")
fig.savefig("plots/predictions.png", metadata={"Software": None})
'''

DVC_YAML = '''\
stages:
  prepare:
    cmd: {python} src/prepare.py
    deps: [src/prepare.py]
    params: [prepare]
    outs: [data/prepared.npz]
  train:
    cmd: {python} src/train.py
    deps: [src/train.py, data/prepared.npz]
    params: [train]
    outs: [models/model.npy]
    plots:
      - plots/training.csv:
          cache: false
  evaluate:
    cmd: {python} src/evaluate.py
    deps: [src/evaluate.py, data/prepared.npz, models/model.npy]
    metrics:
      - metrics.json:
          cache: false
    plots:
      - plots/confusion.json:
          cache: false
          template: confusion
          x: predicted
          y: actual
      - plots/predictions.png:
          cache: false
plots:
  - loss:
      template: linear
      x: epoch
      y:
        plots/training.csv: [loss]
      title: Training loss
'''

BASE_PARAMS = {"seed": 7, "samples": 600, "noise": 0.9, "lr": 0.05, "epochs": 30}
HEAD_PARAMS = {**BASE_PARAMS, "lr": 0.3, "epochs": 60}


def _params_yaml(values: dict) -> str:
    return textwrap.dedent(
        f"""\
        prepare:
          seed: {values['seed']}
          samples: {values['samples']}
          noise: {values['noise']}
        train:
          lr: {values['lr']}
          epochs: {values['epochs']}
        """
    )


# A fixed identity, so the demo needs no git user configuration.
DEMO_IDENTITY = {
    "GIT_AUTHOR_NAME": "mrbot demo",
    "GIT_AUTHOR_EMAIL": "demo@mrbot.invalid",
    "GIT_COMMITTER_NAME": "mrbot demo",
    "GIT_COMMITTER_EMAIL": "demo@mrbot.invalid",
}


def git(root: Path, *args: str) -> str:
    return run_git(root, *args, env=DEMO_IDENTITY)


def reproduce(root: Path) -> None:
    from dvc.repo import Repo

    # DVC resolves stage targets against the working directory.
    with working_directory(root), Repo(str(root)) as repo:
        repo.reproduce()




def build_demo_project(root: Path) -> Path:
    """Create the demo repo at `root`: `main` holds the base run, branch `experiment` a changed one."""
    if root.exists() and any(root.iterdir()):
        raise BadInput(f"{root}: not empty; pass `mrbot demo --dir` a new or empty directory")
    root.mkdir(parents=True, exist_ok=True)
    git(root, "init", "-q", "-b", "main")
    (root / "src").mkdir()
    (root / "src" / "prepare.py").write_text(PREPARE)
    (root / "src" / "train.py").write_text(TRAIN)
    (root / "src" / "evaluate.py").write_text(EVALUATE)
    (root / "dvc.yaml").write_text(DVC_YAML.format(python=_quoted_python()))
    (root / "params.yaml").write_text(_params_yaml(BASE_PARAMS))
    # DVC's output of building the project is not the demo's: kept out of the log unless it fails.
    with OutputCapture(echo=lambda text: None) as capture:
        try:
            _commit_two_runs(root)
        except Exception:
            for line in capture.tail():
                log.error("%s", line)
            raise
    return root


def _commit_two_runs(root: Path) -> None:
    from dvc.repo import Repo

    Repo.init(str(root)).close()
    git(root, "config", "core.autocrlf", "false")
    reproduce(root)
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "Baseline model")
    git(root, "checkout", "-q", "-b", "experiment")
    (root / "params.yaml").write_text(_params_yaml(HEAD_PARAMS))
    reproduce(root)
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "Raise learning rate and train longer")


def _quoted_python() -> str:
    # The stage commands run with the interpreter mrbot runs in, which has numpy and matplotlib.
    exe = sys.executable
    return f'"{exe}"' if " " in exe else exe
