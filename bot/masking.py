"""Hide secrets (tokens, cloud keys, passwords in URLs) in text that reaches a log or a report."""

from __future__ import annotations

import re
from typing import Iterable, Mapping

MASK = "***"

# Variable names whose values are secrets: CI tokens, cloud credentials, remote passwords.
_SECRET_NAME = re.compile(r"TOKEN|SECRET|PASSW|_KEY|CREDENTIAL|CONNECTION_STRING|_SAS\b", re.IGNORECASE)
# Shorter values are too likely to be ordinary words ("true", "main") to be replaced everywhere.
_MIN_SECRET_LENGTH = 8
# Secrets recognizable by shape, whatever variable (or file) they came from.
_SECRET_SHAPES = (
    re.compile(r"\bgh[pousr]_[A-Za-z0-9]{30,}\b"),  # GitHub tokens
    re.compile(r"\bgithub_pat_[A-Za-z0-9_]{30,}\b"),
    re.compile(r"\bglpat-[A-Za-z0-9_-]{20,}\b"),  # GitLab personal/project tokens
    re.compile(r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b"),  # AWS access key ids
)
# user:password@ in URLs (remote URLs, git remotes with a token).
_URL_CREDENTIALS = re.compile(r"(?<=://)[^/@\s:]+:[^/@\s]+@")


def secret_values(environ: Mapping[str, str]) -> list[str]:
    """Values of the environment variables that hold secrets, longest first."""
    values = {
        value
        for name, value in environ.items()
        if _SECRET_NAME.search(name) and len(value) >= _MIN_SECRET_LENGTH
    }
    return sorted(values, key=len, reverse=True)


def mask(text: str, secrets: Iterable[str]) -> str:
    for secret in secrets:
        text = text.replace(secret, MASK)
    for shape in _SECRET_SHAPES:
        text = shape.sub(MASK, text)
    return _URL_CREDENTIALS.sub(MASK + "@", text)
