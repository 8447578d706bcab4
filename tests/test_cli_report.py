"""`mrbot report` as users run it: exit codes, one-line errors, the bundle contract."""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from bot.cli import main
from bot.workspace.demo import git
from tests.projects import METRICS_ONLY_DVC_YAML, make_project


def run(args, capsys, environ=None):
    code = main(args, environ=environ or {})
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err
    return code, captured.out, captured.err


def test_dry_run_prints_the_report_and_leaves_no_bundle(demo_project, capsys, monkeypatch):
    monkeypatch.chdir(demo_project)
    code, out, err = run(["report", "--base", "main", "--dry-run"], capsys)
    assert code == 0
    assert out.startswith("## ✅ Model improved: 2 improved")
    assert "| test.accuracy |" in out
    # train.loss pairs with test.loss: shown, not counted.
    assert re.search(r"\| train\.loss +\|.*improved · train side, context only", out)
    assert not (demo_project / "mrbot-report").exists()


def test_out_writes_the_bundle_with_the_json_contract(demo_project, tmp_path, capsys):
    out_dir = tmp_path / "bundle"
    code, _, _ = run(["report", str(demo_project), "--base", "main", "--out", str(out_dir)], capsys)
    assert code == 0
    report = json.loads((out_dir / "report.json").read_text())
    assert {"base", "head", "metrics", "params", "plots", "verdict", "summary"} <= set(report)
    assert set(report["base"]) == {"rev", "sha"} and report["base"]["rev"] == "main"
    assert report["head"]["sha"] == git(demo_project, "rev-parse", "HEAD")
    metric = report["metrics"][0]
    assert {"path", "name", "old", "new", "change", "change_pct", "direction", "verdict"} <= set(metric)
    assert {"path", "name", "old", "new"} <= set(report["params"][0])
    assert {"id", "title", "images"} <= set(report["plots"][0])
    assert report["verdict"] == "improved" and report["summary"] == "2 improved"
    markdown = (out_dir / "report.md").read_text()
    for plot in report["plots"]:
        for image in plot["images"]:
            assert f"]({image})" in markdown
            assert (out_dir / image).is_file()


def test_default_base_is_the_merge_base_with_main_and_says_so(demo_project, capsys):
    code, out, err = run(["report", str(demo_project), "--dry-run"], capsys)
    assert code == 0
    assert "base: where head forked from main (" in err and "the merge-base" in err
    assert "base main " in out
    assert "Base: where this branch forked from main (their merge-base)" in out
    assert "main has not moved since." in out


def test_base_from_environment(demo_project, capsys):
    code, out, _ = run(["report", str(demo_project), "--dry-run"], capsys, {"MRBOT_BASE": "experiment"})
    assert code == 0
    assert out.startswith("## ➖ No metric changed: 2 unchanged")
    assert "No metric changed." in out


def test_fail_on_regression_exits_1(demo_project, capsys):
    # Reported the other way round, the experiment's improvements are regressions.
    git(demo_project, "checkout", "-q", "main")
    code, out, _ = run(["report", str(demo_project), "--base", "experiment", "--dry-run", "--fail-on-regression"], capsys)
    assert code == 1
    assert out.startswith("## ❌ Model regressed: 2 regressed")
    code, _, _ = run(["report", str(demo_project), "--base", "experiment", "--dry-run"], capsys)
    assert code == 0


def test_thresholds_from_config_make_the_gate_pass(demo_project, capsys):
    git(demo_project, "checkout", "-q", "main")
    (demo_project / ".mrbot.yml").write_text(
        "fail_on_regression: true\nmetrics:\n  '*loss': {threshold: 0.5}\n  test.accuracy: {threshold: '20%'}\n"
    )
    code, out, _ = run(["report", str(demo_project), "--base", "experiment", "--dry-run"], capsys)
    assert code == 0, out
    assert out.startswith("## ➖ No metric changed: 2 unchanged")


def test_template_override(demo_project, tmp_path, capsys):
    template = tmp_path / "t.md.j2"
    template.write_text("VERDICT={{ report.verdict }} {{ summary }}\n")
    code, out, _ = run(["report", str(demo_project), "--base", "main", "--dry-run", "--template", str(template)], capsys)
    assert (code, out) == (0, "VERDICT=improved 2 improved\n")


def test_empty_diff_gives_a_short_report(tmp_path, capsys):
    root = make_project(tmp_path / "p", {"dvc.yaml": METRICS_ONLY_DVC_YAML, "metrics.json": {"acc": 1}})
    code, out, _ = run(["report", str(root), "--base", "main", "--dry-run"], capsys)
    assert code == 0
    assert out.startswith("## ➖ No metric changed: 1 unchanged")
    assert len(out.splitlines()) < 20


