"""A fake api.github.com on 127.0.0.1 that cannot drift from GitHub's published REST description.

Every request is matched to an operation of GitHub's OpenAPI description (the npm package
@octokit/openapi, generated/api.github.com.json, installed by scripts/test-setup.d/github-openapi.sh),
and its path parameters, query and JSON body are validated against it; so is every response the fake
sends (built from the description's own examples). Whatever the description does not allow is
recorded in `violations` and answered 400: the `github_server` fixture fails the test on any.
"""

from __future__ import annotations

import base64
import contextlib
import copy
import functools
import hashlib
import itertools
import json
import logging
import re
import threading
import zlib
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Callable, Iterator
from urllib.parse import urlencode

import jsonschema
from werkzeug.wrappers import Request, Response

from tests.servers.base import LocalServer, json_response, resolve_ref

REPO_ROOT = Path(__file__).resolve().parents[2]
SPEC_FILE = REPO_ROOT / ".cache/octokit-openapi/node_modules/@octokit/openapi/generated/api.github.com.json"
DOCS = "https://docs.github.com/rest"
COMMENT_BODY_LIMIT = 65_536
_METHODS = ("get", "post", "put", "patch", "delete")


# -- the description -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Operation:
    method: str
    template: str
    pattern: re.Pattern[str]
    param_names: tuple[str, ...]
    literal_length: int  # more literal text wins when templates overlap (issues/comments vs issues/{n})
    spec: dict[str, Any] = field(repr=False)

    @property
    def id(self) -> str:
        return self.spec["operationId"]


class OpenAPI:
    """GitHub's REST description: operations by method and path, and their JSON schemas."""

    def __init__(self, document: dict[str, Any]):
        self.document = document
        self._converted: dict[str, dict[str, Any]] = {}
        self._validators: dict[int, jsonschema.Draft4Validator] = {}
        self.operations: list[Operation] = []
        for template, item in document["paths"].items():
            for method in _METHODS:
                if method in item:
                    spec = item[method]
                    params = {p["name"]: p for p in map(self.resolve, spec.get("parameters", [])) if p["in"] == "path"}
                    pattern, names = _path_pattern(template, params)
                    literal_length = len(re.sub(r"\{[^}]+\}", "", template))
                    self.operations.append(Operation(method.upper(), template, pattern, names, literal_length, spec))

    @classmethod
    @functools.cache
    def load(cls) -> "OpenAPI":
        if not SPEC_FILE.is_file():
            raise RuntimeError(
                f"{SPEC_FILE} is missing: run `bash scripts/test-setup.d/github-openapi.sh` (scripts/test.sh does)"
            )
        return cls(json.loads(SPEC_FILE.read_text(encoding="utf-8")))

    def resolve(self, node: Any) -> Any:
        return resolve_ref(self.document, node)

    def match(self, method: str, path: str) -> tuple[Operation, dict[str, str]] | None:
        candidates = [
            (operation, dict(zip(operation.param_names, match.groups())))
            for operation in self.operations
            if operation.method == method and (match := operation.pattern.fullmatch(path))
        ]
        return max(candidates, key=lambda found: found[0].literal_length, default=None)

    def json_schema(self, node: Any) -> dict[str, Any]:
        """An OpenAPI 3.0 schema as JSON Schema draft 4: refs inlined, `nullable` made explicit."""
        if isinstance(node, list):
            return [self.json_schema(item) for item in node]  # type: ignore[return-value]
        if not isinstance(node, dict):
            return node
        if "$ref" in node:
            ref = node["$ref"]
            if ref not in self._converted:
                self._converted[ref] = {}  # filled below; recursive schemas point back at it
                self._converted[ref].update(self.json_schema(self.resolve(node)))
            return self._converted[ref]
        schema = {}
        for key, value in node.items():
            if key in ("nullable", "discriminator", "example", "examples", "xml", "externalDocs"):
                continue
            if key == "properties":
                schema[key] = {name: self.json_schema(sub) for name, sub in value.items()}
            elif key in ("items", "additionalProperties", "not", "allOf", "anyOf", "oneOf"):
                schema[key] = self.json_schema(value)
            else:
                schema[key] = value
        if node.get("nullable"):
            return {"anyOf": [schema, {"type": "null"}]}
        return schema

    def errors(self, schema_node: Any, instance: Any, where: str) -> list[str]:
        key = id(schema_node)
        if key not in self._validators:
            self._validators[key] = jsonschema.Draft4Validator(self.json_schema(schema_node))
        return [
            f"{where}{''.join(f'[{part!r}]' for part in error.absolute_path)}: {error.message[:300]}"
            for error in self._validators[key].iter_errors(instance)
        ]

    def check_request(
        self, operation: Operation, path_params: dict[str, str], query: dict[str, list[str]], body: bytes,
        content_type: str,
    ) -> list[str]:
        spec = operation.spec
        params = [self.resolve(p) for p in spec.get("parameters", [])]
        problems = []
        for param in params:
            if param["in"] == "path":
                problems += self._check_value(param, path_params[param["name"]], "path parameter")
        declared = {p["name"]: p for p in params if p["in"] == "query"}
        for name, values in query.items():
            if name not in declared:
                problems.append(f"query parameter {name!r} is not in the description")
                continue
            for value in values:
                problems += self._check_value(declared[name], value, "query parameter")
        problems += [
            f"required query parameter {name!r} is missing"
            for name, param in declared.items()
            if param.get("required") and name not in query
        ]
        request_body = self.resolve(spec.get("requestBody")) if spec.get("requestBody") else None
        if request_body is None:
            if body:
                problems.append("a body was sent to an operation that takes none")
            return problems
        if not body:
            if request_body.get("required"):
                problems.append("the required JSON body is missing")
            return problems
        if "application/json" not in content_type:
            problems.append(f"body sent as {content_type!r}, not application/json")
        try:
            data = json.loads(body)
        except ValueError:
            return problems + ["the body is not valid JSON"]
        schema = request_body["content"]["application/json"]["schema"]
        problems += self.errors(schema, data, "body")
        # The description allows extra keys GitHub ignores; a key it does not name is a client bug.
        properties = self.resolve(schema).get("properties")
        if isinstance(data, dict) and properties:
            problems += [f"body key {key!r} is not in the description" for key in data if key not in properties]
        return problems

    def _check_value(self, param: dict[str, Any], raw: str, kind: str) -> list[str]:
        schema = self.resolve(param.get("schema", {}))
        value: Any = raw
        if schema.get("type") == "integer":
            if not re.fullmatch(r"-?\d+", raw):
                return [f"{kind} {param['name']}={raw!r} is not an integer"]
            value = int(raw)
        elif schema.get("type") == "boolean":
            if raw not in ("true", "false"):
                return [f"{kind} {param['name']}={raw!r} is not a boolean"]
            value = raw == "true"
        return self.errors(param.get("schema", {}), value, f"{kind} {param['name']}")

    def response(self, operation: Operation, status: int) -> dict[str, Any] | None:
        responses = operation.spec["responses"]
        found = responses.get(str(status)) or responses.get("default")
        return self.resolve(found) if found else None

    def check_response(self, operation: Operation, status: int, data: Any) -> list[str]:
        documented = self.response(operation, status)
        where = f"response {status}"
        if documented is None:
            if status < 400:
                return [f"{where} is not documented for {operation.id}"]
            # Any endpoint can answer 401, 403, 502...: the body has GitHub's usual error shape.
            return self.errors(self.document["components"]["schemas"]["basic-error"], data, where)
        content = documented.get("content", {}).get("application/json")
        if content is None:
            return [] if data is None else [f"{where} of {operation.id} has no body in the description"]
        return self.errors(content["schema"], data, where)

    def example(self, operation_id: str, status: int, name: str = "default") -> Any:
        operation = next(op for op in self.operations if op.id == operation_id)
        examples = self.response(operation, status)["content"]["application/json"]["examples"]  # type: ignore[index]
        example = examples.get(name) or next(iter(examples.values()))
        return copy.deepcopy(self.resolve(example)["value"])


