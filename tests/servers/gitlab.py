"""A fake GitLab REST v4 on 127.0.0.1, answering the calls mrbot makes the way GitLab documents them:
PRIVATE-TOKEN auth, offset pagination (X-Page, X-Next-Page, X-Total, Link), {"message": ...} errors,
the uploads JSON. State is plain data the tests set up and inspect; `fail()` injects errors.

Tokens carry scopes (a `read_api` token gets GitLab's 403 insufficient_scope on any write) and a role
(below Developer, opening or editing a merge request is 403). A CI_JOB_TOKEN, sent as JOB-TOKEN, is
not accepted by the merge request API: 401, as on GitLab."""

from __future__ import annotations

import itertools
import re
import secrets
import threading
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any, Callable
from urllib.parse import urlencode

from werkzeug.exceptions import HTTPException, NotFound
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from tests.servers.base import LocalServer, json_response

NOTE_LIMIT = 1_000_000
_EPOCH = datetime(2026, 1, 1, tzinfo=timezone.utc)


@dataclass
class User:
    id: int
    username: str


@dataclass
class Note:
    id: int
    body: str
    author: User
    created_at: str
    system: bool = False
    updated_at: str = ""


@dataclass
class MergeRequest:
    iid: int
    sha: str  # with `FakeGitLab.branch_sha` set, an opened MR's sha is read through it instead
    source_branch: str = "feature"
    target_branch: str = "main"
    state: str = "opened"  # or "closed", "merged", "locked"
    notes: list[Note] = field(default_factory=list)
    title: str = "Raise the learning rate"
    description: str | None = None
    author: User | None = None  # None: shown as GitLab's first user, root
    created_at: str = "2026-01-01T00:00:00Z"
    updated_at: str = ""  # "": created_at
    closed_at: str | None = None
    closed_by: User | None = None
    remove_source_branch: bool | None = None
    squash: bool = False


@dataclass
class Discussion:
    id: str
    notes: list[Note] = field(default_factory=list)


@dataclass
class Fault:
    method: str
    path: re.Pattern[str]
    status: int
    body: str | dict[str, Any]
    headers: dict[str, str]
    times: int | None  # None: every time


