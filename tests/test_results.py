"""Reading results through DVC's API, on real git + DVC projects."""

import math
import shutil
import sys
from pathlib import Path

import pytest
from dvc.repo import Repo

from bot.results import BASE, HEAD
from bot.results.plot_series import load_series
from bot.results.values import read_results
from bot.workspace.demo import git
from bot.workspace.git import resolve, working_directory
from tests.projects import METRICS_ONLY_DVC_YAML, make_project


def base_sha(root: Path) -> str:
    return resolve(root, "main").sha


def test_demo_metrics_are_flattened_with_dots_like_dvc(demo_project):
    results = read_results(demo_project, base_sha(demo_project))
    assert set(results.metrics[BASE]["metrics.json"]) == {"train.loss", "test.loss", "test.accuracy"}
    assert results.metrics[HEAD]["metrics.json"]["test.accuracy"] > results.metrics[BASE]["metrics.json"]["test.accuracy"]
    assert results.params[HEAD]["params.yaml"]["train.lr"] == 0.3
    assert results.params[BASE]["params.yaml"]["train.lr"] == 0.05
    assert results.problems() == []


def test_demo_plots_cover_top_level_and_stage_plots(demo_project):
    plots = {plot.id: plot for plot in read_results(demo_project, base_sha(demo_project)).plots}
    assert set(plots) == {"loss", "plots/training.csv", "plots/confusion.json", "plots/predictions.png"}
    assert plots["loss"].template == "linear"
    assert plots["loss"].title == "Training loss"
    assert {series.role for series in load_series(plots["loss"]).series} == {BASE, HEAD}
    assert plots["plots/confusion.json"].template == "confusion"
    assert set(plots["plots/predictions.png"].images) == {BASE, HEAD}
    assert plots["plots/predictions.png"].images[HEAD].startswith(b"\x89PNG")


def test_plot_selection_from_config(demo_project):
    results = read_results(demo_project, base_sha(demo_project), plots_include=["plots/*"], plots_exclude=["*.png"])
    assert {plot.id for plot in results.plots} == {"plots/training.csv", "plots/confusion.json"}


def test_bad_metric_files_are_reported_not_silenced(tmp_path):
    root = make_project(
        tmp_path / "p",
        {
            "dvc.yaml": "metrics:\n  - metrics.json\n  - bad.json\n  - eval.yaml\n  - gone.json\n",
            "metrics.json": '{"a": {"b": 1}, "s": "x", "n": 1.0}',
            "bad.json": '{"ok": 1}',
            "eval.yaml": "score: 0.5\n",
            "gone.json": '{"z": 1}',
        },
        {
            "metrics.json": '{"a": {"b": 2, "hist": [1, 2]}, "s": "y", "n": NaN, "i": Infinity, "z": null}',
            "bad.json": "{not json",
            "eval.yaml": "score: [unclosed",
            "gone.json": None,
        },
    )
    results = read_results(root, base_sha(root))
    head = results.metrics[HEAD]["metrics.json"]
    assert head["a.b"] == 2 and head["s"] == "y"
    assert math.isnan(head["n"]) and math.isinf(head["i"])
    # DVC drops lists and nulls quietly; we say so.
    assert "metrics.json: 'hist' is a list, not a number or text" in results.skipped
    assert "metrics.json: 'z' is a NoneType, not a number or text" in results.skipped
    assert "JSON file structure is corrupted" in results.unreadable[HEAD]["bad.json"]
    assert "YAML file structure is corrupted" in results.unreadable[HEAD]["eval.yaml"]
    # A file deleted in head is not an error: the diff shows its metrics as removed.
    assert "gone.json" not in results.unreadable[HEAD]
    assert "gone.json" in results.metrics[BASE]


def test_plot_missing_in_one_revision(tmp_path):
    root = make_project(
        tmp_path / "p",
        {"dvc.yaml": "plots:\n  - curve.csv\n  - later.csv\n", "curve.csv": "step,v\n0,1\n1,2\n"},
        {"curve.csv": None, "later.csv": "step,v\n0,3\n"},
    )
    plots = {plot.id: plot for plot in read_results(root, base_sha(root)).plots}
    assert {series.role for series in load_series(plots["curve.csv"]).series} == {BASE}
    assert {series.role for series in load_series(plots["later.csv"]).series} == {HEAD}
    assert plots["curve.csv"].errors == []


SCORE = "import json\njson.dump({'acc': ACC, 'nested': {'f1': 0.5}}, open('m.json', 'w'))\n"


@pytest.fixture
def cached_metrics_project(tmp_path):
    """Metrics cached by DVC (not in git); the base run pushed to a local directory remote."""
    remote = tmp_path / "remote"
    root = make_project(
        tmp_path / "p",
        {
            "dvc.yaml": f"stages:\n  score:\n    cmd: {sys.executable} score.py\n    deps: [score.py]\n"
            "    metrics:\n      - m.json\n",
            "score.py": SCORE.replace("ACC", "0.7"),
        },
    )
    git(root, "checkout", "-q", "main")
    with working_directory(root), Repo(str(root)) as repo:
        with repo.config.edit() as conf:
            conf["core"]["remote"] = "store"
            conf["remote"]["store"] = {"url": str(remote)}
        repo.reproduce()
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "base run")
    with working_directory(root), Repo(str(root)) as repo:
        repo.push()
    git(root, "checkout", "-q", "pr")
    git(root, "merge", "-q", "main")
    (root / "score.py").write_text(SCORE.replace("ACC", "0.9"))
    with working_directory(root), Repo(str(root)) as repo:
        repo.reproduce()
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "head run")
    # A CI checkout: nothing of the base in the local cache.
    shutil.rmtree(root / ".dvc" / "cache")
    with working_directory(root), Repo(str(root)) as repo:
        repo.reproduce(force=True)
    return root, remote


