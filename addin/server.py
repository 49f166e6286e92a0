"""`nastavnik serve`: one FastAPI app for the remote buttons (xlwings protocol, under /xlwings)
and the check-and-submit page (at /). This module holds what both share: configuration,
the request size limit, token auth, health, Russian error bodies and the logging policy
(paths and counts, never cell values). The two front ends are routers in their own modules.
"""

from __future__ import annotations

import hmac
import html
import ipaddress
import logging
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, Response

log = logging.getLogger("nastavnik.server")

DEFAULT_MAX_BODY = 25 * 1024 * 1024  # a 5,000-participant workbook is ~1-5 MB
TOO_LARGE_RU = ("Файл или запрос слишком большой (больше {mb} МБ). Уменьшите книгу или "
                "обратитесь к администратору.")
BAD_REQUEST_RU = "Запрос не распознан: {what}."
SERVER_ERROR_RU = ("Внутренняя ошибка сервера. Повторите позже; если ошибка повторяется, "
                   "сообщите администратору.")
UNAUTHORIZED_RU = ("Нет доступа: неверный или отсутствующий токен. Укажите токен в настройках "
                   "кнопки.")


class ServerConfigError(Exception):
    """The server cannot start with this configuration (Russian message)."""


@dataclass
class ServerConfig:
    """Everything `nastavnik serve` can be told."""

    host: str = "127.0.0.1"
    port: int = 8000
    #: Token for the remote buttons (Authorization header); None disables the remote API.
    token: str | None = None
    max_body_bytes: int = DEFAULT_MAX_BODY
    #: Folder the page submits accepted files to (the folder `nastavnik sync --source-dir` reads).
    collect_dir: Path | None = None
    #: School access codes (required when bound to a non-loopback address).
    access_file: Path | None = None
    #: Municipality's targets file (TOML) instead of the defaults.
    targets_path: Path | None = None
    #: Registry of schools for the staff's board and «Собрать свод» (staff may upload another).
    registry_path: Path | None = None
    #: The period the board opens on (ГГГГ-ММ); by default the latest one in the journal.
    period: str | None = None
    #: Day of the month the period's workbooks are due (the board counts days to it).
    deadline_day: int = 25
    #: The master workbook «Собрать свод» writes (default <collect>/workspace/свод.xlsx).
    master_path: Path | None = None

    @property
    def loopback(self) -> bool:
        try:
            return ipaddress.ip_address(self.host).is_loopback
        except ValueError:
            return self.host == "localhost"

    def check(self) -> None:
        """Refuse configurations that would expose schools' data."""
        if not self.loopback and self.access_file is None:
            raise ServerConfigError(
                f"Сервер запускается на адресе {self.host}, доступном из сети, без файла кодов "
                "доступа школ. Создайте его командой «nastavnik serve add-school-code» и укажите "
                "--access-file, или запустите на 127.0.0.1 для работы на своём компьютере.")
        if self.access_file is not None and not self.access_file.is_file():
            raise ServerConfigError(f"Файл кодов доступа не найден: {self.access_file}")
        if self.registry_path is not None and not self.registry_path.is_file():
            raise ServerConfigError(f"Файл реестра ОО не найден: {self.registry_path}")
        if self.registry_path is not None and self.collect_dir is None:
            raise ServerConfigError("Реестр ОО нужен для работы с папкой сбора: укажите также "
                                    "--collect-dir.")


def app_version() -> str:
    try:
        return version("nastavnik")
    except PackageNotFoundError:  # running from a source tree without install
        return "dev"


def token_ok(config: ServerConfig, header: str | None) -> bool:
    """Constant-time check of 'Authorization: <token>' or 'Authorization: Bearer <token>'."""
    if not config.token or not header:
        return False
    given = header.split(" ", 1)[1] if header.lower().startswith("bearer ") else header
    return hmac.compare_digest(given.strip().encode(), config.token.encode())


def wants_html(request: Request) -> bool:
    return "text/html" in request.headers.get("accept", "")


def russian_error(request: Request, status: int, message: str) -> Response:
    """An error body a person can read: HTML for the page, JSON for programs."""
    if wants_html(request):
        body = (f"<!doctype html><html lang='ru'><meta charset='utf-8'><title>Ошибка</title>"
                f"<body><h1>Ошибка {status}</h1><p>{html.escape(message)}</p><p><a href='/'>"
                "Вернуться к "
                "проверке</a></p></body></html>")
        return HTMLResponse(body, status_code=status)
    return JSONResponse({"error": message}, status_code=status)