@dataclass
class FakeGitLab:
    project_id: int = 42
    project_path: str = "group/project"
    tokens: dict[str, User] = field(default_factory=dict)
    merge_requests: dict[int, MergeRequest] = field(default_factory=dict)
    commit_merge_requests: dict[str, list[int]] = field(default_factory=dict)
    commit_discussions: dict[str, list[Discussion]] = field(default_factory=dict)
    uploads: list[dict[str, Any]] = field(default_factory=list)
    upload_files: dict[str, bytes] = field(default_factory=dict)
    statuses: list[dict[str, Any]] = field(default_factory=list)
    faults: list[Fault] = field(default_factory=list)
    token_scopes: dict[str, frozenset[str]] = field(default_factory=dict)  # token -> scopes; absent: api
    roles: dict[int, str] = field(default_factory=dict)  # user id -> role in the project; absent: developer
    # Branch name -> sha, for merge requests opened through the API when `branch_sha` is not set.
    branches: dict[str, str] = field(default_factory=dict)
    # Branch name -> its sha now (e.g. read from a real bare repository), or None if there is no such
    # branch. When set, opened MRs' sha is read through it each time an MR is served (called under
    # the fake's lock: it must not call the fake). Unset: MRs keep `sha`, new ones read `branches`.
    branch_sha: Callable[[str], str | None] | None = None

    def __post_init__(self) -> None:
        self._ids = itertools.count(1000)
        self._clock = itertools.count(1)
        self._lock = threading.Lock()
        self.server = LocalServer(self._handle)
        self._urls = Map(
            [
                Rule("/api/v4/user", endpoint="user", methods=["GET"]),
                Rule("/api/v4/projects/<int:pid>", endpoint="project", methods=["GET"]),
                Rule("/api/v4/projects/<int:pid>/merge_requests", endpoint="mrs", methods=["GET", "POST"]),
                Rule("/api/v4/projects/<int:pid>/merge_requests/<int:iid>", endpoint="mr", methods=["GET", "PUT"]),
                Rule("/api/v4/projects/<int:pid>/merge_requests/<int:iid>/notes", endpoint="mr_notes",
                     methods=["GET", "POST"]),
                Rule("/api/v4/projects/<int:pid>/merge_requests/<int:iid>/notes/<int:note_id>",
                     endpoint="mr_note", methods=["PUT", "DELETE"]),
                Rule("/api/v4/projects/<int:pid>/repository/commits/<sha>/merge_requests", endpoint="commit_mrs",
                     methods=["GET"]),
                Rule("/api/v4/projects/<int:pid>/repository/commits/<sha>/discussions", endpoint="discussions",
                     methods=["GET", "POST"]),
                Rule("/api/v4/projects/<int:pid>/repository/commits/<sha>/discussions/<did>/notes/<int:note_id>",
                     endpoint="discussion_note", methods=["PUT", "DELETE"]),
                Rule("/api/v4/projects/<int:pid>/uploads", endpoint="upload", methods=["POST"]),
                Rule("/api/v4/projects/<int:pid>/statuses/<sha>", endpoint="status", methods=["POST"]),
            ]
        )

    # --- set-up helpers -------------------------------------------------------------------------

    def add_token(self, token: str, user_id: int, username: str, scopes: tuple[str, ...] = ("api",),
                  role: str = "developer") -> User:
        """A token of `username` with these scopes (("read_api",): read-only) and role in the project
        (guest, reporter, developer, maintainer, owner)."""
        user = User(user_id, username)
        self.tokens[token] = user
        self.token_scopes[token] = frozenset(scopes)
        self.roles[user_id] = role
        return user

    def add_merge_request(self, iid: int, sha: str, source_branch: str = "feature",
                          target_branch: str = "main") -> MergeRequest:
        with self._lock:
            return self._add_merge_request(MergeRequest(iid, sha, source_branch, target_branch))

    def _add_merge_request(self, merge_request: MergeRequest) -> MergeRequest:
        self.merge_requests[merge_request.iid] = merge_request
        self.commit_merge_requests.setdefault(merge_request.sha, []).append(merge_request.iid)
        return merge_request

    def open_merge_requests(self, branch: str | None = None) -> list[MergeRequest]:
        """The opened MRs (of source branch `branch`, if given), by iid."""
        with self._lock:
            return [mr for iid, mr in sorted(self.merge_requests.items())
                    if mr.state == "opened" and branch in (None, mr.source_branch)]

    def close_merge_request(self, iid: int) -> MergeRequest:
        """Someone closes MR !iid on the web (it keeps the sha it had then)."""
        with self._lock:
            merge_request = self.merge_requests[iid]
            self._set_state(merge_request, "closed", None)
            return merge_request

    def current_sha(self, merge_request: MergeRequest) -> str:
        """The sha GitLab would show for `merge_request` now."""
        with self._lock:
            return self._sha(merge_request)

    def add_note(self, notes: list[Note], author: User, body: str, system: bool = False) -> Note:
        note = Note(next(self._ids), body, author, self._now(), system)
        notes.append(note)
        return note

    def fail(self, method: str, path_pattern: str, status: int, body: str | dict[str, Any] | None = None,
             times: int | None = 1, headers: dict[str, str] | None = None) -> None:
        """Answer matching requests with `status` (`times` times, or always) before the real handler."""
        message = body if body is not None else {"message": f"{status} {_REASONS.get(status, 'Error')}"}
        self.faults.append(Fault(method, re.compile(path_pattern), status, message, headers or {}, times))

    def pipeline_variables(self, iid: int | None, head_sha: str, base_sha: str, **overrides: str | None) -> dict[str, str]:
        """The predefined variables of a GitLab CI job in a merge request pipeline for `iid`, pointed at
        this server; an override of None leaves a variable out (iid None: a branch pipeline)."""
        project_url = f"{self.url}/{self.project_path}"
        variables: dict[str, str | None] = {
            "CI": "true",
            "GITLAB_CI": "true",
            "CI_SERVER_URL": self.url,
            "CI_API_V4_URL": self.api_url,
            "CI_PROJECT_ID": str(self.project_id),
            "CI_PROJECT_PATH": self.project_path,
            "CI_PROJECT_URL": project_url,
            "CI_PIPELINE_SOURCE": "merge_request_event" if iid else "push",
            "CI_MERGE_REQUEST_IID": str(iid) if iid else None,
            "CI_MERGE_REQUEST_DIFF_BASE_SHA": base_sha if iid else None,
            "CI_MERGE_REQUEST_TARGET_BRANCH_NAME": "main" if iid else None,
            "CI_COMMIT_SHA": head_sha,
            "CI_PIPELINE_URL": f"{project_url}/-/pipelines/76",
            "CI_JOB_URL": f"{project_url}/-/jobs/77",
            **overrides,
        }
        return {name: value for name, value in variables.items() if value is not None}

    def requests_to(self, method: str, path_pattern: str) -> list[Any]:
        return [r for r in self.server.requests if r.method == method and re.search(path_pattern, r.path)]

    @property
    def url(self) -> str:
        return self.server.url

    @property
    def api_url(self) -> str:
        return f"{self.server.url}/api/v4"

    def __enter__(self) -> "FakeGitLab":
        self.server.__enter__()
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.server.__exit__(*exc_info)

    # --- the API ----------------------------------------------------------------------------------

    def _now(self) -> str:
        return (_EPOCH + timedelta(seconds=next(self._clock))).isoformat().replace("+00:00", "Z")

    def _handle(self, request: Request) -> Response:
        with self._lock:
            fault = self._fault_for(request)
            if fault:
                if isinstance(fault.body, str):
                    return Response(fault.body, status=fault.status, headers=fault.headers, content_type="text/html")
                return json_response(fault.body, fault.status, fault.headers)
            token = request.headers.get("PRIVATE-TOKEN", "")
            user = self.tokens.get(token)
            if user is None:
                return _error(401, "401 Unauthorized")
            if request.method != "GET" and "api" not in self.token_scopes.get(token, {"api"}):
                return json_response({"error": "insufficient_scope", "scope": "api", "error_description":
                                      "The request requires higher privileges than provided by the access token."},
                                     403, {"WWW-Authenticate": 'Bearer realm="gitlab", error="insufficient_scope"'})
            try:
                endpoint, args = self._urls.bind_to_environ(request.environ).match()
            except NotFound:
                return _error(404, "404 Not Found")
            except HTTPException as exc:
                return _error(exc.code or 405, f"{exc.code} {exc.name}")
            if args.pop("pid", self.project_id) != self.project_id:
                return _error(404, "404 Project Not Found")
            return getattr(self, f"_{endpoint}")(request, user, **args)

    def _fault_for(self, request: Request) -> Fault | None:
        for fault in self.faults:
            if fault.method == request.method and fault.path.search(request.path) and fault.times != 0:
                if fault.times is not None:
                    fault.times -= 1
                return fault
        return None

    def _user(self, request: Request, user: User) -> Response:
        # GET /user answers the token's own user with its private fields; a project bot's email is a noreply one.
        email = f"{user.username}@noreply.{request.host.split(':')[0]}"
        return json_response({"id": user.id, "username": user.username, "name": user.username, "state": "active",
                              "email": email, "commit_email": email, "public_email": None, "bot": "bot" in user.username})

    def _project_json(self, request: Request) -> dict[str, Any]:
        return {"id": self.project_id, "path_with_namespace": self.project_path,
                "web_url": f"{request.host_url.rstrip('/')}/{self.project_path}", "default_branch": "main"}

    def _project(self, request: Request, user: User) -> Response:
        return json_response(self._project_json(request))

    def _branch_tip(self, branch: str) -> str | None:
        if self.branch_sha is not None:
            return self.branch_sha(branch)
        return self.branches.get(branch)

    def _sha(self, merge_request: MergeRequest) -> str:
        """An opened MR follows its source branch; a closed or merged one keeps the sha it had."""
        if self.branch_sha is not None and merge_request.state == "opened":
            merge_request.sha = self.branch_sha(merge_request.source_branch) or merge_request.sha
        return merge_request.sha

    def _set_state(self, merge_request: MergeRequest, state: str, by: User | None) -> None:
        self._sha(merge_request)  # closing freezes the sha at the branch's sha now
        now = self._now()
        merge_request.state, merge_request.updated_at = state, now
        merge_request.closed_at, merge_request.closed_by = (now, by) if state == "closed" else (None, None)

    def _open_duplicate(self, source_branch: str, target_branch: str, other_than: int = 0) -> MergeRequest | None:
        return next((mr for mr in self.merge_requests.values() if mr.state == "opened" and mr.iid != other_than
                     and (mr.source_branch, mr.target_branch) == (source_branch, target_branch)), None)

    def _user_json(self, request: Request, user: User) -> dict[str, Any]:
        return {"id": user.id, "username": user.username, "name": user.username, "state": "active",
                "locked": False, "avatar_url": None, "web_url": f"{request.host_url.rstrip('/')}/{user.username}"}

    def _mr_json(self, request: Request, merge_request: MergeRequest) -> dict[str, Any]:
        """GitLab's merge request entity, with the fields a bot reads (no pipelines, approvals...)."""
        web_url = self._project_json(request)["web_url"]
        author = merge_request.author or User(1, "root")
        reference = f"!{merge_request.iid}"
        return {
            "id": 5000 + merge_request.iid, "iid": merge_request.iid, "project_id": self.project_id,
            "title": merge_request.title, "description": merge_request.description, "state": merge_request.state,
            "created_at": merge_request.created_at, "updated_at": merge_request.updated_at or merge_request.created_at,
            "merged_by": None, "merge_user": None, "merged_at": None,
            "closed_by": self._user_json(request, merge_request.closed_by) if merge_request.closed_by else None,
            "closed_at": merge_request.closed_at, "target_branch": merge_request.target_branch,
            "source_branch": merge_request.source_branch, "user_notes_count": len(merge_request.notes),
            "upvotes": 0, "downvotes": 0, "author": self._user_json(request, author), "assignees": [],
            "assignee": None, "reviewers": [], "source_project_id": self.project_id,
            "target_project_id": self.project_id, "labels": [], "draft": merge_request.title.startswith("Draft:"),
            "work_in_progress": merge_request.title.startswith("Draft:"), "milestone": None,
            "merge_when_pipeline_succeeds": False, "merge_status": "unchecked", "detailed_merge_status": "checking",
            "sha": self._sha(merge_request), "merge_commit_sha": None, "squash_commit_sha": None,
            "discussion_locked": None, "should_remove_source_branch": None,
            "force_remove_source_branch": merge_request.remove_source_branch, "reference": reference,
            "references": {"short": reference, "relative": reference, "full": f"{self.project_path}{reference}"},
            "web_url": f"{web_url}/-/merge_requests/{merge_request.iid}",
            "squash": merge_request.squash, "squash_on_merge": merge_request.squash, "has_conflicts": False,
            "blocking_discussions_resolved": True,
        }

    def _merge_request(self, iid: int) -> MergeRequest:
        if iid not in self.merge_requests:
            raise _Abort(_error(404, "404 Not found"))
        return self.merge_requests[iid]

    def _mrs(self, request: Request, user: User) -> Response:
        if request.method == "POST":
            return self._create_mr(request, user)
        args = request.args
        for name, allowed in (("state", MR_STATES), ("order_by", ("created_at", "updated_at", "title")),
                              ("sort", ("asc", "desc"))):
            if name in args and args[name] not in allowed:
                return _bad_param(f"{name} does not have a valid value")
        found = [mr for mr in self.merge_requests.values()
                 if args.get("state", "all") in ("all", mr.state)
                 and args.get("source_branch", mr.source_branch) == mr.source_branch
                 and args.get("target_branch", mr.target_branch) == mr.target_branch]
        order_by = args.get("order_by", "created_at")
        found.sort(key=lambda mr: (getattr(mr, order_by) or mr.created_at, mr.iid), reverse=args.get("sort") != "asc")
        return _paginate(request, [self._mr_json(request, mr) for mr in found])

    def _create_mr(self, request: Request, user: User) -> Response:
        data = _form(request)
        missing = [name for name in ("source_branch", "target_branch", "title") if not data.get(name)]
        if missing:
            return _bad_param(", ".join(f"{name} is missing" for name in missing))
        if (refused := self._refuse_role(user)) is not None:
            return refused
        source, target = data["source_branch"], data["target_branch"]
        if source == target:
            return _error(409, ["You can't use same project/branch for source and target"])
        # Check and create in one go, under the lock _handle holds.
        if conflict := self._open_duplicate(source, target):
            return _error(409, [f"Another open merge request already exists for this source branch: !{conflict.iid}"])
        sha, target_sha = self._branch_tip(source), self._branch_tip(target)
        unknown = [name for name, tip in (("source_branch", sha), ("target_branch", target_sha)) if tip is None]
        if sha is None or target_sha is None:
            return _error(400, {name: ["does not exist"] for name in unknown})
        now = self._now()
        merge_request = self._add_merge_request(MergeRequest(
            max([0, *self.merge_requests]) + 1, sha, source, target, title=data["title"],
            description=data.get("description"), author=user, created_at=now, updated_at=now,
            remove_source_branch=_flag(data.get("remove_source_branch")), squash=bool(_flag(data.get("squash"))),
        ))
        return json_response(self._mr_json(request, merge_request), 201)

    def _refuse_role(self, user: User) -> Response | None:
        if self.roles.get(user.id, "developer") in ("guest", "reporter"):
            return _error(403, "403 Forbidden")
        return None

    def _mr(self, request: Request, user: User, iid: int) -> Response:
        if request.method == "PUT":
            return _guard(lambda: self._update_mr(request, user, self._merge_request(iid)))
        return _guard(lambda: json_response(self._mr_json(request, self._merge_request(iid))))

    def _update_mr(self, request: Request, user: User, merge_request: MergeRequest) -> Response:
        data = {name: value for name, value in _form(request).items() if name in MR_UPDATABLE}
        if not data:
            return _bad_param(f"{', '.join(MR_UPDATABLE)} are missing, at least one parameter must be provided")
        if data.get("state_event", "close") not in ("close", "reopen"):
            return _bad_param("state_event does not have a valid value")
        if (refused := self._refuse_role(user)) is not None:
            return refused
        target = data.get("target_branch", merge_request.target_branch)
        if target != merge_request.target_branch and self._branch_tip(target) is None:
            return _error(400, {"target_branch": ["does not exist"]})
        reopening = data.get("state_event") == "reopen" and merge_request.state == "closed"
        retargeting = merge_request.state == "opened" and target != merge_request.target_branch
        if (reopening or retargeting) and (
                conflict := self._open_duplicate(merge_request.source_branch, target, merge_request.iid)):
            return _error(409, [f"Another open merge request already exists for this source branch: !{conflict.iid}"])
        if data.get("state_event") == "close" and merge_request.state == "opened":
            self._set_state(merge_request, "closed", user)
        elif reopening:
            self._set_state(merge_request, "opened", None)
        merge_request.target_branch = target
        merge_request.title = data.get("title", merge_request.title)
        merge_request.description = data.get("description", merge_request.description)
        if "remove_source_branch" in data:
            merge_request.remove_source_branch = _flag(data["remove_source_branch"])
        if "squash" in data:
            merge_request.squash = bool(_flag(data["squash"]))
        merge_request.updated_at = self._now()
        return json_response(self._mr_json(request, merge_request))

    def _mr_notes(self, request: Request, user: User, iid: int) -> Response:
        def answer() -> Response:
            merge_request = self._merge_request(iid)
            if request.method == "POST":
                body = _form(request).get("body", "")
                if invalid := _invalid_body(body):
                    return invalid
                return json_response(_note_json(self.add_note(merge_request.notes, user, body), "MergeRequest"), 201)
            ordered = sorted(merge_request.notes, key=lambda note: (note.created_at, note.id))
            if request.args.get("sort", "desc") == "desc":
                ordered.reverse()
            return _paginate(request, [_note_json(note, "MergeRequest") for note in ordered])

        return _guard(answer)

    def _mr_note(self, request: Request, user: User, iid: int, note_id: int) -> Response:
        return _guard(lambda: self._edit_note(request, user, self._merge_request(iid).notes, note_id, "MergeRequest"))

    def _edit_note(self, request: Request, user: User, notes: list[Note], note_id: int, kind: str) -> Response:
        note = next((note for note in notes if note.id == note_id), None)
        if note is None:
            return _error(404, "404 Note Not Found")
        if note.author.id != user.id:
            return _error(403, "403 Forbidden")
        if request.method == "DELETE":
            notes.remove(note)
            return Response(status=204)
        body = _form(request).get("body", "")
        if invalid := _invalid_body(body):
            return invalid
        note.body, note.updated_at = body, self._now()
        return json_response(_note_json(note, kind))

    def _commit_mrs(self, request: Request, user: User, sha: str) -> Response:
        iids = list(self.commit_merge_requests.get(sha, []))
        # An opened MR whose source branch moved to `sha` (through `branch_sha`) contains it too.
        iids += [iid for iid, mr in self.merge_requests.items() if iid not in iids and self._sha(mr) == sha]
        return _paginate(request, [self._mr_json(request, self.merge_requests[iid]) for iid in iids])

    def _discussion_json(self, discussion: Discussion) -> dict[str, Any]:
        return {"id": discussion.id, "individual_note": False,
                "notes": [_note_json(note, "Commit") for note in discussion.notes]}

    def _discussions(self, request: Request, user: User, sha: str) -> Response:
        discussions = self.commit_discussions.setdefault(sha, [])
        if request.method == "POST":
            body = _form(request).get("body", "")
            if invalid := _invalid_body(body):
                return invalid
            discussion = Discussion(secrets.token_hex(20))
            self.add_note(discussion.notes, user, body)
            discussions.append(discussion)
            return json_response(self._discussion_json(discussion), 201)
        return _paginate(request, [self._discussion_json(discussion) for discussion in discussions])

    def _discussion_note(self, request: Request, user: User, sha: str, did: str, note_id: int) -> Response:
        discussion = next((d for d in self.commit_discussions.get(sha, []) if d.id == did), None)
        if discussion is None:
            return _error(404, "404 Discussion Not Found")
        response = self._edit_note(request, user, discussion.notes, note_id, "Commit")
        if not discussion.notes:
            self.commit_discussions[sha].remove(discussion)
        return response

    def _upload(self, request: Request, user: User) -> Response:
        file = request.files.get("file")
        if file is None:
            return _error(400, "400 Bad request - file is missing")
        data = file.read()
        secret = secrets.token_hex(16)
        url = f"/uploads/{secret}/{file.filename}"
        self.upload_files[url] = data
        alt = file.filename.rsplit(".", 1)[0]
        answer = {"id": len(self.uploads) + 1, "alt": alt, "url": url,
                  "full_path": f"/-/project/{self.project_id}{url}", "markdown": f"![{alt}]({url})"}
        self.uploads.append(answer)
        return json_response(answer, 201)

    def _status(self, request: Request, user: User, sha: str) -> Response:
        data = _form(request)
        if data.get("state") not in ("pending", "running", "success", "failed", "canceled", "skipped"):
            return _error(400, "400 Bad request - state does not have a valid value")
        status = {"id": len(self.statuses) + 1, "sha": sha, "status": data["state"],
                  "name": data.get("name") or data.get("context") or "default",
                  "description": data.get("description"), "target_url": data.get("target_url"),
                  "author": {"id": user.id, "username": user.username}}
        self.statuses.append(status)
        return json_response(status, 201)