def test_unreadable_base_is_a_warning_in_the_report(tmp_path, capsys):
    root = make_project(
        tmp_path / "p",
        {"dvc.yaml": METRICS_ONLY_DVC_YAML, "metrics.json": "{broken"},
        {"metrics.json": {"acc": 0.9}},
    )
    code, out, _ = run(["report", str(root), "--base", "main", "--dry-run"], capsys)
    assert code == 0
    assert "> [!WARNING]" in out and "Could not read base metrics.json" in out
    assert "❔ unknown" in out  # not "new": we do not know what it was


@pytest.mark.parametrize(
    "setup, message",
    [
        ("plain_dir", "not a git repository"),
        ("no_dvc_yaml", "no dvc.yaml"),
        ("missing_dir", "no such directory"),
    ],
)
def test_bad_repository_is_one_line_exit_2(tmp_path, capsys, setup, message):
    target = tmp_path / "repo"
    if setup != "missing_dir":
        target.mkdir()
    if setup == "no_dvc_yaml":
        git(target, "init", "-q")
    code, out, err = run(["report", str(target), "--dry-run"], capsys)
    assert code == 2
    assert out == ""
    assert message in err and len(err.strip().splitlines()) == 1


def test_broken_dvc_yaml_in_head_is_exit_2(tmp_path, capsys):
    root = make_project(
        tmp_path / "p", {"dvc.yaml": METRICS_ONLY_DVC_YAML, "metrics.json": {"a": 1}}, {"dvc.yaml": "stages: [broken\n"}
    )
    code, out, err = run(["report", str(root), "--base", "main", "--dry-run"], capsys)
    assert code == 2 and out == ""
    assert "dvc.yaml: YAML file structure is corrupted" in err


def test_unknown_base_is_exit_2(demo_project, capsys):
    code, _, err = run(["report", str(demo_project), "--base", "nope", "--dry-run"], capsys)
    assert code == 2
    assert "base revision 'nope' not found" in err


def test_base_missing_in_a_shallow_clone_says_to_fetch(demo_project, tmp_path, capsys):
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", "--depth=1", "--branch", "experiment", f"file://{demo_project}", str(clone)],
                   check=True)
    # With a remote, mrbot fetches the base itself (tests/test_ci_job.py); without, it says how.
    git(clone, "remote", "remove", "origin")
    code, _, err = run(["report", str(clone), "--base", "main", "--dry-run"], capsys)
    assert code == 2
    assert "shallow" in err and "git fetch --depth=1 origin main" in err


@pytest.mark.parametrize(
    "config, message",
    [
        ("metrics: [", "is not valid YAML"),
        ("nonsense: 1", "unknown key 'nonsense'"),
        ("metrics:\n  acc: {direction: up}", "metrics.acc.direction must be 'higher' or 'lower'"),
        ("metrics:\n  acc: {threshold: -1}", "metrics.acc.threshold must be a non-negative number"),
        ("fail_on_regression: maybe", "fail_on_regression must be true or false"),
        ("id: 'a b'", "id must be"),
    ],
)
def test_bad_config_names_the_file_and_field(demo_project, capsys, config, message):
    (demo_project / ".mrbot.yml").write_text(config)
    code, _, err = run(["report", str(demo_project), "--base", "main", "--dry-run"], capsys)
    assert code == 2
    assert ".mrbot.yml" in err and message in err


def test_missing_explicit_config_and_template(demo_project, tmp_path, capsys):
    code, _, err = run(["report", str(demo_project), "--dry-run", "--config", str(tmp_path / "x.yml")], capsys)
    assert code == 2 and "config file not found" in err
    code, _, err = run(["report", str(demo_project), "--base", "main", "--dry-run", "--template", str(tmp_path / "t")],
                       capsys)
    assert code == 2 and "template not found" in err


def test_real_process_exit_code_and_no_traceback(tmp_path):
    done = subprocess.run([sys.executable, "-m", "bot", "report", str(tmp_path), "--dry-run"],
                          capture_output=True, text=True)
    assert done.returncode == 2
    assert done.stderr.startswith("mrbot: error: ") and "Traceback" not in done.stderr


