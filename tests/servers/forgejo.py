"""A fake Forgejo REST API v1 (plus the web route serving attachments) on 127.0.0.1, held to Forgejo's
published swagger (v14.0.2, fetched by scripts/test-setup.d/forgejo-swagger.sh): a request must match one
of its operations and send only the parameters and body properties it declares, and the fake's JSON may
only use documented top-level properties. Breaches land in `violations`; `running()` fails the test.

Behaviour follows Forgejo's routers/api/v1: "token X" or "Bearer X" auth; GET .../issues/{index}/comments
is NOT paginated (all comments, X-Total-Count); paginated lists take page/limit (30 by default, at most
MAX_RESPONSE_ITEMS) with Link and X-Total-Count; another user's comment needs write access to the
repository to edit or delete (else an empty 403); so do commit statuses.
"""

from __future__ import annotations

import contextlib
import functools
import itertools
import json
import logging
import mimetypes
import re
import threading
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Iterator
from urllib.parse import urlencode

from werkzeug.exceptions import HTTPException
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from tests.servers.base import LocalServer, json_response, resolve_ref

REPO_ROOT = Path(__file__).resolve().parents[2]
SWAGGER_FILE = REPO_ROOT / ".cache/forgejo-swagger/swagger.v1.json"
API_PREFIX = "/api/v1"
DEFAULT_PAGING_NUM = 30  # [api] DEFAULT_PAGING_NUM
MAX_RESPONSE_ITEMS = 50  # [api] MAX_RESPONSE_ITEMS: a larger `limit` is cut down to it
COMMIT_STATES = ("pending", "success", "error", "failure", "warning")
# [attachment] ALLOWED_TYPES as Forgejo ships it; other extensions are refused with 422.
ATTACHMENT_TYPES = frozenset(
    ".avif .cpuprofile .csv .dmp .docx .fodg .fodp .fods .fodt .gif .gz .jpeg .jpg .json .jsonc .log .md .mov"
    " .mp4 .odf .odg .odp .ods .odt .patch .pdf .png .pptx .svg .tgz .txt .webm .webp .xls .xlsx .zip".split())
RUNNER_VERSIONS = {"forgejo": "v11.3.1", "gitea": "v0.2.13"}
_EPOCH = datetime(2026, 1, 1, tzinfo=timezone.utc)
_JSON_TYPES = {"string": str, "integer": int, "number": (int, float), "boolean": bool, "array": list, "object": dict}


@dataclass(frozen=True)
class Operation:
    id: str
    method: str
    template: str  # below basePath, e.g. /repos/{owner}/{repo}/statuses/{sha}
    pattern: re.Pattern[str]
    spec: dict[str, Any] = field(repr=False)


