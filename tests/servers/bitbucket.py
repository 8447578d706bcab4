"""A fake Bitbucket Cloud REST API 2.0 on 127.0.0.1 (under /2.0; raw files at the root, as on the web
side) answering mrbot's calls as api.bitbucket.org documents them; state is plain data the tests set
up and inspect, `fail()` injects errors. Every /2.0 request must match a route of bitbucket.js's table
(generated from Bitbucket's swagger; scripts/test-setup.d/bitbucket-routes.sh installs it): one that
does not is recorded in `violations`, answered 404, and fails the test when the fake stops."""

from __future__ import annotations

import base64
import functools
import hashlib
import html
import itertools
import logging
import mimetypes
import re
import threading
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Callable
from urllib.parse import urlencode, urlsplit

from werkzeug.exceptions import HTTPException, NotFound, abort
from werkzeug.http import HTTP_STATUS_CODES
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from tests.servers.base import LocalServer, json_response
from tests.servers.gitlab import Fault

REPO_ROOT = Path(__file__).resolve().parents[2]
ROUTES_FILE = REPO_ROOT / ".cache/bitbucket-routes/node_modules/bitbucket/lib/index.js"
COMMENT_LIMIT = 32_768
SHORT_HASH = 12  # Bitbucket's length of the hashes in pull requests' source and destination
MAX_PAGELEN = 100
DEFAULT_SCOPES = ("repository", "repository:write", "pullrequest", "pullrequest:write")
# What each OAuth scope implies, as Bitbucket's scope reference documents it.
IMPLIED_SCOPES = {"repository:write": {"repository"}, "pullrequest": {"repository"},
                  "pullrequest:write": {"pullrequest", "repository", "repository:write"}}
STATUS_STATES = ("SUCCESSFUL", "FAILED", "INPROGRESS", "STOPPED")
REPORT_TYPES = ("SECURITY", "COVERAGE", "TEST", "BUG")
REPORT_RESULTS = ("PASSED", "FAILED", "PENDING")
REPORT_FIELDS = "title details report_type reporter link remote_link_enabled logo_url result data".split()
SRC_FIELDS = ("branch", "message", "parents", "author", "files")  # any other form field is a file
_EPOCH = datetime(2026, 1, 1, tzinfo=timezone.utc)


class Routes:
    """The (method, url template) pairs of bitbucket.js's route table, relative to /2.0."""

    # Each entry reads {...method:"PUT",params:{...},url:"/repositories/..."}: keys sorted, url last.
    ENTRY = re.compile(r'method:"([A-Z]+)"(?:(?!method:").)*?url:"([^"]+)"', re.S)

    def __init__(self, text: str):
        self.routes = [(method, template, _template_pattern(template))
                       for method, template in sorted(set(self.ENTRY.findall(text)))]
        if len(self.routes) < 100:
            raise RuntimeError(f"only {len(self.routes)} routes read from {ROUTES_FILE}: has its format changed?")

    @classmethod
    @functools.cache
    def load(cls) -> "Routes":
        if not ROUTES_FILE.is_file():
            raise RuntimeError(f"{ROUTES_FILE} is missing: run `bash scripts/test-setup.d/bitbucket-routes.sh`")
        return cls(ROUTES_FILE.read_text(encoding="utf-8"))

    def match(self, method: str, path: str) -> str | None:
        """The url template `path` (under /2.0, still percent-encoded) matches, or None."""
        return next((template for verb, template, pattern in self.routes
                     if verb == method and pattern.fullmatch(path)), None)


def _template_pattern(template: str) -> re.Pattern[str]:
    # {path} (src, raw) spans segments; every other parameter is one segment.
    return re.compile("".join((".+" if part == "{path}" else "[^/]+") if part.startswith("{") else re.escape(part)
                              for part in re.split(r"(\{[^}]+\})", template)))


@dataclass
class User:
    uuid: str  # braced, as Bitbucket writes it: "{5f1c...}"
    display_name: str
    nickname: str
    account_id: str
    type: str = "user"


@dataclass
class Token:
    user: User
    scopes: frozenset[str]
    # Set: an Atlassian API token, also accepted as Basic email:token. None: an access token,
    # which Bitbucket refuses GET /user (seen live: 403 "not accessible by this authentication mechanism").
    email: str | None = None


@dataclass
class Comment:
    id: int
    raw: str
    user: User
    created_on: str
    updated_on: str
    deleted: bool = False


@dataclass
class PullRequest:
    id: int
    head_sha: str  # full; answered as its first 12 characters, as Bitbucket does
    destination_sha: str
    source_branch: str = "feature"
    destination_branch: str = "main"
    state: str = "OPEN"  # or "MERGED", "DECLINED"
    title: str = "Raise the learning rate"
    author: User | None = None
    comments: list[Comment] = field(default_factory=list)
    description: str = ""


