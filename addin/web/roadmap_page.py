"""Roadmap import on the page: the same engine as `nastavnik import-roadmap`.

    GET  /roadmap           the form: the roadmap document, optionally the current book
    POST /roadmap/preview   the tables found, their activities and deadlines, rows not understood
    POST /roadmap/apply     «Перенести»: the book with the roadmap (all tables or one), as a
                            download

The document may be any format ``addin.roadmap.importer.read_roadmap`` reads; the upload size
is limited as for the check (the app's body limit), spreadsheets pass the check's file guard
and other zip documents (.docx, .odt) a bound on their unpacked size. Without an uploaded book
the school's pre-filled book of «Книга организации» is used (.xlsx, or .xlsm with the
server's buttons). ``import_into`` writes a copy: every other sheet, the school's own columns
and the VBA project (with the buttons) are kept. A document without a roadmap table gets the
importer's Russian explanation and nothing is written.

The uploads of one preview live in a private folder of the result store for RESULT_TTL
seconds, bound to the visitor's session.
"""

from __future__ import annotations

import logging
import secrets
import shutil
import threading
import time
import zipfile
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, Response
from starlette.datastructures import UploadFile

from addin.web import book_files
from addin.web.access import Session
from addin.web.button_tokens import ButtonTokens
from addin.web.helpers import attachment, display_name, form_text, parse_date, save_upload
from addin.web.results import RESULT_TTL
from addin.web.site import Page

log = logging.getLogger("nastavnik.web")

NO_DOCUMENT_RU = ("Выберите документ с дорожной картой (.docx, .pdf, .doc, .odt, .rtf, .html, "
                  ".txt, .xlsx или .ods) и нажмите «Показать, что будет перенесено».")
BOOK_KIND_RU = ("Перенести дорожную карту можно в книгу .xlsx или .xlsm, а выбран файл «{name}». "
                "Сохраните книгу как «Книга Excel (.xlsx)» и повторите (или не выбирайте книгу: "
                "будет взята книга организации).")
DOCUMENT_TOO_BIG_RU = ("Документ «{name}» слишком большой в распакованном виде (больше {mb} МБ). "
                       "Сохраните его заново без картинок или возьмите только таблицу.")
DOCUMENT_BROKEN_RU = ("Документ «{name}» повреждён и не читается. Откройте его в Word или "
                      "LibreOffice, сохраните заново и повторите.")
BAD_DATE_RU = "Дата «{value}» не распознана: укажите её как ДД.ММ.ГГГГ."
EXPIRED_RU = ("Предпросмотр не найден: он действует 15 минут и только в том браузере, где "
              "сделан. Загрузите документ ещё раз.")
NO_BOOK_RU = ("Книга организации недоступна: {why}")
#: Zip documents (.docx, .odt) unpacked beyond this are refused before a reader opens them.
MAX_DOCUMENT_UNPACKED = 200 * 1024 * 1024
SPREADSHEETS = (".xlsx", ".xlsm", ".ods")
BOOK_SUFFIXES = (".xlsx", ".xlsm")


@dataclass
class Preview:
    """One uploaded roadmap waiting for «Перенести»."""

    sid: str
    folder: Path
    created: float
    document: Path
    document_name: str
    book: Path
    book_name: str
    anchor: date | None
    replace: bool


