"""The check and the submission: a school uploads its workbook, sees the same findings and
indicators as the buttons and `nastavnik validate`, downloads an annotated copy, and submits an
error-free workbook to the municipality's collection folder.

    GET  /                         the form (or a redirect to /login when codes are required)
    POST /check                    multipart upload -> 303 to /result/<token>
    GET  /result/<token>           status, indicators, findings by sheet, downloads, submit
    GET  /result/<token>/annotated the annotated copy (.xlsx/.xlsm; made on first request)
    GET  /result/<token>/report.json
    POST /submit                   one-time submission token -> 303 to /result/<token>/receipt
    GET  /result/<token>/receipt
"""

from __future__ import annotations

import json
import logging
import secrets
import shutil
import sqlite3
import time
from datetime import date
from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from starlette.datastructures import UploadFile

from addin.errors import WorkbookError
from addin.report import (
    STATUS_ERRORS,
    STATUS_OK,
    STATUS_UNREADABLE,
    STATUS_WARNINGS,
    Report,
)
from addin.web import collect
from addin.web.access import Session, valid_school_code
from addin.web.checking import (
    INTERNAL_RU,
    REPORT_NAME,
    CheckedBook,
    CheckOutcome,
    check_upload,
    judge,
    write_report,
)
from addin.web.helpers import (
    EXPIRED_RU,
    XLSX_TYPES,
    attachment,
    clock,
    code_for_log,
    display_name,
    form_text,
    group_by_sheet,
    page_headers,
    parse_date,
    report_from_dict,
    save_upload,
    stem_of,
    when,
)
from addin.web.results import RESULT_TTL, Entry
from addin.web.site import Page
from workbook_templates import contract as C

log = logging.getLogger("nastavnik.web")

MAX_SHOWN_FINDINGS = 3000
STATUS_CLASS = {STATUS_OK: "ok", STATUS_WARNINGS: "warn", STATUS_ERRORS: "bad",
                STATUS_UNREADABLE: "unread"}
LOG_STATUS = {STATUS_OK: "accepted", STATUS_WARNINGS: "warnings", STATUS_ERRORS: "errors",
              STATUS_UNREADABLE: "unreadable"}

NO_FILE_RU = "Выберите файл книги (.xlsx, .xlsm или .ods) и нажмите «Проверить»."
EMPTY_FILE_RU = "Файл пустой (0 байт). Выберите сохранённую книгу и повторите."
BAD_DATE_RU = "Дата «{value}» не распознана: укажите её как ДД.ММ.ГГГГ или выберите в календаре."