@dataclass
class FakeBitbucket:
    workspace: str = "team"
    repo_slug: str = "model"
    repo_uuid: str = "{7d3c9a52-41b6-4c0e-9b1f-2a6d5e8f0c11}"
    tokens: dict[str, Token] = field(default_factory=dict)
    user_endpoint_forbidden: set[str] = field(default_factory=set)  # API tokens without read:user
    pull_requests: dict[int, PullRequest] = field(default_factory=dict)
    commit_threads: dict[str, list[Comment]] = field(default_factory=dict)  # full sha -> its comments
    commits: set[str] = field(default_factory=set)  # full shas /commit/{sha} knows (PRs', threads' too)
    statuses: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)  # (full sha, key)
    reports: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)  # (full sha, report id)
    main_tip: str = hashlib.sha1(b"main").hexdigest()
    branches: dict[str, str] = field(default_factory=dict)  # name -> tip; "main" starts at main_tip
    trees: dict[str, dict[str, bytes]] = field(default_factory=dict)  # commit sha -> {path: content}
    commit_info: dict[str, dict[str, Any]] = field(default_factory=dict)  # /src commits: message, author...
    comment_limit: int = COMMENT_LIMIT
    faults: list[Fault] = field(default_factory=list)
    violations: list[str] = field(default_factory=list)  # requests outside Bitbucket's routes
    # Set: the tip of a branch pushed over git (mrbot propose's), for the pull requests opened from it.
    branch_sha: Callable[[str], str | None] | None = None

    def __post_init__(self) -> None:
        self.routes = Routes.load()
        self.branches.setdefault("main", self.main_tip)
        self.commits.add(self.main_tip)
        self._ids = itertools.count(500_000_001)  # Bitbucket's comment ids are that large
        self._clock = itertools.count(1)
        self._lock = threading.RLock()  # the handlers call the public helpers
        self.server = LocalServer(self._handle)
        logging.getLogger("werkzeug").setLevel(logging.WARNING)  # no request lines in captured output
        repo = "/2.0/repositories/<ws>/<slug>"
        pull, commit = f"{repo}/pullrequests/<int:pr_id>", f"{repo}/commit/<sha>"
        self._urls = Map([
            Rule("/2.0/user", endpoint="user", methods=["GET"]),
            Rule(repo, endpoint="repository", methods=["GET"]),
            Rule(f"{repo}/pullrequests", endpoint="pull_requests", methods=["GET", "POST"]),
            Rule(pull, endpoint="pull_request", methods=["GET", "PUT"]),
            Rule(commit, endpoint="commit", methods=["GET"]),
            *(Rule(f"{thread}/comments", endpoint="comments", methods=["GET", "POST"]) for thread in (pull, commit)),
            *(Rule(f"{thread}/comments/<int:comment_id>", endpoint="comment", methods=["GET", "PUT", "DELETE"])
              for thread in (pull, commit)),
            Rule(f"{commit}/statuses/build", endpoint="statuses", methods=["POST"]),
            Rule(f"{commit}/statuses/build/<path:key>", endpoint="status", methods=["GET"]),
            Rule(f"{commit}/reports", endpoint="reports", methods=["GET"]),
            Rule(f"{commit}/reports/<report_id>", endpoint="report", methods=["GET", "PUT"]),
            Rule(f"{repo}/src", endpoint="src", methods=["POST"]),
            Rule(f"{repo}/refs/branches/<path:name>", endpoint="branch", methods=["GET"]),
            Rule(f"{repo}/merge-base/<revspec>", endpoint="merge_base", methods=["GET"]),
            # The web side. On bitbucket.org the browser's session authorizes raw files of a private
            # repository (that is how a report's images show); the fake asks for nothing.
            Rule("/<ws>/<slug>/raw/<rev>/<path:path>", endpoint="raw", methods=["GET"]),
        ])

    def add_token(self, token: str, user: User, scopes: tuple[str, ...] = DEFAULT_SCOPES,
                  email: str | None = None) -> User:
        """A token of `user` with these OAuth scopes; with `email`, also accepted as Basic email:token."""
        self.tokens[token] = Token(user, frozenset(scopes), email)
        return user

    def add_pull_request(self, id: int, head_sha_full: str, source_branch: str = "feature",
                         destination_branch: str = "main", destination_sha: str = "",
                         state: str = "OPEN") -> PullRequest:
        """Pull request #id; destination_sha "": the destination branch's tip (or main_tip)."""
        with self._lock:
            destination_sha = destination_sha or self.branches.get(destination_branch, self.main_tip)
            pull = PullRequest(id, head_sha_full, destination_sha, source_branch, destination_branch, state)
            self.pull_requests[id] = pull
            self.commits.update((pull.head_sha, pull.destination_sha))
            return pull

    def add_comment(self, thread: int | str, author: User, raw: str, deleted: bool = False) -> Comment:
        """Someone's comment on pull request `thread` (an int) or commit `thread` (a full sha)."""
        with self._lock:
            comment = self._new_comment(self._thread(thread), author, raw)
            comment.deleted = deleted
            return comment

    def pull_comments(self, id: int) -> list[Comment]:
        return self.pull_requests[id].comments

    def commit_comments(self, sha: str) -> list[Comment]:
        return self.commit_threads.get(sha, [])

    def fail(self, method: str, path_pattern: str, status: int, body: str | dict[str, Any] | None = None,
             times: int | None = 1, headers: dict[str, str] | None = None) -> None:
        """Answer matching requests with `status` (`times` times, or always); a str body goes as text/html."""
        message = body if body is not None else _error_body(
            "Rate limit for this resource has been exceeded" if status == 429 else HTTP_STATUS_CODES.get(status, ""))
        self.faults.append(Fault(method, re.compile(path_pattern), status, message, headers or {}, times))

    def pipeline_variables(self, pr_id: int | None, head_sha: str, destination_sha: str | None = None,
                           **overrides: str | None) -> dict[str, str]:
        """What Bitbucket Pipelines sets in a step of a pull request pipeline for `pr_id` (None: a branch
        pipeline), pointed at this server; an override of None leaves a variable out."""
        pull, in_pr = self.pull_requests.get(pr_id or 0), pr_id is not None
        destination_sha = destination_sha or (pull.destination_sha if pull else self.main_tip)
        branch = pull.source_branch if pull else "feature" if in_pr else next(
            (name for name, tip in self.branches.items() if tip == head_sha), "main")
        variables: dict[str, str | None] = {
            "CI": "true", "BITBUCKET_BUILD_NUMBER": "17", "BITBUCKET_COMMIT": head_sha, "BITBUCKET_BRANCH": branch,
            "BITBUCKET_PR_ID": str(pr_id) if in_pr else None,
            "BITBUCKET_PR_DESTINATION_BRANCH": (pull.destination_branch if pull else "main") if in_pr else None,
            "BITBUCKET_PR_DESTINATION_COMMIT": destination_sha[:SHORT_HASH] if in_pr else None,
            "BITBUCKET_WORKSPACE": self.workspace, "BITBUCKET_REPO_SLUG": self.repo_slug,
            "BITBUCKET_REPO_FULL_NAME": self.full_name, "BITBUCKET_REPO_UUID": self.repo_uuid,
            "BITBUCKET_REPO_IS_PRIVATE": "true", "BITBUCKET_PIPELINE_UUID": "{c5a1e0f2-8d3b-4a67-9e21-0b4f6d7a8c90}",
            "BITBUCKET_STEP_UUID": "{e9b2c4d6-1f3a-4b58-8c7d-6a5e4f3b2a10}",
            "BITBUCKET_GIT_HTTP_ORIGIN": f"{self.url}/{self.full_name}",
            "BITBUCKET_CLONE_DIR": "/opt/atlassian/pipelines/agent/build",
            "MRBOT_BITBUCKET_API_URL": self.api_url, "MRBOT_BITBUCKET_URL": self.url,
            **overrides,
        }
        return {name: value for name, value in variables.items() if value is not None}

    def requests_to(self, method: str, path_pattern: str) -> list[Any]:
        return [r for r in self.server.requests if r.method == method and re.search(path_pattern, r.path)]

    def served_routes(self) -> list[tuple[str, str]]:  # (method, werkzeug rule) of each API route
        return sorted((method, rule.rule) for rule in self._urls.iter_rules() if rule.rule.startswith("/2.0")
                      for method in rule.methods or () if method not in ("HEAD", "OPTIONS"))

    def check_routes(self) -> None:
        if self.violations:
            raise AssertionError("requests outside Bitbucket's API:\n" + "\n".join(self.violations))

    @property
    def full_name(self) -> str:
        return f"{self.workspace}/{self.repo_slug}"

    @property
    def url(self) -> str:
        return self.server.url

    @property
    def api_url(self) -> str:
        return f"{self.server.url}/2.0"

    def __enter__(self) -> "FakeBitbucket":
        self.server.__enter__()
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.server.__exit__(*exc_info)
        if exc_info[0] is None:  # a failing test keeps its own error
            self.check_routes()

    def _handle(self, request: Request) -> Response:
        with self._lock:  # one request at a time: checks and writes stay together
            raw_path = request.environ.get("RAW_URI", request.path).split("?", 1)[0]
            if raw_path.startswith("/2.0/") and self.routes.match(request.method, raw_path[4:]) is None:
                self.violations.append(f"{request.method} {raw_path} is in no route of Bitbucket's API")
                return _error(404, f"{request.method} {raw_path} is not an API route")
            fault = next((fault for fault in self.faults if fault.method == request.method
                          and fault.path.search(request.path) and fault.times != 0), None)
            if fault:
                fault.times = None if fault.times is None else fault.times - 1
                if isinstance(fault.body, str):
                    return Response(fault.body, status=fault.status, headers=fault.headers, content_type="text/html")
                return json_response(fault.body, fault.status, fault.headers)
            try:
                endpoint, args = self._urls.bind_to_environ(request.environ).match()
            except HTTPException as exc:  # 404, or 405 for a method the fake does not serve
                return _error(exc.code or 404, "Resource not found" if isinstance(exc, NotFound) else exc.name)
            repository = (args.pop("ws", None), args.pop("slug", None))
            elsewhere = repository not in ((self.workspace, self.repo_slug), (None, None))
            if endpoint == "raw":
                return Response("Not found", status=404, content_type="text/plain") if elsewhere else self._raw(**args)
            if (name := self._token_name(request)) is None:
                return _error(401, "Token is invalid, expired, or not supported for this endpoint.")
            if elsewhere:
                return _error(404, f"Repository {'/'.join(repository)} not found")
            try:
                self._need_scope(name, endpoint, request.method, "pr_id" in args or endpoint == "pull_requests")
                if "sha" in args:
                    args["sha"] = self._resolve(args["sha"])
                return getattr(self, f"_{endpoint}")(request, self.tokens[name], **args)
            except HTTPException as refused:  # abort(answer) from below
                return refused.get_response()

    def _token_name(self, request: Request) -> str | None:
        """The known token the request carries (Bearer, or Basic with the token's email), or None."""
        kind, _, value = request.headers.get("Authorization", "").partition(" ")
        if kind.lower() == "bearer":
            return value.strip() if value.strip() in self.tokens else None
        try:
            email, _, secret = base64.b64decode(value.strip(), validate=True).decode().partition(":")
        except (ValueError, UnicodeDecodeError):
            return None
        token = self.tokens.get(secret)
        return secret if kind.lower() == "basic" and token and token.email and token.email == email else None

    def _need_scope(self, name: str, endpoint: str, method: str, of_pull: bool) -> None:
        """Pull requests and their comments need pullrequest(:write); the rest repository(:write)."""
        token = self.tokens[name]
        needed: str | None = ("pullrequest" if of_pull else "repository") + ("" if method == "GET" else ":write")
        granted = set(token.scopes).union(*(IMPLIED_SCOPES.get(scope, set()) for scope in token.scopes))
        if endpoint == "user":
            if token.email is None:  # a repository, project or workspace access token is no user
                abort(_error(403, "This API is not accessible by this authentication mechanism"))
            # An API token, unless it is one without read:user (the account scope).
            needed, granted = ("account", set()) if name in self.user_endpoint_forbidden else (None, granted)
        if needed is not None and needed not in granted:
            abort(_error(403, "Your credentials lack one or more required privilege scopes.",
                                {"required": [needed], "granted": sorted(token.scopes)}))

    @property
    def _repo_api(self) -> str:
        return f"{self.api_url}/repositories/{self.full_name}"

    def _now(self) -> str:
        return (_EPOCH + timedelta(seconds=next(self._clock))).isoformat(timespec="microseconds")

    def _user_json(self, user: User) -> dict[str, Any]:
        return {"type": user.type, "uuid": user.uuid, "display_name": user.display_name, "nickname": user.nickname,
                "account_id": user.account_id, "links": {"self": {"href": f"{self.api_url}/users/{user.uuid}"},
                                                         "html": {"href": f"{self.url}/{user.uuid}/"}}}

    def _repo_json(self) -> dict[str, Any]:
        return {"type": "repository", "full_name": self.full_name, "name": self.repo_slug, "uuid": self.repo_uuid,
                "links": {"self": {"href": self._repo_api}, "html": {"href": f"{self.url}/{self.full_name}"}}}

    def _pull_json(self, pull: PullRequest) -> dict[str, Any]:
        def end(branch: str, sha: str) -> dict[str, Any]:
            return {"branch": {"name": branch}, "repository": self._repo_json(),
                    "commit": {"type": "commit", "hash": sha[:SHORT_HASH]}}

        return {"type": "pullrequest", "id": pull.id, "title": pull.title, "description": pull.description,
                "state": pull.state,
                "author": self._user_json(pull.author) if pull.author else None, "merge_commit": None,
                "source": end(pull.source_branch, pull.head_sha),
                "destination": end(pull.destination_branch, pull.destination_sha),
                "comment_count": sum(not comment.deleted for comment in pull.comments),
                "created_on": _EPOCH.isoformat(), "updated_on": _EPOCH.isoformat(),
                "links": {"self": {"href": f"{self._repo_api}/pullrequests/{pull.id}"},
                          "html": {"href": f"{self.url}/{self.full_name}/pull-requests/{pull.id}"}}}

    def _comment_json(self, comment: Comment, thread: int | str) -> dict[str, Any]:
        raw, web = "" if comment.deleted else comment.raw, f"{self.url}/{self.full_name}"
        if isinstance(thread, int):
            kind, api, page = "pullrequest_comment", f"pullrequests/{thread}", f"{web}/pull-requests/{thread}/_/diff"
            about = {"pullrequest": {"type": "pullrequest", "id": thread, "title": self.pull_requests[thread].title}}
        else:
            kind, api, page = "commit_comment", f"commit/{thread}", f"{web}/commits/{thread}"
            about = {"commit": {"type": "commit", "hash": thread}}
        return {"type": kind, "id": comment.id, "user": self._user_json(comment.user), "deleted": comment.deleted,
                "content": {"type": "rendered", "raw": raw, "markup": "markdown",
                            "html": f"<p>{html.escape(raw)}</p>" if raw else ""},
                "created_on": comment.created_on, "updated_on": comment.updated_on, "pending": False,
                "links": {"self": {"href": f"{self._repo_api}/{api}/comments/{comment.id}"},
                          "html": {"href": f"{page}#comment-{comment.id}"}}, **about}

    def _paginate(self, request: Request, items: list[Any]) -> Response:
        """Bitbucket's pages: pagelen (default 10, at most 100), 1-based page, absolute next/previous."""
        pagelen, page = request.args.get("pagelen", "10"), request.args.get("page", "1")
        if not pagelen.isdigit() or not 1 <= int(pagelen) <= MAX_PAGELEN:
            return _error(400, "Invalid pagelen")
        if not page.isdigit() or int(page) < 1:
            return _error(400, "Invalid page")
        pagelen, page = int(pagelen), int(page)
        answer: dict[str, Any] = {"pagelen": pagelen, "size": len(items), "page": page,
                                  "values": items[(page - 1) * pagelen: page * pagelen]}
        path = request.environ.get("RAW_URI", request.path).split("?", 1)[0]
        query = [(name, value) for name, value in request.args.items(multi=True) if name != "page"]
        links = {"next": page + 1} if page * pagelen < len(items) else {}
        links.update({"previous": page - 1} if page > 1 else {})
        answer.update({rel: f"{self.url}{path}?{urlencode([*query, ('page', to)])}" for rel, to in links.items()})
        return json_response(answer)

    def _pull(self, pr_id: int) -> PullRequest:
        if pr_id not in self.pull_requests:
            abort(_error(404, f"Pull request {pr_id} not found"))
        return self.pull_requests[pr_id]

    def _full_sha(self, sha: str) -> str | None:
        """The full sha of the known commit `sha` names (a unique prefix of 7 characters or more), or None."""
        known = {*self.commits, *self.commit_threads, *self.trees, *self.branches.values(),
                 *(one for pull in self.pull_requests.values() for one in (pull.head_sha, pull.destination_sha))}
        found = {full for full in known if len(sha) >= 7 and full.startswith(sha.lower())}
        return found.pop() if len(found) == 1 and re.fullmatch(r"[0-9a-fA-F]+", sha) else None

    def _resolve(self, sha: str) -> str:
        if (full := self._full_sha(sha)) is None:
            abort(_error(404, f"Commit not found: {sha}"))
        return full

    def _thread(self, thread: int | str) -> list[Comment]:
        if isinstance(thread, int):
            return self._pull(thread).comments
        self.commits.add(thread)
        return self.commit_threads.setdefault(thread, [])

    def _new_comment(self, comments: list[Comment], user: User, raw: str) -> Comment:
        now = self._now()
        comments.append(Comment(next(self._ids), raw, user, now, now))
        return comments[-1]

    def _content(self, request: Request) -> str:
        raw = (_json(request).get("content") or {}).get("raw")
        if not isinstance(raw, str) or not raw:
            abort(_field_error("content.raw", "This field is required."))
        if len(raw) > self.comment_limit:
            abort(_field_error("content.raw", f"Comment content is too long (at most {self.comment_limit})"))
        return raw

    def _user(self, request: Request, token: Token) -> Response:
        return json_response(self._user_json(token.user))

    def _repository(self, request: Request, token: Token) -> Response:
        return json_response({**self._repo_json(), "is_private": True, "slug": self.repo_slug, "scm": "git",
                              "mainbranch": {"type": "branch", "name": "main"}})

    def _pull_request(self, request: Request, token: Token, pr_id: int) -> Response:
        pull = self._pull(pr_id)
        if request.method == "PUT":
            body = _json(request)
            pull.title = str(body.get("title", pull.title))
            pull.description = str(body.get("description", pull.description))
        if pull.state == "OPEN" and self.branch_sha and (tip := self.branch_sha(pull.source_branch)):
            pull.head_sha = tip  # a push to its branch moves it
            self.commits.add(tip)
        return json_response(self._pull_json(pull))

    def open_pull_requests(self, source_branch: str | None = None) -> list[PullRequest]:
        return [pull for pull in self.pull_requests.values() if pull.state == "OPEN"
                and source_branch in (None, pull.source_branch)]

    def _pull_requests(self, request: Request, token: Token) -> Response:
        if request.method == "POST":
            return self._open_pull_request(_json(request), token)
        states = request.args.getlist("state") or ["OPEN"]  # Bitbucket lists the open ones by default
        matches = _bbql(request.args.get("q", ""))
        if matches is None:
            return _error(400, f"Invalid query: {request.args.get('q')}")
        pulls = [pull for pull in self.pull_requests.values() if pull.state in states
                 and all({"source.branch.name": pull.source_branch,
                          "destination.branch.name": pull.destination_branch}.get(key) == value
                         for key, value in matches)]
        return self._paginate(request, [self._pull_json(pull) for pull in pulls])

    def _open_pull_request(self, body: dict[str, Any], token: Token) -> Response:
        source = ((body.get("source") or {}).get("branch") or {}).get("name")
        destination = ((body.get("destination") or {}).get("branch") or {}).get("name") or "main"
        if not isinstance(body.get("title"), str) or not body["title"]:
            return _field_error("title", "This field is required.")
        tip = (self.branch_sha(source) if self.branch_sha and source else None) or self.branches.get(source or "")
        if not source or tip is None:
            return _field_error("source", f"Branch not found: {source}")
        if any(pull.destination_branch == destination for pull in self.open_pull_requests(source)):
            return _error(400, f"There is already an open pull request from {source} to {destination}")
        pull_id = max(self.pull_requests, default=0) + 1
        pull = self.add_pull_request(pull_id, tip, source, destination)
        pull.title, pull.description, pull.author = body["title"], str(body.get("description") or ""), token.user
        return json_response(self._pull_json(pull), 201)

    def _commit(self, request: Request, token: Token, sha: str) -> Response:
        return json_response({"type": "commit", "hash": sha,
                              "links": {"html": {"href": f"{self.url}/{self.full_name}/commits/{sha}"}}})

    def _comments(self, request: Request, token: Token, pr_id: int | None = None, sha: str = "") -> Response:
        thread = sha or pr_id
        comments = self._thread(thread)
        if request.method == "POST":  # also on a merged or declined pull request, as Bitbucket allows
            comment = self._new_comment(comments, token.user, self._content(request))
            return json_response(self._comment_json(comment, thread), 201)
        return self._paginate(request, [self._comment_json(comment, thread) for comment in comments])

    def _comment(self, request: Request, token: Token, comment_id: int, pr_id: int | None = None,
                 sha: str = "") -> Response:
        thread = sha or pr_id
        comment = next((comment for comment in self._thread(thread) if comment.id == comment_id), None)
        if comment is None or (comment.deleted and request.method != "GET"):
            return _error(404, f"Comment {comment_id} not found")
        if request.method == "GET":
            return json_response(self._comment_json(comment, thread))
        if comment.user.uuid != token.user.uuid:
            return _error(403, f"You can only {'delete' if request.method == 'DELETE' else 'edit'} your own comments")
        if request.method == "DELETE":
            comment.deleted, comment.updated_on = True, self._now()
            return Response(status=204)
        comment.raw, comment.updated_on = self._content(request), self._now()
        return json_response(self._comment_json(comment, thread))

    def _statuses(self, request: Request, token: Token, sha: str) -> Response:
        body = _json(request)
        key = body.get("key")
        for name, ok, problem in (
                ("key", isinstance(key, str) and 0 < len(key) <= 255, "required, of at most 255 characters"),
                ("state", body.get("state") in STATUS_STATES, f"required, one of {', '.join(STATUS_STATES)}"),
                ("url", isinstance(body.get("url"), str) and body["url"], "This field is required.")):
            if not ok:
                return _field_error(name, problem)
        existing, now = self.statuses.get((sha, key)), self._now()  # the same key updates it
        status = {"type": "build", "key": key, "state": body["state"], "url": body["url"],
                  "name": body.get("name") or key, "description": body.get("description") or "",
                  "refname": body.get("refname"), "created_on": existing["created_on"] if existing else now,
                  "updated_on": now, "commit": {"type": "commit", "hash": sha},
                  "links": {"self": {"href": f"{self._repo_api}/commit/{sha}/statuses/build/{key}"},
                            "commit": {"href": f"{self._repo_api}/commit/{sha}"}}}
        self.statuses[(sha, key)] = status
        return json_response(status, 200 if existing else 201)

    def _status(self, request: Request, token: Token, sha: str, key: str) -> Response:
        found = self.statuses.get((sha, key))
        return json_response(found) if found else _error(404, f"No build status {key!r} on commit {sha}")

    def _reports(self, request: Request, token: Token, sha: str) -> Response:
        return self._paginate(request, [report for (of, _), report in self.reports.items() if of == sha])

    def _report(self, request: Request, token: Token, sha: str, report_id: str) -> Response:
        if request.method == "GET":  # by external id or uuid
            found = [report for (of, rid), report in self.reports.items()
                     if of == sha and report_id in (rid, report["uuid"])]
            return json_response(found[0]) if found else _error(404, f"Report {report_id} not found")
        body = _json(request)
        if problem := _report_problem(body):
            return _field_error(*problem)
        existing, now = self.reports.get((sha, report_id)), self._now()  # the same id replaces it
        report = {"type": "report", **{name: body[name] for name in REPORT_FIELDS if name in body},
                  "uuid": existing["uuid"] if existing else f"{{{uuid.uuid5(uuid.NAMESPACE_URL, sha + report_id)}}}",
                  "external_id": report_id, "created_on": existing["created_on"] if existing else now,
                  "updated_on": now}
        self.reports[(sha, report_id)] = report
        return json_response(report)

    def _src(self, request: Request, token: Token) -> Response:
        form = request.form  # multipart/form-data (or urlencoded, which Bitbucket takes too)
        branch, message = form.get("branch") or "main", form.get("message") or "Edited online with Bitbucket"
        parents = [self._resolve(sha.strip()) for sha in form.get("parents", "").split(",") if sha.strip()]
        tip = self.branches.get(branch)
        if tip is not None and parents and tip not in parents:
            return _error(409, f"{', '.join(parents)} is not the tip of branch {branch} ({tip})")
        # On top of the parents, else of the branch, else (a new branch) of main's tip.
        base = parents[0] if parents else tip or self.branches.get("main", self.main_tip)
        uploads = {name.lstrip("/"): upload.read() for name, upload in request.files.items(multi=True)}
        uploads.update((name.lstrip("/"), value.encode()) for name, value in form.items(multi=True)
                       if name not in SRC_FIELDS)
        if "" in uploads:
            return _error(400, "A file field needs a path as its name")
        gone = {path.lstrip("/") for path in form.getlist("files")} - set(uploads)  # named, not sent: deleted
        sha = hashlib.sha1(f"{base}\0{branch}\0{message}\0{next(self._ids)}".encode()).hexdigest()
        self.trees[sha] = {path: data for path, data in {**self.trees.get(base, {}), **uploads}.items()
                           if path not in gone}
        self.branches[branch] = sha
        self.commits.add(sha)
        self.commit_info[sha] = {"message": message, "author": form.get("author"), "parents": parents or [base]}
        return Response(status=201, headers={"Location": f"{self._repo_api}/commit/{sha}"})

    def _branch(self, request: Request, token: Token, name: str) -> Response:
        if name not in self.branches:
            return _error(404, f"Branch not found: {name}")
        return json_response({"type": "branch", "name": name, "target": {"type": "commit", "hash": self.branches[name]},
                              "links": {"html": {"href": f"{self.url}/{self.full_name}/branch/{name}"}}})

    def _merge_base(self, request: Request, token: Token, revspec: str) -> Response:
        """The best common ancestor of `a..b`, over the parents of /src's commits."""
        first, dots, second = revspec.partition("..")
        if not dots:
            return _error(400, f"Invalid revspec: {revspec}")
        ours, theirs = self._ancestry(self._resolve(first)), self._ancestry(self._resolve(second))
        common = next((sha for sha in theirs if sha in ours), None)
        if common is None:
            return _error(404, f"No merge base for {revspec}")
        return json_response({"type": "commit", "hash": common, "links": {
            "html": {"href": f"{self.url}/{self.full_name}/commits/{common}"}}})

    def _ancestry(self, sha: str) -> list[str]:
        """`sha` and its ancestors, nearest first."""
        seen, queue = [], [sha]
        while queue:
            current = queue.pop(0)
            if current not in seen:
                seen.append(current)
                queue.extend(self.commit_info.get(current, {}).get("parents", []))
        return seen

    def _raw(self, rev: str, path: str) -> Response:
        content = self.trees.get(self.branches.get(rev) or self._full_sha(rev) or "", {}).get(path)
        if content is None:
            return Response("Not found", status=404, content_type="text/plain")
        return Response(content, content_type=mimetypes.guess_type(path)[0] or "application/octet-stream")


