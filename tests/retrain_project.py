"""A project a scheduled retrain works on, all real and local: a source DVC repository whose data
changes (the "regularly updated external source"), the project importing it (`dvc import`) into a
one-stage pipeline, a DVC remote for each, and a bare git origin the CI job clones."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from dvc.repo import Repo

from bot.workspace.demo import git
from bot.workspace.git import working_directory

TRAIN = """\
import csv, json
rows = list(csv.DictReader(open("data/raw.csv")))
total = sum(float(row["y"]) for row in rows)
json.dump({"rows": len(rows), "total": total}, open("metrics.json", "w"))
open("model.txt", "w").write(f"model fitted on {len(rows)} rows\\n")
"""


def dvc(cwd: Path, *args: str) -> None:
    subprocess.run([sys.executable, "-m", "dvc", *args, "-q"], cwd=cwd, check=True, capture_output=True)


def _init(path: Path, remote: Path) -> Repo:
    """git and DVC initialised in `path`, with `remote` as the default DVC remote (in-process: the
    `dvc` command would take a second per call to start)."""
    git(path, "init", "-q", "-b", "main")
    repo = Repo.init(str(path))
    with repo.config.edit() as config:
        config["remote"]["store"] = {"url": str(remote)}
        config["core"]["remote"] = "store"
    return Repo(str(path))


@dataclass
class RetrainProject:
    root: Path
    source: Path
    origin: Path  # the bare git repository CI clones and mrbot pushes to
    store: Path  # the project's DVC remote

    def add_source_rows(self, *rows: tuple[int, int]) -> None:
        """New data upstream: committed and pushed in the source repository, as its owners would."""
        data = self.source / "data.csv"
        data.write_text(data.read_text() + "".join(f"{x},{y}\n" for x, y in rows))
        with Repo(str(self.source)) as repo, working_directory(self.source):
            repo.add("data.csv")
            repo.push()
        git(self.source, "commit", "-q", "-am", f"{len(rows)} more rows")

    def checkout(self, name: str = "job") -> Path:
        """A CI job's fresh clone of main."""
        path = self.root / name
        subprocess.run(["git", "clone", "-q", str(self.origin), str(path)], check=True, capture_output=True)
        return path

    def branch_sha(self, branch: str) -> str | None:
        done = subprocess.run(["git", "rev-parse", "--verify", "-q", f"refs/heads/{branch}"], cwd=self.origin,
                              capture_output=True, text=True)
        return done.stdout.strip() or None

    def metrics_on(self, branch: str) -> dict:
        return json.loads(git(self.origin, "show", f"{branch}:metrics.json"))


def build_retrain_project(root: Path) -> RetrainProject:
    source, project, origin, store = root / "source", root / "seed", root / "origin.git", root / "store"
    source.mkdir(parents=True)
    (source / "data.csv").write_text("x,y\n1,2\n2,4\n")
    with _init(source, root / "source-store") as repo, working_directory(source):
        repo.add("data.csv")
        repo.push()
    git(source, "add", "-A")
    git(source, "commit", "-q", "-m", "data")

    git(root, "init", "-q", "--bare", str(origin))
    git(origin, "symbolic-ref", "HEAD", "refs/heads/main")
    project.mkdir()
    (project / "data").mkdir()
    (project / "train.py").write_text(TRAIN)
    (project / "dvc.yaml").write_text(
        "stages:\n  train:\n"
        f"    cmd: {sys.executable} train.py\n"
        "    deps: [data/raw.csv, train.py]\n"
        "    outs: [model.txt]\n"
        "    metrics:\n      - metrics.json:\n          cache: false\n"
    )
    (project / ".mrbot.yml").write_text("metrics:\n  rows: {direction: higher}\n  total: {direction: higher}\n")
    with _init(project, store) as repo, working_directory(project):
        repo.imp(str(source), "data.csv", out="data/raw.csv")
        repo.reproduce()
        repo.push()
    git(project, "add", "-A")
    git(project, "commit", "-q", "-m", "pipeline")
    git(project, "remote", "add", "origin", str(origin))
    git(project, "push", "-q", "origin", "main")
    return RetrainProject(root, source, origin, store)
