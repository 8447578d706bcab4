"""A DVC project in a subdirectory of its git repository (`dvc init --subdir`, a monorepo), through
the whole job: real git, real DVC, real pipeline runs."""

import json
import shutil
import sys
from pathlib import Path

from dvc.repo import Repo

from bot.cli import main
from bot.workspace.demo import git
from bot.workspace.git import working_directory

SCORE = (
    "import json, yaml\n"
    "lr = yaml.safe_load(open('params.yaml'))['lr']\n"
    "open('model.bin', 'w').write(str(lr))\n"
    "json.dump({'acc': round(0.5 + lr, 6)}, open('metrics.json', 'w'))\n"
)
DVC_YAML = f"""\
stages:
  score:
    cmd: {sys.executable} score.py
    deps: [score.py]
    params: [lr]
    outs: [model.bin]
    metrics: [metrics.json]
  train:
    cmd: {sys.executable} -c "open('weights.bin', 'w').write(open('params.yaml').read())"
    deps: [params.yaml]
    outs: [weights.bin]
plots:
  - curve.csv
"""


def monorepo(top: Path, project_on_main: bool) -> Path:
    """A service at the top, the ML project in ml/; the PR (branch pr) sets its lr to 0.3, or adds
    the project when main has none."""
    top.mkdir(parents=True)
    git(top, "init", "-q", "-b", "main")
    (top / "service").mkdir()
    (top / "service" / "app.py").write_text("print('hello')\n")
    root = top / "ml"
    if project_on_main:
        add_project(root, lr=0.1)
    git(top, "add", "-A")
    git(top, "commit", "-q", "-m", "base")
    git(top, "checkout", "-q", "-b", "pr")
    if project_on_main:
        (root / "params.yaml").write_text("lr: 0.3\n")
        reproduce(root)
    else:
        add_project(root, lr=0.3)
    git(top, "add", "-A")
    git(top, "commit", "-q", "-m", "head")
    return root


def add_project(root: Path, lr: float) -> None:
    root.mkdir()
    Repo.init(str(root), subdir=True).close()
    (root / "dvc.yaml").write_text(DVC_YAML)
    (root / "score.py").write_text(SCORE)
    (root / "params.yaml").write_text(f"lr: {lr}\n")
    (root / "curve.csv").write_text("step,v\n0,1\n1,2\n")
    reproduce(root)


def reproduce(root: Path) -> None:
    with working_directory(root), Repo(str(root)) as repo:
        repo.reproduce()


def run(args, capsys):
    capsys.readouterr()  # what building the project printed
    code = main(args, environ={})
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err
    return code, captured.out, captured.err


def bundle(out_dir: Path) -> dict:
    return json.loads((out_dir / "report.json").read_text())


def data_changes(report: dict) -> dict[str, str]:
    return {change["path"]: change["change"] for change in report["pipeline"]["data_changes"]}


def test_a_project_in_a_subdirectory_is_compared_with_the_base(tmp_path, capsys):
    root = monorepo(tmp_path / "mono", project_on_main=True)

    code, _, err = run(["report", str(root), "--base", "main", "--out", str(tmp_path / "b"), "--no-pull"], capsys)

    assert code == 0, err
    report = bundle(tmp_path / "b")
    assert [(m["path"], m["name"], m["old"], m["new"]) for m in report["metrics"]] == [("metrics.json", "acc", 0.6, 0.8)]
    assert [(p["path"], p["name"], p["old"], p["new"]) for p in report["params"]] == [("params.yaml", "lr", 0.1, 0.3)]
    assert data_changes(report) == {"metrics.json": "modified", "model.bin": "modified", "weights.bin": "modified"}
    assert [plot["id"] for plot in report["plots"]] == ["curve.csv"]


def test_a_path_inside_the_project_finds_it(tmp_path, capsys):
    root = monorepo(tmp_path / "mono", project_on_main=True)
    (root / "src").mkdir()

    code, out, err = run(["report", str(root / "src"), "--base", "main", "--dry-run", "--no-pull", "--no-repro"], capsys)

    assert code == 0, err
    assert out.startswith("## ✅ Model improved: 1 improved")


def test_the_top_of_a_monorepo_is_not_its_project(tmp_path, capsys):
    root = monorepo(tmp_path / "mono", project_on_main=True)

    code, out, err = run(["report", str(root.parent), "--base", "main", "--dry-run"], capsys)

    assert code == 2 and out == ""
    assert err.strip() == f"mrbot: error: {root.parent}: no dvc.yaml; mrbot reports on DVC pipelines (see `dvc stage add`)"


def test_a_pr_that_adds_the_project_reports_everything_as_new(tmp_path, capsys):
    root = monorepo(tmp_path / "mono", project_on_main=False)

    code, _, err = run(["report", str(root), "--base", "main", "--out", str(tmp_path / "b"), "--no-pull"], capsys)

    assert code == 0, err
    report = bundle(tmp_path / "b")
    assert [(m["name"], m["old"], m["new"], m["verdict"]) for m in report["metrics"]] == [("acc", None, 0.8, "new")]
    assert [plot["id"] for plot in report["plots"]] == ["curve.csv"] and report["plots"][0]["images"]
    assert data_changes(report) == {"metrics.json": "added", "model.bin": "added", "weights.bin": "added"}
    assert "could not compare" not in err


def test_the_base_is_reproduced_in_the_project_s_folder_of_a_worktree(tmp_path, capsys):
    # A checkout without the base's outputs in any cache: --base-repro rebuilds them.
    root = monorepo(tmp_path / "mono", project_on_main=True)
    shutil.rmtree(root / ".dvc" / "cache")
    (root / "metrics.json").unlink()  # so the base's metrics can only come from reproducing it

    code, _, err = run(
        ["report", str(root), "--base", "main", "--out", str(tmp_path / "b"), "--no-pull", "--base-repro"], capsys
    )

    assert code == 0, err
    report = bundle(tmp_path / "b")
    assert [(m["name"], m["old"], m["new"]) for m in report["metrics"]] == [("acc", 0.6, 0.8)]
    assert report["pipeline"]["base"]["reproduced"] is True and "2 stage(s) ran" in report["pipeline"]["base"]["note"]
    assert git(root, "worktree", "list").count("\n") == 0  # the worktree is gone


def test_outputs_the_pipeline_changed_against_the_commit_are_named(tmp_path, capsys, caplog):
    # The PR's commit holds stale results: the job's repro changes them, and the report says which.
    root = monorepo(tmp_path / "mono", project_on_main=True)
    (root / "params.yaml").write_text("lr: 0.4\n")
    git(root, "commit", "-q", "-am", "lr 0.4, not reproduced")

    code, _, err = run(["report", str(root), "--base", "main", "--out", str(tmp_path / "b"), "--no-pull"], capsys)

    assert code == 0, err
    assert bundle(tmp_path / "b")["pipeline"]["stale_outputs"] == ["metrics.json", "model.bin", "weights.bin"]
    assert "could not compare" not in caplog.text
