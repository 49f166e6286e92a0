"""«Передать в регион»: a run whose period did not reach the regional history is sent again,
without a new sync (see addin/web/delivery.py).

    POST /staff/runs/<id>/deliver     send the run's period to the regional database again

The sync page shows each run's delivery through the ``delivery_of`` template function.
"""

from __future__ import annotations

import logging

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse, Response

from addin.web.delivery import DELIVERED, PENDING, Deliveries, Delivery, DeliveryFailed
from addin.web.helpers import page_headers
from addin.web.site import Page

log = logging.getLogger("nastavnik.web")


def make_router(page: Page) -> APIRouter:
    """The retry route, and the sync page's view of each run's delivery."""
    router = APIRouter()
    ws = page.workspace
    ledger = Deliveries(ws.journal.path) if ws is not None else None

    def delivery_of(job_id: int) -> Delivery | None:
        return ledger.get(job_id) if ledger is not None else None

    page.env.globals["delivery_of"] = delivery_of

    @router.post("/staff/runs/{job_id}/deliver")
    async def deliver(request: Request, job_id: int) -> Response:
        session, stop = page.staff_only(request)
        if stop is not None:
            return stop
        form = await page.posted_form(request, session)
        if isinstance(form, Response):
            return form
        job, known = ws.journal.job(job_id), delivery_of(job_id)
        if job is None or known is None:
            return page.message(request, 404, "Нет такого сбора",
                                "Этот сбор не передаётся в регион.")
        if known.pending:
            try:
                await run_in_threadpool(ws.service.deliver, ws.master_path, job.period)
                ledger.retried(job_id, DELIVERED)
                log.info("region delivery retried job=%d staff=%s", job_id, session.staff)
            except DeliveryFailed as exc:
                ledger.retried(job_id, PENDING, exc.message_ru)
        return RedirectResponse(f"/staff/sync#run-{job_id}", status_code=303,
                                headers=page_headers())

    return router
