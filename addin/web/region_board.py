"""The regional centre's pages (a regional login on a server started with --region; every
other visitor gets the login page or 403, the board is read-only):

    GET  /region                      the regional board (?period=ГГГГ-ММ)
    GET  /region/board.xlsx           the same list as a workbook
    GET  /region/m/<code>             one municipality: its organisations and their statuses
    GET  /region/sync, POST           «Собрать свод региона»: start, earlier runs
    GET  /region/sync/<id>/progress   progress of a run (JSON for the progress bar)
    GET  /region/runs/<id>/<what>     the regional master (with «До цели») or form of a run
"""

from __future__ import annotations

import logging
from datetime import date
from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response

from addin.web.access import Session
from addin.web.helpers import (
    attachment,
    form_text,
    json_answer,
    list_workbook,
    page_headers,
)
from addin.web.journal import RUNNING
from addin.web.region_view import MunicipalityRow, RegionJobs, RegionProblem, RegionService
from addin.web.site import Page
from addin.web.workspace import deadline_of, valid_period

log = logging.getLogger("nastavnik.web")

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
REGION_ONLY_RU = ("Эта страница — только для сотрудников регионального центра. Войдите под "
                  "логином сотрудника региона.")
NO_REGION_RU = ("Доска региона не включена: запустите сервер регионального центра с базой "
                "истории региона (nastavnik serve --region --db postgresql://…).")
BOARD_HEADER = ("Код муниципалитета", "Муниципалитет", "Контакт", "Свод за период",
                "Когда", "Кем", "Принято ОО", "Всего ОО", "Примечание")
#: Where a regional server keeps its runs when it has no --collect-dir.
DEFAULT_ROOT = Path("nastavnik-region")


