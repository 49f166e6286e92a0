"""The municipal staff's routes (all need a staff login; a school gets 403, a visitor the login):

    GET  /staff                          the period board (?period=ГГГГ-ММ&filter=…)
    GET  /staff/board.xlsx               the same list as a workbook
    GET  /staff/school/<code>            one school: status, history, findings, return form
    GET  /staff/school/<code>/file       the school's current workbook
    POST /staff/school/<code>/return     «Вернуть на доработку» with a comment
    GET  /staff/registry, POST           the registry of schools: view, upload (.csv/.xlsx)
    GET  /staff/sync, POST               «Собрать свод»: start, earlier runs
    GET  /staff/sync/<id>/progress       progress of a run (JSON for the progress bar)
    GET  /staff/runs/<id>/master, /form  the master workbook and federal form of a run
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from starlette.datastructures import UploadFile

from addin.web.access import Session
from addin.web.helpers import (
    attachment,
    form_text,
    group_by_sheet,
    json_answer,
    list_workbook,
    page_headers,
    short_when,
)
from addin.web.jobs import JobRunner
from addin.web.journal import REGISTRY, RUNNING
from addin.web.reminding import Reminders
from addin.web.site import Page
from addin.web.workspace import (
    FILTERS,
    BoardRow,
    RegistryProblem,
    Workspace,
    deadline_of,
    keep,
    valid_period,
)

log = logging.getLogger("nastavnik.web")

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
MAX_COMMENT = 2000
MAX_REGISTRY_BYTES = 5 * 1024 * 1024
BOARD_HEADER = ("Код ОО", "Наименование", "Тип", "Статус", "Время сдачи", "SHA-256", "Ошибок",
                "Предупреждений", "Файл", "Срок", "Комментарий", "Примечание", "Версия шаблона")


def make_router(page: Page) -> APIRouter:
    """The staff's routes."""
    router = APIRouter()
    ws: Workspace | None = page.workspace
    runner = JobRunner(ws) if ws is not None else None
    page.env.filters["short_when"] = short_when

    staff_only = page.staff_only

    def period_of(request: Request) -> str:
        asked = request.query_params.get("period", "")
        return asked if valid_period(asked) else ws.default_period()  # type: ignore[union-attr]

    def render(request: Request, name: str, session: Session, status: int = 200,
               **ctx: Any) -> HTMLResponse:
        return page.render(request, name, status=status, session=session, **ctx)

    @router.get("/staff", response_class=HTMLResponse)
    async def board(request: Request) -> Response:
        session, stop = staff_only(request)
        if stop is not None:
            return stop
        period = period_of(request)
        flt = request.query_params.get("filter", "")
        flt = flt if flt in FILTERS else ""
        rows, problem = await _board_rows(ws, period)
        shown = [r for r in rows if keep(r, flt)]
        counts = {k: sum(keep(r, k) for r in rows) for k in FILTERS}
        statuses: dict[str, int] = {}
        for r in rows:
            statuses[r.status] = statuses.get(r.status, 0) + 1
        jobs = ws.journal.jobs(limit=1)
        return render(request, "board.html", session, period=period, periods=ws.periods(),
                      rows=shown, total=len(rows), flt=flt, filters=FILTERS, counts=counts,
                      statuses=statuses, problem=problem,
                      deadline=deadline_of(period, ws.deadline_day),
                      registry=ws.registry_path(), last_job=jobs[0] if jobs else None,
                      unchecked=sum(not r.checked for r in rows))

    @router.get("/staff/board.xlsx")
    async def board_xlsx(request: Request) -> Response:
        session, stop = staff_only(request)
        if stop is not None:
            return stop
        period = period_of(request)
        flt = request.query_params.get("filter", "")
        rows, _ = await _board_rows(ws, period)
        payload = _board_workbook([r for r in rows if keep(r, flt)], period)
        name = f"сдача-{period}.xlsx"
        return Response(payload, media_type=XLSX, headers=attachment(name))

    @router.get("/staff/school/{code}", response_class=HTMLResponse)
    async def school(request: Request, code: str) -> Response:
        session, stop = staff_only(request)
        if stop is not None:
            return stop
        period = period_of(request)
        try:
            row, report = await run_in_threadpool(_school_detail, ws, code, period)
        except RegistryProblem as exc:
            return page.message(request, 409, "Реестр не читается", exc.message_ru)
        if row is None:
            return page.message(request, 404, "Организация не найдена",
                                f"Организации с кодом «{code[:64]}» нет в реестре.")
        findings = report.to_dict()["findings"] if report is not None else []
        events = [e for e in ws.journal.events(code) if e.period == period or
                  (row.sha256 and e.sha256 == row.sha256)]
        return render(request, "staff_school.html", session, period=period, row=row,
                      groups=group_by_sheet(findings[:3000]), report=report,
                      events=list(reversed(events)), error=request.query_params.get("e", ""))

    @router.get("/staff/school/{code}/file")
    async def school_file(request: Request, code: str) -> Response:
        session, stop = staff_only(request)
        if stop is not None:
            return stop
        try:
            row = await run_in_threadpool(ws.row, code, period_of(request))
        except RegistryProblem as exc:
            return page.message(request, 409, "Реестр не читается", exc.message_ru)
        path = ws.collect_dir / row.file if row.file else None
        if path is None or not path.is_file():
            return page.message(request, 404, "Книги нет", "Организация не сдала книгу.")
        return FileResponse(path, media_type=XLSX, headers=attachment(path.name))

    @router.post("/staff/school/{code}/return")
    async def return_school(request: Request, code: str) -> Response:
        session, stop = staff_only(request)
        if stop is not None:
            return stop
        form = await page.posted_form(request, session)
        if isinstance(form, Response):
            return form
        period = form_text(form.get("period"))
        period = period if valid_period(period) else ws.default_period()
        comment = " ".join(form_text(form.get("comment")).split())[:MAX_COMMENT]
        target = f"/staff/school/{_quote(code)}?period={period}"
        if not comment:
            return RedirectResponse(f"{target}&e=comment", status_code=303, headers=page_headers())
        try:
            await run_in_threadpool(ws.return_for_revision, code, period, comment, session.staff)
        except RegistryProblem as exc:
            return page.message(request, 409, "Вернуть нельзя", exc.message_ru)
        # the school hears of it at once (no-op without --mail-config; never fails the return)
        await run_in_threadpool(Reminders.of(ws).notify_return, code, period, comment,
                                session.staff)
        return RedirectResponse(target, status_code=303, headers=page_headers())

    @router.get("/staff/registry", response_class=HTMLResponse)
    async def registry(request: Request) -> Response:
        session, stop = staff_only(request)
        if stop is not None:
            return stop
        return await _registry_page(request, session)

    async def _registry_page(request: Request, session: Session, status: int = 200,
                             **ctx: Any) -> HTMLResponse:
        entries, problem = [], ""
        try:
            entries = await run_in_threadpool(ws.registry)
        except RegistryProblem as exc:
            problem = exc.message_ru
        uploads = [e for e in ws.journal.events("") if e.kind == REGISTRY][-10:]
        return render(request, "staff_registry.html", session, status=status, entries=entries,
                      problem=problem, path=ws.registry_path(), uploads=uploads[::-1], **ctx)

    @router.post("/staff/registry")
    async def upload_registry(request: Request) -> Response:
        session, stop = staff_only(request)
        if stop is not None:
            return stop
        form = await page.posted_form(request, session, max_files=1)
        if isinstance(form, Response):
            return form
        upload = form.get("file")
        if not isinstance(upload, UploadFile) or not (upload.filename or "").strip():
            return await _registry_page(request, session, 400,
                                        error="Выберите файл реестра (.csv или .xlsx).")
        payload = await upload.read(MAX_REGISTRY_BYTES + 1)
        if len(payload) > MAX_REGISTRY_BYTES:
            return await _registry_page(request, session, 400,
                                        error="Файл реестра больше 5 МБ — это не реестр.")
        try:
            n = await run_in_threadpool(ws.upload_registry, upload.filename or "", payload,
                                        session.staff)
        except RegistryProblem as exc:
            return await _registry_page(request, session, 400, error=exc.message_ru)
        return await _registry_page(request, session, done=f"Реестр загружен: организаций {n}.")

    @router.get("/staff/sync", response_class=HTMLResponse)
    async def sync_page(request: Request) -> Response:
        session, stop = staff_only(request)
        if stop is not None:
            return stop
        jobs = ws.journal.jobs()
        current = next((j for j in jobs if j.state == RUNNING), None)
        return render(request, "staff_sync.html", session, jobs=jobs, current=current,
                      progress=runner.progress(current.id) if current else None,
                      period=period_of(request), periods=ws.periods(),
                      after=ws.journal.last_job_id(), error=request.query_params.get("e", ""),
                      registry=ws.registry_path())

    @router.post("/staff/sync")
    async def start_sync(request: Request) -> Response:
        session, stop = staff_only(request)
        if stop is not None:
            return stop
        form = await page.posted_form(request, session)
        if isinstance(form, Response):
            return form
        period = form_text(form.get("period"))
        if not valid_period(period):
            period = ws.default_period()
        try:
            after = int(form_text(form.get("after")) or "0")
        except ValueError:
            after = 0
        try:
            job_id, _new = await run_in_threadpool(runner.start, period, session.staff, after)
        except RegistryProblem as exc:
            return page.message(request, 409, "Свод не запущен", exc.message_ru)
        return RedirectResponse(f"/staff/sync?period={period}#run-{job_id}", status_code=303,
                                headers=page_headers())

    @router.get("/staff/sync/{job_id}/progress")
    def sync_progress(request: Request, job_id: int) -> Response:
        session, stop = staff_only(request)
        if stop is not None:
            return stop
        job = ws.journal.job(job_id)
        if job is None:
            return json_answer({"error": "нет такого сбора"}, status=404)
        p = runner.progress(job_id)
        body = {"state": job.state, "message": job.message, "done": p.done if p else 0,
                "total": p.total if p else 0}
        return json_answer(body, headers=page_headers())

    @router.get("/staff/runs/{job_id}/{what}")
    def run_output(request: Request, job_id: int, what: str) -> Response:
        session, stop = staff_only(request)
        if stop is not None:
            return stop
        job = ws.journal.job(job_id)
        rel = {"master": job.master if job else "", "form": job.form if job else ""}.get(what)
        path = ws.root / rel if rel else None
        if path is None or not path.is_file():
            return page.message(request, 404, "Файла нет",
                                "Этот сбор не завершён или его файл удалён.")
        return FileResponse(path, media_type=XLSX, headers=attachment(path.name))

    return router