class BodyLimit:
    """ASGI middleware: 413 for bodies over the limit, by Content-Length or by counting."""

    def __init__(self, app, max_bytes: int) -> None:  # noqa: ANN001 (ASGI app)
        self.app, self.max_bytes = app, max_bytes

    async def __call__(self, scope, receive, send):  # noqa: ANN001, ANN204
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        headers = dict(scope.get("headers") or [])
        length = headers.get(b"content-length")
        if length is not None and length.isdigit() and int(length) > self.max_bytes:
            return await self._reject(scope, receive, send)
        seen = 0

        async def limited_receive():  # noqa: ANN202
            nonlocal seen
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > self.max_bytes:
                raise _TooLarge()
            return message

        try:
            await self.app(scope, limited_receive, send)
        except _TooLarge:
            await self._reject(scope, receive, send)

    async def _reject(self, scope, receive, send):  # noqa: ANN001, ANN202
        log.info("413 %s %s", scope.get("method"), scope.get("path"))
        request = Request(scope, receive)
        mb = self.max_bytes // (1024 * 1024)
        response = russian_error(request, 413, TOO_LARGE_RU.format(mb=mb))
        await response(scope, receive, send)


class _TooLarge(Exception):
    pass


class CatchErrors:
    """ASGI middleware: an unexpected exception becomes the Russian 500 page and ONE log line
    (method, route, error class). Starlette's own handler would re-raise it for the server to
    print a traceback, whose frames and message may quote cell values."""

    def __init__(self, app) -> None:  # noqa: ANN001 (ASGI app)
        self.app = app

    async def __call__(self, scope, receive, send):  # noqa: ANN001, ANN204
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        started = False

        async def tracking_send(message):  # noqa: ANN001, ANN202
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except Exception as exc:  # noqa: BLE001
            route = getattr(scope.get("route"), "path", None) or "?"
            log.error("500 %s %s: %s", scope.get("method"), route, type(exc).__name__)
            if not started:
                response = russian_error(Request(scope), 500, SERVER_ERROR_RU)
                await response(scope, receive, send)


def create_app(config: ServerConfig | None = None, workspace_service: Any = None) -> FastAPI:
    """The app: health, the remote-button API under /xlwings, the page at /, the municipal
    staff's pages under /staff. `workspace_service` is the sync the staff pages run
    (addin.web.workspace.SyncService, injected by `nastavnik serve`: addin never imports sync).
    """
    config = config or ServerConfig()
    app = FastAPI(title="nastavnik", version=app_version(), docs_url=None, redoc_url=None,
                  openapi_url=None)
    app.state.config = config

    @app.get("/health")
    def health() -> dict:
        return {"status": "ok", "version": app_version()}

    @app.exception_handler(RequestValidationError)
    async def bad_request(request: Request, exc: RequestValidationError) -> Response:
        where = ", ".join(".".join(str(p) for p in e.get("loc", ())) for e in exc.errors()[:3])
        log.info("400 %s %s", request.method, request.url.path)
        return russian_error(request, 400, BAD_REQUEST_RU.format(what=where or "формат"))

    _include_front_ends(app, config, workspace_service)
    app.add_middleware(BodyLimit, max_bytes=config.max_body_bytes)
    app.add_middleware(CatchErrors)  # outermost of ours: sees every route's exception
    return app


def _include_front_ends(app: FastAPI, config: ServerConfig, workspace_service: Any) -> None:
    from addin import remote
    from addin.web import routes as web

    app.include_router(remote.make_router(config), prefix="/xlwings")
    app.include_router(web.make_router(config, workspace_service))


def run(config: ServerConfig, workspace_service: Any = None) -> None:
    """Check the configuration and serve until interrupted."""
    import uvicorn

    config.check()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    uvicorn.run(create_app(config, workspace_service), host=config.host, port=config.port,
                log_level="info", access_log=True)


def static_dir() -> Path:
    """Assets served by the package itself (no CDN)."""
    return Path(__file__).parent / "web" / "static"