@pytest.mark.parametrize("command", [["-m", "bot"], "console script"])
def test_the_command_exits_with_mains_code_and_its_whole_output(demo_project, command):
    # The command skips Python's module teardown at exit; nothing written may be lost to that.
    prefix = [str(Path(sys.executable).parent / "mrbot")] if command == "console script" else [sys.executable, *command]
    git(demo_project, "checkout", "-q", "main")  # the experiment's improvements become regressions
    args = ["report", str(demo_project), "--base", "experiment", "--no-pull", "--no-repro", "--fail-on-regression"]
    buffered = {name: value for name, value in os.environ.items() if name != "PYTHONUNBUFFERED"}
    done = subprocess.run([*prefix, *args, "--dry-run"], capture_output=True, text=True, env=buffered)
    assert done.returncode == 1
    assert main([*args, "--out", str(demo_project.parent / "bundle")]) == 1
    job_time = re.compile(r"[0-9.]+ s for the whole mrbot run")
    written = (demo_project.parent / "bundle" / "report.md").read_text()
    assert job_time.sub("", done.stdout) == job_time.sub("", written) and written.endswith("</sub>\n")


def test_the_command_runs_atexit_handlers_before_it_exits(tmp_path):
    marker = tmp_path / "atexit-ran"
    script = (
        "import atexit, pathlib, sys\n"
        f"atexit.register(pathlib.Path({str(marker)!r}).write_text, 'yes')\n"
        f"sys.argv = ['mrbot', 'report', {str(tmp_path)!r}, '--dry-run']\n"
        "from bot.cli import run\n"
        "run()\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert done.returncode == 2 and done.stderr.startswith("mrbot: error: ")
    assert marker.read_text() == "yes"


def test_no_command_prints_help_and_exits_2(capsys):
    code, out, _ = run([], capsys)
    assert code == 2 and "report" in out


def test_relative_out_from_another_directory(demo_project, tmp_path, capsys, monkeypatch):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    code, _, err = run(["report", str(demo_project), "--base", "main", "--out", "bundle", "--no-pull", "--no-repro"],
                       capsys)
    assert code == 0, err
    markdown = (elsewhere / "bundle" / "report.md").read_text()
    images = [line.split("](", 1)[1].rstrip(")") for line in markdown.splitlines() if line.startswith("![")]
    assert images and all((elsewhere / "bundle" / image).is_file() for image in images)
    assert not (demo_project / "bundle").exists()


def test_unwritable_out_is_one_line_exit_2(demo_project, capsys):
    code, _, err = run(["report", str(demo_project), "--base", "main", "--out", "/proc/mrbot-bundle"], capsys)
    assert code == 2
    assert "/proc/mrbot-bundle" in err and len(err.strip().splitlines()[-1:]) == 1


def test_dvc_yaml_without_dvc_directory(tmp_path, capsys):
    root = tmp_path / "p"
    root.mkdir()
    git(root, "init", "-q", "-b", "main")
    (root / "dvc.yaml").write_text(METRICS_ONLY_DVC_YAML)
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "x")
    code, _, err = run(["report", str(root), "--base", "main", "--dry-run"], capsys)
    assert code == 2 and "no .dvc directory; run `dvc init`" in err


def test_demo_refuses_a_directory_that_is_not_empty(tmp_path, capsys):
    (tmp_path / "keep.txt").write_text("mine")
    code, _, err = run(["demo", "--dir", str(tmp_path)], capsys)
    assert code == 2 and "not empty" in err
    assert (tmp_path / "keep.txt").read_text() == "mine"


def test_report_id_from_the_command_line_is_checked(demo_project, capsys):
    code, _, err = run(["report", str(demo_project), "--dry-run", "--id", "x -->"], capsys)
    assert code == 2 and "--id / MRBOT_ID must be" in err


@pytest.mark.parametrize(
    "template, message",
    [
        ("{{ foo }}\n", "'foo' is undefined; see README 'Template context' for the names"),
        ("{{ 1 / 0 }}\n", "the template failed (ZeroDivisionError: division by zero); fix it"),
    ],
)
def test_a_template_that_fails_at_render_keeps_the_bundle(demo_project, tmp_path, capsys, template, message):
    user_template = tmp_path / "mine.md.j2"
    user_template.write_text(template)
    bundle = tmp_path / "bundle"

    code, _, err = run(["report", str(demo_project), "--base", "main", "--no-pull", "--no-repro",
                        "--out", str(bundle), "--template", str(user_template)], capsys)

    errors = [line for line in err.splitlines() if line.startswith("mrbot: error:")]
    assert code == 2 and errors == [f"mrbot: error: {user_template}: {message}"]
    # Nothing of the report is lost: the data, the metrics file, and report.md in the built-in layout.
    assert json.loads((bundle / "report.json").read_text())["summary"] == "2 improved"
    assert (bundle / "metrics.txt").is_file()
    assert (bundle / "report.md").read_text().startswith("## ✅ Model improved: 2 improved")