class Swagger:
    """Forgejo's swagger 2.0 document: its operations, parameters and schemas."""

    def __init__(self, document: dict[str, Any]):
        self.document = document
        self.operations: list[Operation] = []
        for template, item in document["paths"].items():
            parts = re.split(r"(\{[^}]+\})", template)
            regex = re.compile("".join("([^/]+)" if p.startswith("{") else re.escape(p) for p in parts))
            for method in ("get", "post", "put", "patch", "delete"):
                if method in item:
                    op_id = item[method].get("operationId", f"{method} {template}")
                    self.operations.append(Operation(op_id, method.upper(), template, regex, item[method]))
        # More literal text first, where templates overlap (issues/comments and issues/{index}).
        self.operations.sort(key=lambda op: -len(re.sub(r"\{[^}]+\}", "", op.template)))

    @classmethod
    @functools.cache
    def load(cls) -> "Swagger":
        if not SWAGGER_FILE.is_file():
            raise RuntimeError(f"{SWAGGER_FILE} is missing: run `bash scripts/test-setup.d/forgejo-swagger.sh`")
        return cls(json.loads(SWAGGER_FILE.read_text(encoding="utf-8")))

    def resolve(self, node: Any) -> Any:
        return resolve_ref(self.document, node)

    def match(self, method: str, path: str) -> Operation | None:
        return next((op for op in self.operations if op.method == method and op.pattern.fullmatch(path)), None)

    def check_request(self, operation: Operation, path: str, request: Request) -> list[str]:
        params: dict[str, dict[str, dict[str, Any]]] = {}
        for param in map(self.resolve, operation.spec.get("parameters", [])):
            params.setdefault(param["in"], {})[param["name"]] = param
        names = re.findall(r"\{([^}]+)\}", operation.template)
        problems = [problem for name, raw in zip(names, operation.pattern.fullmatch(path).groups())  # type: ignore
                    for problem in _check_value(params.get("path", {}).get(name, {}), raw, f"path parameter {name}")]
        query = params.get("query", {})
        for name, values in request.args.lists():
            if name not in query:
                problems.append(f"query parameter {name!r} is not in the description")
            problems += [p for value in values if name in query for p in _check_value(query[name], value, name)]
        form, body = params.get("formData", {}), next(iter(params.get("body", {}).values()), None)
        if form:
            if "multipart/form-data" not in (request.content_type or ""):
                return problems + [f"sent as {request.content_type!r}, not multipart/form-data"]
            sent = set(request.files) | set(request.form)
            problems += [f"form field {name!r} is not in the description" for name in sorted(sent - set(form))]
            problems += [f"required form field {name!r} is missing"
                         for name, param in form.items() if param.get("required") and name not in sent]
        elif body is not None:
            problems += self._check_body(body, request.get_data(cache=True), request.content_type or "")
        elif request.get_data(cache=True):
            problems.append("a body was sent to an operation that takes none")
        return problems

    def _check_body(self, param: dict[str, Any], raw: bytes, content_type: str) -> list[str]:
        schema = self.resolve(param["schema"])
        if not raw:
            return ["the JSON body is missing"] if schema.get("required") or param.get("required") else []
        if "application/json" not in content_type:
            return [f"body sent as {content_type!r}, not application/json"]
        try:
            data = json.loads(raw)
        except ValueError:
            return ["the body is not valid JSON"]
        if not isinstance(data, dict):
            return ["the body is not a JSON object"]
        problems = [f"required body key {key!r} is missing" for key in schema.get("required", []) if key not in data]
        for key, value in data.items():  # a key the schema does not name is a client bug (Forgejo ignores it)
            prop = self.resolve(schema.get("properties", {}).get(key))
            if prop is None:
                problems.append(f"body key {key!r} is not in {param['schema'].get('$ref', 'the schema')}")
            elif prop.get("type") in _JSON_TYPES and not isinstance(value, _JSON_TYPES[prop["type"]]):
                problems.append(f"body key {key!r}={value!r} is not of type {prop['type']}")
        return problems

    def check_response(self, operation: Operation, status: int, data: Any) -> list[str]:
        documented = operation.spec["responses"].get(str(status))
        where = f"response {status} of {operation.id}"
        if documented is None and status < 400:
            return [f"{where} is not documented"]
        # Any route can answer 401, 403, 422...: in Forgejo's error shape (APIError, APINotFound).
        error = {"type": "object", "properties": {"message": {}, "url": {}, "errors": {}}}
        schema = self.resolve(self.resolve(documented).get("schema")) if documented else error
        if data is None or schema is None:
            return [] if data is None or status >= 400 else [f"{where} has no body in the description"]
        items, schema = (data, self.resolve(schema["items"])) if schema.get("type") == "array" else ([data], schema)
        return [f"{where}: property {key!r} is not in the description"
                for item in items for key in item if key not in schema.get("properties", {})]


def _check_value(param: dict[str, Any], raw: str, where: str) -> list[str]:
    if param.get("type") == "integer" and not re.fullmatch(r"-?\d+", raw):
        return [f"{where}={raw!r} is not an integer"]
    if param.get("enum") and raw not in param["enum"]:
        return [f"{where}={raw!r} is not one of {param['enum']}"]
    return []


@dataclass(frozen=True)
class User:
    id: int
    login: str
    full_name: str = ""
    email: str = ""  # "": Forgejo's placeholder <login>@noreply.<host>


# The pseudo-user a job token acts as (models/user/user_system.go of each forge).
ACTIONS_USERS = {"forgejo": User(-2, "forgejo-actions", "Forgejo Actions", "noreply@forgejo.org"),
                 "gitea": User(-2, "gitea-actions", "Gitea Actions", "teabot@gitea.io")}


@dataclass(frozen=True)
class Token:
    user: User
    write: bool = True  # its scopes reach write:issue and write:repository; False: a read-only PAT
    repo_access: str = "write"  # the user's permission on the repository: "none", "read" or "write"


@dataclass
class Attachment:
    id: int
    uuid: str
    name: str
    data: bytes
    created_at: str
    download_count: int = 0


