"""Signing in and out with the access file's codes (schools) and logins (municipal staff).

    GET  /login, POST /login, POST /logout
"""

from __future__ import annotations

import asyncio
import logging

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from addin.web.access import FAILED_LOGIN_DELAY, REGION, STAFF, Session
from addin.web.helpers import form_text, page_headers
from addin.web.site import Page

log = logging.getLogger("nastavnik.web")

LOGIN_FAILED_RU = "Неверный код ОО или код доступа. Проверьте раскладку клавиатуры и повторите."
THROTTLED_RU = ("Слишком много неудачных попыток входа. Подождите 15 минут или обратитесь в "
                "муниципальный центр за новым кодом доступа.")


def make_router(page: Page) -> APIRouter:
    """The login and logout routes."""
    router = APIRouter()

    @router.get("/login", response_class=HTMLResponse)
    def login_form(request: Request) -> Response:
        if (stop := page.guard(request, need_login=False)) is not None:
            return stop
        got = page.session(request)
        if page.open_mode or (got is not None and got.account is not None):
            target = ("/region" if got is not None and got.region else
                      "/staff" if got is not None and got.staff else "/")
            return RedirectResponse(target, status_code=303, headers=page_headers())
        return page.render(request, "login.html", session=got)

    @router.post("/login")
    async def login(request: Request) -> Response:
        if (stop := page.guard(request, need_login=False)) is not None:
            return stop
        got = page.session(request)
        if page.open_mode:
            return RedirectResponse("/", status_code=303, headers=page_headers())
        form = await page.posted_form(request, got)
        if isinstance(form, Response):
            return form
        name = form_text(form.get("school")).strip()[:64]
        secret = form_text(form.get("code"))[:200]
        address = request.client.host if request.client else "?"
        return await do_login(page, request, got, name, secret, address)

    @router.post("/logout")
    async def logout(request: Request) -> Response:
        if (stop := page.guard(request, need_login=False)) is not None:
            return stop
        got = page.session(request)
        form = await page.posted_form(request, got)
        if isinstance(form, Response):
            return form
        value, _ = page.sessions.issue("")
        response = RedirectResponse("/login" if not page.open_mode else "/", status_code=303,
                                    headers=page_headers())
        page.set_cookie(request, response, value)
        return response
    return router


async def do_login(page: Page, request: Request, session: Session, name: str, secret: str,
                    address: str) -> Response:
    """Check the code in a worker thread (scrypt), but wait out a failure in the event loop:
    a sleeping refusal holds no thread-pool worker, so guessing cannot starve the page."""
    codes = page.codes
    assert codes is not None
    who = name if codes.known(name) else "неизвестный код"
    if page.throttle.blocked(address, name):
        log.warning("login throttled account=%s", who)
        await asyncio.sleep(FAILED_LOGIN_DELAY)
        return page.render(request, "login.html", status=429, session=session,
                           error=THROTTLED_RU, school_value=name)
    account = await run_in_threadpool(codes.login, name, secret)
    if account is None:
        page.throttle.failed(address, name)
        log.warning("login refused account=%s", who)
        await asyncio.sleep(FAILED_LOGIN_DELAY)
        return page.render(request, "login.html", status=401, session=session,
                           error=LOGIN_FAILED_RU, school_value=name)
    page.throttle.succeeded(address, name)
    stamp = codes.stamp(account) or ""
    if account.role == REGION:
        log.info("login region=%s", account.name)
        value, _ = page.sessions.issue(region=account.name, stamp=stamp)
        target = "/region" if page.region is not None else "/"
    elif account.role == STAFF:
        log.info("login staff=%s", account.name)
        value, _ = page.sessions.issue(staff=account.name, stamp=stamp)
        target = "/staff"
    else:
        log.info("login school=%s", account.name)
        value, _ = page.sessions.issue(account.name, stamp=stamp)
        target = "/"
    response = RedirectResponse(target, status_code=303, headers=page_headers())
    page.set_cookie(request, response, value)
    return response