MR_STATES = ("opened", "closed", "locked", "merged", "all")
MR_UPDATABLE = ("title", "description", "state_event", "target_branch", "remove_source_branch", "squash")

_REASONS = {400: "Bad request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found", 429: "Too Many Requests",
            500: "Internal Server Error", 502: "Bad Gateway", 503: "Service Unavailable"}


class _Abort(Exception):
    def __init__(self, response: Response):
        self.response = response


def _guard(answer: Any) -> Response:
    try:
        return answer()
    except _Abort as abort:
        return abort.response


def _error(status: int, message: Any) -> Response:
    return json_response({"message": message}, status)


def _bad_param(message: str) -> Response:
    """Grape's answer to a parameter it refuses: {"error": ...}, 400."""
    return json_response({"error": message}, 400)


def _flag(value: Any) -> bool | None:
    """A boolean parameter, sent as JSON true/false or as a form's "true"/"false"."""
    if value is None or isinstance(value, bool):
        return value
    return str(value).lower() in ("true", "1", "yes")


def _form(request: Request) -> dict[str, Any]:
    """GitLab takes parameters as JSON or form fields."""
    if request.is_json:
        return request.get_json() or {}
    return request.form.to_dict()


def _invalid_body(body: str) -> Response | None:
    if not body:
        return _error(400, "400 Bad request - body is missing")
    if len(body) > NOTE_LIMIT:
        return _error(400, {"note": [f"is too long (maximum is {NOTE_LIMIT} characters)"]})
    return None