@dataclass
class Comment:
    id: int
    index: int  # of the issue or pull request it is on
    body: str
    user: User
    created_at: str
    updated_at: str
    assets: list[Attachment] = field(default_factory=list)


@dataclass
class Pull:
    number: int
    head_sha: str
    base_sha: str
    head_ref: str = "feature"
    base_ref: str = "main"
    head_repo: str = ""  # "owner/name" of the fork it comes from; "": the repository itself
    state: str = "open"  # or "closed"
    title: str = "Raise the learning rate"
    user: User | None = None  # who opened it; None: the repository's owner
    body: str = ""


class _Abort(Exception):
    def __init__(self, status: int, data: Any = None):
        self.answer = (status, data, {})


@dataclass
class FakeForgejo:
    owner: str = "ml-team"
    name: str = "model"
    private: bool = False
    tokens: dict[str, Token] = field(default_factory=dict)
    pulls: dict[int, Pull] = field(default_factory=dict)
    comments: dict[int, list[Comment]] = field(default_factory=dict)  # issue index -> comments, oldest first
    statuses: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # sha -> CommitStatus JSON, oldest first
    commits: set[str] = field(default_factory=set)  # shas a status may name, besides the pulls' heads and bases
    faults: list[dict[str, Any]] = field(default_factory=list)  # see fail()
    violations: list[str] = field(default_factory=list)
    attachment_types: frozenset[str] = ATTACHMENT_TYPES
    job_token: str = ""  # the Actions job token pipeline_environment() made last
    # Set: the tip of a branch pushed over git (mrbot propose's), for the pull requests opened from it.
    branch_sha: Any = None

    def __post_init__(self) -> None:
        self.spec = Swagger.load()
        self._ids, self._clock, self._lock = itertools.count(1001), itertools.count(1), threading.RLock()
        self.server = LocalServer(self._handle)
        logging.getLogger("werkzeug").setLevel(logging.WARNING)
        repo = "/repos/<owner>/<repo>"
        self._urls = Map([
            Rule("/user", endpoint="user", methods=["GET"]),
            Rule(repo, endpoint="repo", methods=["GET"]),
            Rule(f"{repo}/pulls", endpoint="pulls", methods=["GET", "POST"]),
            Rule(f"{repo}/pulls/<int:index>", endpoint="pull", methods=["GET", "PATCH"]),
            Rule(f"{repo}/issues/comments", endpoint="repo_comments", methods=["GET"]),
            Rule(f"{repo}/issues/<int:index>/comments", endpoint="comments", methods=["GET", "POST"]),
            Rule(f"{repo}/issues/comments/<int:comment_id>", endpoint="comment", methods=["GET", "PATCH", "DELETE"]),
            Rule(f"{repo}/issues/comments/<int:comment_id>/assets", endpoint="assets", methods=["GET", "POST"]),
            Rule(f"{repo}/issues/comments/<int:comment_id>/assets/<int:attachment_id>", endpoint="asset",
                 methods=["DELETE"]),
            Rule(f"{repo}/statuses/<sha>", endpoint="statuses", methods=["GET", "POST"]),
        ])

    url = property(lambda self: self.server.url)
    api_url = property(lambda self: self.server.url + API_PREFIX)
    repository = property(lambda self: f"{self.owner}/{self.name}")
    html_url = property(lambda self: f"{self.server.url}/{self.owner}/{self.name}")  # the repository's web page

    def __enter__(self) -> "FakeForgejo":
        self.server.__enter__()
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.server.__exit__(*exc_info)

    def add_token(self, token: str, user_id: int, login: str, write: bool = True, repo_access: str = "write") -> User:
        """A token of `login` (write=False: read-only scopes) who has `repo_access` to the repository."""
        self.tokens[token] = Token(user := User(user_id, login), write, repo_access)
        return user

    def actions_token(self, fork: bool = False, forge: str = "forgejo") -> str:
        """A job token as a pull request's Actions run gets it: the forge's actions user, with write access
        to the repository, or only read access for a pull request from a fork."""
        token = f"{forge}-job-token-{next(self._ids)}"
        self.tokens[token] = Token(ACTIONS_USERS[forge], True, "read" if fork else "write")
        return token

    def add_pull(self, number: int, head_sha: str, base_sha: str, head_ref: str = "feature",
                 base_ref: str = "main", head_repo: str = "") -> Pull:
        with self._lock:
            pull = self.pulls[number] = Pull(number, head_sha, base_sha, head_ref, base_ref, head_repo)
            self.comments.setdefault(number, [])
            return pull

    def add_comment(self, index: int, user: User, body: str) -> Comment:
        with self._lock:
            return self._add_comment(index, user, body)

    def fail(self, method: str, path_pattern: str, status: int, body: Any = None, times: int | None = 1,
             headers: dict[str, str] | None = None) -> None:
        """Answer matching requests with `status` (`times` times, None: always) instead of the real handler;
        a dict body is sent as JSON, a str as HTML (a proxy's error page)."""
        body = body if body is not None else {"message": f"{status} error", "url": self._swagger_url}
        self.faults.append({"method": method, "path": re.compile(path_pattern), "status": status, "body": body,
                            "headers": headers or {}, "times": times})

    def requests_to(self, method: str, path_pattern: str) -> list[Any]:
        return [r for r in self.server.requests if r.method == method and re.search(path_pattern, r.path)]

    # -- serving --

    _swagger_url = property(lambda self: f"{self.server.url}/api/swagger")  # every error's "url"

    def _now(self) -> str:
        return (_EPOCH + timedelta(seconds=next(self._clock))).strftime("%Y-%m-%dT%H:%M:%SZ")

    def _handle(self, request: Request) -> Response:
        with self._lock:
            path = request.path.removeprefix(API_PREFIX)
            operation = self.spec.match(request.method, path) if path != request.path else None
            if path != request.path and operation is None:
                return self._violation(f"{request.method} {request.path} is not in Forgejo's API description", 404)
            if operation and (problems := self.spec.check_request(operation, path, request)):
                return self._violation(f"{request.method} {request.full_path} ({operation.id}): " + "; ".join(problems))
            if fault := next((f for f in self.faults if f["method"] == request.method and f["times"] != 0
                              and f["path"].search(request.path)), None):
                fault["times"] = None if fault["times"] is None else fault["times"] - 1
                if isinstance(fault["body"], str):
                    return Response(fault["body"], fault["status"], fault["headers"], content_type="text/html")
                return json_response(fault["body"], fault["status"], fault["headers"])
            try:
                if operation is None:  # the web side
                    return self._download(request, path.removeprefix("/attachments/"))
                status, data, headers = self._answer(request, path)
            except _Abort as abort:
                status, data, headers = abort.answer
            if operation and (problems := self.spec.check_response(operation, status, data)):
                self.violations.append(f"the fake's answer drifted: {'; '.join(problems)}")
            return Response(status=status, headers=headers) if data is None else json_response(data, status, headers)

    def _violation(self, message: str, status: int = 400) -> Response:
        self.violations.append(message)
        return json_response({"message": message, "url": self._swagger_url}, status)

    def _error(self, status: int, message: str) -> _Abort:
        return _Abort(status, {"message": message, "url": self._swagger_url})

    def _not_found(self) -> _Abort:
        return _Abort(404, {"errors": [], "message": "The target couldn't be found.", "url": self._swagger_url})

    def _token(self, request: Request) -> Token | None:
        # Forgejo reads "token X" (that exact word) or "Bearer X" (any case); another scheme sends no token.
        scheme, _, value = request.headers.get("Authorization", "").partition(" ")
        if not value.strip() or not (scheme == "token" or scheme.lower() == "bearer"):
            return None
        if (token := self.tokens.get(value.strip())) is None:
            raise self._error(401, "invalid username, password or token")
        return token

    def _answer(self, request: Request, path: str) -> tuple[int, Any, dict[str, str]]:
        token = self._token(request)
        try:
            endpoint, args = self._urls.bind("fake").match(path, method=request.method)
        except HTTPException:
            self.violations.append(f"the fake does not implement {request.method} {path}")
            return 501, {"message": "not implemented by the fake", "url": self._swagger_url}, {}
        if endpoint == "user":
            if token is None:
                raise self._error(401, "token is required")
            return 200, self._user_json(token.user), {}
        if (args.pop("owner").lower(), args.pop("repo").lower()) != (self.owner.lower(), self.name.lower()):
            raise self._not_found()
        access = token.repo_access if token else "none"
        if self.private and access == "none":
            raise self._not_found()
        if request.method != "GET":
            if token is None:
                raise self._error(401, "token is required")
            if not token.write:
                scope = "write:repository" if endpoint == "statuses" else "write:issue"
                raise self._error(403, f"token does not have at least one of required scope(s): [{scope}]")
        body = (request.get_json(silent=True) if request.is_json else None) or {}
        return getattr(self, f"_{endpoint}")(request, token, access, body, **args)

    # -- the endpoints: (request, token, repo access, JSON body, path arguments) -> (status, data, headers) --

    def _repo(self, request: Request, token: Token | None, access: str, body: dict) -> Any:
        return 200, self._repo_json(self.repository, access), {}

    def _pull(self, request: Request, token: Token | None, access: str, body: dict, index: int) -> Any:
        if index not in self.pulls:
            raise self._not_found()
        pull = self.pulls[index]
        if request.method == "PATCH":
            pull.title, pull.body = str(body.get("title", pull.title)), str(body.get("body", pull.body))
            return 201, self._pull_json(pull, access), {}  # 201, as Forgejo answers an edit
        if pull.state == "open" and self.branch_sha and (tip := self.branch_sha(pull.head_ref)):
            pull.head_sha = tip
        return 200, self._pull_json(pull, access), {}

    def open_pulls(self, head_ref: str | None = None) -> list[Pull]:
        return [pull for pull in self.pulls.values() if pull.state == "open" and head_ref in (None, pull.head_ref)]

    def _pulls(self, request: Request, token: Token | None, access: str, body: dict) -> Any:
        if request.method == "GET":
            state = request.args.get("state", "open")
            limit, page = int(request.args.get("limit", "30")), int(request.args.get("page", "1"))
            pulls = [pull for pull in self.pulls.values() if state == "all" or pull.state == state]
            return 200, [self._pull_json(pull, access) for pull in pulls[(page - 1) * limit: page * limit]], {}
        head, base = str(body.get("head") or ""), str(body.get("base") or "")
        tip = self.branch_sha(head) if self.branch_sha and head else None
        if tip is None or not base:
            raise self._not_found()
        if any(pull.base_ref == base for pull in self.open_pulls(head)):
            raise self._error(409, f"pull request already exists for these targets [head: {head}, base: {base}]")
        number = max([*self.pulls, *self.comments], default=0) + 1
        pull = self.add_pull(number, tip, tip, head, base)
        pull.title, pull.body, pull.user = str(body.get("title") or ""), str(body.get("body") or ""), token.user
        return 201, self._pull_json(pull, access), {}

    def _comments(self, request: Request, token: Any, access: str, body: dict, index: int) -> Any:
        if index not in self.comments:
            raise self._not_found()
        if request.method == "POST":
            if not body.get("body"):
                raise self._error(422, "[Body]: Required")
            return 201, self._comment_json(self._add_comment(index, token.user, body["body"])), {}
        found = self.comments[index]  # not paginated: Forgejo answers every comment, and the total
        return 200, [self._comment_json(c) for c in found], {"X-Total-Count": str(len(found))}

    def _repo_comments(self, request: Request, token: Token | None, access: str, body: dict) -> Any:
        found = sorted((c for cs in self.comments.values() for c in cs), key=lambda c: c.id)
        return self._page(request, [self._comment_json(c) for c in found])

    def _comment(self, request: Request, token: Any, access: str, body: dict, comment_id: int) -> Any:
        comment = self._find_comment(comment_id)
        if request.method == "GET":
            return 200, self._comment_json(comment), {}
        if comment.user.id != token.user.id and access != "write":
            return 403, None, {}  # Forgejo answers ctx.Status(403): no body
        if request.method == "DELETE":
            self.comments[comment.index].remove(comment)
            return 204, None, {}
        if not body.get("body"):
            raise self._error(422, "[Body]: Required")
        if body["body"] != comment.body:
            comment.body, comment.updated_at = body["body"], self._now()
        return 200, self._comment_json(comment), {}

    def _assets(self, request: Request, token: Any, access: str, body: dict, comment_id: int) -> Any:
        comment = self._find_comment(comment_id)
        if request.method == "GET":
            return 200, [self._attachment_json(a) for a in comment.assets], {}
        if comment.user.id != token.user.id and access != "write":
            raise self._error(403, "user should have permission to edit comment")
        upload = request.files["attachment"]
        name = request.args.get("name") or upload.filename or "attachment"
        if (extension := Path(name).suffix.lower()) not in self.attachment_types:
            raise self._error(422, "This file cannot be uploaded or modified due to a forbidden file extension "
                                   f"or type ({extension or name}).")
        attachment = Attachment(next(self._ids), str(uuid.uuid4()), name, upload.read(), self._now())
        comment.assets.append(attachment)
        return 201, self._attachment_json(attachment), {}

    def _asset(self, request: Request, token: Any, access: str, body: dict, comment_id: int,
               attachment_id: int) -> Any:
        comment = self._find_comment(comment_id)
        if comment.user.id != token.user.id and access != "write":
            raise self._error(403, "user should have permission to edit comment")
        if not any(a.id == attachment_id for a in comment.assets):
            raise self._not_found()
        comment.assets = [a for a in comment.assets if a.id != attachment_id]
        return 204, None, {}

    def _statuses(self, request: Request, token: Any, access: str, body: dict, sha: str) -> Any:
        if request.method == "GET":
            found = [s for s in self.statuses.get(sha, []) if request.args.get("state", s["status"]) == s["status"]]
            oldest_first = request.args.get("sort") in ("oldest", "leastupdate", "highestindex")
            return self._page(request, found if oldest_first else found[::-1])
        if access != "write":
            raise self._error(403, "user should have a permission to write to a repo")
        if body.get("state") not in COMMIT_STATES:  # the values CommitStatusState's description names
            self.violations.append(f"commit status state {body.get('state')!r} is not one of {COMMIT_STATES}")
            raise self._error(422, f"invalid commit status state {body.get('state')!r}")
        if sha not in self.commits | {s for p in self.pulls.values() for s in (p.head_sha, p.base_sha)}:
            raise self._not_found()
        now = self._now()
        status = {"id": next(self._ids), "status": body["state"], "target_url": body.get("target_url", ""),
                  "description": body.get("description", ""), "context": body.get("context", ""),
                  "url": f"{self.api_url}/repos/{self.repository}/statuses/{sha}",
                  "creator": self._user_json(token.user), "created_at": now, "updated_at": now}
        self.statuses.setdefault(sha, []).append(status)
        return 201, status, {}

    def _download(self, request: Request, attachment_uuid: str) -> Response:
        """GET /attachments/{uuid}. A private repository's need a reader (a browser session, or a token)."""
        found = [a for cs in self.comments.values() for c in cs for a in c.assets if a.uuid == attachment_uuid]
        if not request.path.startswith("/attachments/") or not found or (self.private and not self._token(request)):
            return Response("Not found.\n", 404, content_type="text/plain")
        found[0].download_count += 1
        return Response(found[0].data, 200, {"Content-Disposition": f'inline; filename="{found[0].name}"'},
                        mimetype=mimetypes.guess_type(found[0].name)[0] or "application/octet-stream")

    def _add_comment(self, index: int, user: User, body: str) -> Comment:
        now = self._now()
        comment = Comment(next(self._ids), index, body, user, now, now)
        self.comments.setdefault(index, []).append(comment)
        return comment

    def _find_comment(self, comment_id: int) -> Comment:
        if not (found := [c for cs in self.comments.values() for c in cs if c.id == comment_id]):
            raise self._not_found()
        return found[0]

    def _page(self, request: Request, items: list[Any]) -> tuple[int, list[Any], dict[str, str]]:
        """Forgejo's page/limit (utils.GetListOptions), then SetLinkHeader and SetTotalCountHeader."""
        page, limit = (request.args.get(name, 0, int) for name in ("page", "limit"))  # FormInt: 0 if unparsable
        page, limit = max(page, 1), DEFAULT_PAGING_NUM if limit <= 0 else min(limit, MAX_RESPONSE_ITEMS)
        total, chunk = len(items), items[(page - 1) * limit: page * limit]
        pages = max(1, -(-total // limit))
        current = min(page, pages)  # the paginator clamps the page for its links

        def link(to: int, rel: str) -> str:
            query = urlencode(sorted({**request.args.to_dict(), "page": to}.items()))
            return f'<{self.url}{request.path}?{query}>; rel="{rel}"'

        links = ([link(current + 1, "next")] if total > current * limit else []) + (
            [link(pages, "last")] if total and current != pages else []) + (
            [link(1, "first"), link(current - 1, "prev")] if current > 1 else [])
        headers = {"X-Total-Count": str(total), "Access-Control-Expose-Headers": "X-Total-Count, Link"}
        return 200, chunk, {**headers, "Link": ",".join(links)} if links else headers

    def _user_json(self, user: User) -> dict[str, Any]:
        host = self.url.split("//")[1].split(":")[0]
        return {"id": user.id, "login": user.login, "login_name": "", "source_id": 0, "full_name": user.full_name,
                "email": user.email or f"{user.login}@noreply.{host}", "avatar_url": f"{self.url}/avatars/{user.id}",
                "html_url": f"{self.url}/{user.login}", "language": "", "is_admin": False, "restricted": False,
                "active": True, "prohibit_login": False, "created": "2025-06-01T00:00:00Z", "visibility": "public",
                "last_login": "2026-01-01T00:00:00Z", "followers_count": 0, "following_count": 0}

    def _repo_json(self, full_name: str, access: str) -> dict[str, Any]:
        owner, name = full_name.split("/")
        fork, html = full_name != self.repository, f"{self.url}/{full_name}"
        return {"id": 2 if fork else 1, "owner": self._user_json(User(11 if fork else 10, owner)), "name": name,
                "full_name": full_name, "description": "", "empty": False, "private": self.private, "fork": fork,
                "parent": None, "mirror": False, "html_url": html, "url": f"{self.api_url}/repos/{full_name}",
                "clone_url": f"{html}.git", "ssh_url": f"git@fake:{full_name}.git", "default_branch": "main",
                "archived": False, "has_issues": True, "has_pull_requests": True, "has_actions": True,
                "permissions": {"admin": False, "push": access == "write" and not fork, "pull": True},
                "open_pr_counter": 0 if fork else sum(p.state == "open" for p in self.pulls.values()),
                "created_at": "2025-06-01T00:00:00Z", "updated_at": "2026-01-01T00:00:00Z"}

    def _pull_json(self, pull: Pull, access: str) -> dict[str, Any]:
        repo = self._repo_json(self.repository, access)
        head_repo = self._repo_json(pull.head_repo, access) if pull.head_repo else repo
        html = f"{self.html_url}/pulls/{pull.number}"

        def branch(ref: str, sha: str, of: dict[str, Any]) -> dict[str, Any]:
            return {"label": ref, "ref": ref, "sha": sha, "repo_id": of["id"], "repo": of}

        return {"id": 500 + pull.number, "url": html, "number": pull.number, "html_url": html, "title": pull.title,
                "body": pull.body, "user": self._user_json(pull.user or User(10, self.owner)), "state": pull.state,
                "labels": [], "milestone": None, "assignee": None, "assignees": None, "draft": False,
                "is_locked": False, "comments": len(self.comments.get(pull.number, [])), "mergeable": True,
                "merged": False, "merged_at": None, "merge_commit_sha": None, "merged_by": None,
                "diff_url": f"{html}.diff", "patch_url": f"{html}.patch", "allow_maintainer_edit": False,
                "base": branch(pull.base_ref, pull.base_sha, repo), "merge_base": pull.base_sha,
                "head": branch(pull.head_ref, pull.head_sha, head_repo), "closed_at": None,
                "created_at": "2026-01-01T00:00:00Z", "updated_at": "2026-01-01T00:00:00Z"}

    def _attachment_json(self, attachment: Attachment) -> dict[str, Any]:
        return {"id": attachment.id, "name": attachment.name, "size": len(attachment.data), "type": "attachment",
                "download_count": attachment.download_count, "created_at": attachment.created_at,
                "uuid": attachment.uuid, "browser_download_url": f"{self.url}/attachments/{attachment.uuid}"}

    def _comment_json(self, comment: Comment) -> dict[str, Any]:
        pull, page = comment.index in self.pulls, f"{self.html_url}/pulls/{comment.index}"
        issue = f"{self.html_url}/issues/{comment.index}"
        return {"id": comment.id, "body": comment.body, "user": self._user_json(comment.user),
                "html_url": f"{page if pull else issue}#issuecomment-{comment.id}",
                "pull_request_url": page if pull else "", "issue_url": "" if pull else issue, "original_author": "",
                "original_author_id": 0, "assets": [self._attachment_json(a) for a in comment.assets],
                "created_at": comment.created_at, "updated_at": comment.updated_at}

    # -- what the runner gives a job --

    def pull_request_event(self, number: int, action: str = "synchronized") -> dict[str, Any]:
        """The `pull_request` payload Forgejo and Gitea write to GITHUB_EVENT_PATH (api.PullRequestPayload, the
        PR as the API shows it). A push to a PR is "synchronized" here, GitHub's "synchronize"."""
        pull_json = self._pull_json(self.pulls[number], "read")
        return {"action": action, "number": number, "pull_request": pull_json, "requested_reviewer": None,
                "repository": self._repo_json(self.repository, "read"), "sender": pull_json["user"],
                "commit_id": "", "review": None}

    def pipeline_environment(self, pr_number: int, head_sha: str, base_sha: str, tmp_path: Path,
                             forge: str = "forgejo", fork: bool = False, **overrides: str | None) -> dict[str, str]:
        """What a step of a `pull_request` job gets from forgejo-runner (forge="forgejo") or Gitea's act_runner,
        pointed at this server; the payload is written to GITHUB_EVENT_PATH. The job token is in `job_token`:
        only forgejo-runner exports it, on Gitea the workflow passes it. An override of None drops a variable."""
        pull = self.pulls.get(pr_number) or self.add_pull(pr_number, head_sha, base_sha,
                                                          head_repo=f"contributor/{self.name}" if fork else "")
        pull.head_sha, pull.base_sha = head_sha, base_sha  # the run is for this head
        self.job_token = self.actions_token(fork, forge)
        folder = tmp_path / f"{forge}-job"
        folder.mkdir(parents=True, exist_ok=True)
        event = self.pull_request_event(pr_number)
        (folder / "event.json").write_text(json.dumps(event, indent=2), encoding="utf-8")
        version = RUNNER_VERSIONS[forge]
        github = {  # act's withGithubEnv: forgejo-runner sets each of these as FORGEJO_* too
            "WORKFLOW": "mrbot", "RUN_ATTEMPT": "1", "RUN_ID": "150", "RUN_NUMBER": "129", "ACTIONS": "true",
            "ACTOR": event["sender"]["login"], "REPOSITORY": self.repository, "EVENT_NAME": "pull_request",
            "EVENT_PATH": str(folder / "event.json"), "WORKSPACE": str(folder / "workspace"), "SHA": pull.head_sha,
            "REF": f"refs/pull/{pr_number}/head", "REF_NAME": str(pr_number), "JOB": "report",
            "REPOSITORY_OWNER": self.owner, "RETENTION_DAYS": "90", "BASE_REF": pull.base_ref,
            "HEAD_REF": pull.head_ref, "SERVER_URL": self.url, "API_URL": self.api_url,
        }
        if forge == "forgejo":
            github.update(TOKEN=self.job_token, WORKFLOW_REF=f"{self.repository}/.forgejo/workflows/mrbot.yml@"
                                                            f"refs/pull/{pr_number}/head")
        prefixes = ("GITHUB", "FORGEJO") if forge == "forgejo" else ("GITHUB",)
        env = {f"{prefix}_{key}": value for key, value in github.items() for prefix in prefixes}
        env.update({
            "CI": "true", "GITEA_ACTIONS": "true", "GITEA_ACTIONS_RUNNER_VERSION": version,
            "GITHUB_OUTPUT": str(folder / "outputcmd.txt"), "GITHUB_ENV": str(folder / "envs.txt"),
            "GITHUB_PATH": str(folder / "pathcmd.txt"), "GITHUB_STEP_SUMMARY": str(folder / "SUMMARY.md"),
            "RUNNER_OS": "Linux", "RUNNER_ARCH": "X64", "RUNNER_TEMP": str(folder / "tmp"),
            "ACTIONS_RUNTIME_URL": f"{self.url}/api/actions_pipeline/", "ACTIONS_RESULTS_URL": self.url,
            "ACTIONS_RUNTIME_TOKEN": self.job_token,
        })
        if forge == "forgejo":
            env.update(FORGEJO_ACTIONS="true", FORGEJO_ACTIONS_RUNNER_VERSION=version)
        else:
            env["GITHUB_GRAPHQL_URL"] = ""  # Gitea's act sets it empty; forgejo-runner leaves it out
        merged: dict[str, str | None] = {**env, **overrides}
        return {name: value for name, value in merged.items() if value is not None}


@contextlib.contextmanager
def running(fake: FakeForgejo) -> Iterator[FakeForgejo]:
    """Serve `fake`; afterwards fail the test if any request or answer broke Forgejo's API description."""
    with fake:
        yield fake
    assert not fake.violations, "requests Forgejo's API description does not allow:\n" + "\n".join(fake.violations)