@pytest.mark.parametrize("content", [b"{% for %}\n", b"\xff{{ summary }}\n"])
def test_a_broken_template_stops_the_job_before_the_pipeline_runs(demo_project, tmp_path, capsys, content):
    (demo_project / "src" / "train.py").write_text("raise SystemExit('the pipeline ran')\n")
    user_template = tmp_path / "broken.md.j2"
    user_template.write_bytes(content)

    code, out, err = run(["report", str(demo_project), "--base", "main", "--dry-run", "--template",
                          str(user_template)], capsys)

    errors = [line for line in err.splitlines() if line.startswith("mrbot: error:")]
    assert code == 2 and out == "" and len(errors) == 1 and errors[0].startswith(f"mrbot: error: {user_template}")
    assert "the pipeline ran" not in err and "Running stage" not in err


@pytest.mark.parametrize(
    "broken_file, content, message",
    [
        (".dvc/config", "[core\n garbage", "config file error: Parsing failed with several errors. First error at line 1.;"),
        ("params.yaml", "train: {epochs: [\n", "YAML file structure is corrupted"),
    ],
)
def test_a_broken_dvc_file_is_one_line_naming_it(demo_project, capsys, broken_file, content, message):
    (demo_project / broken_file).write_text(content)

    code, out, err = run(["report", str(demo_project), "--base", "main", "--dry-run", "--no-pull", "--no-repro"],
                         capsys)

    errors = [line for line in err.splitlines() if line.startswith("mrbot: error:")]
    assert code == 2 and out == "" and len(errors) == 1 and err.rstrip().splitlines()[-1] == errors[0]
    assert errors[0].startswith(f"mrbot: error: {demo_project / broken_file}: ") and message in errors[0]


def test_a_bug_in_mrbot_is_one_masked_line_and_exit_5(demo_project, capsys, monkeypatch):
    import bot.job

    secret = "s3cr3t-value-123"

    def broken(*args, **kwargs):
        raise RuntimeError(f"unexpected state with {secret}\nsecond line")

    monkeypatch.setattr(bot.job, "build_report", broken)
    args = ["report", str(demo_project), "--base", "main", "--dry-run", "--no-pull", "--no-repro"]

    code, out, err = run(args, capsys, environ={"MRBOT_TOKEN": secret})
    assert code == 5 and out == "" and secret not in err
    assert err.splitlines()[-1] == (
        "mrbot: error: mrbot failed (RuntimeError: unexpected state with ***); this is a bug, please report it "
        "with the -v log"
    )

    # With -v the traceback is there for the bug report, masked like every log line.
    code = main(["-v", *args], environ={"MRBOT_TOKEN": secret})
    err = capsys.readouterr().err
    assert code == 5 and "Traceback (most recent call last)" in err and ", in broken\n" in err
    assert secret not in err



EARLY_WORKERS_CHECK = """
import json, multiprocessing, sys
import bot.charts.pool as pool

seen = []
enter = pool.ChartRenderer.__enter__

def entered(self):
    seen.append({"job imported": "bot.job" in sys.modules, "started": self._pool is not None})
    return enter(self)

pool.ChartRenderer.__enter__ = entered
from bot.cli import main
codes = [main(["report", sys.argv[1], "--base", "main", "--dry-run", "--no-pull", "--no-repro"])]
sys.stdout.flush()
print(json.dumps({"codes": codes, "seen": seen, "left": len(multiprocessing.active_children())}))
"""


def test_the_chart_workers_start_before_the_job_loads_and_end_with_it(demo_project):
    # A fresh process each, so that the job's modules are not imported already. The second run has
    # a broken .mrbot.yml: it stops before the job opens the repository, and leaves no worker either.
    script = EARLY_WORKERS_CHECK
    first = subprocess.run([sys.executable, "-c", script, str(demo_project)], capture_output=True, text=True,
                           cwd=Path(__file__).parents[1], timeout=120)
    (demo_project / ".mrbot.yml").write_text("nonsense: 1\n")
    broken = subprocess.run([sys.executable, "-c", script, str(demo_project)], capture_output=True, text=True,
                            cwd=Path(__file__).parents[1], timeout=120)

    ran = json.loads(first.stdout.splitlines()[-1])
    assert ran["codes"] == [0] and ran["left"] == 0
    # Started by the CLI before bot.job was imported; the job's own entry finds them started.
    assert ran["seen"] == [{"job imported": False, "started": False}, {"job imported": True, "started": True}]
    stopped = json.loads(broken.stdout.splitlines()[-1])
    assert stopped["codes"] == [2] and stopped["left"] == 0 and "unknown key 'nonsense'" in broken.stderr
