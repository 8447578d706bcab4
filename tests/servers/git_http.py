"""Git's smart HTTP protocol on 127.0.0.1 for a bare repository, through `git http-backend` (the CGI
program git ships), behind HTTP basic auth as forges ask for it: pushes with the right token only."""

from __future__ import annotations

import base64
import subprocess
from pathlib import Path

from werkzeug.wrappers import Request, Response

from tests.servers.base import LocalServer


class GitHttpServer:
    """Serves `root`/<name>.git; `user:token` is the one credential accepted."""

    def __init__(self, root: Path, user: str, token: str):
        self.root = root
        self.credential = base64.b64encode(f"{user}:{token}".encode()).decode("ascii")
        self.readers: set[str] = set()  # more credentials that may fetch but not push
        self.authorizations: list[str] = []  # what each request carried, for the test to look at
        self.server = LocalServer(self._handle)

    @property
    def url(self) -> str:
        return self.server.url

    def __enter__(self) -> "GitHttpServer":
        self.server.__enter__()
        return self

    def __exit__(self, *exc_info) -> None:
        self.server.__exit__(*exc_info)

    def _handle(self, request: Request) -> Response:
        given = request.headers.get("Authorization", "")
        self.authorizations.append(given)
        scheme, _, credential = given.partition(" ")
        pushing = "git-receive-pack" in (request.path + request.query_string.decode())
        if scheme.lower() != "basic" or credential not in {self.credential, *self.readers}:
            return Response("Unauthorized", status=401, headers={"WWW-Authenticate": 'Basic realm="git"'})
        if pushing and credential != self.credential:
            # GitLab's answer to a token without write_repository.
            return Response("You are not allowed to push code to this project.\n", status=403,
                            content_type="text/plain")
        environ = {
            "GIT_PROJECT_ROOT": str(self.root),
            "GIT_HTTP_EXPORT_ALL": "1",
            "REQUEST_METHOD": request.method,
            "PATH_INFO": request.path,
            "QUERY_STRING": request.query_string.decode(),
            "CONTENT_TYPE": request.headers.get("Content-Type", ""),
            "REMOTE_USER": "bot",
            "REMOTE_ADDR": "127.0.0.1",
            "PATH": "/usr/bin:/bin",
        }
        body = request.get_data()
        if request.headers.get("Content-Encoding") == "gzip":
            environ["HTTP_CONTENT_ENCODING"] = "gzip"
        environ["CONTENT_LENGTH"] = str(len(body))
        done = subprocess.run(["git", "http-backend"], input=body, env=environ, capture_output=True, check=False)
        head, _, payload = done.stdout.partition(b"\r\n\r\n")
        status, headers = 200, {}
        for line in head.decode("latin-1").split("\r\n"):
            name, _, value = line.partition(":")
            if name.lower() == "status":
                status = int(value.split()[0])
            elif name:
                headers[name] = value.strip()
        return Response(payload, status=status, headers=headers)