def _bbql(query: str) -> list[tuple[str, str]] | None:
    """The `field = "value" AND ...` queries mrbot sends; anything else: None (Bitbucket's 400)."""
    if not query:
        return []
    terms = [re.fullmatch(r'\s*([a-z_.]+)\s*=\s*"((?:[^"\\]|\\.)*)"\s*', term) for term in query.split(" AND ")]
    return None if not all(terms) else [(term.group(1), term.group(2).replace('\\"', '"')) for term in terms if term]


def _error_body(message: str, detail: Any = None, **extra: Any) -> dict[str, Any]:
    return {"type": "error", "error": {"message": message, **({"detail": detail} if detail else {}), **extra}}


def _error(status: int, message: str, detail: Any = None, **extra: Any) -> Response:
    return json_response(_error_body(message, detail, **extra), status)


def _field_error(name: str, problem: str) -> Response:
    """Bitbucket's answer to a field it refuses: the message, and the field under `fields`."""
    return _error(400, f"{name}: {problem}", fields={name: [problem]})


def _json(request: Request) -> dict[str, Any]:
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        abort(_error(400, "The request body must be a JSON object (Content-Type: application/json)"))
    return body


def _absolute_http(value: Any) -> bool:
    parts = urlsplit(value) if isinstance(value, str) else None
    return parts is not None and parts.scheme in ("http", "https") and bool(parts.netloc)


