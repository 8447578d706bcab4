"""The HTTP client mrbot uses for the Forgejo/Gitea REST API v1 (forges/rest.py): the token, and
Forgejo's refusals ({"message": ...}) as one line with the fix."""

from __future__ import annotations

from typing import Any

import requests

from bot.ci.context import Context
from bot.errors import ForgeRefused
from bot.forges.rest import ClientOptions, Refusal, RestClient, error_json, one_line

TOKEN_FIX = (
    "the job's own token works on Forgejo (forgejo-runner exports it); on Gitea pass it: "
    "env: GITHUB_TOKEN: ${{ secrets.GITEA_TOKEN }}. Or store an access token with the scopes write:issue and "
    "write:repository as a secret MRBOT_TOKEN; see docs/forgejo.md"
)


class ForgejoClient(RestClient):
    def __init__(self, context: Context, options: ClientOptions | None = None):
        if not context.token:
            raise ForgeRefused("no Forgejo/Gitea token: " + TOKEN_FIX)
        self.context = context
        # "token X", in lower case: Forgejo takes "Token X" for no token at all.
        super().__init__(context.api_url, {"Authorization": f"token {context.token}"}, context.token, _said,
                         "Forgejo", "GITHUB_API_URL", options)

    def explain(self, refusal: Refusal, doing: str) -> str:
        """One line: what Forgejo refused, in its words, and the fix."""
        answer = f"{refusal.status} {refusal.message}".strip()
        variable = self.context.token_name or "GITHUB_TOKEN"
        if refusal.status == 401:
            return f"Forgejo rejected the token in {variable} while {doing} ({answer}): {TOKEN_FIX}"
        if refusal.status == 403:
            return (f"Forgejo refused {doing} ({answer}): the token in {variable} needs write access to "
                    f"{self.context.repository} (an access token: the scopes write:issue and write:repository)")
        if refusal.status == 404:
            return (f"Forgejo found nothing while {doing} ({answer}): check GITHUB_REPOSITORY and the pull request, "
                    f"and that the token in {variable} may read {self.context.repository}")
        if refusal.status == 429:
            return f"Forgejo's rate limit stopped {doing} ({answer}); re-run the job after a while"
        if refusal.status in (400, 409, 422):
            return f"Forgejo rejected {doing} as invalid ({answer})"
        return f"Forgejo answered {answer} while {doing}; it may be having trouble: re-run later"


def _said(response: requests.Response) -> tuple[str, Any]:
    """Forgejo's own message ({"message": ..., "url": ...}), else the reason."""
    body = error_json(response)
    if isinstance(body, dict) and body.get("message"):
        return one_line(body["message"]), None
    return response.reason or "", None
