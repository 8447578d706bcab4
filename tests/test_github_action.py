"""action.yml and the example workflows: valid for GitHub (the schemas check-jsonschema ships and
reads offline), and wired to mrbot: every input reaches the option it names."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

from bot.ci.outputs import report_outputs
from bot.cli import build_parser, main
from bot.workspace.demo import git
from tests.servers.github import ACTIONS_BOT, FakeGitHub, Pull, Token, actions_environ, pull_request_event, running

ROOT = Path(__file__).resolve().parents[1]
ACTION = ROOT / "action.yml"
EXAMPLES = sorted((ROOT / "examples" / "github").glob("*.yml"))
DOCS = [ROOT / "docs" / "github.md", ROOT / "docs" / "experiments.md", ROOT / "docs" / "retrain.md"]
TOKEN = "ghs_ActionTestTokenThatMustNeverLeak0001"


def check_jsonschema(schema: str, *files: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "check_jsonschema", "--builtin-schema", schema, *map(str, files)],
        capture_output=True, text=True,
    )


def docs_workflows(tmp_path: Path) -> list[Path]:
    """The docs' YAML blocks that are whole workflows, each written to a file."""
    blocks = [block for document in DOCS
              for block in re.findall(r"```yaml\n(.*?)```", document.read_text(encoding="utf-8"), flags=re.S)]
    paths = []
    for index, block in enumerate(blocks):
        if "jobs" in (yaml.safe_load(block) or {}) and "data.forgejo.org" not in block:  # Forgejo's: its tests
            paths.append(tmp_path / f"docs-workflow-{index}.yml")
            paths[-1].write_text(block, encoding="utf-8")
    return paths


def test_action_yml_is_a_valid_docker_action_on_a_prebuilt_image():
    done = check_jsonschema("vendor.github-actions", ACTION)
    assert done.returncode == 0, done.stdout + done.stderr
    action = yaml.safe_load(ACTION.read_text())
    assert action["runs"]["using"] == "docker"
    assert re.fullmatch(r"docker://ghcr\.io/[\w.-]+/mrbot:v\d+", action["runs"]["image"])
    assert all(spec.get("description") for spec in action["inputs"].values())
    assert action["inputs"]["token"]["default"] == "${{ github.token }}"
    assert {"icon", "color"} <= set(action["branding"])
    # Outputs are what mrbot writes to $GITHUB_OUTPUT.
    proposal = {"branch": "mrbot/retrain", "pr_url": "", "action": "none"}
    assert set(action["outputs"]) == set(report_outputs("improved", "", Path("x"), proposal))


def test_example_and_documented_workflows_are_valid(tmp_path):
    documented = docs_workflows(tmp_path)
    assert len(EXAMPLES) == 6 and len(documented) == 6
    done = check_jsonschema("vendor.github-workflows", *EXAMPLES, *documented)
    assert done.returncode == 0, done.stdout + done.stderr
    # The docs show the examples (comments aside): the two cannot drift apart.
    examples = [yaml.safe_load(path.read_text()) for path in EXAMPLES]
    for path in documented:
        assert yaml.safe_load(path.read_text()) in examples, f"{path.name} differs from every example"


def workflow(name: str) -> dict[str, Any]:
    return yaml.safe_load((ROOT / "examples" / "github" / name).read_text())


def test_examples_ask_for_minimal_permissions_and_run_once_per_pr():
    same_repo = workflow("mrbot.yml")
    assert same_repo["permissions"] == {"contents": "write", "pull-requests": "write", "statuses": "write",
                                        "checks": "write"}
    assert same_repo["concurrency"]["group"] == "mrbot-${{ github.event.pull_request.number }}"
    [checkout, mrbot, _upload] = same_repo["jobs"]["report"]["steps"]
    assert checkout["with"]["fetch-depth"] == 0
    assert mrbot["uses"] == "mrbot-dev/mrbot@v0"

    build, publish = workflow("mrbot-fork-build.yml"), workflow("mrbot-fork-publish.yml")
    # Stage 1 runs the fork's code: no write permission and no token to post with.
    assert build[True] == {"pull_request": None}  # YAML 1.1 reads the key `on` as true
    assert build["permissions"] == {"contents": "read"}
    assert [step["with"]["token"] for step in build["jobs"]["build"]["steps"] if "mrbot" in step.get("uses", "")] == [""]
    # Stage 2 runs our code only: the default branch's checkout (its .mrbot.yml judges the numbers;
    # no `ref`, so never the PR's code), the artifact of the triggering run, then publish.
    assert publish[True]["workflow_run"]["workflows"] == [build["name"]]
    checkout, download, post = publish["jobs"]["publish"]["steps"]
    assert checkout["uses"].startswith("actions/checkout@") and checkout["with"] == {"persist-credentials": False}
    assert download["with"]["run-id"] == "${{ github.event.workflow_run.id }}"
    assert post["with"]["bundle"] == download["with"]["path"]


