"""The PyGithub client mrbot uses: pacing and retries as GitHub advises, and how GitHub's refusals
read as one line with the fix."""

from __future__ import annotations

import contextlib
import logging
import math
import re
import time
from dataclasses import dataclass
from typing import Any, Iterator, Mapping

import requests
from github import Auth, Github, GithubException, GithubRetry, RateLimitExceededExceedsMaxWait

from bot import __version__
from bot.ci.context import Context
from bot.ci.github import FORK, SECONDS_BETWEEN_REQUESTS, SECONDS_BETWEEN_WRITES
from bot.errors import BadInput, ForgeRefused, brief

DOCS_FORKS = "https://github.com/mrbot-dev/mrbot/blob/v0/docs/github.md#forks"
MAX_SECONDS_BETWEEN = 60  # MRBOT_SECONDS_BETWEEN_*: a minute per request is pacing enough


@dataclass(frozen=True)
class ClientOptions:
    """How the client paces and retries. The pacing defaults are PyGithub's, which follow GitHub's
    advice for integrations (writes one at a time, a second apart); tests set them to 0."""

    seconds_between_requests: float = 0.25
    seconds_between_writes: float = 1.0
    retries: int = 3
    backoff_factor: float = 1.0  # waits 0, 2, 4 s between tries on 5xx
    max_wait: float = 60.0  # the longest single wait (Retry-After, rate-limit reset, secondary limit)
    secondary_rate_wait: float = 60.0
    timeout: int = 30


def client_options(extra: Mapping[str, str]) -> ClientOptions:
    """Pacing from MRBOT_SECONDS_BETWEEN_REQUESTS / _WRITES (read into Context.extra)."""
    values = {}
    for key in (SECONDS_BETWEEN_REQUESTS, SECONDS_BETWEEN_WRITES):
        if key in extra:
            try:
                seconds = float(extra[key])
            except ValueError:
                seconds = math.nan  # refused just below
            # float() also takes "inf" and "nan", on which the client's timestamps overflow.
            if not 0 <= seconds <= MAX_SECONDS_BETWEEN:
                raise BadInput(
                    f"MRBOT_{key.upper()}={brief(extra[key])} is not a number of seconds from 0 to {MAX_SECONDS_BETWEEN}"
                )
            values[key] = seconds
    return ClientOptions(**values)


class _Retry(GithubRetry):
    """GithubRetry waits for x-ratelimit-reset on a 403 rate-limit answer; GitHub may send the same
    answer as a 429 without Retry-After, which urllib3 alone would retry at once."""

    def get_retry_after(self, response: Any) -> float | None:
        retry_after = super().get_retry_after(response)
        reset = response.headers.get("x-ratelimit-reset", "")
        exhausted = response.headers.get("x-ratelimit-remaining") == "0"
        if retry_after is None and exhausted and re.fullmatch(r"[0-9]{1,12}", reset):  # not isdigit: "²"
            retry_after = max(0.0, int(reset) - time.time()) + 1
            if retry_after > self.retry_after_max:
                until = time.strftime("%H:%M UTC", time.gmtime(int(reset)))
                data = {"message": f"API rate limit exceeded until {until}"}
                raise RateLimitExceededExceedsMaxWait(response.status, data, dict(response.headers), wait=retry_after)
        return retry_after


def github_client(api_url: str, token: str, options: ClientOptions) -> Github:
    # PyGithub prints to stderr through a handler of its own; send its records through mrbot's
    # handler instead, which redacts tokens, and only when they matter.
    pygithub_log = logging.getLogger("github")
    pygithub_log.handlers.clear()
    pygithub_log.setLevel(logging.WARNING)
    retry = _Retry(
        total=options.retries,
        backoff_factor=options.backoff_factor,
        backoff_max=options.max_wait,
        retry_after_max=int(options.max_wait),
        secondary_rate_wait=options.secondary_rate_wait,
        max_rate_limit_wait=options.max_wait,
        status_forcelist=[429, *range(500, 600)],
        # A retried POST after a 5xx may leave a duplicate comment; the next run deletes it.
        allowed_methods=frozenset({"GET", "POST", "PATCH", "PUT", "DELETE"}),
        # Return the last error response so the message can say what GitHub answered.
        raise_on_status=False,
    )
    return Github(
        auth=Auth.Token(token),
        base_url=api_url,
        timeout=options.timeout,
        user_agent=f"mrbot/{__version__}",
        per_page=100,
        retry=retry,
        seconds_between_requests=options.seconds_between_requests,
        seconds_between_writes=options.seconds_between_writes,
        lazy=True,
    )


def refusal_message(status: int, detail: str, doing: str, context: Context) -> str:
    """One line saying what GitHub refused and how to fix it."""
    answer = f"{status} {detail}".strip()
    if status == 429 or "rate limit" in detail.lower():
        return f"GitHub's rate limit stopped {doing} ({answer}); re-run the job after the limit resets"
    if status == 401:
        return (
            f"GitHub rejected the token in {context.token_name} while {doing} ({answer}): it is invalid or "
            "expired; pass a valid token (the action's `token` input defaults to github.token)"
        )
    if status == 403:
        if context.extra.get(FORK):
            fix = (
                "this pull request comes from a fork, and GitHub gives fork PRs a read-only token; use the "
                f"two-stage mode ({DOCS_FORKS}); the report is in the job summary"
            )
        else:
            fix = (
                "give the job `permissions:` `pull-requests: write` (comments), `statuses: write` (status) "
                "and `contents: write` (images, commit comments); if the PR comes from a fork, use the "
                f"two-stage mode ({DOCS_FORKS})"
            )
        return f"GitHub refused {doing} ({answer}): {fix}"
    if status == 404:
        return (
            f"GitHub answered {answer} while {doing}: repository {context.repository} or its pull request "
            "or commit was not found, or the token cannot see it (check GITHUB_REPOSITORY and the token's "
            "repository access)"
        )
    if status == 422:
        return f"GitHub rejected {doing} as invalid ({answer})"
    return f"GitHub answered {answer} while {doing}; it may be having trouble (githubstatus.com): re-run later"


def github_message(exc: GithubException) -> str:
    data = exc.data
    message = data.get("message") if isinstance(data, dict) else exc.message
    return " ".join(str(message or "").split())[:200]


@contextlib.contextmanager
def github_calls(context: Context, doing: str) -> Iterator[None]:
    """GitHub's refusals and network failures while `doing` something, as one ForgeRefused line."""
    try:
        yield
    except GithubException as exc:
        raise refused(exc, doing, context) from None
    except requests.RequestException as exc:
        raise unreachable(exc, doing, context) from None


def refused(exc: GithubException, doing: str, context: Context) -> ForgeRefused:
    return ForgeRefused(refusal_message(exc.status, github_message(exc), doing, context))


def unreachable(exc: requests.RequestException, doing: str, context: Context) -> ForgeRefused:
    return ForgeRefused(f"could not reach GitHub at {context.api_url} while {doing}: {type(exc).__name__}")
