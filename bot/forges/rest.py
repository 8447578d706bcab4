"""The requests-based HTTP client of the forges that have no well-kept Python client mrbot uses
(Bitbucket, Forgejo/Gitea): retries on 429/5xx as Retry-After says, a timeout, the token only
ever sent to the API's own server, and an error status as a Refusal in the forge's own words."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import Any, Callable, Iterator, Mapping
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from bot import __version__
from bot.errors import ForgeRefused
from bot.masking import mask


@dataclass(frozen=True)
class ClientOptions:
    retries: int = 4
    backoff_factor: float = 1.0  # waits 0, 2, 4, 8 s between tries
    max_wait: float = 60.0  # the longest Retry-After honoured; longer is cut to this
    timeout: float = 30.0


class Refusal(Exception):
    """The forge answered an error status; `message` is its own words, masked."""

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


# (message, detail) of an error answer, in the forge's own shape of error body.
Said = Callable[[requests.Response], "tuple[str, Any]"]


class RestClient:
    def __init__(self, api_url: str, headers: Mapping[str, str], token: str, said: Said, forge_name: str,
                 url_variable: str, options: ClientOptions | None = None):
        self.api_url = api_url
        self.token = token
        self.options = options or ClientOptions()
        self._said = said
        self._forge_name = forge_name
        self._url_variable = url_variable
        self._origin = origin(api_url)
        retry = _Retry(
            total=self.options.retries,
            backoff_factor=self.options.backoff_factor,
            status_forcelist=[429, 500, 502, 503, 504],
            # A retried POST after a 5xx may leave a duplicate comment; the next run deletes it.
            allowed_methods=frozenset({"GET", "POST", "PUT", "PATCH", "DELETE"}),
            respect_retry_after_header=True,
            raise_on_status=False,
            max_wait=self.options.max_wait,
        )
        self.session = requests.Session()
        adapter = HTTPAdapter(max_retries=retry)
        self.session.mount("https://", adapter)
        self.session.mount("http://", adapter)
        self.session.headers.update({"User-Agent": f"mrbot/{__version__}", "Accept": "application/json", **headers})

    def call(self, method: str, path: str, doing: str, **kwargs: Any) -> requests.Response:
        """One request to `path` (below the API URL, or an absolute URL of the same server)."""
        url = path if path.startswith(("http://", "https://")) else self.api_url + path
        if origin(url) != self._origin:
            # A page link to another host would take the token there.
            raise ForgeRefused(f"{self._forge_name}'s answer while {doing} links to another server ({origin(url)}); "
                               f"check {self._url_variable}")
        try:
            # No redirects: requests would resend the token to wherever one points on the same host.
            response = self.session.request(method, url, timeout=self.options.timeout, allow_redirects=False, **kwargs)
        except requests.RequestException as exc:
            raise ForgeRefused(
                f"could not reach {self._forge_name} at {self.api_url} while {doing} ({type(exc).__name__}); check "
                f"the job's network and {self._url_variable}"
            ) from None
        if response.status_code >= 400 or 300 <= response.status_code < 400:
            message, detail = self._said(response)
            raise Refusal(response.status_code, self.redact(message), detail)
        return response

    def json(self, method: str, path: str, doing: str, **kwargs: Any) -> Any:
        response = self.call(method, path, doing, **kwargs)
        return response.json() if response.content else None

    def redact(self, text: str) -> str:
        return mask(text, [self.token])

    def explain(self, refusal: Refusal, doing: str) -> str:
        """One line: what the forge refused, in its words, and the fix (each forge's client says it)."""
        return f"{self._forge_name} answered {refusal} while {doing}"

    def refused(self, refusal: Refusal, doing: str) -> ForgeRefused:
        return ForgeRefused(self.explain(refusal, doing))

    @contextlib.contextmanager
    def calling(self, doing: str) -> Iterator[None]:
        """The forge's refusals while `doing` something, as one ForgeRefused line."""
        try:
            yield
        except Refusal as exc:
            raise self.refused(exc, doing) from None


def error_json(response: requests.Response) -> Any:
    """An error answer's JSON body, or None where it has none (a proxy's HTML page)."""
    try:
        return response.json()
    except ValueError:
        return None


def one_line(message: Any) -> str:
    return " ".join(str(message).split())[:300]


def origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()
