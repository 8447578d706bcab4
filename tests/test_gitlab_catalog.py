"""The GitLab mirror's own pipeline (.gitlab-ci.yml), which publishes the component to the CI/CD
Catalog on a release tag: valid against GitLab's schema, and its version check run for real."""

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

import bot
from tests.documented import schema_check

ROOT = Path(__file__).resolve().parents[1]
PIPELINE = yaml.safe_load((ROOT / ".gitlab-ci.yml").read_text(encoding="utf-8"))


def test_the_pipeline_validates_against_gitlabs_schema():
    done = schema_check("gitlab-ci", ROOT / ".gitlab-ci.yml")
    assert done.returncode == 0, done.stdout + done.stderr


def test_it_includes_the_component_at_its_own_commit():
    [include] = PIPELINE["include"]
    location, _, version = include["component"].rpartition("@")
    assert location == "$CI_SERVER_FQDN/$CI_PROJECT_PATH/mrbot" and version == "$CI_COMMIT_SHA"
    assert (ROOT / "templates" / f"{location.rsplit('/', 1)[1]}.yml").is_file()


def test_the_release_job_publishes_the_version_the_check_job_found_on_release_tags_only():
    check, publish = PIPELINE["component-version"], PIPELINE["publish-component"]
    assert check["extends"] == publish["extends"] == ".on-release-tag"
    assert publish["needs"] == ["component-version"]
    assert check["artifacts"]["reports"]["dotenv"] == "component.env"
    assert (publish["release"]["tag_name"], publish["release"]["ref"]) == ("$COMPONENT_VERSION", "$CI_COMMIT_SHA")
    [rule] = PIPELINE[".on-release-tag"]["rules"]
    tag = re.fullmatch(r"\$CI_COMMIT_TAG =~ /(.*)/", rule["if"]).group(1)
    assert re.fullmatch(tag, f"v{bot.__version__}") and not re.fullmatch(tag, "v1.2") and not re.fullmatch(tag, "1.2.3")


def checkout(tmp_path: Path) -> Path:
    """What the check job reads, copied."""
    (tmp_path / "bot").mkdir()
    shutil.copy(ROOT / "bot" / "__init__.py", tmp_path / "bot" / "__init__.py")
    shutil.copy(ROOT / "CHANGELOG.md", tmp_path / "CHANGELOG.md")
    return tmp_path


def run_check(root: Path, tag: str) -> subprocess.CompletedProcess:
    """The check job's script, as the runner runs it."""
    script = "\n".join(PIPELINE["component-version"]["script"])
    environ = {"PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin", "CI_COMMIT_TAG": tag}
    return subprocess.run(["sh", "-e", "-c", script], cwd=root, env=environ, capture_output=True, text=True)


def test_the_check_job_names_the_plain_version_for_the_catalog(tmp_path):
    done = run_check(checkout(tmp_path), f"v{bot.__version__}")
    assert done.returncode == 0, done.stdout + done.stderr
    assert (tmp_path / "component.env").read_text() == f"COMPONENT_VERSION={bot.__version__}\n"


@pytest.mark.parametrize("tag", ["v9.9.9", "v0.0.0"])
def test_the_check_job_refuses_a_tag_the_code_does_not_carry(tmp_path, tag):
    done = run_check(checkout(tmp_path), tag)
    assert done.returncode != 0 and "bot/__init__.py says" in done.stdout
    assert not (tmp_path / "component.env").exists()


def test_the_check_job_refuses_a_version_without_a_changelog_section(tmp_path):
    changelog = checkout(tmp_path) / "CHANGELOG.md"
    changelog.write_text(changelog.read_text().replace(f"## [{bot.__version__}]", "## [next]"))
    done = run_check(tmp_path, f"v{bot.__version__}")
    assert done.returncode != 0 and "CHANGELOG.md has no" in done.stdout
    assert not (tmp_path / "component.env").exists()
