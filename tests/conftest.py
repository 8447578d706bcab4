import os
import shutil
from pathlib import Path

import pytest

from bot.workspace.demo import build_demo_project


@pytest.fixture(autouse=True)
def isolated_environment(monkeypatch, tmp_path):
    """No test sees the CI variables or tokens of the machine it runs on."""
    for name in list(os.environ):
        if name.startswith(("GITHUB_", "GITLAB_", "BITBUCKET_", "GITEA_", "FORGEJO_", "CI_", "MRBOT_")) or name in ("CI", "GITLAB_CI"):
            monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DVC_NO_ANALYTICS", "1")
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(tmp_path / "gitconfig"))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")


@pytest.fixture(scope="session")
def demo_template(tmp_path_factory) -> Path:
    """The demo project, built once per session; tests copy it."""
    return build_demo_project(tmp_path_factory.mktemp("demo-template") / "project")


@pytest.fixture
def demo_project(demo_template, tmp_path) -> Path:
    target = tmp_path / "project"
    shutil.copytree(demo_template, target, symlinks=True)
    return target