def _path_pattern(template: str, params: dict[str, dict[str, Any]]) -> tuple[re.Pattern[str], tuple[str, ...]]:
    """A regex for the template (one group per parameter, in order) and the parameters' names."""
    regex, names = "", []
    for part in re.split(r"(\{[^}]+\})", template):
        if part.startswith("{"):
            names.append(part[1:-1])
            regex += "(.+)" if params.get(part[1:-1], {}).get("x-multi-segment") else "([^/]+)"
        else:
            regex += re.escape(part)
    return re.compile(regex), tuple(names)


# -- the fake ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Account:
    login: str
    id: int
    type: str = "User"  # or "Bot"


ACTIONS_BOT = Account("github-actions[bot]", 41898282, "Bot")
MAINTAINER = Account("octo-maintainer", 1001)
CONTRIBUTOR = Account("fork-contributor", 1002)


ALL_WRITES = frozenset({"pull_requests", "contents", "statuses", "checks"})


@dataclass(frozen=True)
class Token:
    account: Account
    writes: frozenset[str] = ALL_WRITES  # the permissions (as in a workflow's `permissions:`) it may write
    reads_user: bool = True  # False for installation tokens such as Actions' GITHUB_TOKEN


def write_permission(operation_id: str) -> str:
    """Which `permissions:` entry GitHub checks for a write through this operation."""
    if operation_id.startswith(("issues/", "pulls/")):
        return "pull_requests"
    if operation_id == "repos/create-commit-status":
        return "statuses"
    if operation_id.startswith("checks/"):
        return "checks"
    return "contents"  # git data, commit comments


@dataclass
class Fault:
    operation_id: str
    status: int
    body: Any
    headers: dict[str, str]
    times: int


GRAPHQL = "graphql"  # what calls_of() and fail() name the GraphQL endpoint


@dataclass(frozen=True)
class Call:
    operation_id: str
    method: str
    path: str
    query: dict[str, str]
    body: Any
    authorization: str


@dataclass
class Pull:
    number: int
    head_sha: str  # with `FakeGitHub.branch_sha` set, an open pull's head is read through it instead
    base_sha: str
    head_ref: str = "feature"
    base_ref: str = "main"
    head_owner: str = ""  # another login for a PR from a fork
    state: str = "open"  # or "closed"
    title: str = "Raise the learning rate"
    body: str | None = None
    user: Account | None = None  # who opened it; None: the description's example user
    draft: bool = False
    maintainer_can_modify: bool = False
    created_at: str = "2025-03-01T11:00:00Z"
    updated_at: str = ""  # "": created_at
    closed_at: str | None = None