def make_router(page: Page) -> APIRouter:
    """The roadmap import routes."""
    router = APIRouter()
    tokens = ButtonTokens(page.config.access_file, page.codes) \
        if page.config.access_file and page.codes is not None else None
    previews: dict[str, Preview] = {}
    lock = threading.Lock()

    def purge() -> None:
        now = time.time()
        with lock:
            old = [k for k, p in previews.items() if now - p.created > RESULT_TTL]
            gone = [previews.pop(k) for k in old]
        for p in gone:
            shutil.rmtree(p.folder, ignore_errors=True)

    def bound(session: Session | None) -> bool:
        return tokens is not None and session is not None and bool(session.school)

    @router.get("/roadmap", response_class=HTMLResponse)
    async def form(request: Request) -> Response:
        if (stop := page.guard(request)) is not None:
            return stop
        session = page.session(request)
        return page.render(request, "roadmap.html", session=session, bound=bound(session))

    @router.post("/roadmap/preview", response_class=HTMLResponse)
    async def preview(request: Request) -> Response:
        if (stop := page.guard(request)) is not None:
            return stop
        purge()
        session = page.session(request)
        posted = await page.posted_form(request, session, max_files=2)
        if isinstance(posted, Response):
            return posted

        def again(status: int, error: str) -> Response:
            return page.render(request, "roadmap.html", status=status, session=session,
                               bound=bound(session), error=error)

        document = posted.get("document")
        if not isinstance(document, UploadFile) or not (document.filename or "").strip():
            return again(400, NO_DOCUMENT_RU)
        raw_anchor = form_text(posted.get("anchor_date")).strip()
        anchor = parse_date(raw_anchor)
        if raw_anchor and anchor is None:
            return again(400, BAD_DATE_RU.format(value=raw_anchor[:20]))
        doc_name = display_name(document.filename or "")
        book = posted.get("book")
        book_name = display_name(book.filename or "") if isinstance(book, UploadFile) and (
            book.filename or "").strip() else ""
        if book_name and Path(book_name).suffix.lower() not in BOOK_SUFFIXES:
            return again(400, BOOK_KIND_RU.format(name=book_name))
        folder = page.store.new_folder()
        try:
            doc_path = folder / ("document" + Path(doc_name).suffix.lower())
            await run_in_threadpool(save_upload, document, doc_path)
            if book_name:
                book_path = folder / ("book" + Path(book_name).suffix.lower())
                await run_in_threadpool(save_upload, book, book_path)
            else:
                kind = "xlsm" if form_text(posted.get("kind")) == "xlsm" and bound(session) \
                    else "xlsx"
                made = await run_in_threadpool(own_book, page, request, session, tokens, kind)
                if isinstance(made, str):
                    shutil.rmtree(folder, ignore_errors=True)
                    return again(409, NO_BOOK_RU.format(why=made))
                book_path = folder / f"book.{kind}"
                book_path.write_bytes(made)
                book_name = f"{session.school if session and session.school else 'книга'}.{kind}"
            result = await run_in_threadpool(read_document, doc_path, doc_name, book_path,
                                             book_name, anchor)
        except BaseException:
            shutil.rmtree(folder, ignore_errors=True)
            raise
        if isinstance(result, str):
            shutil.rmtree(folder, ignore_errors=True)
            log.info("roadmap preview refused school=%s", session.school if session else "")
            return again(422, result)
        token = secrets.token_urlsafe(24)
        with lock:
            previews[token] = Preview(session.sid, folder, time.time(), doc_path, doc_name,
                                      book_path, book_name, anchor,
                                      form_text(posted.get("replace")) == "1")
        log.info("roadmap preview tables=%d items=%d", len(result.tables), len(result.items))
        return page.render(request, "roadmap_preview.html", session=session, report=result,
                           token=token, book_name=book_name, document_name=doc_name,
                           summary=result.summary_ru().splitlines(),
                           replace=previews[token].replace)

    @router.post("/roadmap/apply")
    async def apply(request: Request) -> Response:
        if (stop := page.guard(request)) is not None:
            return stop
        purge()
        session = page.session(request)
        posted = await page.posted_form(request, session)
        if isinstance(posted, Response):
            return posted
        with lock:
            p = previews.get(form_text(posted.get("token")))
        if p is None or session is None or not secrets.compare_digest(p.sid, session.sid):
            return page.message(request, 404, "Предпросмотр не найден", EXPIRED_RU)
        chosen = form_text(posted.get("table")).strip()
        table = int(chosen) if chosen.isdigit() and 0 < int(chosen) < 1000 else None
        result = await run_in_threadpool(write_roadmap, p, table)
        if isinstance(result, str):
            return page.message(request, 422, "Дорожная карта не перенесена", result)
        out_name = f"{Path(p.book_name).stem}-дорожная-карта{p.book.suffix}"
        log.info("roadmap imported school=%s", session.school)
        return Response(result, media_type=book_files.MEDIA_TYPES[p.book.suffix[1:]],
                        headers=attachment(out_name))

    return router