def test_cached_base_metrics_are_read_from_the_remote(cached_metrics_project):
    root, _ = cached_metrics_project
    results = read_results(root, base_sha(root))
    assert results.metrics[BASE]["m.json"] == {"acc": 0.7, "nested.f1": 0.5}
    assert results.metrics[HEAD]["m.json"] == {"acc": 0.9, "nested.f1": 0.5}
    assert results.problems() == []


def test_base_missing_from_cache_and_remote_is_said(cached_metrics_project):
    root, remote = cached_metrics_project
    shutil.rmtree(remote)
    results = read_results(root, base_sha(root))
    assert results.metrics[BASE] == {}
    assert "not in the DVC cache nor the default remote" in results.unreadable[BASE]["m.json"]
    assert any(problem.startswith("base m.json: not in the DVC cache") for problem in results.problems())


def test_a_base_from_before_dvc_init_has_nothing_to_compare(tmp_path):
    # A PR that adds DVC to a project: its base has no .dvc directory and no DVC files.
    root = tmp_path / "p"
    root.mkdir()
    git(root, "init", "-q", "-b", "main")
    (root / "README.md").write_text("before DVC\n")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "base")
    git(root, "checkout", "-q", "-b", "pr")
    Repo.init(str(root)).close()
    (root / "dvc.yaml").write_text("metrics:\n  - metrics.json\nplots:\n  - curve.csv\n")
    (root / "metrics.json").write_text('{"acc": 0.9}')
    (root / "params.yaml").write_text("lr: 0.1\n")
    (root / "curve.csv").write_text("step,v\n0,1\n1,2\n")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "add DVC")

    results = read_results(root, base_sha(root))

    assert results.metrics == {BASE: {}, HEAD: {"metrics.json": {"acc": 0.9}}}
    assert results.params[BASE] == {} and results.params[HEAD]["params.yaml"] == {"lr": 0.1}
    assert [{series.role for series in load_series(plot).series} for plot in results.plots] == [{HEAD}]
    assert results.problems() == []


def test_the_outputs_each_revision_records_are_read_with_its_values(demo_project):
    results = read_results(demo_project, base_sha(demo_project))
    base, head = results.recorded[BASE], results.recorded[HEAD]
    assert set(base) == set(head) and "models/model.npy" in head
    assert base["models/model.npy"].hash != head["models/model.npy"].hash  # the PR retrained it


def test_a_base_whose_dvc_files_do_not_parse_only_loses_the_data_comparison(tmp_path, caplog):
    root = make_project(
        tmp_path / "p",
        {"dvc.yaml": "stages: [\n", "metrics.json": '{"acc": 0.5}'},
        {"dvc.yaml": METRICS_ONLY_DVC_YAML, "metrics.json": '{"acc": 0.9}'},
    )

    results = read_results(root, base_sha(root))

    assert results.recorded[BASE] is None and results.recorded[HEAD] == {}
    assert "could not compare the DVC-tracked data with the base:" in caplog.text
    assert results.metrics[HEAD] == {"metrics.json": {"acc": 0.9}}


READ_ONCE_CHECK = """
import sys
from pathlib import Path
import dvc.repo.index as index
from bot.results.values import read_revisions
from bot.workspace.git import resolve
from bot.workspace.repo import open_repo
from bot.workspace.run import pending_stages

root = Path(sys.argv[1])
builds, order = [], []
from_repo = index.Index.from_repo.__func__
index.Index.from_repo = classmethod(lambda cls, repo, *a, **k: builds.append(str(repo.root_dir)) or from_repo(cls, repo, *a, **k))
with open_repo(root) as repo:
    repo.index.stages  # noqa: B018 - as the job checks the pipeline first
    show = repo.metrics.show
    repo.metrics.show = lambda *a, **k: order.append("metrics") or show(*a, **k)
    results = read_revisions(repo, resolve(root, "main").sha, plots_read=lambda plots: order.append(len(plots)))
    read = len(builds)
    pending_stages(repo)  # as the job does after reading, without dvc repro
print(read, order, "networkx" in sys.modules, len(results.plots), len(builds) - read)
"""


def test_each_revision_is_read_once_the_plots_handed_over_before_the_values_and_stale_stages_found_after(demo_project):
    # A fresh process: what DVC imported there is what this reading needed.
    import subprocess

    done = subprocess.run([sys.executable, "-c", READ_ONCE_CHECK, str(demo_project)], capture_output=True, text=True,
                          cwd=Path(__file__).parents[1], timeout=120)
    assert done.returncode == 0, done.stderr
    line = done.stdout.strip()
    # The check's index, the base's, the head's again; the stale stages are found in the head's.
    assert line == "3 [4, 'metrics', 'metrics'] False 4 0", line
