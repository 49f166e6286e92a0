"""«Напомнить» and the results of «Собрать свод» by e-mail (staff only):

    GET  /staff/remind?period=…&filter=…      the letter and its recipients for a board filter
    GET  /staff/remind/letter.html?…          the HTML letter of the preview, as it is sent
    POST /staff/remind                        send the filter's reminders
    GET  /staff/remind/results?job=N          the result letters of a finished sync run
    POST /staff/remind/results                send them

The board shows what happened to each school's latest letter through the template function
``mail_outcomes(period)`` this module adds. A school that already got the letter (the same
day's reminder, the same run's result) is not written to again.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from addin.mail.letters import KIND_RU
from addin.mail.mailer import Batch, MailConfigError
from addin.mail.sender import OUTCOME_RU, MailServerError, Outcome
from addin.web.helpers import form_text, page_headers
from addin.web.reminding import DEFAULT_FILTER, REMIND_FILTERS, Reminders
from addin.web.site import Page
from addin.web.workspace import RegistryProblem, valid_period

#: The preview of the HTML letter runs no script and loads nothing.
LETTER_CSP = "default-src 'none'; style-src 'unsafe-inline'; sandbox"


def make_router(page: Page) -> APIRouter:
    """The «Напомнить» routes and the board's template function."""
    router = APIRouter()
    ws = page.workspace
    staff_only = page.staff_only

    def reminders() -> Reminders:
        return Reminders.of(ws)

    def outcomes_of(period: str) -> dict[str, Any]:
        return reminders().outcomes(period) if ws is not None else {}

    def letters_of(code: str, period: str) -> list[Any]:
        return reminders().log.rows(period=period, school=code) if ws is not None else []

    page.env.globals["mail_outcomes"] = outcomes_of
    page.env.globals["mail_letters"] = letters_of
    page.env.globals["mail_outcome_ru"] = OUTCOME_RU
    page.env.globals["mail_kind_ru"] = KIND_RU

    def chosen(values: Any) -> tuple[str, str]:
        period = form_text(values.get("period"))
        period = period if valid_period(period) else ws.default_period()
        flt = form_text(values.get("filter"))
        return period, flt if flt in REMIND_FILTERS else DEFAULT_FILTER

    def show(request: Request, session: Any, batch: Batch | None, status: int = 200,
             **ctx: Any) -> HTMLResponse:
        r = reminders()
        return page.render(request, "remind.html", status=status, session=session,
                           batch=batch, problem=r.problem, filters=REMIND_FILTERS,
                           outcome_ru=OUTCOME_RU, **ctx)

    @router.get("/staff/remind", response_class=HTMLResponse)
    async def preview(request: Request) -> Response:
        session, stop = staff_only(request)
        if stop is not None:
            return stop
        period, flt = chosen(request.query_params)
        try:
            batch = await run_in_threadpool(reminders().preview, period, flt)
        except RegistryProblem as exc:
            return page.message(request, 409, "Реестр не читается", exc.message_ru)
        return show(request, session, batch, period=period, flt=flt, mode="reminder",
                    sent=_outcomes(request, reminders(), period))

    @router.get("/staff/remind/letter.html")
    async def letter(request: Request) -> Response:
        session, stop = staff_only(request)
        if stop is not None:
            return stop
        job = request.query_params.get("job", "")
        if job.isdigit():
            batch = await run_in_threadpool(reminders().preview_results, int(job))
        else:
            batch = await run_in_threadpool(reminders().preview, *chosen(request.query_params))
        sample = batch.sample
        body = sample.html if sample else "<p>Писем для отправки нет.</p>"
        headers = {**page_headers(), "Content-Security-Policy": LETTER_CSP}
        return HTMLResponse(body, headers=headers)

    @router.post("/staff/remind")
    async def send(request: Request) -> Response:
        session, stop = staff_only(request)
        if stop is not None:
            return stop
        form = await page.posted_form(request, session)
        if isinstance(form, Response):
            return form
        period, flt = chosen(form)
        try:
            await run_in_threadpool(reminders().remind, period, flt, session.staff)
        except (MailServerError, MailConfigError, RegistryProblem) as exc:
            batch = await run_in_threadpool(reminders().preview, period, flt)
            return show(request, session, batch, 502, period=period, flt=flt, mode="reminder",
                        error=exc.message_ru, sent={})
        return RedirectResponse(f"/staff?period={period}&filter={flt}&mailed=1",
                                status_code=303, headers=page_headers())

    @router.get("/staff/remind/results", response_class=HTMLResponse)
    async def results(request: Request) -> Response:
        session, stop = staff_only(request)
        if stop is not None:
            return stop
        job = _job_of(request.query_params.get("job", ""))
        batch = await run_in_threadpool(reminders().preview_results, job)
        return show(request, session, batch, 200 if batch.period else 404, job=job,
                    period=batch.period, mode="result",
                    sent=_outcomes(request, reminders(), batch.period))

    @router.post("/staff/remind/results")
    async def send_results(request: Request) -> Response:
        session, stop = staff_only(request)
        if stop is not None:
            return stop
        form = await page.posted_form(request, session)
        if isinstance(form, Response):
            return form
        job = _job_of(form_text(form.get("job")))
        try:
            await run_in_threadpool(reminders().send_results, job, session.staff)
        except (MailServerError, MailConfigError, RegistryProblem) as exc:
            batch = await run_in_threadpool(reminders().preview_results, job)
            return show(request, session, batch, 502, job=job, period=batch.period,
                        mode="result", error=exc.message_ru, sent={})
        return RedirectResponse(f"/staff/remind/results?job={job}&done=1", status_code=303,
                                headers=page_headers())

    return router


def _job_of(text: str) -> int:
    return int(text) if text.isdigit() and len(text) < 10 else 0


def _outcomes(request: Request, r: Reminders, period: str) -> dict[str, Outcome]:
    """After a send: the latest outcome per school, for the page's table."""
    if not request.query_params.get("done") or not period:
        return {}
    return {code: Outcome(code, row.outcome, row.reason)
            for code, row in r.outcomes(period).items()}

