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
    re.compile(r"\bAT[A-Z]{2}T3xFfG[A-Za-z0-9_=-]{20,}"),  # Atlassian API and Bitbucket access tokens
    re.compile(r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b"),  # AWS access key ids
)
# The user info of URLs (remote URLs, git remotes with a token): user:password@ or TOKEN@, up to
# the last @ before the host, since passwords may hold an @ of their own.
_URL_CREDENTIALS = re.compile(r"(?<=://)[^/?#\s\"<>]+@")


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


def safe_cut(text: str, secrets: Iterable[str], at: int) -> int:
    """Where to cut `text` at or before `at` so that no secret `mask` would hide is cut in two
    (each piece alone would no longer match): before any secret, token or URL that spans `at`."""
    spans = [(m.start(), m.end()) for secret in secrets for m in re.finditer(re.escape(secret), text)]
    spans += [m.span() for shape in _SECRET_SHAPES for m in shape.finditer(text)]
    # From the scheme's "://" on: the user info is only recognized after it.
    spans += [(m.start() - 3, m.end()) for m in _URL_CREDENTIALS.finditer(text)]
    cut = at
    while any(start < cut < end for start, end in spans):
        cut = min(start for start, end in spans if start < cut < end)
    return cut
