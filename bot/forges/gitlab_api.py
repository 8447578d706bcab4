"""The python-gitlab client mrbot uses: the token, retries and timeouts, and how GitLab's refusals
read as one line with the fix."""

from __future__ import annotations

import contextlib
from typing import Any, Iterator

import gitlab
import requests

from bot import __version__
from bot.ci.context import Context
from bot.ci.gitlab import JOB_TOKEN
from bot.errors import BadInput, ForgeRefused

# Retries on 429, 5xx and dropped connections: python-gitlab waits 0.1 s, 0.2 s, 0.4 s, ... (6.3 s in
# all for 6), or as long as Retry-After says.
MAX_RETRIES = 6
TIMEOUT_SECONDS = 60

TOKEN_FIX = (
    "create a project access token (Settings > Access tokens: role Developer, scope api) and store it "
    "as a masked, protected CI/CD variable GITLAB_TOKEN (or MRBOT_TOKEN); see docs/gitlab.md"
)
JOB_TOKEN_ONLY = (
    "only the CI job token is available, and GitLab does not let job tokens write merge request notes; "
    + TOKEN_FIX
    + " (a protected variable reaches only pipelines of protected branches)"
)
NO_TOKEN = "no GitLab token: set GITLAB_TOKEN or MRBOT_TOKEN; " + TOKEN_FIX


class Refusals:
    """Turns python-gitlab and network errors into one-line ForgeRefused messages with the fix."""

    def __init__(self, context: Context):
        self.context = context

    @contextlib.contextmanager
    def __call__(self, action: str) -> Iterator[None]:
        try:
            yield
        except gitlab.exceptions.GitlabError as exc:
            raise ForgeRefused(self.explain(action, exc)) from None
        except requests.exceptions.RequestException as exc:
            raise ForgeRefused(
                f"could not reach GitLab at {self.context.api_url} to {action} ({type(exc).__name__}); "
                "check CI_API_V4_URL and the runner's network"
            ) from None

    def explain(self, action: str, exc: gitlab.exceptions.GitlabError) -> str:
        code = exc.response_code
        variable = self.context.token_name or "GITLAB_TOKEN"
        project = self.context.repository or f"project {self.context.project_id}"
        said = self.redact(" ".join(str(exc.error_message).split()))[:300]
        if code == 401:
            return (
                f"GitLab refused to {action} (401 Unauthorized): the token in {variable} is wrong, expired "
                f"or revoked; {TOKEN_FIX}"
            )
        if code == 403:
            # GitLab says "403 Forbidden", sometimes with a reason after it ("- Your account has been blocked").
            reason = said.removeprefix("403 Forbidden").lstrip(" -:")
            return (
                f"GitLab refused to {action} (403 Forbidden{': ' + reason if reason else ''}): the token in "
                f"{variable} needs the api scope and at least the Developer role on {project}"
            )
        if code == 404:
            return (
                f"GitLab found nothing to {action} (404 Not Found): check CI_PROJECT_ID and the merge request, "
                f"and that the token in {variable} has access to {project}"
            )
        return f"GitLab refused to {action} ({code or 'no status'}: {said})"

    def redact(self, text: str) -> str:
        token = self.context.token
        return text.replace(token, "***") if token else text


class _Client(gitlab.Gitlab):
    """python-gitlab takes max_retries per request only; this sets it for every request."""

    def http_request(self, *args: Any, max_retries: int | None = None, **kwargs: Any) -> requests.Response:
        return super().http_request(*args, max_retries=MAX_RETRIES if max_retries is None else max_retries, **kwargs)


def _require_token(context: Context) -> str:
    if context.token:
        return context.token
    raise ForgeRefused(JOB_TOKEN_ONLY if context.token_name == JOB_TOKEN else NO_TOKEN)


def _server_url(api_url: str) -> str:
    """python-gitlab takes the server URL and adds /api/v4 itself."""
    if not api_url.endswith("/api/v4"):
        raise BadInput(f"CI_API_V4_URL={api_url!r} does not end with /api/v4; set it to <your GitLab URL>/api/v4")
    return api_url[: -len("/api/v4")]


def gitlab_client(context: Context) -> gitlab.Gitlab:
    """A client for the job's GitLab, its token and the variables it needs checked; no request yet."""
    token = _require_token(context)
    missing = [name for name, value in (("CI_API_V4_URL", context.api_url), ("CI_PROJECT_ID", context.project_id),
                                        ("CI_COMMIT_SHA", context.head_sha)) if not value]
    if missing:
        raise BadInput(f"{', '.join(missing)} not set: run mrbot in a GitLab CI job, or set them by hand")
    server = _server_url(context.api_url)
    return _Client(
        server,
        private_token=token,
        retry_transient_errors=True,
        timeout=TIMEOUT_SECONDS,
        keep_base_url=True,  # GitLab behind a proxy may name another host in its pagination links
        user_agent=f"mrbot/{__version__}",
    )


def open_project(context: Context) -> tuple[Any, Any, Refusals]:
    """The job's project, the token's user (whose notes are mrbot's), and the refusals' wording;
    checking the token and the project on the way."""
    client = gitlab_client(context)
    refusals = Refusals(context)
    with refusals("check the token"):
        client.auth()
        user = client.user
    with refusals(f"open the project {context.repository or context.project_id}"):
        project = client.projects.get(context.project_id)
    return project, user, refusals