def make_router(page: Page) -> APIRouter:
    """The check page's routes."""
    router = APIRouter()

    @router.get("/", response_class=HTMLResponse)
    async def index(request: Request) -> Response:
        if (stop := page.guard(request)) is not None:
            return stop
        got = page.session(request)
        page.store.purge()
        mine = None
        if got is not None and got.school and page.workspace is not None:
            mine = await run_in_threadpool(page.workspace.school_view, got.school)
        return page.render(request, "index.html", session=got, mine=mine)

    @router.post("/check")
    async def check(request: Request) -> Response:
        if (stop := page.guard(request)) is not None:
            return stop
        session = page.session(request)
        form = await page.posted_form(request, session, max_files=2, unreadable=lambda: page.render(
            request, "index.html", status=400, session=session,
            error="Запрос не распознан: выберите файл и повторите."))
        if isinstance(form, Response):
            return form
        upload = form.get("file")
        if not isinstance(upload, UploadFile) or not (upload.filename or "").strip():
            return page.render(request, "index.html", status=400, session=session,
                               error=NO_FILE_RU)
        raw_date = form_text(form.get("reference_date")).strip()
        reference_date = parse_date(raw_date)
        if raw_date and reference_date is None:
            return page.render(request, "index.html", status=400, session=session,
                               error=BAD_DATE_RU.format(value=raw_date[:20]))
        display = display_name(upload.filename or "")
        suffix = Path(display).suffix.lower()
        folder = page.store.new_folder()
        path = folder / f"checked{suffix if suffix in collect.SUFFIXES else '.bin'}"
        try:
            size = await run_in_threadpool(save_upload, upload, path)
            await upload.close()
            if size == 0:
                shutil.rmtree(folder, ignore_errors=True)
                return page.render(request, "index.html", status=400, session=session,
                                   error=EMPTY_FILE_RU)
            entry = Entry(token=secrets.token_urlsafe(32), folder=folder, created=time.time(),
                          sid=session.sid, display_name=display, suffix=suffix,
                          report_path=folder / REPORT_NAME, status="")
            await run_in_threadpool(analyse, page, entry, path, reference_date, session)
        except BaseException:  # disk full, client gone: never leave the file behind
            shutil.rmtree(folder, ignore_errors=True)
            raise
        page.store.add(entry)
        return RedirectResponse(f"/result/{entry.token}", status_code=303, headers=page_headers())

    @router.get("/result/{token}", response_class=HTMLResponse)
    def result(request: Request, token: str) -> Response:
        if (stop := page.guard(request)) is not None:
            return stop
        got, entry = page.own_result(request, token)
        if entry is None:
            return page.message(request, 404, "Результат не найден", EXPIRED_RU)
        data = json.loads(entry.report_path.read_text(encoding="utf-8"))
        findings = data["findings"]
        status = 422 if data["file_error"] else 200
        return page.render(
            request, "result.html", status=status, session=got, entry=entry, r=data,
            status_class=STATUS_CLASS.get(data["status"], "unread"),
            groups=group_by_sheet(findings[:MAX_SHOWN_FINDINGS]),
            hidden=max(0, len(findings) - MAX_SHOWN_FINDINGS),
            indicators=data.get("indicators") or [],
            annotated=entry.checked is not None and entry.suffix in XLSX_TYPES,
            expires=clock(entry.created + RESULT_TTL))

    @router.get("/result/{token}/report.json")
    def report_json(request: Request, token: str) -> Response:
        if (stop := page.guard(request)) is not None:
            return stop
        got, entry = page.own_result(request, token)
        if entry is None or not entry.report_path.exists():
            return page.message(request, 404, "Отчёт не найден", EXPIRED_RU)
        return FileResponse(entry.report_path, media_type="application/json",
                            headers=attachment(f"{stem_of(entry)}-проверка.json"))

    @router.get("/result/{token}/annotated")
    def annotated(request: Request, token: str) -> Response:
        if (stop := page.guard(request)) is not None:
            return stop
        got, entry = page.own_result(request, token)
        if entry is None:
            return page.message(request, 404, "Копия не найдена", EXPIRED_RU)
        from addin.xlsx.annotate import AnnotatedCopyError

        reason = ("Для этого файла копию с замечаниями сделать не удалось. Замечания — на "
                  "странице результата и в отчёте JSON.")
        try:
            out = annotated_copy(entry)
        except AnnotatedCopyError as exc:  # a Russian reason the curator can act on
            out = None
            reason = f"{exc.message_ru} Замечания — на странице результата и в отчёте JSON."
        except Exception as exc:  # noqa: BLE001
            log.error("annotated copy failed: %s", type(exc).__name__)
            out = None
        if out is None:
            return page.message(request, 404, "Копии с замечаниями нет", reason)
        return FileResponse(out, media_type=XLSX_TYPES[entry.suffix],
                            headers=attachment(f"{stem_of(entry)}-проверка{entry.suffix}"))

    @router.post("/submit")
    async def submit(request: Request) -> Response:
        if (stop := page.guard(request)) is not None:
            return stop
        got = page.session(request)
        form = await page.posted_form(request, got)
        if isinstance(form, Response):
            return form
        return await run_in_threadpool(do_submit, page, request, got,
                                       form_text(form.get("submit_token")))

    @router.get("/result/{token}/receipt", response_class=HTMLResponse)
    def receipt(request: Request, token: str) -> Response:
        if (stop := page.guard(request)) is not None:
            return stop
        got, entry = page.own_result(request, token)
        if entry is None or entry.receipt is None:
            return page.message(request, 404, "Квитанция не найдена", EXPIRED_RU)
        return page.render(request, "receipt.html", session=got, entry=entry, rc=entry.receipt,
                           when=when(entry.receipt.submitted_at))
    return router


def analyse(page: Page, entry: Entry, path: Path, reference_date: date | None,
            session: Session) -> None:
    """Check the uploaded file in a check worker (read, rules, indicators, the after-check
    hooks, report.json), then fill the entry with what the page and the submission need."""
    started = time.perf_counter()
    book = CheckedBook(entry.folder, entry.suffix, page.config.targets_path)
    try:
        outcome = page.workers.run(check_upload, path, book, entry.display_name,
                                   reference_date, page.targets(), tuple(page.after_check))
    except Exception as exc:  # noqa: BLE001 (a lost worker, a bug: never a traceback)
        log.error("check failed: %s", type(exc).__name__)
        outcome = CheckOutcome(Report(source=entry.display_name, reference_date=reference_date,
                                      file_error=WorkbookError(INTERNAL_RU)))
        write_report(entry.report_path, outcome)
    report = outcome.report
    entry.period = outcome.period
    entry.status = report.status
    entry.school_code, entry.school_name = report.school_code, report.school_name
    if report.file_error is not None:
        path.unlink(missing_ok=True)
    else:
        entry.checked = path
        entry.submit_blocked = submit_blocked(page, report, session, entry.period)
        if not entry.submit_blocked:
            entry.submit_token = secrets.token_urlsafe(32)
            if reference_date is None and outcome.readable:  # the date a submission is judged by
                entry.verdict = (report, outcome.raw_period)
        elif entry.suffix == ".ods" and report.version == C.TEMPLATE_VERSION:
            # no submission, no annotated copy: keep nothing (an old book is kept for
            # «Обновить книгу», addin/web/upgrade.py)
            path.unlink(missing_ok=True)
            entry.checked = None
    c = report.counts
    log.info("check school=%s status=%s errors=%d warnings=%d advice=%d ms=%d",
             code_for_log(report.school_code), report.file_error.code
             if report.file_error else LOG_STATUS[report.status], c["ошибка"],
             c["предупреждение"], c["совет"],
             (time.perf_counter() - started) * 1000)