def _report_problem(body: dict[str, Any]) -> tuple[str, str] | None:
    """(field, problem) of the first thing Code Insights would refuse in a report, or None."""
    def text(limit: int, required: bool = False) -> Any:
        return lambda v: (v is not None or required) and (not isinstance(v, str) or not v or len(v) > limit)

    rules = [("title", text(450, required=True), "required, a string of at most 450 characters"),
             ("report_type", lambda v: v not in REPORT_TYPES, f"required, one of {', '.join(REPORT_TYPES)}"),
             ("result", lambda v: v is not None and v not in REPORT_RESULTS, f"one of {', '.join(REPORT_RESULTS)}"),
             ("details", text(2000), "a string of at most 2000 characters"),
             ("reporter", text(450), "a string of at most 450 characters"),
             *((name, lambda v: v is not None and not _absolute_http(v), "an absolute http(s) URI")
               for name in ("link", "logo_url")),
             ("data", lambda v: v is not None and (not isinstance(v, list) or len(v) > 10),
              "a list of at most 10 elements")]
    for name, refused, problem in rules:
        if refused(body.get(name)):
            return name, problem
    for index, item in enumerate(body.get("data") or []):
        if not isinstance(item, dict) or not isinstance(item.get("title"), str) or "value" not in item:
            return f"data[{index}]", "needs a title and a value"
        if problem := _data_problem(item.get("type"), item["value"]):
            return f"data[{index}].value", problem
    return None


def _data_problem(kind: Any, value: Any) -> str | None:
    number = isinstance(value, (int, float)) and not isinstance(value, bool)
    checks = {
        None: (isinstance(value, (bool, int, float, str)), "a boolean, a number or a string"),
        "BOOLEAN": (isinstance(value, bool), "a boolean"),
        "NUMBER": (number, "a number"),
        "PERCENTAGE": (number and 0 <= value <= 100, "a number from 0 to 100"),
        "DATE": (number, "a number (epoch milliseconds)"), "DURATION": (number, "a number (milliseconds)"),
        "TEXT": (isinstance(value, str), "a string"),
        "LINK": (isinstance(value, dict) and isinstance(value.get("text"), str)
                 and isinstance(value.get("href"), str), "an object with text and href"),
    }
    if kind not in checks:
        return f"type {kind!r} is not one of {', '.join(str(k) for k in checks if k)}"
    ok, wanted = checks[kind]
    return None if ok else f"a {kind or 'untyped'} value must be {wanted}, not {value!r}"[:300]