def _note_json(note: Note, noteable_type: str) -> dict[str, Any]:
    return {"id": note.id, "type": None, "body": note.body, "system": note.system, "noteable_type": noteable_type,
            "author": {"id": note.author.id, "username": note.author.username},
            "created_at": note.created_at, "updated_at": note.updated_at or note.created_at,
            "resolvable": False, "confidential": False, "internal": False}


def _paginate(request: Request, items: list[Any]) -> Response:
    """GitLab's offset pagination: per_page (default 20, at most 100), page, and the headers."""
    per_page = min(max(int(request.args.get("per_page", 20)), 1), 100)
    page = max(int(request.args.get("page", 1)), 1)
    total_pages = max(1, -(-len(items) // per_page))
    chunk = items[(page - 1) * per_page: page * per_page]

    def link(to: int) -> str:
        query = {**request.args.to_dict(), "page": to, "per_page": per_page}
        return f"{request.base_url}?{urlencode(query)}"

    relations = {"first": 1, "last": total_pages}
    if page < total_pages:
        relations["next"] = page + 1
    if page > 1:
        relations["prev"] = page - 1
    headers = {
        "X-Page": str(page),
        "X-Per-Page": str(per_page),
        "X-Next-Page": str(page + 1) if page < total_pages else "",
        "X-Prev-Page": str(page - 1) if page > 1 else "",
        "X-Total": str(len(items)),
        "X-Total-Pages": str(total_pages),
        "Link": ", ".join(f'<{link(to)}>; rel="{rel}"' for rel, to in relations.items()),
    }
    return json_response(chunk, 200, headers)