# -- what the runner does with action.yml: evaluate its expressions, run the container's command --


def evaluate(expression: str, contexts: dict[str, dict[str, str]]) -> Any:
    """The subset of GitHub's expression language action.yml uses: context.name, 'strings', ==, !=,
    &&, || (with their short-circuit values), parentheses."""
    tokens = re.findall(r"==|!=|&&|\|\||\(|\)|'(?:[^']|'')*'|[A-Za-z_][\w.-]*", expression)
    position = 0

    def peek() -> str | None:
        return tokens[position] if position < len(tokens) else None

    def take() -> str:
        nonlocal position
        position += 1
        return tokens[position - 1]

    def atom() -> Any:
        token = take()
        if token == "(":
            value = either()
            assert take() == ")"
            return value
        if token.startswith("'"):
            return token[1:-1].replace("''", "'")
        context, _, name = token.partition(".")
        return contexts[context][name]

    def comparison() -> Any:
        value = atom()
        while peek() in ("==", "!="):
            operator, other = take(), atom()
            value = (str(value).lower() == str(other).lower()) == (operator == "==")
        return value

    def both() -> Any:
        value = comparison()
        while peek() == "&&":
            take()
            other = comparison()
            value = other if value else value
        return value

    def either() -> Any:
        value = both()
        while peek() == "||":
            take()
            other = both()
            value = value if value else other
        return value

    result = either()
    assert position == len(tokens), expression
    return result


def substitute(text: str, contexts: dict[str, dict[str, str]]) -> str:
    def value(match: re.Match[str]) -> str:
        result = evaluate(match.group(1), contexts)
        return str(result).lower() if isinstance(result, bool) else str(result)

    return re.sub(r"\$\{\{(.*?)\}\}", value, text)


def run_action(given: dict[str, str], github_token: str = TOKEN) -> tuple[list[str], dict[str, str]]:
    """(args, env) the runner starts the action's container with, for the inputs `given`."""
    action = yaml.safe_load(ACTION.read_text())
    unknown = set(given) - set(action["inputs"])
    assert not unknown, f"not inputs of action.yml: {unknown}"
    inputs = {}
    for name, spec in action["inputs"].items():
        default = substitute(str(spec.get("default", "")), {"github": {"token": github_token}})
        inputs[name] = given.get(name, default)
    contexts = {"inputs": inputs, "github": {"token": github_token}}
    args = [substitute(arg, contexts) for arg in action["runs"]["args"]]
    env = {name: substitute(str(value), contexts) for name, value in action["runs"]["env"].items()}
    return args, env


def parsed(args: list[str], env: dict[str, str]):
    environ = {name: value for name, value in env.items() if value != ""}  # as main() reads them
    return build_parser(environ).parse_args(args)


def test_defaults_run_a_plain_report():
    args, env = run_action({})
    assert args == ["report", "."]
    options = parsed(args, env)
    assert env["MRBOT_TOKEN"] == TOKEN
    assert (options.base, options.report_id, options.config, options.template) == (None, None, None, None)
    # None: as .mrbot.yml's fail_on_regression says (an input's "false" default would override it).
    assert (options.pull, options.repro, options.set_status, options.fail_on_regression) == (True, True, True, None)
    assert (options.comment_mode, options.status_context, options.assets_branch) == ("update", "mrbot", "mrbot-assets")
    assert options.allow_pull_request_target is False and options.check_run is True


