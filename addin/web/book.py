"""«Книга организации»: the school downloads its own book, pre-filled from the registry.

    GET  /book                  what the book will hold and the downloads
    GET  /book/download/<kind>  the book as .xlsx, .xlsm (buttons bound to this server) or .ods
    POST /book/buttons          the school's own .xlsx/.xlsm back with this server's buttons
                                and the school's current button token

A logged-in school gets its code, full name, type and municipality from the registry and the
current period; a school missing from the registry (or a server without one) gets the blank
template and a Russian explanation, and so does open mode (no access file), which offers no
server-bound .xlsm (there are no school tokens without an access file).
"""

from __future__ import annotations

import logging
import zipfile

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, Response
from starlette.datastructures import UploadFile

from addin.web import book_files
from addin.web.access import Session
from addin.web.book_files import KINDS, MEDIA_TYPES, school_fields, server_url
from addin.web.button_tokens import ButtonTokens
from addin.web.helpers import attachment
from addin.web.site import Page

log = logging.getLogger("nastavnik.web")

NO_ODS_RU = ("Книга в формате .ods на этом сервере недоступна (не установлен LibreOffice). "
             "Скачайте .xlsx: LibreOffice и Р7-Офис открывают её так же.")
NOT_BOUND_RU = ("Книга с кнопками сервера выдаётся только организации, вошедшей со своим кодом "
                "доступа.")
BUTTONS_FILE_RU = ("Выберите свою книгу .xlsx или .xlsm — сервер вернёт её с кнопками "
                   "«Проверить» и «Показатели», привязанными к этому серверу.")
BUTTONS_BAD_RU = ("Файл не похож на книгу наставничества (.xlsx или .xlsm): {why}. Сохраните "
                  "книгу в Excel заново и повторите.")
BUTTONS_BROKEN_RU = "файл повреждён или в нём нет стандартных листов"
BUTTONS_OTHER_RU = ("В книге на листе «Сведения об ОО» указан код {book}, а вы вошли как {me}: "
                    "кнопки выдаются только для книги своей организации.")


def make_router(page: Page) -> APIRouter:
    """The «Книга организации» routes."""
    router = APIRouter()
    tokens = ButtonTokens(page.config.access_file, page.codes) \
        if page.config.access_file and page.codes is not None else None

    @router.get("/book", response_class=HTMLResponse)
    async def book(request: Request) -> Response:
        if (stop := page.guard(request)) is not None:
            return stop
        session = page.session(request)
        fields, notice = await run_in_threadpool(school_fields, page, session)
        return page.render(request, "book.html", session=session, fields=fields,
                           notice=notice, ods=book_files.ods_offered(),
                           bound=_bound(session, tokens))

    @router.get("/book/download/{kind}")
    async def download(request: Request, kind: str) -> Response:
        if (stop := page.guard(request)) is not None:
            return stop
        session = page.session(request)
        if kind not in KINDS:
            return page.message(request, 404, "Не найдено", "Такого вида книги нет.")
        url, token = "", ""
        if kind == "xlsm":
            if not _bound(session, tokens):
                return page.message(request, 403, "Доступ запрещён", NOT_BOUND_RU)
            url, token = server_url(page, request), tokens.issue(session.school) or ""
            if not token:
                return page.message(request, 403, "Доступ запрещён", NOT_BOUND_RU)
        fields, _notice = await run_in_threadpool(school_fields, page, session)
        data = await run_in_threadpool(book_files.book_bytes, kind, fields, server_url=url,
                                       token=token)
        if data is None:
            return page.message(request, 404, "Формат недоступен", NO_ODS_RU)
        name = f"{fields.code or 'книга'}-наставничество.{kind}" if fields else f"school.{kind}"
        log.info("book downloaded kind=%s school=%s prefilled=%s", kind,
                 session.school if session else "", bool(fields))
        return Response(data, media_type=MEDIA_TYPES[kind], headers=attachment(name))

    @router.post("/book/buttons")
    async def buttons(request: Request) -> Response:
        if (stop := page.guard(request)) is not None:
            return stop
        session = page.session(request)
        form = await page.posted_form(request, session, max_files=1)
        if isinstance(form, Response):
            return form
        if not _bound(session, tokens):
            return page.message(request, 403, "Доступ запрещён", NOT_BOUND_RU)
        upload = form.get("file")
        if not isinstance(upload, UploadFile) or not (upload.filename or "").strip() or \
                not (upload.filename or "").lower().endswith((".xlsx", ".xlsm")):
            return page.message(request, 400, "Нет книги Excel", BUTTONS_FILE_RU)
        payload = await upload.read()
        token = tokens.issue(session.school) or ""
        result = await run_in_threadpool(rebound, payload, session.school,
                                         server_url(page, request), token)
        if isinstance(result, str):
            return page.message(request, 400, "Кнопки не добавлены", result)
        log.info("buttons renewed school=%s", session.school)
        return Response(result, media_type=MEDIA_TYPES["xlsm"],
                        headers=attachment(f"{session.school}-наставничество.xlsm"))

    return router


def _bound(session: Session | None, tokens: ButtonTokens | None) -> bool:
    """Whether this visitor may have a book whose buttons call the server: a school."""
    return tokens is not None and session is not None and bool(session.school)


def rebound(payload: bytes, school: str, url: str, token: str) -> bytes | str:
    """The school's book with this server's buttons, or a Russian reason why not."""
    from addin.errors import WorkbookError
    from workbook_templates.xlsm import XlsmBuildError, server_xlsm

    if not payload.startswith(b"PK"):
        return BUTTONS_BAD_RU.format(why="это не файл Excel")
    try:
        code = _book_code(payload)
    except WorkbookError as exc:
        return exc.message_ru
    if code and code.casefold() != school.casefold():
        return BUTTONS_OTHER_RU.format(book=code[:64], me=school)
    try:
        return server_xlsm(payload, url, token)
    except (XlsmBuildError, zipfile.BadZipFile, KeyError, ValueError, OSError) as exc:
        log.info("buttons not added: %s", type(exc).__name__)
        return BUTTONS_BAD_RU.format(why=BUTTONS_BROKEN_RU)


def _book_code(payload: bytes) -> str:
    """The code on «Сведения об ОО» of an uploaded book, read by the check's own reader
    (hostile files are refused by its guard)."""
    import tempfile
    from pathlib import Path

    from addin.model import SchoolWorkbook

    with tempfile.TemporaryDirectory(prefix="nastavnik-buttons-") as tmp:
        suffix = ".xlsm" if b"xl/vbaProject.bin" in payload else ".xlsx"
        path = Path(tmp) / f"book{suffix}"
        path.write_bytes(payload)
        return SchoolWorkbook.from_path(path).info.school_code
