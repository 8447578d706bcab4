"""Reading .gitlab-ci-template.yml the way GitLab does: the `spec:` header document, `$[[ inputs.x ]]`
interpolation of the body, and `extends:` merging the hidden job into the ready one."""

from __future__ import annotations

import copy
import re
from pathlib import Path
from typing import Any

import yaml

TEMPLATE = Path(__file__).resolve().parents[1] / ".gitlab-ci-template.yml"
INPUT = re.compile(r"\$\[\[\s*inputs\.([A-Za-z0-9_-]+)\s*\]\]")


def load_template(path: Path = TEMPLATE) -> tuple[dict[str, Any], dict[str, Any]]:
    """(header, body): GitLab requires the spec in its own YAML document, before `---`."""
    header, body = yaml.safe_load_all(path.read_text(encoding="utf-8"))
    return header, body


def input_values(header: dict[str, Any], given: dict[str, Any] | None = None) -> dict[str, Any]:
    values = {name: spec.get("default") for name, spec in header["spec"]["inputs"].items()}
    unknown = set(given or {}) - set(values)
    if unknown:
        raise KeyError(f"unknown inputs {sorted(unknown)}")
    return {**values, **(given or {})}


def interpolate(node: Any, values: dict[str, Any]) -> Any:
    """A value that is one whole `$[[ inputs.x ]]` keeps the input's type; inside text it is text."""
    if isinstance(node, dict):
        return {key: interpolate(value, values) for key, value in node.items()}
    if isinstance(node, list):
        return [interpolate(item, values) for item in node]
    if isinstance(node, str):
        whole = INPUT.fullmatch(node.strip())
        if whole:
            return values[whole.group(1)]
        return INPUT.sub(lambda match: _as_text(values[match.group(1)]), node)
    return node


def _as_text(value: Any) -> str:
    return str(value).lower() if isinstance(value, bool) else str(value)


def deep_merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    """GitLab's `extends:` merges hashes deeply; other values of the extending job win."""
    merged = copy.deepcopy(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def resolve(given: dict[str, Any] | None = None, user_jobs: dict[str, Any] | None = None) -> dict[str, Any]:
    """The pipeline GitLab builds from the template with these inputs (and the jobs a user's
    .gitlab-ci.yml adds): the jobs that run, extends applied (a chain of them, too)."""
    header, body = load_template()
    config = {**interpolate(body, input_values(header, given)), **(user_jobs or {})}

    def extended(job: dict[str, Any]) -> dict[str, Any]:
        parent = job.get("extends")
        own = {key: value for key, value in job.items() if key != "extends"}
        return deep_merge(extended(config[parent]), own) if parent else own

    return {name: extended(job) for name, job in config.items() if not name.startswith(".")}


def job_environment(job: dict[str, Any]) -> dict[str, str]:
    """The job's variables as the runner exports them: strings, booleans spelled true/false."""
    return {name: _as_text(value) for name, value in job.get("variables", {}).items()}


def job_script(job: dict[str, Any]) -> str:
    return "\n".join(job["script"])