async def _board_rows(ws: Workspace, period: str) -> tuple[list[BoardRow], str]:
    try:
        return await run_in_threadpool(ws.board, period), ""
    except RegistryProblem as exc:
        return [], exc.message_ru


def _school_detail(ws: Workspace, code: str, period: str):  # noqa: ANN202
    """The school's row and its current file's findings (the check the school saw)."""
    if not any(e.code == code for e in ws.registry()):
        return None, None
    row = ws.row(code, period)
    report = None
    if row.file:
        _, report = ws.check_file(ws.collect_dir / row.file, row.sha256 or ws.sha_of(
            ws.collect_dir / row.file))
    return row, report


def _board_workbook(rows: list[BoardRow], period: str) -> bytes:
    """The board as an .xlsx (every value written as text or number, never as a formula)."""
    return list_workbook(
        f"Сдача {period}", BOARD_HEADER,
        ((r.code, r.name, r.org_type, r.status, short_when(r.submitted_at), r.sha256, r.errors,
          r.warnings, r.file, r.deadline_text.replace("\u00a0", " "), r.comment,
          r.file_error or r.note, r.version) for r in rows),
        (10, 40, 6, 24, 18, 66, 8, 10, 24, 22, 40, 40, 10))


def _quote(code: str) -> str:
    from urllib.parse import quote

    return quote(code, safe="")