def submit_blocked(page: Page, report: Report, session: Session, period: str = "") -> str:
    """Why this report cannot be submitted from this session ("" when it can); `period` is
    the book's own (the window of template versions is judged by it)."""
    if page.config.collect_dir is None:
        return ("Сдача книг на этом сервере не включена (он запущен без папки сбора "
                "--collect-dir). Передайте книгу в муниципальный центр так, как он указал.")
    if report.file_error is not None:
        return "Файл не читается — сдать его нельзя."
    if report.errors:
        return ("Книгу с ошибками сдать нельзя: исправьте ошибки, сохраните книгу и "
                "проверьте снова.")
    when = period or date.today().strftime("%Y-%m")
    if report.version and not page.config.versions.accepts(report.version, when):
        return page.config.versions.reason_ru(report.version, when)
    code = report.school_code
    if session.staff:
        return ("Вы вошли как сотрудник муниципального центра: сдаёт книгу сама "
                "организация под своим кодом. Проверять книги здесь можно.")
    if not code:
        return "На листе «Сведения об ОО» не указан код ОО — без него книгу не сдать."
    if not valid_school_code(code):
        return (f"Код ОО «{code}» нельзя использовать как имя файла: допустимы буквы, "
                "цифры, дефис, точка и подчёркивание.")
    if not page.open_mode and code != session.school:
        return (f"Это книга организации {code}, а вы вошли как {session.school}. Сдать "
                "можно только книгу своей организации.")
    return ""

def annotated_copy(entry: Entry) -> Path | None:
    """The annotated copy, written on first request (most visitors never ask for it)."""
    from addin.indicators import IndicatorValue
    from addin.xlsx.annotate import write_annotated

    with entry.lock:
        if entry.annotated is not None and entry.annotated.exists():
            return entry.annotated
        if entry.checked is None or not entry.checked.exists() or entry.suffix == ".ods":
            return None
        data = json.loads(entry.report_path.read_text(encoding="utf-8"))
        report = report_from_dict(data)
        indicators = [IndicatorValue(**d) for d in data.get("indicators") or []] or None
        out = entry.folder / f"annotated{entry.suffix}"
        started = time.perf_counter()
        write_annotated(entry.checked, out, report, indicators)
        log.info("annotated copy school=%s ms=%d", code_for_log(entry.school_code),
                 (time.perf_counter() - started) * 1000)
        entry.annotated = out
        return out


def do_submit(page: Page, request: Request, session: Session, submit_token: str) -> Response:
    """Store the kept file by the verdict of its own date (the check's, when it was made by
    the book's date; else the file is checked again); a workbook with errors is never stored."""
    entry, own = page.store.take_submission(submit_token, session.sid) if submit_token \
        else (None, False)
    if entry is None:
        return page.message(request, 404, "Сдача невозможна",
                            "Ссылка для сдачи уже использована или устарела (она действует "
                            "15 минут после проверки и один раз). Проверьте файл снова.")
    if not own:
        log.warning("submit refused: token of another session")
        return page.message(request, 403, "Сдача запрещена",
                            "Эта проверка выполнена в другом сеансе. Войдите под своим кодом "
                            "и проверьте свою книгу.")
    with entry.lock:
        if entry.checked is None or not entry.checked.exists():
            return page.message(request, 404, "Сдача невозможна", EXPIRED_RU)
        try:
            report, period = entry.verdict or page.workers.run(judge, entry.checked)
        except Exception:  # noqa: BLE001 (read once already; any failure now: not submitted)
            return page.message(request, 422, "Сдача невозможна",
                                "Файл не читается — сдать его нельзя.")
        blocked = submit_blocked(page, report, session)
        if blocked:
            log.info("submit refused school=%s errors=%d", code_for_log(report.school_code),
                     report.errors)
            return page.message(request, 422 if report.errors else 403, "Сдача невозможна",
                                blocked)
        try:
            rc = collect.submit(page.config.collect_dir, entry.checked, report.school_code,
                                report.school_name, period,
                                then=lambda rc: record_submission(page, rc, report))
        except OSError as exc:
            log.error("submit failed school=%s: %s", report.school_code, type(exc).__name__)
            return page.message(request, 500, "Сдача не выполнена",
                                "Не удалось записать файл в папку сбора. Сообщите "
                                "администратору сервера и повторите позже.")
    entry.receipt = rc
    log.info("submit school=%s period=%s sha256=%s size=%d", rc.school_code, rc.period,
             rc.sha256, rc.size)
    return RedirectResponse(f"/result/{entry.token}/receipt", status_code=303,
                            headers=page_headers())


def record_submission(page: Page, rc: collect.Receipt, report: Report) -> None:
    """The journal's event of a stored submission (inside the folder's lock)."""
    if page.workspace is None:
        return
    try:
        page.workspace.submitted(rc, report)
    except (OSError, sqlite3.Error) as exc:  # the file is stored; the board re-checks it
        log.error("journal not written for a submission: %s", type(exc).__name__)
