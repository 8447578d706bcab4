"""The HTTP client mrbot uses for Bitbucket Cloud's REST API 2.0: the token, retries on 429/5xx as
Retry-After says, `next` pagination, and Bitbucket's refusals as one line with the fix. A thin
layer over requests: mrbot makes a dozen kinds of call, and no well-kept client covers Code Insights."""

from __future__ import annotations

import base64
import logging
from dataclasses import dataclass
from typing import Any, Iterator
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from bot import __version__
from bot.ci.bitbucket import EMAIL
from bot.ci.context import Context
from bot.errors import ForgeRefused
from bot.masking import mask

log = logging.getLogger(__name__)

PAGELEN = 100  # the most Bitbucket gives per page
MAX_PAGES = 1000
TOKEN_FIX = (
    "create a repository access token (Repository settings > Security > Access tokens) with the scopes "
    "pullrequest:write and repository:write, and store it as a secured repository variable BITBUCKET_TOKEN "
    "(or MRBOT_TOKEN); see docs/bitbucket.md. App passwords stopped working in June 2026"
)
NO_TOKEN = "no Bitbucket token: " + TOKEN_FIX


@dataclass(frozen=True)
class ClientOptions:
    retries: int = 4
    backoff_factor: float = 1.0  # waits 0, 2, 4, 8 s between tries
    max_wait: float = 60.0  # the longest Retry-After honoured; longer is cut to this
    timeout: float = 30.0


class Refusal(Exception):
    """Bitbucket answered an error status; `message` is its own words, masked."""

    def __init__(self, status: int, message: str, detail: Any = None):
        super().__init__(f"{status} {message}")
        self.status = status
        self.message = message
        self.detail = detail


class _Retry(Retry):
    def __init__(self, *args: Any, max_wait: float = 60.0, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.max_wait = max_wait

    def new(self, **kwargs: Any) -> "_Retry":
        retry = super().new(**kwargs)
        retry.max_wait = self.max_wait
        return retry

    def get_retry_after(self, response: Any) -> float | None:
        wait = super().get_retry_after(response)
        return None if wait is None else min(wait, self.max_wait)


class BitbucketClient:
    def __init__(self, context: Context, options: ClientOptions | None = None):
        if not context.token:
            raise ForgeRefused(NO_TOKEN)
        self.context = context
        self.options = options or ClientOptions()
        self.api_url = context.api_url
        self._origin = _origin(context.api_url)
        retry = _Retry(
            total=self.options.retries,
            backoff_factor=self.options.backoff_factor,
            status_forcelist=[429, 500, 502, 503, 504],
            # A retried POST after a 5xx may leave a duplicate comment; the next run deletes it.
            allowed_methods=frozenset({"GET", "POST", "PUT", "DELETE"}),
            respect_retry_after_header=True,
            raise_on_status=False,
            max_wait=self.options.max_wait,
        )
        self.session = requests.Session()
        adapter = HTTPAdapter(max_retries=retry)
        self.session.mount("https://", adapter)
        self.session.mount("http://", adapter)
        self.session.headers.update({
            "Authorization": _authorization(context),
            "User-Agent": f"mrbot/{__version__}",
            "Accept": "application/json",
        })

    def call(self, method: str, path: str, doing: str, **kwargs: Any) -> requests.Response:
        """One request to `path` (below the API URL, or an absolute URL of the same server)."""
        url = path if path.startswith(("http://", "https://")) else self.api_url + path
        if _origin(url) != self._origin:
            # A page link to another host would take the token there.
            raise ForgeRefused(f"Bitbucket's answer while {doing} links to another server ({_origin(url)}); "
                               "check MRBOT_BITBUCKET_API_URL")
        try:
            response = self.session.request(method, url, timeout=self.options.timeout, **kwargs)
        except requests.RequestException as exc:
            raise ForgeRefused(
                f"could not reach Bitbucket at {self.api_url} while {doing} ({type(exc).__name__}); check the "
                "step's network and MRBOT_BITBUCKET_API_URL"
            ) from None
        if response.status_code >= 400:
            message, detail = _said(response)
            raise Refusal(response.status_code, self.redact(message), detail)
        return response

    def json(self, method: str, path: str, doing: str, **kwargs: Any) -> Any:
        response = self.call(method, path, doing, **kwargs)
        return response.json() if response.content else None

    def pages(self, path: str, doing: str) -> Iterator[dict[str, Any]]:
        """Every value of a paginated listing, following `next` to the last page."""
        url: str | None = f"{self.api_url}{path}?pagelen={PAGELEN}"
        for _ in range(MAX_PAGES):
            if not url:
                return
            page = self.json("GET", url, doing)
            if not isinstance(page, dict) or not isinstance(page.get("values"), list):
                raise ValueError("a page without a list of values")
            yield from page["values"]
            url = page.get("next")
        raise ForgeRefused(f"Bitbucket gave more than {MAX_PAGES} pages while {doing}")

    def redact(self, text: str) -> str:
        return mask(text, [self.context.token])

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

    def refused(self, refusal: Refusal, doing: str) -> ForgeRefused:
        return ForgeRefused(self.explain(refusal, doing))


def _authorization(context: Context) -> str:
    """Access tokens (repository, project, workspace) are Bearer; an Atlassian API token goes with
    its account's email as Basic."""
    email = context.extra.get(EMAIL)
    if email:
        return "Basic " + base64.b64encode(f"{email}:{context.token}".encode()).decode("ascii")
    return f"Bearer {context.token}"


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()


def _said(response: requests.Response) -> tuple[str, Any]:
    """Bitbucket's own message ({"type": "error", "error": {"message": ...}}), else the reason."""
    try:
        body = response.json()
    except ValueError:
        body = None
    error = body.get("error") if isinstance(body, dict) else None
    if isinstance(error, dict) and error.get("message"):
        return " ".join(str(error["message"]).split())[:300], error.get("detail")
    return response.reason or "", None


def _required_scopes(detail: Any) -> str:
    required = detail.get("required") if isinstance(detail, dict) else None
    if isinstance(required, list) and all(isinstance(scope, str) for scope in required):
        return " or ".join(scope for scope in required[:4] if scope.replace(":", "").replace("_", "").isalnum())
    return ""
