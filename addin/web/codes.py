"""«Коды доступа»: the municipal staff issue or replace one school's access code.

    GET  /staff/codes                  every registry school: has a code or not
    POST /staff/codes/<code>           issue (or replace) the code; shown on this page once

The new code is shown once, in the answer to the POST (never in an address, never stored in
clear); replacing a code ends the school's open sessions (a session carries a stamp of the
hash it was opened with). The journal records who issued a code for which school, never the
code itself.
"""

from __future__ import annotations

import logging

import segno
from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, Response

from addin.web.access import AccessFileError, Session, add_school_code
from addin.web.site import Page
from addin.web.workspace import RegistryProblem

log = logging.getLogger("nastavnik.web")

#: The journal's kind of a code step (period and sha256 empty).
CODE_EVENT = "code"
ISSUED_RU, REPLACED_RU = "код доступа выдан", "код доступа заменён"


def make_router(page: Page) -> APIRouter:
    """The access codes page of the staff."""
    router = APIRouter()

    @router.get("/staff/codes", response_class=HTMLResponse)
    async def codes(request: Request) -> Response:
        session, stop = page.staff_only(request)
        if stop is not None:
            return stop
        return await _codes_page(request, session)

    async def _codes_page(request: Request, session: Session, status: int = 200,
                          **ctx: object) -> HTMLResponse:
        rows, problem = [], ""
        try:
            entries = await run_in_threadpool(page.workspace.registry)
        except RegistryProblem as exc:
            entries, problem = [], exc.message_ru
        have = set(page.codes.schools()) if page.codes is not None else set()
        for e in entries:
            rows.append({"code": e.code, "name": e.name, "has": e.code in have})
        steps = [e for e in page.workspace.journal.events() if e.kind == CODE_EVENT][-20:]
        return page.render(request, "staff_codes.html", status=status, session=session,
                           rows=rows, problem=problem, steps=steps[::-1],
                           without=sum(not r["has"] for r in rows), **ctx)

    @router.post("/staff/codes/{code}", response_class=HTMLResponse)
    async def issue(request: Request, code: str) -> Response:
        session, stop = page.staff_only(request)
        if stop is not None:
            return stop
        form = await page.posted_form(request, session)
        if isinstance(form, Response):
            return form
        try:
            entries = await run_in_threadpool(page.workspace.registry)
        except RegistryProblem as exc:
            return page.message(request, 409, "Реестр не читается", exc.message_ru)
        entry = next((e for e in entries if e.code == code), None)
        if entry is None or page.codes is None:
            return page.message(request, 404, "Организация не найдена",
                                f"Организации с кодом «{code[:64]}» нет в реестре.")
        replaced = code in page.codes.schools()
        try:
            secret = await run_in_threadpool(add_school_code, page.codes.path, code)
        except AccessFileError as exc:
            return await _codes_page(request, session, 409, error=exc.message_ru)
        except OSError:
            log.error("access file not written (staff=%s)", session.staff)
            return await _codes_page(request, session, 500, error=(
                "Файл кодов доступа не записан (нет прав или места на диске). Код не выдан; "
                "сообщите администратору сервера."))
        step = REPLACED_RU if replaced else ISSUED_RU
        page.workspace.journal.add_event(period="", school=code, kind=CODE_EVENT,
                                         actor=session.staff, status=step)
        log.info("access code %s school=%s staff=%s", "replaced" if replaced else "issued",
                 code, session.staff)
        url = str(request.base_url)
        return page.render(request, "staff_code_issued.html", session=session, entry=entry,
                           secret=secret, replaced=replaced, url=url,
                           qr=segno.make(url, error="m").svg_data_uri(scale=4, border=2))

    return router
