"""End to end on a real git + DVC project: the example .forgejo/workflows/mrbot.yml's action step, as
action.yml hands it to mrbot, in a pull request job of forgejo-runner and of Gitea's act_runner,
talking over a socket to the fake Forgejo on 127.0.0.1 (held to Forgejo's swagger)."""

import subprocess
from pathlib import Path

import pytest
import yaml

from bot.cli import main
from bot.errors import EXIT_OK
from bot.forges.base import parse_marker
from tests.documented import schema_check, yaml_blocks
from tests.servers.forgejo import FakeForgejo, running
from tests.test_github_action import run_action

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "forgejo" / "mrbot.yml"


def git(root: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=root, capture_output=True, text=True, check=True).stdout.strip()


def example_steps() -> list[dict]:
    return yaml.safe_load(EXAMPLE.read_text(encoding="utf-8"))["jobs"]["report"]["steps"]


def run_job(fake: FakeForgejo, project: Path, tmp_path: Path, forge: str, capsys) -> tuple[int, str]:
    head, base = git(project, "rev-parse", "HEAD"), git(project, "rev-parse", "main")
    runner = fake.pipeline_environment(5, head, base, tmp_path, forge=forge)
    [step] = [step for step in example_steps() if "mrbot-dev/mrbot" in step["uses"]]
    # `${{ secrets.GITHUB_TOKEN }}` is the job token on both forges.
    assert step["with"]["token"] == "${{ secrets.GITHUB_TOKEN }}"
    args, env = run_action({"token": fake.job_token, "working-directory": str(project), "pull": "false"})
    code = main([*args[:2], "--out", str(tmp_path / "mrbot-report")], environ={**runner, **env})
    output = capsys.readouterr()
    return code, output.out + output.err


@pytest.mark.parametrize("forge", ["forgejo", "gitea"])
def test_the_example_job_posts_one_comment_with_attached_charts_and_a_rerun_edits_it(demo_project, tmp_path, capsys,
                                                                                      forge):
    head = git(demo_project, "rev-parse", "HEAD")
    with running(FakeForgejo()) as fake:
        code, output = run_job(fake, demo_project, tmp_path, forge, capsys)
        assert code == EXIT_OK, output
        [comment] = fake.comments[5]
        assert comment.user.login == f"{forge}-actions"
        assert parse_marker(comment.body) == ("default", head)
        assert "✅ Model improved" in comment.body
        assert comment.assets and all(a.data.startswith(b"\x89PNG") for a in comment.assets)
        for attachment in comment.assets:
            assert f"]({fake.url}/attachments/{attachment.uuid})" in comment.body
        [status] = fake.statuses[head]
        assert status["status"] == "success" and status["target_url"] == comment_url(fake, comment)
        assert fake.job_token not in output

        again, output = run_job(fake, demo_project, tmp_path, forge, capsys)
        assert again == EXIT_OK, output
        assert [c.id for c in fake.comments[5]] == [comment.id]
        assert len(fake.requests_to("POST", r"/issues/5/comments$")) == 1
        assert len(fake.requests_to("POST", r"/assets$")) == len(comment.assets)  # the same charts, not again


def comment_url(fake: FakeForgejo, comment) -> str:
    return f"{fake.html_url}/pulls/5#issuecomment-{comment.id}"


def test_the_example_is_a_valid_workflow_on_forgejos_own_checkout():
    done = schema_check("github-workflows", EXAMPLE)
    assert done.returncode == 0, done.stdout + done.stderr
    workflow = yaml.safe_load(EXAMPLE.read_text(encoding="utf-8"))
    assert list(workflow[True]) == ["pull_request"]  # YAML reads `on:` as True
    uses = [step["uses"] for step in example_steps()]
    # Forgejo resolves short names against data.forgejo.org: every action is named by its full URL.
    assert uses == ["https://data.forgejo.org/actions/checkout@v4", "https://github.com/mrbot-dev/mrbot@v0",
                    "https://data.forgejo.org/forgejo/upload-artifact@v4"]
    assert example_steps()[2]["with"]["path"] == "${{ steps.mrbot.outputs.report-dir }}"


def test_the_readme_and_docs_forgejo_workflows_are_valid_and_use_the_examples_actions(tmp_path):
    blocks = yaml_blocks("README.md", "docs/forgejo.md", containing="data.forgejo.org")
    assert len(blocks) == 2
    example_uses = {step["uses"] for step in example_steps()}
    for index, block in enumerate(blocks):
        path = tmp_path / f"forgejo-{index}.yml"
        path.write_text(block, encoding="utf-8")
        done = schema_check("github-workflows", path)
        assert done.returncode == 0, done.stdout + done.stderr
        steps = yaml.safe_load(block)["jobs"]["report"]["steps"]
        assert {step["uses"] for step in steps} <= example_uses


def test_the_retrain_workflow_in_the_docs_is_valid_and_runs_propose(tmp_path):
    [block] = yaml_blocks("docs/retrain.md", containing="data.forgejo.org")
    path = tmp_path / "mrbot-retrain.yml"
    path.write_text(block, encoding="utf-8")
    done = schema_check("github-workflows", path)
    assert done.returncode == 0, done.stdout + done.stderr
    workflow = yaml.safe_load(block)
    assert set(workflow[True]) == {"schedule", "workflow_dispatch"}
    steps = workflow["jobs"]["retrain"]["steps"]
    assert {step["uses"] for step in steps} <= {step["uses"] for step in example_steps()}
    assert steps[-1]["with"]["mode"] == "propose"