class FakeGitHub:
    """The state of one repository, served over real HTTP. Tokens map to accounts; `fail()` makes
    the next calls of an operation answer an error (502, 403, rate limits...)."""

    def __init__(self, repository: str = "octo-org/ml-project", tokens: dict[str, Token] | None = None):
        self.spec = OpenAPI.load()
        self.repository = repository
        self.owner, self.name = repository.split("/")
        self.tokens = tokens if tokens is not None else {}
        self.pulls: dict[int, Pull] = {}
        self.issue_comments: dict[int, list[dict[str, Any]]] = {}
        self.commit_comments: dict[str, list[dict[str, Any]]] = {}
        self.statuses: list[dict[str, Any]] = []
        self.check_runs: list[dict[str, Any]] = []  # as served, oldest first
        self.blobs: dict[str, bytes] = {}
        self.trees: dict[str, dict[str, str]] = {}  # sha -> {path: blob sha}
        self.commits: dict[str, dict[str, Any]] = {}
        self.refs: dict[str, str] = {}  # "refs/heads/x" -> commit sha
        # Branch name -> its sha now (e.g. read from a real bare repository), or None if there is no
        # such branch. When set, open pulls' head.sha is read through it each time a pull is served
        # (called under the fake's lock: it must not call the fake). Unset: pulls keep `head_sha`.
        self.branch_sha: Callable[[str], str | None] | None = None
        # The repository setting "Allow GitHub Actions to create and approve pull requests".
        self.actions_can_create_pulls = True
        self.violations: list[str] = []
        self.calls: list[Call] = []  # the requests that passed validation, in order
        self._faults: list[Fault] = []
        self._ids = itertools.count(5000)
        self._clock = datetime(2025, 3, 1, 12, 0, tzinfo=timezone.utc)
        self._lock = threading.Lock()
        self.server = LocalServer(self._handle)
        logging.getLogger("werkzeug").setLevel(logging.WARNING)  # no request lines in captured output

    # -- setup and inspection --

    @property
    def url(self) -> str:
        return self.server.url

    def __enter__(self) -> "FakeGitHub":
        self.server.__enter__()
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.server.__exit__(*exc_info)

    def add_pull(self, pull: Pull) -> Pull:
        with self._lock:
            return self._add_pull(pull)

    def _add_pull(self, pull: Pull) -> Pull:
        self.pulls[pull.number] = pull
        self.issue_comments.setdefault(pull.number, [])
        return pull

    def open_pulls(self, branch: str | None = None) -> list[Pull]:
        """The open pulls (of head branch `branch`, if given), by number."""
        with self._lock:
            return [pull for number, pull in sorted(self.pulls.items())
                    if pull.state == "open" and branch in (None, pull.head_ref)]

    def close_pull(self, number: int) -> Pull:
        """Someone closes pull `number` on the web (it keeps the head it had then)."""
        with self._lock:
            pull = self.pulls[number]
            self._set_state(pull, "closed")
            return pull

    def head_sha(self, pull: Pull) -> str:
        """The head sha GitHub would show for `pull` now."""
        with self._lock:
            return self._head_sha(pull)

    def add_comment(self, number: int, body: str, author: Account) -> dict[str, Any]:
        comment = self._comment("issues/create-comment", author, body, number=number)
        self.issue_comments.setdefault(number, []).append(comment)
        return comment

    def fail(self, operation_id: str, status: int, body: Any = None, headers: dict[str, str] | None = None,
             times: int = 1) -> None:
        """The next `times` calls of `operation_id` answer `status` (after the request was validated)."""
        if isinstance(body, dict):
            body = {"documentation_url": DOCS, **body}
        self._faults.append(Fault(operation_id, status, body, headers or {}, times))

    def comments(self, number: int) -> list[dict[str, Any]]:
        return self.issue_comments[number]

    def calls_of(self, *operation_ids: str) -> list["Call"]:
        return [call for call in self.calls if call.operation_id in operation_ids]

    def file_at(self, commit_sha: str, path: str) -> bytes:
        return self.blobs[self.trees[self.commits[commit_sha]["tree"]][path]]

    # -- serving --

    def _handle(self, request: Request) -> Response:
        with self._lock:  # GitHub serializes a repository's writes; so does the fake
            if (request.method, request.path) == ("POST", "/graphql"):
                return self._graphql(request)
            found = self.spec.match(request.method, request.path)
            if found is None:
                return self._violation(f"{request.method} {request.path} is not in GitHub's REST description", 404)
            operation, params = found
            problems = self.spec.check_request(
                operation, params, request.args.to_dict(flat=False), request.get_data(), request.content_type or ""
            )
            if problems:
                return self._violation(f"{request.method} {request.full_path} ({operation.id}): " + "; ".join(problems))
            body = json.loads(request.get_data()) if request.get_data() else None
            self.calls.append(Call(operation.id, request.method, request.path, request.args.to_dict(), body,
                                   request.headers.get("Authorization", "")))
            status, data, headers = self._answer(operation, params, request)
            problems = self.spec.check_response(operation, status, data)
            if problems:
                self.violations.append(f"the fake's {operation.id} answer drifted: " + "; ".join(problems))
            headers = {**self._rate_headers(), **headers}
            if data is None:
                return Response(status=status, headers=headers)
            return json_response(data, status, headers)

    def _graphql(self, request: Request) -> Response:
        """GitHub's GraphQL endpoint (not in the REST description), for the one query mrbot sends:
        who the token is. It answers for installation tokens too, as GitHub's does."""
        body = json.loads(request.get_data() or b"{}")
        self.calls.append(Call(GRAPHQL, "POST", request.path, {}, body, request.headers.get("Authorization", "")))
        token = self._token(request)
        if isinstance(token, tuple):
            status, data, headers = token
            return json_response(data, status, headers)
        for fault in self._faults:
            if fault.operation_id == GRAPHQL and fault.times > 0:
                fault.times -= 1
                return json_response(fault.body or {"message": "Server Error"}, fault.status, fault.headers)
        if " ".join(str(body.get("query", "")).split()) != "query { viewer { login } }":
            self.violations.append(f"a GraphQL query the fake does not know: {body.get('query')!r}")
            return json_response({"errors": [{"message": "unknown query", "type": "UNKNOWN"}]}, 200)
        return json_response({"data": {"viewer": {"login": token.account.login}}}, 200)

    def _violation(self, message: str, status: int = 400) -> Response:
        self.violations.append(message)
        return json_response({"message": message, "documentation_url": DOCS}, status)

    def _rate_headers(self) -> dict[str, str]:
        reset = int(datetime.now(timezone.utc).timestamp()) + 3600
        return {"x-ratelimit-limit": "5000", "x-ratelimit-remaining": "4999", "x-ratelimit-reset": str(reset),
                "x-ratelimit-used": "1", "x-ratelimit-resource": "core"}

    def _answer(self, operation: Operation, params: dict[str, str], request: Request) -> tuple[int, Any, dict[str, str]]:
        token = self._token(request)
        if isinstance(token, tuple):
            return token
        for fault in self._faults:
            if fault.operation_id == operation.id and fault.times > 0:
                fault.times -= 1
                return fault.status, fault.body or {"message": "Server Error", "documentation_url": DOCS}, fault.headers
        if operation.id == "users/get-authenticated":
            return self._user_answer(token)
        if (params.get("owner"), params.get("repo")) != (self.owner, self.name):
            return _error(404, "Not Found")
        if request.method != "GET" and write_permission(operation.id) not in token.writes:
            return _error(403, "Resource not accessible by integration")
        handler = HANDLERS.get(operation.id)
        if handler is None:
            self.violations.append(f"the fake does not implement {operation.id} ({operation.method} {operation.template})")
            return _error(501, "Not Implemented")
        body = json.loads(request.get_data()) if request.get_data() else {}
        return handler(self, token, params, request.args.to_dict(), body)

    def _token(self, request: Request) -> Token | tuple[int, Any, dict[str, str]]:
        header = request.headers.get("Authorization", "")
        if not header:
            return _error(401, "Requires authentication")
        scheme, _, value = header.partition(" ")
        token = self.tokens.get(value) if scheme.lower() in ("token", "bearer") else None
        return token if token is not None else _error(401, "Bad credentials")

    def _user_answer(self, token: Token) -> tuple[int, Any, dict[str, str]]:
        if not token.reads_user:
            return _error(403, "Resource not accessible by integration")
        user = self.spec.example("users/get-authenticated", 200, "response-with-public-profile-information")
        user.update(self._user(token.account))
        return 200, user, {}

    # -- building answers --

    def _now(self) -> str:
        self._clock += timedelta(seconds=1)
        return self._clock.strftime("%Y-%m-%dT%H:%M:%SZ")

    def _user(self, account: Account) -> dict[str, Any]:
        user = self.spec.example("issues/create-comment", 201)["user"]
        api = f"{self.url}/users/{account.login}"
        user.update(login=account.login, id=account.id, type=account.type, node_id=f"U_{account.id}",
                    url=api, html_url=f"https://github.com/{account.login}")
        return user

    def _comment(self, operation_id: str, author: Account, body: str, number: int | None = None,
                 commit_sha: str = "") -> dict[str, Any]:
        comment_id = next(self._ids)
        now = self._now()
        repo_api = f"{self.url}/repos/{self.repository}"
        comment = self.spec.example(operation_id, 201)
        comment.update(id=comment_id, node_id=f"IC_{comment_id}", body=body, user=self._user(author),
                       created_at=now, updated_at=now)
        comment.pop("reactions", None)
        if number is not None:
            comment.update(url=f"{repo_api}/issues/comments/{comment_id}",
                           html_url=f"https://github.com/{self.repository}/pull/{number}#issuecomment-{comment_id}",
                           issue_url=f"{repo_api}/issues/{number}")
        else:
            comment.update(url=f"{repo_api}/comments/{comment_id}", commit_id=commit_sha,
                           html_url=f"https://github.com/{self.repository}/commit/{commit_sha}#commitcomment-{comment_id}",
                           path=None, position=None, line=None)
        return comment

    def _branch_tip(self, branch: str) -> str | None:
        """A branch's sha now: through `branch_sha` if set, else from the git refs the API made."""
        if self.branch_sha is not None:
            return self.branch_sha(branch)
        return self.refs.get(f"refs/heads/{branch}")

    def _head_sha(self, pull: Pull) -> str:
        """An open same-repository pull follows its head branch; a closed one keeps the head it had."""
        if self.branch_sha is not None and pull.state == "open" and pull.head_owner in ("", self.owner):
            pull.head_sha = self.branch_sha(pull.head_ref) or pull.head_sha
        return pull.head_sha

    def _set_state(self, pull: Pull, state: str) -> None:
        self._head_sha(pull)  # closing freezes the head at the branch's sha now
        now = self._now()
        pull.state, pull.updated_at, pull.closed_at = state, now, now if state == "closed" else None

    def _open_duplicate(self, head_owner: str, head_ref: str, base_ref: str, other_than: int = 0) -> Pull | None:
        return next((p for p in self.pulls.values() if p.state == "open" and p.number != other_than
                     and (p.head_owner or self.owner) == head_owner and p.head_ref == head_ref
                     and p.base_ref == base_ref), None)

    def _pull_json(self, pull: Pull) -> dict[str, Any]:
        """The `pull-request` object (the description's example with this pull's values)."""
        data = self.spec.example("pulls/get", 200)
        repo_api = f"{self.url}/repos/{self.repository}"
        pull_api, issue_api = f"{repo_api}/pulls/{pull.number}", f"{repo_api}/issues/{pull.number}"
        html = f"https://github.com/{self.repository}/pull/{pull.number}"
        head_sha = self._head_sha(pull)
        data.update(
            id=2000 + pull.number, node_id=f"PR_{2000 + pull.number}", number=pull.number, state=pull.state,
            url=pull_api, html_url=html, diff_url=f"{html}.diff", patch_url=f"{html}.patch", issue_url=issue_api,
            commits_url=f"{pull_api}/commits", review_comments_url=f"{pull_api}/comments",
            review_comment_url=f"{repo_api}/pulls/comments{{/number}}", comments_url=f"{issue_api}/comments",
            statuses_url=f"{repo_api}/statuses/{head_sha}", title=pull.title, body=pull.body, locked=False,
            active_lock_reason=None, labels=[], milestone=None, assignee=None, assignees=[], requested_reviewers=[],
            requested_teams=[], created_at=pull.created_at, updated_at=pull.updated_at or pull.created_at,
            closed_at=pull.closed_at, merged_at=None, merge_commit_sha=None, merged=False, merged_by=None,
            mergeable=None, rebaseable=None, mergeable_state="unknown", draft=pull.draft,
            maintainer_can_modify=pull.maintainer_can_modify, comments=len(self.issue_comments.get(pull.number, [])),
            review_comments=0,
        )
        data["_links"] = {
            "self": {"href": pull_api}, "html": {"href": html}, "issue": {"href": issue_api},
            "comments": {"href": f"{issue_api}/comments"}, "review_comments": {"href": f"{pull_api}/comments"},
            "review_comment": {"href": f"{repo_api}/pulls/comments{{/number}}"},
            "commits": {"href": f"{pull_api}/commits"}, "statuses": {"href": f"{repo_api}/statuses/{head_sha}"},
        }
        if pull.user is not None:
            data["user"] = self._user(pull.user)
        head_owner = pull.head_owner or self.owner
        data["head"].update(sha=head_sha, ref=pull.head_ref, label=f"{head_owner}:{pull.head_ref}")
        data["head"]["repo"].update(full_name=f"{head_owner}/{self.name}", name=self.name,
                                    url=f"{self.url}/repos/{head_owner}/{self.name}",
                                    fork=head_owner != self.owner)
        data["head"]["repo"]["owner"]["login"] = head_owner
        data["head"]["user"]["login"] = head_owner
        data["base"].update(sha=pull.base_sha, ref=pull.base_ref, label=f"{self.owner}:{pull.base_ref}")
        data["base"]["repo"].update(full_name=self.repository, name=self.name, url=repo_api, fork=False)
        data["base"]["repo"]["owner"]["login"] = self.owner
        data["base"]["user"]["login"] = self.owner
        return data

    def _pull_simple_json(self, pull: Pull) -> dict[str, Any]:
        """A list's `pull-request-simple`: the full object without what only GET pulls/{n} computes."""
        schemas = self.spec.document["components"]["schemas"]
        simple = schemas["pull-request-simple"]["properties"]
        return {key: value for key, value in self._pull_json(pull).items()
                if key in simple or key not in schemas["pull-request"]["properties"]}

    def _page(self, items: list[Any], query: dict[str, str], path: str) -> tuple[int, Any, dict[str, str]]:
        """GitHub's pagination: per_page (default 30, at most 100), page, and a Link header."""
        per_page = min(int(query.get("per_page", 30)), 100)
        page = int(query.get("page", 1))
        last = max(1, -(-len(items) // per_page))
        links = []

        def link(number: int, rel: str) -> str:
            return f'<{self.url}{path}?{urlencode({**query, "page": number})}>; rel="{rel}"'

        if page < last:
            links += [link(page + 1, "next"), link(last, "last")]
        if page > 1:
            links += [link(1, "first"), link(page - 1, "prev")]
        chunk = items[(page - 1) * per_page : page * per_page]
        return 200, chunk, {"Link": ", ".join(links)} if links else {}

    def _find_comment(self, comment_id: int, issue: bool) -> tuple[list[dict[str, Any]], dict[str, Any]] | None:
        threads = self.issue_comments.values() if issue else self.commit_comments.values()
        for thread in threads:
            for comment in thread:
                if comment["id"] == comment_id:
                    return thread, comment
        return None


def _error(status: int, message: str, **extra: Any) -> tuple[int, Any, dict[str, str]]:
    return status, {"message": message, "documentation_url": DOCS, **extra}, {}


def _too_long(body: str, resource: str) -> tuple[int, Any, dict[str, str]] | None:
    if len(body) <= COMMENT_BODY_LIMIT:
        return None
    detail = {"resource": resource, "code": "custom", "field": "body",
              "message": f"body is too long (maximum is {COMMENT_BODY_LIMIT} characters)"}
    return _error(422, "Validation Failed", errors=[detail])


# -- one handler per operation id ----------------------------------------------------------------

Answer = tuple[int, Any, dict[str, str]]


def _pulls_get(fake: FakeGitHub, token: Token, params: dict, query: dict, body: dict) -> Answer:
    pull = fake.pulls.get(int(params["pull_number"]))
    return (200, fake._pull_json(pull), {}) if pull else _error(404, "Not Found")


def _pulls_list(fake: FakeGitHub, token: Token, params: dict, query: dict, body: dict) -> Answer:
    pulls = [p for p in fake.pulls.values() if query.get("state", "open") in ("all", p.state)]
    if ":" in query.get("head", ""):  # GitHub ignores a head without the "owner:" part
        owner, _, branch = query["head"].partition(":")
        pulls = [p for p in pulls if (p.head_owner or fake.owner) == owner and p.head_ref == branch]
    if "base" in query:
        pulls = [p for p in pulls if p.base_ref == query["base"]]
    sort = query.get("sort", "created")
    descending = query.get("direction", "desc" if sort == "created" else "asc") == "desc"
    if sort == "updated":
        pulls.sort(key=lambda p: (p.updated_at or p.created_at, p.number), reverse=descending)
    else:  # created; popularity and long-running are not modelled: by creation too
        pulls.sort(key=lambda p: p.number, reverse=descending)
    items = [fake._pull_simple_json(p) for p in pulls]
    return fake._page(items, query, f"/repos/{fake.repository}/pulls")


PULLS_DOCS = f"{DOCS}/pulls/pulls"


def _invalid_pull(status: int, operation: str, summary: str, **error: str) -> Answer:
    """GitHub's answer to a pull request it refuses (`error`: the one entry of its `errors`), with
    the `status` newer GitHub adds."""
    errors = {"errors": [{"resource": "PullRequest", **error}]} if error else {}
    return status, {"message": summary, **errors, "documentation_url": f"{PULLS_DOCS}#{operation}",
                    "status": str(status)}, {}


def _pull_exists(operation: str, head_owner: str, head_ref: str) -> Answer:
    return _invalid_pull(422, operation, "Validation Failed", code="custom",
                         message=f"A pull request already exists for {head_owner}:{head_ref}.")


def _pulls_create(fake: FakeGitHub, token: Token, params: dict, query: dict, body: dict) -> Answer:
    operation = "create-a-pull-request"
    if token.account == ACTIONS_BOT and not fake.actions_can_create_pulls:
        return _invalid_pull(403, operation, "GitHub Actions is not permitted to create or approve pull requests.")
    if "issue" in body or body.get("head_repo", fake.repository) != fake.repository:
        fake.violations.append("the fake does not implement pulls/create from an issue or from head_repo")
        return _error(501, "Not Implemented")
    head_owner, _, head_ref = body["head"].rpartition(":")
    head_owner = head_owner or fake.owner
    if not body.get("title"):
        return _invalid_pull(422, operation, "Validation Failed", field="title", code="missing_field")
    if head_owner != fake.owner:  # the fake has no forks
        return _invalid_pull(422, operation, "Validation Failed", field="head", code="invalid")
    # Check and create in one go: _handle holds the fake's lock, as GitHub serializes a repository's writes.
    if fake._open_duplicate(head_owner, head_ref, body["base"]):
        return _pull_exists(operation, head_owner, head_ref)
    head_sha, base_sha = fake._branch_tip(head_ref), fake._branch_tip(body["base"])
    if head_sha is None:
        return _invalid_pull(422, operation, "Validation Failed", field="head", code="invalid")
    if base_sha is None:
        return _invalid_pull(422, operation, "Validation Failed", field="base", code="invalid")
    if head_sha == base_sha:
        return _invalid_pull(422, operation, "Validation Failed", code="custom",
                             message=f"No commits between {body['base']} and {head_ref}")
    number = max([0, *fake.pulls, *fake.issue_comments]) + 1
    now = fake._now()
    pull = fake._add_pull(Pull(
        number, head_sha, base_sha, head_ref=head_ref, base_ref=body["base"], title=body["title"],
        body=body.get("body"), user=token.account, draft=body.get("draft", False),
        maintainer_can_modify=body.get("maintainer_can_modify", False), created_at=now, updated_at=now,
    ))
    answer = fake._pull_json(pull)
    return 201, answer, {"Location": answer["url"]}


def _pulls_update(fake: FakeGitHub, token: Token, params: dict, query: dict, body: dict) -> Answer:
    operation = "update-a-pull-request"
    pull = fake.pulls.get(int(params["pull_number"]))
    if pull is None:
        return _error(404, "Not Found")
    base = body.get("base", pull.base_ref)
    if base != pull.base_ref and fake._branch_tip(base) is None:
        return _invalid_pull(422, operation, "Validation Failed", field="base", code="invalid")
    state = body.get("state", pull.state)
    if state == "open" and fake._open_duplicate(pull.head_owner or fake.owner, pull.head_ref, base, pull.number):
        return _pull_exists(operation, pull.head_owner or fake.owner, pull.head_ref)
    if state != pull.state:
        fake._set_state(pull, state)
    if base != pull.base_ref:
        pull.base_ref, pull.base_sha = base, fake._branch_tip(base) or pull.base_sha
    pull.title = body.get("title", pull.title)
    pull.body = body.get("body", pull.body)
    pull.maintainer_can_modify = body.get("maintainer_can_modify", pull.maintainer_can_modify)
    pull.updated_at = fake._now()
    return 200, fake._pull_json(pull), {}


def _issue_comments_list(fake: FakeGitHub, token: Token, params: dict, query: dict, body: dict) -> Answer:
    number = int(params["issue_number"])
    if number not in fake.pulls:
        return _error(404, "Not Found")
    return fake._page(fake.issue_comments[number], query, f"/repos/{fake.repository}/issues/{number}/comments")


def _issue_comment_create(fake: FakeGitHub, token: Token, params: dict, query: dict, body: dict) -> Answer:
    number = int(params["issue_number"])
    if number not in fake.pulls:
        return _error(404, "Not Found")
    if refused := _too_long(body["body"], "IssueComment"):
        return refused
    comment = fake._comment("issues/create-comment", token.account, body["body"], number=number)
    fake.issue_comments[number].append(comment)
    return 201, comment, {"Location": comment["url"]}


def _comment_update(issue: bool) -> Callable[..., Answer]:
    def handler(fake: FakeGitHub, token: Token, params: dict, query: dict, body: dict) -> Answer:
        found = fake._find_comment(int(params["comment_id"]), issue)
        if found is None:
            return _error(404, "Not Found")
        if refused := _too_long(body["body"], "IssueComment" if issue else "CommitComment"):
            return refused
        found[1].update(body=body["body"], updated_at=fake._now())
        return 200, found[1], {}

    return handler


def _comment_delete(issue: bool) -> Callable[..., Answer]:
    def handler(fake: FakeGitHub, token: Token, params: dict, query: dict, body: dict) -> Answer:
        found = fake._find_comment(int(params["comment_id"]), issue)
        if found is None:
            return _error(404, "Not Found")
        found[0].remove(found[1])
        return 204, None, {}

    return handler


def _commit_comments_list(fake: FakeGitHub, token: Token, params: dict, query: dict, body: dict) -> Answer:
    sha = params["commit_sha"]
    return fake._page(fake.commit_comments.get(sha, []), query, f"/repos/{fake.repository}/commits/{sha}/comments")


def _commit_comment_create(fake: FakeGitHub, token: Token, params: dict, query: dict, body: dict) -> Answer:
    if refused := _too_long(body["body"], "CommitComment"):
        return refused
    sha = params["commit_sha"]
    comment = fake._comment("repos/create-commit-comment", token.account, body["body"], commit_sha=sha)
    fake.commit_comments.setdefault(sha, []).append(comment)
    return 201, comment, {"Location": comment["url"]}


def _status_create(fake: FakeGitHub, token: Token, params: dict, query: dict, body: dict) -> Answer:
    status = fake.spec.example("repos/create-commit-status", 201)
    status.update(state=body["state"], description=body.get("description"), target_url=body.get("target_url"),
                  context=body.get("context", "default"), id=next(fake._ids), creator=fake._user(token.account))
    fake.statuses.append({"sha": params["sha"], **body})
    return 201, status, {}


def _git_sha(kind: str, data: bytes) -> str:
    return hashlib.sha1(f"{kind} {len(data)}\0".encode() + data).hexdigest()


def _blob_create(fake: FakeGitHub, token: Token, params: dict, query: dict, body: dict) -> Answer:
    encoding = body.get("encoding", "utf-8")
    data = base64.b64decode(body["content"], validate=True) if encoding == "base64" else body["content"].encode()
    sha = _git_sha("blob", data)
    fake.blobs[sha] = data
    return 201, {"url": f"{fake.url}/repos/{fake.repository}/git/blobs/{sha}", "sha": sha}, {}


def _tree_create(fake: FakeGitHub, token: Token, params: dict, query: dict, body: dict) -> Answer:
    entries = dict(fake.trees.get(body["base_tree"], {})) if "base_tree" in body else {}
    if "base_tree" in body and body["base_tree"] not in fake.trees:
        return _error(422, "Invalid tree info")
    for entry in body["tree"]:
        if entry.get("sha") not in fake.blobs:
            return _error(422, "Invalid tree info", errors=[f"{entry.get('sha')} is not a blob"])
        entries[entry["path"]] = entry["sha"]
    sha = _git_sha("tree", json.dumps(entries, sort_keys=True).encode())
    fake.trees[sha] = entries
    answer = fake.spec.example("git/create-tree", 201)
    answer.update(sha=sha, url=f"{fake.url}/repos/{fake.repository}/git/trees/{sha}", truncated=False,
                  tree=[{"path": path, "mode": "100644", "type": "blob", "sha": blob, "size": len(fake.blobs[blob]),
                         "url": f"{fake.url}/repos/{fake.repository}/git/blobs/{blob}"} for path, blob in entries.items()])
    return 201, answer, {}


def _commit_json(fake: FakeGitHub, sha: str, operation_id: str, status: int) -> dict[str, Any]:
    commit = fake.commits[sha]
    repo_api = f"{fake.url}/repos/{fake.repository}"
    answer = fake.spec.example(operation_id, status)
    answer.update(sha=sha, node_id=f"C_{sha[:10]}", url=f"{repo_api}/git/commits/{sha}",
                  html_url=f"https://github.com/{fake.repository}/commit/{sha}", message=commit["message"],
                  tree={"sha": commit["tree"], "url": f"{repo_api}/git/trees/{commit['tree']}"},
                  parents=[{"sha": p, "url": f"{repo_api}/git/commits/{p}",
                            "html_url": f"https://github.com/{fake.repository}/commit/{p}"} for p in commit["parents"]])
    return answer


def _commit_create(fake: FakeGitHub, token: Token, params: dict, query: dict, body: dict) -> Answer:
    if body["tree"] not in fake.trees or any(p not in fake.commits for p in body.get("parents", [])):
        return _error(422, "Tree SHA does not exist or parent SHA does not exist")
    record = {"tree": body["tree"], "parents": body.get("parents", []), "message": body["message"]}
    sha = _git_sha("commit", json.dumps([record, fake._now()]).encode())
    fake.commits[sha] = record
    return 201, _commit_json(fake, sha, "git/create-commit", 201), {}


def _commit_get(fake: FakeGitHub, token: Token, params: dict, query: dict, body: dict) -> Answer:
    sha = params["commit_sha"]
    return (200, _commit_json(fake, sha, "git/get-commit", 200), {}) if sha in fake.commits else _error(404, "Not Found")


def _ref_json(fake: FakeGitHub, ref: str, operation_id: str, status: int) -> dict[str, Any]:
    sha = fake.refs[ref]
    answer = fake.spec.example(operation_id, status)
    answer.update(ref=ref, node_id=f"REF_{sha[:8]}", url=f"{fake.url}/repos/{fake.repository}/git/{ref}",
                  object={"type": "commit", "sha": sha, "url": f"{fake.url}/repos/{fake.repository}/git/commits/{sha}"})
    return answer


def _ref_get(fake: FakeGitHub, token: Token, params: dict, query: dict, body: dict) -> Answer:
    ref = f"refs/{params['ref']}"
    return (200, _ref_json(fake, ref, "git/get-ref", 200), {}) if ref in fake.refs else _error(404, "Not Found")


def _ref_create(fake: FakeGitHub, token: Token, params: dict, query: dict, body: dict) -> Answer:
    if body["ref"] in fake.refs:
        return _error(422, "Reference already exists")
    if not body["ref"].startswith("refs/") or body["sha"] not in fake.commits:
        return _error(422, "Object does not exist")
    fake.refs[body["ref"]] = body["sha"]
    return 201, _ref_json(fake, body["ref"], "git/create-ref", 201), {}


def _ref_update(fake: FakeGitHub, token: Token, params: dict, query: dict, body: dict) -> Answer:
    ref = f"refs/{params['ref']}"
    if ref not in fake.refs:
        return _error(422, "Reference does not exist")
    if body["sha"] not in fake.commits:
        return _error(422, "Object does not exist")
    if not body.get("force") and fake.refs[ref] not in _ancestors(fake, body["sha"]):
        return _error(422, "Update is not a fast forward")
    fake.refs[ref] = body["sha"]
    return 200, _ref_json(fake, ref, "git/update-ref", 200), {}


def _ancestors(fake: FakeGitHub, sha: str) -> set[str]:
    seen, todo = set(), [sha]
    while todo:
        current = todo.pop()
        if current not in seen:
            seen.add(current)
            todo += fake.commits[current]["parents"]
    return seen


CHECK_OUTPUT_LIMIT = 65_535  # characters of a check run's output.summary (and of .text)


def _check_run_json(fake: FakeGitHub, token: Token, body: dict, check_id: int) -> dict[str, Any]:
    answer = fake.spec.example("checks/create", 201)
    answer.update(
        id=check_id, node_id=f"CR_{check_id}", name=body["name"], head_sha=body["head_sha"],
        external_id=body.get("external_id", ""), details_url=body.get("details_url"),
        url=f"{fake.url}/repos/{fake.repository}/check-runs/{check_id}",
        html_url=f"https://github.com/{fake.repository}/runs/{check_id}",
        status=body.get("status", "completed" if body.get("conclusion") else "queued"),
        conclusion=body.get("conclusion"), started_at=fake._now(),
        completed_at=fake._now() if body.get("conclusion") else None,
        output={"title": None, "summary": None, "text": None, "annotations_count": 0,
                "annotations_url": f"{fake.url}/repos/{fake.repository}/check-runs/{check_id}/annotations",
                **{key: value for key, value in (body.get("output") or {}).items() if key in ("title", "summary", "text")}},
        check_suite={"id": 1},
        app={**answer["app"], "slug": "github-actions", "name": "GitHub Actions"} if token.account == ACTIONS_BOT
        else answer["app"],
        pull_requests=[],
    )
    return answer


def _check_output_too_long(body: dict) -> Answer | None:
    for field_name in ("summary", "text"):
        text = (body.get("output") or {}).get(field_name) or ""
        if len(text) > CHECK_OUTPUT_LIMIT:
            return _error(422, "Invalid request.\n\nOnly 65535 characters are allowed; "
                          f"{len(text)} were supplied.", documentation_url="https://docs.github.com/rest/checks/runs")
    return None


def _check_create(fake: FakeGitHub, token: Token, params: dict, query: dict, body: dict) -> Answer:
    if refused := _check_output_too_long(body):
        return refused
    check = _check_run_json(fake, token, body, next(fake._ids))
    fake.check_runs.append(check)
    return 201, check, {}


def _check_update(fake: FakeGitHub, token: Token, params: dict, query: dict, body: dict) -> Answer:
    found = [check for check in fake.check_runs if check["id"] == int(params["check_run_id"])]
    if not found:
        return _error(404, "Not Found")
    if refused := _check_output_too_long(body):
        return refused
    merged = {"name": found[0]["name"], "head_sha": found[0]["head_sha"], "external_id": found[0]["external_id"],
              "details_url": found[0]["details_url"], "status": found[0]["status"],
              "conclusion": found[0]["conclusion"], **body,
              "output": {**{key: found[0]["output"][key] for key in ("title", "summary", "text")},
                         **(body.get("output") or {})}}
    check = _check_run_json(fake, token, merged, found[0]["id"])
    fake.check_runs[fake.check_runs.index(found[0])] = check
    return 200, check, {}


def _check_runs_for_ref(fake: FakeGitHub, token: Token, params: dict, query: dict, body: dict) -> Answer:
    runs = [check for check in fake.check_runs if check["head_sha"] == params["ref"]
            and query.get("check_name") in (None, check["name"])]
    status, page, headers = fake._page(runs, query, f"/repos/{fake.repository}/commits/{params['ref']}/check-runs")
    return status, {"total_count": len(runs), "check_runs": page}, headers


HANDLERS: dict[str, Callable[..., Answer]] = {
    "checks/create": _check_create,
    "checks/update": _check_update,
    "checks/list-for-ref": _check_runs_for_ref,
    "pulls/get": _pulls_get,
    "pulls/list": _pulls_list,
    "pulls/create": _pulls_create,
    "pulls/update": _pulls_update,
    "issues/list-comments": _issue_comments_list,
    "issues/create-comment": _issue_comment_create,
    "issues/update-comment": _comment_update(issue=True),
    "issues/delete-comment": _comment_delete(issue=True),
    "repos/list-comments-for-commit": _commit_comments_list,
    "repos/create-commit-comment": _commit_comment_create,
    "repos/update-commit-comment": _comment_update(issue=False),
    "repos/delete-commit-comment": _comment_delete(issue=False),
    "repos/create-commit-status": _status_create,
    "git/create-blob": _blob_create,
    "git/create-tree": _tree_create,
    "git/create-commit": _commit_create,
    "git/get-commit": _commit_get,
    "git/get-ref": _ref_get,
    "git/create-ref": _ref_create,
    "git/update-ref": _ref_update,
}


@contextlib.contextmanager
def running(fake: FakeGitHub) -> Iterator[FakeGitHub]:
    """Serve `fake`; afterwards fail the test if any request broke GitHub's REST description."""
    with fake:
        yield fake
    assert not fake.violations, "requests GitHub's REST description does not allow:\n" + "\n".join(fake.violations)


# -- what the Actions runner gives a job: environment and event payload -------------------------


def _repo_payload(full_name: str, api_url: str, fork: bool = False) -> dict[str, Any]:
    owner, name = full_name.split("/")
    return {
        "id": zlib.crc32(full_name.encode()), "node_id": "R_kgDOexample", "name": name, "full_name": full_name,
        "private": False, "owner": {"login": owner, "id": 9000, "type": "Organization"},
        "html_url": f"https://github.com/{full_name}", "fork": fork, "url": f"{api_url}/repos/{full_name}",
        "default_branch": "main",
    }


def _sender(login: str) -> dict[str, Any]:
    return {"login": login, "id": 1001, "type": "User", "site_admin": False}


def pull_request_event(repository: str, number: int, head_sha: str, base_sha: str, api_url: str,
                       head_repository: str | None = None, head_ref: str = "feature", action: str = "synchronize"
                       ) -> dict[str, Any]:
    """A `pull_request` webhook payload as Actions writes it to GITHUB_EVENT_PATH (fields mrbot
    does not read trimmed, shapes kept)."""
    head_repository = head_repository or repository
    head_owner = head_repository.split("/")[0]
    pull_url = f"{api_url}/repos/{repository}/pulls/{number}"
    return {
        "action": action,
        "number": number,
        "pull_request": {
            "url": pull_url, "id": 2000 + number, "node_id": "PR_kwDOexample", "number": number,
            "html_url": f"https://github.com/{repository}/pull/{number}", "state": "open", "locked": False,
            "title": "Raise the learning rate", "user": _sender(head_owner), "body": None, "draft": False,
            "head": {"label": f"{head_owner}:{head_ref}", "ref": head_ref, "sha": head_sha, "user": _sender(head_owner),
                     "repo": _repo_payload(head_repository, api_url, fork=head_repository != repository)},
            "base": {"label": f"{repository.split('/')[0]}:main", "ref": "main", "sha": base_sha,
                     "user": _sender(repository.split("/")[0]), "repo": _repo_payload(repository, api_url)},
            "merged": False, "mergeable": None, "comments": 0, "commits": 1,
        },
        "repository": _repo_payload(repository, api_url),
        "sender": _sender(head_owner),
    }


def workflow_run_event(repository: str, head_sha: str, api_url: str, pull: tuple[int, str] | None = None,
                       head_repository: str | None = None, head_branch: str = "feature",
                       event: str = "pull_request") -> dict[str, Any]:
    """A `workflow_run` (completed) payload. `pull` = (number, base sha) lists the PR the way GitHub
    does for same-repository PRs; for a PR from a fork GitHub leaves `pull_requests` empty."""
    head_repository = head_repository or repository
    repo_api = f"{api_url}/repos/{repository}"
    pulls = []
    if pull is not None:
        number, base_sha = pull
        small_repo = {"id": 1, "url": repo_api, "name": repository.split("/")[1]}
        pulls = [{"url": f"{repo_api}/pulls/{number}", "id": 2000 + number, "number": number,
                  "head": {"ref": head_branch, "sha": head_sha, "repo": small_repo},
                  "base": {"ref": "main", "sha": base_sha, "repo": small_repo}}]
    return {
        "action": "completed",
        "workflow_run": {
            "id": 30433642, "name": "mrbot report", "node_id": "WFR_example", "head_branch": head_branch,
            "head_sha": head_sha, "path": ".github/workflows/mrbot-report.yml", "run_number": 562,
            "event": event, "status": "completed", "conclusion": "success", "workflow_id": 159038,
            "url": f"{repo_api}/actions/runs/30433642", "pull_requests": pulls,
            "head_repository": _repo_payload(head_repository, api_url, fork=head_repository != repository),
            "repository": _repo_payload(repository, api_url),
        },
        "workflow": {"id": 159038, "name": "mrbot report", "path": ".github/workflows/mrbot-report.yml"},
        "repository": _repo_payload(repository, api_url),
        "sender": _sender("octo-maintainer"),
    }


def push_event(repository: str, before: str, after: str, api_url: str, ref: str = "refs/heads/main") -> dict[str, Any]:
    return {
        "ref": ref, "before": before, "after": after, "created": before.strip("0") == "", "deleted": False,
        "forced": False, "base_ref": None, "compare": f"https://github.com/{repository}/compare/{before[:12]}...{after[:12]}",
        "commits": [{"id": after, "message": "Train longer", "distinct": True}],
        "head_commit": {"id": after, "message": "Train longer"},
        "repository": _repo_payload(repository, api_url), "pusher": {"name": "octo-maintainer"},
        "sender": _sender("octo-maintainer"),
    }


def workflow_dispatch_event(repository: str, api_url: str, ref: str = "refs/heads/main") -> dict[str, Any]:
    return {"inputs": {}, "ref": ref, "repository": _repo_payload(repository, api_url),
            "sender": _sender("octo-maintainer"), "workflow": ".github/workflows/mrbot.yml"}


def actions_environ(folder: Path, event_name: str, payload: dict[str, Any], repository: str, api_url: str,
                    sha: str, **more: str) -> dict[str, str]:
    """The variables the Actions runner sets for a step (the ones mrbot reads), with the payload
    written to GITHUB_EVENT_PATH; `more` adds or overrides (GITHUB_TOKEN=...)."""
    folder.mkdir(parents=True, exist_ok=True)
    event_path = folder / "event.json"
    event_path.write_text(json.dumps(payload, indent=2), encoding="utf-8")
    return {
        "CI": "true", "GITHUB_ACTIONS": "true", "GITHUB_EVENT_NAME": event_name, "GITHUB_EVENT_PATH": str(event_path),
        "GITHUB_REPOSITORY": repository, "GITHUB_SHA": sha, "GITHUB_API_URL": api_url,
        "GITHUB_SERVER_URL": "https://github.com", "GITHUB_RUN_ID": "4242", "GITHUB_WORKFLOW": "mrbot",
        "GITHUB_STEP_SUMMARY": str(folder / "step_summary.md"), "GITHUB_OUTPUT": str(folder / "output.txt"),
        **more,
    }
