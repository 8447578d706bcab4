"""The HTTP client mrbot uses for Bitbucket Cloud's REST API 2.0: the token, `next` pagination, and
Bitbucket's refusals as one line with the fix. A thin layer over requests (forges/rest.py): mrbot
makes a dozen kinds of call, and no well-kept client covers Code Insights."""

from __future__ import annotations

import base64
import logging
from typing import Any, Iterator

import requests

from bot.ci.bitbucket import EMAIL
from bot.ci.context import Context
from bot.errors import ForgeRefused
from bot.forges.rest import ClientOptions, Refusal, RestClient, error_json, one_line

log = logging.getLogger(__name__)

PAGELEN = 100  # the most Bitbucket gives per page
MAX_PAGES = 1000
TOKEN_FIX = (
    "create a repository access token (Repository settings > Security > Access tokens) with the scopes "
    "pullrequest:write and repository:write, and store it as a secured repository variable BITBUCKET_TOKEN "
    "(or MRBOT_TOKEN); see docs/bitbucket.md. App passwords stopped working in June 2026"
)
NO_TOKEN = "no Bitbucket token: " + TOKEN_FIX


class BitbucketClient(RestClient):
    def __init__(self, context: Context, options: ClientOptions | None = None):
        if not context.token:
            raise ForgeRefused(NO_TOKEN)
        self.context = context
        super().__init__(context.api_url, {"Authorization": _authorization(context)}, context.token, _said,
                         "Bitbucket", "MRBOT_BITBUCKET_API_URL", options)

    def pages(self, path: str, doing: str) -> Iterator[dict[str, Any]]:
        """Every value of a paginated listing, following `next` to the last page."""
        url: str | None = f"{self.api_url}{path}{'&' if '?' in path else '?'}pagelen={PAGELEN}"
        for _ in range(MAX_PAGES):
            if not url:
                return
            page = self.json("GET", url, doing)
            if not isinstance(page, dict) or not isinstance(page.get("values"), list):
                raise ValueError("a page without a list of values")
            yield from page["values"]
            url = page.get("next")
        raise ForgeRefused(f"Bitbucket gave more than {MAX_PAGES} pages while {doing}")

    def explain(self, refusal: Refusal, doing: str) -> str:
        """One line: what Bitbucket refused, in its words, and the fix."""
        context = self.context
        answer = f"{refusal.status} {refusal.message}".strip()
        variable = context.token_name or "BITBUCKET_TOKEN"
        if refusal.status == 401:
            return f"Bitbucket rejected the token in {variable} while {doing} ({answer}): it is wrong or revoked; {TOKEN_FIX}"
        if refusal.status == 403:
            required = _required_scopes(refusal.detail)
            scopes = f"the scope {required}" if required else (
                "the scopes pullrequest:write (comments) and repository:write (build status, Code Insights, images)")
            return f"Bitbucket refused {doing} ({answer}): give the token in {variable} {scopes}"
        if refusal.status == 404:
            return (
                f"Bitbucket found nothing while {doing} ({answer}): check BITBUCKET_REPO_FULL_NAME and the pull "
                f"request, and that the token in {variable} belongs to {context.repository} (a repository access "
                "token sees only its own repository)"
            )
        if refusal.status == 429:
            return f"Bitbucket's rate limit stopped {doing} ({answer}); re-run the step after a while"
        if refusal.status in (400, 409, 422):
            return f"Bitbucket rejected {doing} as invalid ({answer})"
        return (f"Bitbucket answered {answer} while {doing}; it may be having trouble "
                "(bitbucket.status.atlassian.com): re-run later")


def _authorization(context: Context) -> str:
    """Access tokens (repository, project, workspace) are Bearer; an Atlassian API token goes with
    its account's email as Basic."""
    email = context.extra.get(EMAIL)
    if email:
        return "Basic " + base64.b64encode(f"{email}:{context.token}".encode()).decode("ascii")
    return f"Bearer {context.token}"


def _said(response: requests.Response) -> tuple[str, Any]:
    """Bitbucket's own message ({"type": "error", "error": {"message": ...}}), else the reason."""
    body = error_json(response)
    error = body.get("error") if isinstance(body, dict) else None
    if isinstance(error, dict) and error.get("message"):
        return one_line(error["message"]), error.get("detail")
    return response.reason or "", None


def _required_scopes(detail: Any) -> str:
    required = detail.get("required") if isinstance(detail, dict) else None
    if isinstance(required, list) and all(isinstance(scope, str) for scope in required):
        return " or ".join(scope for scope in required[:4] if scope.replace(":", "").replace("_", "").isalnum())
    return ""