def own_book(page: Page, request: Request, session: Session | None,
             tokens: ButtonTokens | None, kind: str) -> bytes | str:
    """The school's pre-filled book of «Книга организации» (blank where there is none)."""
    fields, _notice = book_files.school_fields(page, session)
    url = token = ""
    if kind == "xlsm":
        url, token = book_files.server_url(page, request), tokens.issue(session.school) or ""
    data = book_files.book_bytes(kind, fields, server_url=url, token=token)
    return data if data is not None else "шаблон не построен"


def read_document(doc: Path, doc_name: str, book: Path, book_name: str,
                  anchor: date | None):  # noqa: ANN201 (ImportReport | str)
    """The importer's report of the document, or a Russian reason why nothing can be read
    (the files pass the guards first)."""
    from addin.errors import WorkbookError
    from addin.file_guard import check_file
    from addin.roadmap.importer import RoadmapImportError, read_roadmap

    named = doc.with_name(_safe_stem(doc_name) + doc.suffix)
    doc.rename(named)
    try:
        check_file(book)
        if named.suffix in SPREADSHEETS:
            check_file(named)
        else:
            guard_document(named, doc_name)
        return read_roadmap(named, anchor=anchor)
    except WorkbookError as exc:
        return exc.message_ru
    except RoadmapImportError as exc:
        return exc.message_ru
    finally:
        if named.exists():
            named.rename(doc)


def write_roadmap(p: Preview, table: int | None = None) -> bytes | str:
    """«Перенести»: the book with the roadmap (all its tables, or only `table`), or a Russian
    reason."""
    from addin.roadmap.importer import RoadmapImportError, import_into, read_roadmap

    named = p.document.with_name(_safe_stem(p.document_name) + p.document.suffix)
    out = p.folder / f"out{p.book.suffix}"
    try:
        p.document.rename(named)
        report = read_roadmap(named, anchor=p.anchor, table=table)
        import_into(report, p.book, out, replace=p.replace)
        return out.read_bytes()
    except RoadmapImportError as exc:
        return exc.message_ru
    finally:
        if named.exists():
            named.rename(p.document)
        out.unlink(missing_ok=True)


def guard_document(path: Path, name: str) -> None:
    """A zip document (.docx, .odt) is read once: refused when damaged or unpacked too big."""
    from addin.roadmap.table import RoadmapImportError

    if not zipfile.is_zipfile(path):
        return  # PDF, text, .doc, .rtf: their readers do not unpack anything
    try:
        with zipfile.ZipFile(path) as zf:
            if sum(i.file_size for i in zf.infolist()) > MAX_DOCUMENT_UNPACKED:
                raise RoadmapImportError(DOCUMENT_TOO_BIG_RU.format(
                    name=name, mb=MAX_DOCUMENT_UNPACKED >> 20))
            if zf.testzip() is not None:
                raise RoadmapImportError(DOCUMENT_BROKEN_RU.format(name=name))
    except (zipfile.BadZipFile, OSError, EOFError, ValueError) as exc:
        raise RoadmapImportError(DOCUMENT_BROKEN_RU.format(name=name)) from exc


def _safe_stem(name: str) -> str:
    """The document's own name for the report's words («Дорожная карта из «…»»), as a safe
    file name in the private folder."""
    stem = Path(name).stem
    cleaned = "".join(ch if ch.isalnum() or ch in " -_.()«»№" else "_" for ch in stem).strip()
    return (cleaned or "документ")[:80].lstrip(".") or "документ"
