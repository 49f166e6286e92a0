"""The remote buttons: POST /xlwings/validate and /xlwings/indicators (xlwings protocol).

The client (Google Sheets Apps Script with xlwings.js, or any xlwings remote client) posts the
workbook's values as JSON; the server builds ``xw.Book(json=payload)``, runs the same button
code as desktop Excel (``addin.buttons``) and answers ``book.json()``: the actions the client
replays (write the «Проверка» sheet, colour cells, show a message).

Excel without Python posts with xlwings' VBA client (``RunServerPython`` of the server-bound
school.xlsm) and a school's button token (``addin.web.button_tokens``) instead of the server's
token: a void token is refused before any work, and a token of another school than the one the
book names is refused before the check. The VBA client shows an error body as it is in its
message box, so it gets the Russian text alone (no JSON around it).

Policy (see addin/web/config.py): a token is required before any work is done, the body size is
limited by the app's middleware, and the log holds the path, the status and counts only, never
a cell value or a file name.
"""

from __future__ import annotations

import json
import logging
import os
import threading
from functools import cache
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from starlette.concurrency import run_in_threadpool

from addin import buttons
from addin.errors import WorkbookError
from addin.web.button_tokens import ButtonTokens, authorization_token, refusal
from addin.web.config import (
    BAD_REQUEST_RU,
    SERVER_ERROR_RU,
    UNAUTHORIZED_RU,
    ServerConfig,
    russian_error,
    token_ok,
)
from addin.web.workers import CheckWorkers, WorkerLost

log = logging.getLogger("nastavnik.remote")

NOT_JSON_RU = BAD_REQUEST_RU.format(what="тело запроса не является JSON")
NOT_A_BOOK_RU = ("Запрос не распознан: это не книга от кнопки xlwings ({what}). Используйте "
                 "скрипт кнопки из комплекта nastavnik.")
VERSION_RU = ("Версия скрипта кнопки (xlwings {client}) не совпадает с версией сервера (xlwings "
              "{server}). Замените скрипт кнопки в таблице на скрипт из комплекта nastavnik "
              "этой версии сервера.")
TARGETS_RU = ("Файл целевых значений муниципалитета (--targets) не читается. Сообщите "
              "администратору сервера.")
REMOTE_OFF_RU = ("Сервер не может обработать книгу: модуль xlwings для удалённых кнопок "
                 "недоступен. Сообщите администратору сервера.")

#: xlwings' remote engine keeps the active book in a process-wide object (alerts and macros
#: are appended to "the active book"), so one book is handled at a time in each worker.
_LOCK = threading.Lock()

ACTIONS = ("validate", "indicators")
#: The User-Agent of xlwings' VBA client (VBA-Web, on Windows and macOS).
VBA_CLIENT_AGENT = "VBA-Web"
#: What a cell of the clients' JSON can hold (dates arrive as ISO strings).
_SCALARS = frozenset({str, int, float, bool, type(None)})


def enable_xlwings_remote() -> None:
    """Let xlwings load its remote engine (``xw.Book(json=...)``).

    xlwings' remote engine ("xlwings PRO") is dual-licensed: the PolyForm Noncommercial License
    1.0.0 permits noncommercial use, including by educational institutions and public bodies
    such as schools, municipal methodical centres and education authorities, which the key
    "noncommercial" declares. A commercial operator buys a key from xlwings.org and sets it in
    the XLWINGS_LICENSE_KEY environment variable before starting the server; it is kept then.
    The key is read when xlwings is first imported, so this runs before that.
    """
    os.environ.setdefault("XLWINGS_LICENSE_KEY", "noncommercial")


def make_router(config: ServerConfig, workers: CheckWorkers) -> APIRouter:
    """The two button endpoints, mounted by addin.web.config under /xlwings; the buttons
    run in the check workers, as the page's checks do."""
    enable_xlwings_remote()
    router = APIRouter()
    tokens = ButtonTokens(config.access_file) if config.access_file else None

    async def handle(request: Request, action: str) -> Response:
        path = request.url.path
        header = request.headers.get("authorization")
        button = tokens.read(authorization_token(header)) if tokens is not None else None
        if button is None and not token_ok(config, header):
            log.info("401 %s (%s)", path, "no token configured" if not config.token
                     else "missing or wrong token")
            return remote_error(request, 401, UNAUTHORIZED_RU)
        if button is not None and not button.valid:
            log.info("403 %s: void button token school=%s", path, button.school)
            return remote_error(request, 403, refusal(button, {}) or UNAUTHORIZED_RU)
        body = await request.body()
        try:
            payload = json.loads(body, parse_constant=_no_constants)
        except (ValueError, UnicodeDecodeError):
            log.info("400 %s: body is not JSON (%d bytes)", path, len(body))
            return remote_error(request, 400, NOT_JSON_RU)
        problem = payload_problem(payload)
        if problem is not None:
            log.info("400 %s: not an xlwings book", path)
            return remote_error(request, 400, problem)
        if button is not None and (why := refusal(button, payload)) is not None:
            log.info("403 %s: button token of school=%s, another school's book", path,
                     button.school)
            return remote_error(request, 403, why)
        try:
            targets = _targets(config.targets_path) if action == "indicators" else None
        except (OSError, ValueError):
            log.error("500 %s: the targets file cannot be read", path)
            return remote_error(request, 500, TARGETS_RU)
        try:
            result, summary = await run_in_threadpool(workers.run, run_button, payload, action,
                                                      targets)
        except WorkbookError as exc:
            log.info("400 %s: %s (sheets=%d)", path, exc.code, len(payload["sheets"]))
            return remote_error(request, 400, exc.message_ru)
        except RemoteUnavailable:
            log.error("503 %s: xlwings remote engine unavailable (license key)", path)
            return remote_error(request, 503, REMOTE_OFF_RU)
        except WorkerLost:
            log.error("500 %s: the check worker was lost twice", path)
            return remote_error(request, 500, SERVER_ERROR_RU)
        log.info("200 %s: sheets=%d %s actions=%d", path, len(payload["sheets"]), summary,
                 len(result.get("actions", [])))
        return JSONResponse(result)

    @router.post("/validate")
    async def validate(request: Request) -> Response:
        """«Проверить»: the actions that write «Проверка» and highlight the cells."""
        return await handle(request, "validate")

    @router.post("/indicators")
    async def indicators(request: Request) -> Response:
        """«Показатели»: the actions that write the «Показатели» sheet."""
        return await handle(request, "indicators")

    return router


