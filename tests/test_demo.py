import json
import subprocess
import sys

from bot.cli import main


def test_demo_command_prints_report_and_writes_bundle(tmp_path, capsys):
    assert main(["demo", "--dir", str(tmp_path / "demo")]) == 0
    out = capsys.readouterr().out
    assert out.startswith("## ✅ Model improved: 2 improved")
    bundle = tmp_path / "demo" / "mrbot-report"
    report = json.loads((bundle / "report.json").read_text())
    assert {row["name"] for row in report["metrics"]} == {"test.accuracy", "test.loss", "train.loss"}
    for plot in report["plots"]:
        for image in plot["images"]:
            assert (bundle / image).stat().st_size > 1000


def test_python_dash_m_bot_runs():
    done = subprocess.run([sys.executable, "-m", "bot", "--version"], capture_output=True, text=True)
    assert done.returncode == 0
    assert done.stdout.startswith("mrbot ")
