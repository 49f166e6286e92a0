"""Signing in and out with the access file's codes (schools) and logins (municipal staff).

    GET  /login, POST /login, POST /logout
"""

from __future__ import annotations

import asyncio
import logging
import os
import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import lru_cache

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from addin.web import clock
from addin.web.access import REGION, STAFF, Attempt, Session
from addin.web.helpers import form_text, page_headers
from addin.web.journal import LOCKOUT
from addin.web.site import Page

log = logging.getLogger("nastavnik.web")

LOGIN_FAILED_RU = "Неверный код ОО или код доступа. Проверьте раскладку клавиатуры и повторите."
THROTTLED_RU = ("Слишком много неудачных попыток входа с этого адреса. Вход закрыт ещё на "
                "{minutes}. Подождите или обратитесь в муниципальный центр за новым кодом "
                "доступа.")


class Verifier:
    """Slots for the scrypt checks of codes: one at a time per address, and at most `slots` at
    once in all (a core stays free for the pages and /health whatever the flood)."""

    def __init__(self, slots: int | None = None) -> None:
        self._all = asyncio.Semaphore(slots or max(1, (os.cpu_count() or 2) - 1))
        self._mine: dict[str, tuple[asyncio.Lock, int]] = {}

    @asynccontextmanager
    async def slot(self, address: str) -> AsyncIterator[None]:
        lock, users = self._mine.get(address, (asyncio.Lock(), 0))
        self._mine[address] = (lock, users + 1)
        try:
            async with lock, self._all:
                yield
        finally:
            lock, users = self._mine[address]
            if users <= 1:
                del self._mine[address]
            else:
                self._mine[address] = (lock, users - 1)


#: A shut-out address waits this long for each refusal (a sleep holds no thread and no CPU):
#: a flood of refusals from one address cannot keep the server's event loop busy.
LOCKED_WAIT = 0.5


def make_router(page: Page) -> APIRouter:
    """The login and logout routes."""
    router = APIRouter()
    verifier = Verifier()

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
        address = request.client.host if request.client else "?"
        if locked := page.throttle.locked(address):  # first of all: a flood costs next to nothing
            await asyncio.sleep(LOCKED_WAIT)
            return throttled(page, locked)
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
        return await do_login(page, request, got, name, secret, address, verifier)

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
                   address: str, verifier: Verifier) -> Response:
    """Check the code in a worker thread (scrypt), but wait out a failure in the event loop:
    a sleeping refusal holds no thread-pool worker, so guessing cannot starve the page."""
    codes = page.codes
    assert codes is not None
    who = name if codes.known(name) else "неизвестный код"
    async with verifier.slot(address):
        if locked := page.throttle.locked(address):  # shut while this attempt was queued
            return throttled(page, locked)
        account = await run_in_threadpool(codes.login, name, secret)
        attempt = page.throttle.failed(address) if account is None else None
    if attempt is not None and attempt.locked_now:
        log.warning("login refused account=%s; address locked out for %d s", who,
                    attempt.locked)
        await run_in_threadpool(record_lockout, page, address, attempt)
        return throttled(page, attempt.locked)
    if attempt is not None:
        log.warning("login refused account=%s", who)
        await asyncio.sleep(page.throttle.delay(attempt))
        return page.render(request, "login.html", status=401, session=session,
                           error=LOGIN_FAILED_RU, school_value=name)
    page.throttle.succeeded(address)
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


def minutes_ru(seconds: float) -> str:
    """«1 минуту», «2 минуты», «15 минут» (rounded up)."""
    n = max(1, int(-(-seconds // 60)))
    word = "минуту" if n % 10 == 1 and n % 100 != 11 else \
        "минуты" if 2 <= n % 10 <= 4 and not 12 <= n % 100 <= 14 else "минут"
    return f"{n}\u00a0{word}"


def throttled(page: Page, seconds: float) -> Response:
    """429 with a Russian page, at once: a shut-out address costs no scrypt, no wait, no
    session and no template rendering (the page is made once per number of minutes)."""
    minutes = minutes_ru(seconds)
    headers = {**page_headers(no_store=True), "Retry-After": str(max(1, int(seconds)))}
    return HTMLResponse(_locked_html(page, minutes), status_code=429, headers=headers)


@lru_cache(maxsize=64)
def _locked_html(page: Page, minutes: str) -> str:
    return page.env.get_template("message.html").render(
        csrf="", school="", staff="", open_mode=False, collect=False, max_mb=0,
        title="Вход временно закрыт", text=THROTTLED_RU.format(minutes=minutes))


def record_lockout(page: Page, address: str, attempt: Attempt) -> None:
    """The journal's line about a lockout: the address and counts, never a code or a name
    typed into the form (a mistyped access code may be in it)."""
    if page.workspace is None:
        return
    try:
        page.workspace.journal.add_event(
            period=clock.today().strftime("%Y-%m"), school="", kind=LOCKOUT, actor=address,
            comment=f"вход с адреса закрыт на {minutes_ru(attempt.locked)} после "
                    f"{attempt.failures} неудачных попыток")
    except (OSError, sqlite3.Error) as exc:
        log.error("journal not written for a lockout: %s", type(exc).__name__)
