"""`nastavnik serve`: the app factory. One FastAPI app holds the remote buttons (xlwings
protocol, under /xlwings), the check-and-submit page (at /), signing in, the plan of a result
and the municipal staff's pages (/staff). Each area is a router of its own module over the
shared ``Page``; this module only puts them together with the middleware, health and the
static files (paths and counts are logged, never cell values).
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response

from addin.web import (
    answer,
    book,
    book_files,
    check,
    checking,
    clock,
    codes,
    login,
    plan,
    region_board,
    region_delivery,
    remind,
    remote,
    roadmap_page,
    staff,
    surveys,
    upgrade,
)
from addin.web.config import (
    BAD_REQUEST_RU,
    LOG_FORMAT,
    ServerConfig,
    app_version,
    russian_error,
    static_dir,
)
from addin.web.middleware import BodyLimit, CatchErrors
from addin.web.site import Page
from addin.web.workspace import Workspace

log = logging.getLogger("nastavnik.server")

STATIC_FILES = {"style.css": "text/css; charset=utf-8",
                "app.js": "text/javascript; charset=utf-8",
                "survey.css": "text/css; charset=utf-8",
                "survey.js": "text/javascript; charset=utf-8"}


def create_app(config: ServerConfig | None = None, workspace_service: Any = None, *,
               region_service: Any = None) -> FastAPI:
    """The app: health, the remote-button API under /xlwings, the page at /, the municipal
    staff's pages under /staff. `workspace_service` is the sync the staff pages run
    (addin.web.workspace.SyncService, injected by `nastavnik serve`: addin never imports sync).
    """
    config = config or ServerConfig()
    clock.set_zone(config.timezone)  # one zone per server process: journal, pages, deadlines
    page = make_page(config, workspace_service)
    page.region = region_service  # the regional board's store (addin.web.region_view)

    @asynccontextmanager
    async def lifespan(app: FastAPI):  # noqa: ANN202
        # each worker checks a small book first: the first curator's does not wait for it
        page.workers.start(checking.warm, page.targets(), tuple(page.after_check))
        yield
        page.workers.close()
        page.store.close()  # uvicorn ends on the signal itself, so atexit would not run

    app = FastAPI(title="nastavnik", version=app_version(), docs_url=None, redoc_url=None,
                  openapi_url=None, lifespan=lifespan)
    app.state.config = config

    running_version = app_version()  # read once: /health touches no file

    @app.get("/health")
    async def health() -> dict:  # in the event loop: answers while every worker checks a book
        return {"status": "ok", "version": running_version}

    @app.get("/static/{name}")
    def static(name: str) -> Response:
        kind = STATIC_FILES.get(name)
        path = static_dir() / name
        if kind is None or not path.is_file():
            return Response("Не найдено", status_code=404, media_type="text/plain; charset=utf-8")
        return Response(path.read_bytes(), media_type=kind,
                        headers={"Cache-Control": "max-age=3600",
                                 "X-Content-Type-Options": "nosniff"})

    @app.exception_handler(RequestValidationError)
    async def bad_request(request: Request, exc: RequestValidationError) -> Response:
        where = ", ".join(".".join(str(p) for p in e.get("loc", ())) for e in exc.errors()[:3])
        log.info("400 %s %s", request.method, request.url.path)
        return russian_error(request, 400, BAD_REQUEST_RU.format(what=where or "формат"))

    app.include_router(remote.make_router(config, page.workers), prefix="/xlwings")
    for area in (check, login, plan, staff, remind, surveys, answer, book, roadmap_page, codes,
                 region_delivery, region_board, upgrade):
        app.include_router(area.make_router(page))
    app.add_middleware(BodyLimit, max_bytes=config.max_body_bytes)
    app.add_middleware(CatchErrors)  # outermost of ours: sees every route's exception
    return app


def make_page(config: ServerConfig, workspace_service: Any = None) -> Page:
    """The state the page modules share, with the municipal workspace when there is a
    collection folder (the check page still works if the workspace cannot open)."""
    page = Page(config)
    if config.collect_dir is not None and not config.region:
        try:
            page.workspace = Workspace(config, workspace_service, page.workers)
        except (OSError, sqlite3.Error) as exc:
            log.error("municipal workspace disabled: %s", type(exc).__name__)
    return page


def run(config: ServerConfig, workspace_service: Any = None, *,
        region_service: Any = None) -> None:
    """Check the configuration and serve until interrupted."""
    import uvicorn

    config.check()
    logging.basicConfig(level=logging.INFO, format=LOG_FORMAT)
    # the school's book templates are built while the server starts, not on the first download
    threading.Thread(target=book_files.warm_up, name="templates", daemon=True).start()
    uvicorn.run(create_app(config, workspace_service, region_service=region_service),
                host=config.host, port=config.port, log_level="info", access_log=True,
                **transport_options(config))


def transport_options(config: ServerConfig) -> dict[str, Any]:
    """uvicorn's TLS and proxy settings: forwarded headers only from the configured proxy
    (without --behind-proxy no one's X-Forwarded-Proto or X-Forwarded-For is believed)."""
    options: dict[str, Any] = {"proxy_headers": config.behind_proxy}
    if config.behind_proxy:
        options["forwarded_allow_ips"] = config.proxy_address
    if config.tls_cert is not None:
        options.update(ssl_certfile=str(config.tls_cert), ssl_keyfile=str(config.tls_key))
    return options