def make_router(page: Page) -> APIRouter:
    """The regional centre's routes."""
    router = APIRouter()
    service: RegionService | None = page.region
    root = (page.config.collect_dir or DEFAULT_ROOT) / "region"
    jobs = RegionJobs(service, root) if service is not None else None

    def region_only(request: Request) -> tuple[Session | None, Response | None]:
        """The one guard of every regional route: a regional login on a regional server."""
        if not page.host_ok(request):
            return None, page.guard(request)
        session = page.session(request)
        if session is None or session.account is None:
            return None, RedirectResponse("/login", status_code=303, headers=page_headers())
        if not session.region:
            log.warning("region route refused account=%s", session.school or session.staff)
            return None, page.message(request, 403, "Доступ запрещён", REGION_ONLY_RU)
        if service is None:
            return None, page.message(request, 404, "Не включено", NO_REGION_RU)
        return session, None

    def period_of(request: Request, periods: list[str]) -> str:
        asked = request.query_params.get("period", "")
        if valid_period(asked):
            return asked
        return page.config.period or (periods[0] if periods else date.today().strftime("%Y-%m"))

    async def periods_and_period(request: Request) -> tuple[list[str], str]:
        periods = await run_in_threadpool(service.periods)
        period = period_of(request, periods)
        return sorted({period, *periods}, reverse=True), period

    @router.get("/region", response_class=HTMLResponse)
    async def board(request: Request) -> Response:
        session, stop = region_only(request)
        if stop is not None:
            return stop
        try:
            periods, period = await periods_and_period(request)
            rows = await run_in_threadpool(service.board, period)
            problem = ""
        except RegionProblem as exc:
            periods, period, rows, problem = [], period_of(request, []), [], exc.message_ru
        deadline = deadline_of(period, page.config.deadline_day)
        last = jobs.journal.jobs(limit=1)
        return page.render(request, "region_board.html", session=session, period=period,
                           periods=periods, rows=rows, problem=problem, deadline=deadline,
                           days_left=(deadline - date.today()).days,
                           synced=sum(r.synced for r in rows),
                           missing=[r for r in rows if not r.synced],
                           last_job=last[0] if last else None)

    @router.get("/region/board.xlsx")
    async def board_xlsx(request: Request) -> Response:
        session, stop = region_only(request)
        if stop is not None:
            return stop
        try:
            _, period = await periods_and_period(request)
            rows = await run_in_threadpool(service.board, period)
        except RegionProblem as exc:
            return page.message(request, 409, "Доска не построена", exc.message_ru)
        payload = await run_in_threadpool(board_workbook, rows, period)
        return Response(payload, media_type=XLSX, headers=attachment(f"регион-{period}.xlsx"))

    @router.get("/region/m/{code}", response_class=HTMLResponse)
    async def municipality(request: Request, code: str) -> Response:
        session, stop = region_only(request)
        if stop is not None:
            return stop
        try:
            _, period = await periods_and_period(request)
            rows = await run_in_threadpool(service.board, period)
            orgs = await run_in_threadpool(service.organisations, code, period)
        except RegionProblem as exc:
            return page.message(request, 409, "Доска не построена", exc.message_ru)
        row = next((r for r in rows if r.code == code), None)
        if row is None:
            return page.message(request, 404, "Муниципалитет не найден",
                                f"Муниципалитета с кодом «{code[:64]}» нет в реестре и в базе.")
        statuses: dict[str, int] = {}
        for o in orgs:
            statuses[o.status] = statuses.get(o.status, 0) + 1
        return page.render(request, "region_municipality.html", session=session,
                           period=period, row=row, orgs=orgs, statuses=statuses)

    @router.get("/region/sync", response_class=HTMLResponse)
    async def sync_page(request: Request) -> Response:
        session, stop = region_only(request)
        if stop is not None:
            return stop
        try:
            periods, period = await periods_and_period(request)
        except RegionProblem as exc:
            return page.message(request, 409, "База региона недоступна", exc.message_ru)
        runs = jobs.journal.jobs()
        current = next((j for j in runs if j.state == RUNNING), None)
        return page.render(request, "region_sync.html", session=session, jobs=runs,
                           current=current,
                           progress=jobs.progress(current.id) if current else None,
                           period=period, periods=periods, after=jobs.journal.last_job_id())

    @router.post("/region/sync")
    async def start_sync(request: Request) -> Response:
        session, stop = region_only(request)
        if stop is not None:
            return stop
        form = await page.posted_form(request, session)
        if isinstance(form, Response):
            return form
        period = form_text(form.get("period"))
        if not valid_period(period):
            return page.message(request, 400, "Свод не запущен", "Выберите период ГГГГ-ММ.")
        try:
            after = int(form_text(form.get("after")) or "0")
        except ValueError:
            after = 0
        job_id, _ = await run_in_threadpool(jobs.start, period, session.region, after)
        return RedirectResponse(f"/region/sync?period={period}#run-{job_id}",
                                status_code=303, headers=page_headers())

    @router.get("/region/sync/{job_id}/progress")
    def sync_progress(request: Request, job_id: int) -> Response:
        session, stop = region_only(request)
        if stop is not None:
            return stop
        job = jobs.journal.job(job_id)
        if job is None:
            return json_answer({"error": "нет такого свода"}, status=404)
        p = jobs.progress(job_id)
        body = {"state": job.state, "message": job.message, "done": p.done if p else 0,
                "total": p.total if p else 0, "step": p.step if p else ""}
        return json_answer(body, headers=page_headers())

    @router.get("/region/runs/{job_id}/{what}")
    def run_output(request: Request, job_id: int, what: str) -> Response:
        session, stop = region_only(request)
        if stop is not None:
            return stop
        job = jobs.journal.job(job_id)
        rel = {"master": job.master if job else "", "form": job.form if job else ""}.get(what)
        path = root / rel if rel else None
        if path is None or not path.is_file():
            return page.message(request, 404, "Файла нет",
                                "Этот свод не завершён или его файл удалён.")
        return FileResponse(path, media_type=XLSX, headers=attachment(path.name))

    return router


def board_workbook(rows: list[MunicipalityRow], period: str) -> bytes:
    """The regional board as an .xlsx (values as text or numbers, never formulas)."""
    return list_workbook(
        f"Регион {period}", BOARD_HEADER,
        ((r.code, r.name, r.contact, "собран" if r.synced else "не собран",
          _local(r.synced_at), r.actor, r.accepted, r.total,
          "нет в реестре региона" if r.unlisted else "") for r in rows),
        (14, 40, 30, 14, 18, 16, 10, 10, 24))


def _local(iso: str) -> str:
    return f"{iso[8:10]}.{iso[5:7]}.{iso[0:4]} {iso[11:16]}" if iso else ""
