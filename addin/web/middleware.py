"""ASGI middleware of the server: the request size limit and the last-resort error page."""

from __future__ import annotations

import logging

from fastapi import Request

from addin.web.config import SERVER_ERROR_RU, TOO_LARGE_RU, russian_error

log = logging.getLogger("nastavnik.server")


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
    """The body passed the limit while it was read."""


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
