"""A real WebDAV server for the tests and the bench: wsgidav over a folder, with Basic
authentication, on 127.0.0.1 in a thread (cheroot, as wsgidav serves in production).

A thin WSGI layer in front of it counts every request (method and decoded path, on the
server's side) and can make the server misbehave as clouds do: a path that answers with an
HTTP status, a path (or the whole server) that stops answering, a hook run after a listing.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote

from cheroot import wsgi
from wsgidav.wsgidav_app import WsgiDAVApp

LOGIN, PASSWORD = "centre@example.ru", "app-pass-Zq7-secret-4f1"


class DavServer:
    """`with DavServer(root) as dav:` — dav.url is the server's root, dav.calls the requests."""

    def __init__(self, root: Path, users: dict[str, str] | None = None,
                 threads: int = 16) -> None:
        users = {LOGIN: PASSWORD} if users is None else users
        config = {
            "provider_mapping": {"/": str(root)},
            "simple_dc": {"user_mapping": {"*": {u: {"password": p} for u, p in users.items()}}},
            "http_authenticator": {"accept_basic": True, "accept_digest": False,
                                   "default_to_digest": False},
            "verbose": 0, "logging": {"enable": False}, "dir_browser": {"enable": False},
            "lock_storage": True,
        }
        self.root = Path(root)
        self.app = WsgiDAVApp(config)
        self.calls: list[tuple[str, str]] = []
        self.statuses: dict[str, int] = {}
        self.hanging: set[str] = set()
        self.all_hang = False
        self.after_listing: Callable[[], Any] | None = None
        self._release = threading.Event()
        self._lock = threading.Lock()
        self.server = wsgi.Server(("127.0.0.1", 0), self._serve, numthreads=threads)

    # -- the WSGI layer -------------------------------------------------------------------
    def _serve(self, environ: dict, start_response: Callable) -> Any:
        method = environ["REQUEST_METHOD"]
        path = environ.get("PATH_INFO", "").encode("latin-1").decode("utf-8", "replace")
        with self._lock:
            self.calls.append((method, path))
        if self.all_hang or path in self.hanging:
            self._release.wait(120)  # until the test is over: the server stopped answering
            start_response("503 Service Unavailable", [("Content-Length", "0")])
            return [b""]
        status = self.statuses.get(path)
        if status is not None:
            start_response(f"{status} Refused", [("Content-Length", "0")])
            return [b""]
        answer = self.app(environ, start_response)
        if method == "PROPFIND" and self.after_listing is not None:
            body = b"".join(answer)  # the listing is sent as it was; then the hook runs
            hook, self.after_listing = self.after_listing, None
            hook()
            return [body]
        return answer

    # -- what the tests ask ---------------------------------------------------------------
    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.bind_addr[1]}/"

    def folder_url(self, relative: str) -> str:
        return self.url + "/".join(quote(p) for p in relative.strip("/").split("/")) + "/"

    def count(self, method: str, suffix: str = "") -> int:
        with self._lock:
            return sum(1 for m, p in self.calls if m == method and p.endswith(suffix))

    def reset(self) -> None:
        with self._lock:
            self.calls.clear()

    def __enter__(self) -> DavServer:
        self.server.prepare()
        self._thread = threading.Thread(target=self.server.serve, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._release.set()
        time.sleep(0.05)
        self.server.stop()