def test_every_input_reaches_its_option():
    args, env = run_action({
        "base": "origin/release", "pull": "false", "repro": "false", "id": "gpu", "comment-mode": "new",
        "fail-on-regression": "true", "config": "ci/mrbot.yml", "template": "ci/report.md.j2",
        "working-directory": "models/tabular", "status": "false", "status-context": "model-report",
        "assets-branch": "reports-images", "allow-pull-request-target": "true", "check-run": "false",
        "install": "pip install -r requirements.txt", "history": "25",
    })
    options = parsed(args, env)
    assert options.command == "report" and options.path == Path("models/tabular")
    assert (options.base, options.report_id, options.comment_mode) == ("origin/release", "gpu", "new")
    assert (options.pull, options.repro, options.set_status, options.fail_on_regression) == (False, False, False, True)
    assert (options.config, options.template) == (Path("ci/mrbot.yml"), Path("ci/report.md.j2"))
    assert (options.status_context, options.assets_branch) == ("model-report", "reports-images")
    assert options.allow_pull_request_target is True and options.check_run is False
    assert options.history == "25"
    # The image's entrypoint runs MRBOT_INSTALL before mrbot (docker/entrypoint.sh).
    assert env["MRBOT_INSTALL"] == "pip install -r requirements.txt"


def test_bundle_switches_to_publish_and_an_empty_token_posts_nothing():
    args, env = run_action({"bundle": "mrbot-report", "token": ""})
    assert args == ["publish", "mrbot-report"]
    assert parsed(args, env).bundle == Path("mrbot-report")
    assert env["MRBOT_TOKEN"] == ""


def test_publish_judges_with_the_inputs_and_the_working_directorys_config():
    args, env = run_action({"bundle": "mrbot-report", "working-directory": "models/tabular", "id": "gpu",
                            "config": "ci/mrbot.yml", "fail-on-regression": "true"})
    options = parsed(args, env)
    assert (options.project, options.report_id, options.config) == (Path("models/tabular"), "gpu", Path("ci/mrbot.yml"))
    assert options.fail_on_regression is True


def test_the_action_posts_a_report_end_to_end(demo_project, tmp_path, capsys):
    """action.yml's args and env, given to mrbot with the runner's variables, post the report."""
    head, base = git(demo_project, "rev-parse", "HEAD"), git(demo_project, "rev-parse", "main")
    with running(FakeGitHub(tokens={TOKEN: Token(ACTIONS_BOT, reads_user=False)})) as github:
        github.add_pull(Pull(7, head, base))
        args, env = run_action({"working-directory": str(demo_project), "id": "cpu", "status": "false"})
        runner = actions_environ(tmp_path, "pull_request", pull_request_event(github.repository, 7, head, base, github.url),
                                 github.repository, github.url, "9" * 40, MRBOT_SECONDS_BETWEEN_REQUESTS="0",
                                 MRBOT_SECONDS_BETWEEN_WRITES="0")
        code = main([*args[:2], "--out", str(tmp_path / "mrbot-report")], environ={**runner, **env})
        output = capsys.readouterr()

    assert code == 0, output.err
    [comment] = github.comments(7)
    assert comment["body"].startswith(f"<!-- mrbot:report id=cpu head={head} -->")
    assert github.statuses == []  # status: false
    assert TOKEN not in output.out + output.err


def test_propose_mode_reaches_mrbot_propose():
    args, env = run_action({"mode": "propose", "update-imports": "true", "branch": "bot/weekly", "title": "Weekly retrain",
                            "author": "Retrain Bot <bot@example.com>", "working-directory": "models/tabular"})
    options = parsed(args, env)
    assert options.command == "propose" and options.path == Path("models/tabular")
    assert (options.update_imports, options.branch, options.title) == (True, "bot/weekly", "Weekly retrain")
    assert options.author == "Retrain Bot <bot@example.com>"

    defaults = parsed(*run_action({"mode": "propose"}))
    assert (defaults.update_imports, defaults.branch, defaults.title, defaults.author) == (False, "mrbot/retrain", None, None)


def test_the_retrain_example_runs_on_a_schedule_one_at_a_time():
    retrain = workflow("mrbot-retrain.yml")
    assert set(retrain[True]) == {"schedule", "workflow_dispatch"}
    assert retrain["permissions"] == {"contents": "write", "pull-requests": "write", "statuses": "write",
                                      "checks": "write"}
    assert retrain["concurrency"] == {"group": "mrbot-retrain", "cancel-in-progress": False}
    [mrbot] = [step for step in retrain["jobs"]["retrain"]["steps"] if step.get("uses", "").startswith("mrbot-dev/")]
    assert mrbot["with"]["mode"] == "propose"
