"""Posting survives what it cannot control: a tampered report.json (exit 2, naming the field), a forge
answering something unusable (exit 4, report kept) and an unwritable job summary or outputs file
(a warning; the run's own exit code)."""

from __future__ import annotations

import copy
import json

import pytest

from bot.cli import main
from bot.errors import EXIT_BAD_INPUT, BadInput
from bot.report.model import from_json, to_json
from bot.report.render import render
from tests.servers.github import ACTIONS_BOT, FakeGitHub, Pull, Token
from tests.test_github_e2e import REPO, TOKEN, bundle_report, publish_environ
from tests.test_render import sample_report

# What bot/pipeline_section.py writes for a run with one failed stage, a pull and a data change.
PIPELINE = {
    "failed": "dvc repro failed in stage train",
    "failure": {"step": "dvc repro", "stage": "train", "exit_code": 1, "message": "dvc repro failed in stage train"},
    "log_tail": "Traceback\nValueError: boom",
    "ran_pipeline": True,
    "stages": [{"name": "train", "status": "failed", "status_text": "❌ failed", "seconds": 1.5, "time": "1.5 s",
                "reasons": ["params changed"], "why": "params changed"}],
    "pull": {"remote": "storage", "files": 3, "seconds": 0.2, "time": "0.2 s", "note": "", "to_rebuild": []},
    "push": None,
    "data_changes": [{"path": "data/x.csv", "change": "modified", "old_size": 10, "new_size": 12, "old_files": None,
                      "new_files": None, "old": "10 B", "new": "12 B"}],
    "stale_warning": "",
    "stale_outputs": [],
    "base": {"reproduced": False, "note": "", "log_tail": "", "seconds": 0.0},
    "seconds": {"pull": 0.2, "repro": 1.5, "push": 0.0, "total": 2.0},
    "total_time": "2.0 s",
    "summary": "1 failed · job 2.0 s",
    "show": True,
}


def report_data() -> dict:
    data = to_json(sample_report())
    data["pipeline"] = copy.deepcopy(PIPELINE)
    return data


# -- report.json ------------------------------------------------------------------------------


def test_a_pipeline_as_mrbot_writes_it_loads_unchanged_and_renders():
    report = from_json(report_data(), "bundle/report.json")
    assert report.pipeline == PIPELINE
    assert "dvc repro failed in stage train" in render(report)


def test_unknown_pipeline_keys_are_dropped_and_missing_ones_get_defaults():
    data = report_data()
    data["pipeline"] = {"summary": "s", "extra": {"x": 1}, "stages": [{"name": "train", "colour": "red"}]}
    pipeline = from_json(data, "bundle/report.json").pipeline
    assert "extra" not in pipeline and "colour" not in pipeline["stages"][0]
    assert pipeline["failed"] == "" and pipeline["failure"] is None and pipeline["base"]["note"] == ""
    render(from_json(data, "bundle/report.json"))  # no template error on the keys it reads unguarded


@pytest.mark.parametrize(
    "tamper, field",
    [
        (lambda d: d["counts"].update(improved=1e999), "cannot convert float infinity"),
        (lambda d: d["metrics"][0].update(change=10**400), "too large"),
        (lambda d: d.update(pipeline=5), "pipeline is not an object"),
        (lambda d: d["pipeline"].update(failed="x", stages=5), "pipeline.stages is not a list"),
        (lambda d: d["pipeline"].update(stages=[1], failed="x"), r"pipeline.stages\[0\] is not an object"),
        (lambda d: d["pipeline"]["stages"][0].update(name=None), r"pipeline.stages\[0\].name is not a string"),
        (lambda d: d["pipeline"].update(data_changes=5), "pipeline.data_changes is not a list"),
        (lambda d: d["pipeline"]["data_changes"][0].update(old_size="big"), "old_size is not an integer or null"),
        (lambda d: d["pipeline"].update(failure="x"), "pipeline.failure is not an object or null"),
        (lambda d: d["pipeline"].update(base=[]), "pipeline.base is not an object"),
        (lambda d: d["pipeline"]["pull"].update(files=True), "pipeline.pull.files is not an integer"),
        (lambda d: d["pipeline"].update(log_tail=["a"]), "pipeline.log_tail is not a string"),
        (lambda d: d["pipeline"]["seconds"].update(total="1 s"), "pipeline.seconds.total is not a number"),
    ],
)
def test_a_tampered_report_json_is_one_line_bad_input_naming_the_field(tamper, field):
    data = report_data()
    tamper(data)
    with pytest.raises(BadInput, match=f"^bundle/report.json: invalid mrbot report \\(.*{field}") as caught:
        from_json(data, "bundle/report.json")
    assert "\n" not in str(caught.value)


def test_publish_of_a_tampered_pipeline_blames_report_json_not_the_template(tmp_path, capsys):
    bundle = tmp_path / "bundle"
    bundle.mkdir()
    data = bundle_report()
    data["pipeline"] = {"stages": [1], "failed": "x"}
    (bundle / "report.json").write_text(json.dumps(data))
    with FakeGitHub(REPO, {TOKEN: Token(ACTIONS_BOT, reads_user=False)}) as github:
        github.add_pull(Pull(7, "1" * 40, "b" * 40))
        code = main(["publish", str(bundle)], environ=publish_environ(github, tmp_path))
    err = capsys.readouterr().err
    assert code == EXIT_BAD_INPUT, err
    assert f"{bundle / 'report.json'}: invalid mrbot report (pipeline.stages[0] is not an object)" in err
    assert "template" not in err and "Traceback" not in err
    assert github.calls == []
