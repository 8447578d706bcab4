"""The GitLab CI template: valid against GitLab's CI schema (check-jsonschema's vendored copy,
offline), every input declared and used, and what the job does with them."""

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from bot.cli import build_parser
from tests.gitlab_template import (
    INPUT,
    TEMPLATE,
    input_values,
    interpolate,
    job_environment,
    job_script,
    load_template,
    resolve,
)

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs" / "gitlab.md"
ISSUE_INPUTS = {"stage", "image", "base", "pull", "repro", "install", "id", "fail-on-regression", "config", "template"}
# The project's folder (a monorepo), the history length, and the scheduled retrain job's two.
INPUTS = ISSUE_INPUTS | {"path", "history", "update-imports", "branch"}
CUSTOM_INPUTS = {
    "stage": "report",
    "image": "registry.example.com/tools/mrbot:v0",
    "base": "origin/main",
    "pull": False,
    "repro": False,
    "install": "pip install -r requirements.txt",
    "id": "nightly",
    "history": "25",
    "fail-on-regression": True,
    "config": "ci/mrbot.yml",
    "template": "ci/report.md.j2",
    "path": "ml",
    "update-imports": True,
    "branch": "bot/nightly-retrain",
}


def check_jsonschema(tmp_path, **documents):
    """Validate each document against GitLab's CI schema; returns the finished process."""
    files = []
    for name, document in documents.items():
        path = tmp_path / f"{name}.json"
        path.write_text(json.dumps(document))
        files.append(str(path))
    return subprocess.run(
        [sys.executable, "-m", "check_jsonschema", "--builtin-schema", "vendor.gitlab-ci", *files],
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_template_validates_against_gitlab_ci_schema(tmp_path):
    header, body = load_template()
    done = check_jsonschema(
        tmp_path,
        header=header,
        body=body,
        resolved_defaults=resolve(),
        resolved_custom=resolve(CUSTOM_INPUTS),
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "ok -- validation done" in done.stdout


def test_schema_check_catches_a_broken_job(tmp_path):
    # Hidden jobs are not checked by the schema; the resolved ready job is, so a mistake there fails.
    broken = resolve()
    broken["mrbot"]["artifacts"]["when"] = "sometimes"
    done = check_jsonschema(tmp_path, broken=broken)
    assert done.returncode == 1
    assert "sometimes" in done.stdout


def test_header_is_its_own_document_and_declares_the_inputs_of_the_issue():
    text = TEMPLATE.read_text()
    assert len(list(yaml.safe_load_all(text))) == 2
    header, _ = load_template()
    assert set(header) == {"spec"}
    assert set(header["spec"]["inputs"]) == INPUTS


def test_every_input_is_used_and_every_use_is_declared():
    header, body = load_template()
    used = set(INPUT.findall(yaml.safe_dump(body)))
    assert used == set(header["spec"]["inputs"])


def test_defaults_fit_their_own_types_and_patterns():
    header, _ = load_template()
    for name, spec in header["spec"]["inputs"].items():
        default = spec["default"]
        if spec.get("type") == "boolean":
            assert isinstance(default, bool), name
        else:
            assert isinstance(default, str), name
        if "regex" in spec:
            assert re.search(spec["regex"], default), name
        assert spec.get("description"), name


def test_ready_job_runs_on_merge_request_pipelines_and_keeps_the_bundle():
    job = resolve()["mrbot"]
    assert job["rules"] == [{"if": '$CI_PIPELINE_SOURCE == "merge_request_event"'}]
    assert job["stage"] == "test"
    assert job["image"]["name"].endswith(":v0")
    out = job["variables"]["MRBOT_OUT"]
    artifacts = job["artifacts"]
    assert artifacts["when"] == "always"
    assert artifacts["expose_as"] and artifacts["paths"] == [f"{out}/"]
    assert artifacts["reports"]["metrics"] == f"{out}/metrics.txt"
    assert job["variables"]["GIT_DEPTH"] == "0"


def test_a_typed_input_is_interpolated_with_its_type():
    header, body = load_template()
    job = interpolate(body, input_values(header, {"pull": False}))[".mrbot"]
    assert job["variables"]["MRBOT_PULL"] is False
    with pytest.raises(KeyError, match="unknown inputs"):
        input_values(header, {"fail_on_regression": True})


RECORDING_MRBOT = f"""#!/bin/sh
# Stands in for mrbot: records the command line and the MRBOT_* variables it was started with.
exec '{sys.executable}' -c 'import json, os, sys; json.dump({{"argv": sys.argv[1:], "env": {{k: v for k, v in
    os.environ.items() if k.startswith("MRBOT_")}}}}, open("mrbot-call.json", "w"))' "$@"
"""


def run_job_script(job, tmp_path):
    """The job's script as the runner runs it (sh, stop at the first failing line), with a recording
    `mrbot` first on PATH; returns what mrbot would have been started with."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "mrbot").write_text(RECORDING_MRBOT)
    (bin_dir / "mrbot").chmod(0o755)
    workdir = tmp_path / "checkout"
    workdir.mkdir()
    environ = {"PATH": f"{bin_dir}:/usr/local/bin:/usr/bin:/bin", **job_environment(job)}
    done = subprocess.run(["sh", "-e", "-c", job_script(job)], cwd=workdir, env=environ, capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return json.loads((workdir / "mrbot-call.json").read_text()), workdir


@pytest.mark.parametrize(
    "given, expected",
    [
        ({}, {"history": None, "base": None, "pull": True, "repro": True, "report_id": None, "fail_on_regression": None,
              "config": None, "template": None, "out": Path("mrbot-report"), "path": Path(".")}),
        ({**CUSTOM_INPUTS, "install": "touch install-ran"},
         {"history": "25", "base": "origin/main", "pull": False, "repro": False, "report_id": "nightly", "fail_on_regression": True,
          "config": Path("ci/mrbot.yml"), "template": Path("ci/report.md.j2"), "out": Path("mrbot-report"),
          "path": Path("ml")}),
    ],
    ids=["defaults", "custom"],
)
def test_mrbot_gets_the_inputs_from_the_job(given, expected, tmp_path):
    call, workdir = run_job_script(resolve(given)["mrbot"], tmp_path)
    # As mrbot itself does (cli.main): an empty variable is an unset option, so .mrbot.yml decides.
    environ = {name: value for name, value in call["env"].items() if value != ""}
    args = build_parser(environ).parse_args(call["argv"])
    assert args.command == "report"
    assert {name: getattr(args, name) for name in expected} == expected
    assert (workdir / "install-ran").exists() == ("install" in given)


def test_the_propose_job_runs_mrbot_propose_on_schedules_only(tmp_path):
    given = {**CUSTOM_INPUTS, "install": "touch install-ran"}
    job = resolve(given, {"mrbot-retrain": {"extends": ".mrbot-propose"}})["mrbot-retrain"]
    assert job["rules"] == [{"if": '$CI_PIPELINE_SOURCE == "schedule"'}]
    assert job["resource_group"] == "mrbot-propose"

    call, _ = run_job_script(job, tmp_path)

    environ = {name: value for name, value in call["env"].items() if value != ""}
    args = build_parser(environ).parse_args(call["argv"])
    assert args.command == "propose" and args.path == Path("ml")
    assert (args.update_imports, args.branch, args.fail_on_regression) == (True, "bot/nightly-retrain", True)
    assert (args.base, args.report_id, args.config, args.pull) == ("origin/main", "nightly", Path("ci/mrbot.yml"), False)


def test_docs_snippets_are_valid_and_use_real_inputs():
    header, _ = load_template()
    blocks = re.findall(r"```yaml\n(.*?)```", DOCS.read_text(), flags=re.S)
    assert blocks
    includes = components = 0
    for block in blocks:
        document = yaml.safe_load(block)
        for item in document.get("include", []) if isinstance(document, dict) else []:
            includes += 1
            assert set(item.get("inputs", {})) <= set(header["spec"]["inputs"]), item
            assert item.get("file", ".gitlab-ci-template.yml").endswith(".gitlab-ci-template.yml")
            if "remote" in item:
                assert item["remote"].endswith("/.gitlab-ci-template.yml")
            if "component" in item:
                components += 1
                assert re.fullmatch(r"\$CI_SERVER_FQDN/[\w./-]+/mrbot@[\w.~-]+", item["component"]), item
    assert includes >= 3  # the remote include, the self-managed project include, the component
    assert components >= 1


def test_the_component_is_the_template():
    # GitLab finds a project's components as templates/<name>.yml; the remote include needs the file at
    # the root. Two paths, one content: everything but the header comment must agree.
    component = ROOT / "templates" / "mrbot.yml"
    assert load_template(component) == load_template()
    body = lambda path: path.read_text().split("\nspec:\n", 1)[1]  # noqa: E731
    assert body(component) == body(TEMPLATE)
    assert "component: $CI_SERVER_FQDN/" in component.read_text().split("\nspec:\n", 1)[0]
