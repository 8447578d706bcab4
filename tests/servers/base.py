"""A real HTTP server on 127.0.0.1 for forge fakes: started and stopped by the test that needs it."""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from typing import Any, Callable

from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response


@dataclass
class Recorded:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body) if self.body else None


@dataclass
class LocalServer:
    """Serves `handler(request) -> Response` in a thread and records every request it receives."""

    handler: Callable[[Request], Response]
    requests: list[Recorded] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._server = make_server("127.0.0.1", 0, self._app, threaded=True)
        # A short poll interval: shutdown() waits for one, and every test stops its server.
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_port}"

    def _app(self, environ, start_response):
        request = Request(environ)
        body = request.get_data()
        self.requests.append(
            Recorded(request.method, request.path, request.args.to_dict(flat=False), dict(request.headers), body)
        )
        return self.handler(request)(environ, start_response)

    def __enter__(self) -> "LocalServer":
        self._thread.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


def json_response(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(json.dumps(data), status=status, headers=headers or {}, content_type="application/json")


def resolve_ref(document: Any, node: Any) -> Any:
    """`node` with its JSON `$ref`s (#/a/b) followed into `document` (an OpenAPI or swagger description)."""
    while isinstance(node, dict) and "$ref" in node:
        target: Any = document
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target[part]
        node = target
    return node