def remote_error(request: Request, status: int, message: str) -> Response:
    """A Russian error: the bare text for xlwings' VBA client (its message box shows the body
    as it is), else the usual JSON or HTML body."""
    if request.headers.get("user-agent", "").startswith(VBA_CLIENT_AGENT):
        return PlainTextResponse(message, status_code=status)
    return russian_error(request, status, message)


class RemoteUnavailable(Exception):
    """xlwings was imported without a licence key, so its remote engine is missing."""


def run_button(payload: dict[str, Any], action: str,
               targets: dict[str, dict[str, Any]] | None = None) -> tuple[dict, str]:
    """Run one button on a payload: (book.json(), a log summary without cell values).

    Raises WorkbookError when the payload is not our workbook (nothing is written then).
    """
    if action not in ACTIONS:
        raise ValueError(f"unknown action {action!r}")
    enable_xlwings_remote()
    import xlwings as xw

    if "remote" not in [e.name for e in xw.engines]:
        raise RemoteUnavailable()
    with _LOCK:
        book = xw.Book(json=payload)
        try:
            reading = buttons.read_book(book)
            if action == "validate":
                report = buttons.validate_book(book, reading)
                c = report.counts
                summary = (f"status={report.status} findings={len(report.findings)} "
                           f"errors={c['ошибка']} warnings={c['предупреждение']} "
                           f"advice={c['совет']}")
            else:
                values = buttons.indicators_book(book, reading, targets=targets)
                summary = f"indicators={len(values)}"
            return book.json(), summary
        finally:
            book.close()
            _forget_cached_values()


def payload_problem(payload: Any) -> str | None:
    """A Russian reason why `payload` is not a book as the xlwings clients send it, or None."""
    def bad(what: str) -> str:
        return NOT_A_BOOK_RU.format(what=what)

    if not isinstance(payload, dict):
        return bad("ожидается объект JSON")
    for key in ("client", "version"):
        if not isinstance(payload.get(key), str):
            return bad(f"нет поля «{key}»")
    book = payload.get("book")
    if not isinstance(book, dict) or not isinstance(book.get("name"), str):
        return bad("нет описания книги")
    if not isinstance(book.get("active_sheet_index"), int):
        return bad("нет номера активного листа")
    sheets = payload.get("sheets")
    if not isinstance(sheets, list) or not sheets:
        return bad("нет листов")
    for sheet in sheets:
        if not isinstance(sheet, dict) or not isinstance(sheet.get("name"), str):
            return bad("лист без имени")
        values = sheet.get("values")
        if not isinstance(values, list) or not all(isinstance(r, list) for r in values):
            return bad("значения листа не таблица")
        if not all(type(v) in _SCALARS for r in values for v in r):
            return bad("в ячейке не число, не текст и не дата")
        sheet.setdefault("pictures", [])
        sheet.setdefault("tables", [])
    if not isinstance(payload.setdefault("names", []), list):
        return bad("поле «names» не список")
    server = _xlwings_version()
    if payload["client"] != "Office.js" and payload["version"] != server:
        return VERSION_RU.format(client=payload["version"][:20], server=server)
    return None


@cache
def _xlwings_version() -> str:
    from importlib.metadata import version

    return version("xlwings")


@cache
def _targets(path: Path | None) -> dict[str, dict[str, Any]] | None:
    """The municipality's targets (None: the defaults), read once."""
    if path is None:
        return None
    from addin.indicators import load_targets

    return load_targets(path)


def _forget_cached_values() -> None:
    """Drop xlwings' cache of sheet values (an unbounded lru_cache keyed by the values)."""
    try:
        from xlwings.pro import _xlremote
    except ImportError:  # pragma: no cover (no remote engine, nothing cached)
        return
    cache_clear = getattr(getattr(_xlremote, "get_range_api", None), "cache_clear", None)
    if cache_clear is not None:
        cache_clear()


def _no_constants(name: str) -> float:
    """NaN and Infinity are not JSON; a client never sends them, so the body is malformed."""
    raise ValueError(f"not JSON: {name}")
