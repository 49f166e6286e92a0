"""`Page`: what every page module of one server shares: the result store, sessions and
access codes, the Jinja2 environment, rendering, the host and login guard, posted forms.

Page modules (check, login, plan, staff and the other areas app.py lists) take a Page; none
imports another page module.
A module that must act after every check (the plan) adds itself to ``Page.after_check``;
the checks run in ``Page.workers`` (addin/web/workers.py).
"""

from __future__ import annotations

import ipaddress
import logging
import secrets
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.datastructures import FormData
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.formparsers import MultiPartException

from addin.report import SHOWN_MESSAGE_CHARS, shorten
from addin.web.access import SESSION_COOKIE, AccessCodes, LoginThrottle, Session, Sessions
from addin.web.checking import AfterCheck
from addin.web.helpers import form_text, num, page_headers, when
from addin.web.results import Entry, ResultStore
from addin.web.workers import CheckWorkers

if TYPE_CHECKING:
    from addin.web.config import ServerConfig

log = logging.getLogger("nastavnik.web")

TEMPLATES = Path(__file__).with_name("templates")
LOOPBACK_NAMES = {"localhost", "127.0.0.1", "::1", "[::1]"}

CSRF_RU = ("Форма устарела или открыта не с этой страницы (нет защитного кода). Откройте "
           "страницу проверки заново и повторите. Если ошибка повторяется, разрешите "
           "браузеру сохранять cookie для этого сайта.")
HOST_RU = ("Страница открыта по незнакомому адресу. На этом компьютере откройте "
           "http://127.0.0.1:{port}/")

FORBIDDEN_RU = ("Эта страница — только для сотрудников муниципального центра. Войдите под "
                "логином сотрудника.")
NO_WORKSPACE_RU = ("Рабочее место муниципального центра не включено: запустите сервер с папкой "
                   "сбора (--collect-dir) и файлом доступа, где есть учётная запись сотрудника "
                   "(nastavnik serve add-staff).")

def is_loopback_ip(name: str) -> bool:
    """127.x.y.z or [::1] written as an address, not a host name that merely starts so."""
    try:
        return ipaddress.ip_address(name.strip("[]")).is_loopback
    except ValueError:
        return False


class Page:
    """State shared by the routes of one server."""

    def __init__(self, config: ServerConfig) -> None:
        self.config = config
        self.store = ResultStore()
        self.sessions = Sessions()
        self.codes = AccessCodes(config.access_file) if config.access_file else None
        self.throttle = LoginThrottle()
        self.env = Environment(loader=FileSystemLoader(TEMPLATES),
                               autoescape=select_autoescape(["html"]), trim_blocks=True,
                               lstrip_blocks=True)
        self.env.filters["num"] = num
        self.env.filters["when"] = when
        self.env.filters["short"] = shorten  # cell text on a page: 200 characters and «…»
        self.env.globals["message_chars"] = SHOWN_MESSAGE_CHARS
        self._targets: dict | None = None
        #: The municipal workspace (board, journal, sync jobs); set by the app factory.
        self.workspace: Any = None
        #: The regional store's service (a server started with --region), set by the app.
        self.region: Any = None
        #: What runs in the check worker after each readable check (the plan); page modules
        #: add module-level functions to it (see addin.web.checking.AfterCheck).
        self.after_check: list[AfterCheck] = []
        #: The processes the checks run in (addin.web.workers); started by the app.
        self.workers = CheckWorkers(config.check_workers)

    @property
    def open_mode(self) -> bool:
        return self.codes is None

    def targets(self) -> dict:
        from addin.indicators import load_targets

        if self._targets is None:
            self._targets = load_targets(self.config.targets_path)
        return self._targets

    # -- sessions
    def session(self, request: Request) -> Session | None:
        """The visitor's session; a logged-in one only while its account's code is unchanged."""
        session = self.sessions.read(request.cookies.get(SESSION_COOKIE))
        if session is None or session.account is None:
            return session
        stamp = self.codes.stamp(session.account) if self.codes is not None else None
        if stamp is None or not secrets.compare_digest(stamp, session.stamp):
            return None  # code replaced or account removed: the session is over
        return session

    def set_cookie(self, request: Request, response: Response, value: str) -> None:
        response.set_cookie(SESSION_COOKIE, value, max_age=self.sessions.lifetime, path="/",
                            httponly=True, samesite="strict",
                            secure=request.url.scheme == "https")

    def render(self, request: Request, name: str, status: int = 200,
               session: Session | None = None, **context: Any) -> HTMLResponse:
        """A page; a visitor without a valid session gets an anonymous one (for CSRF)."""
        new_cookie = None
        if session is None:
            session = self.session(request)
        if session is None:
            new_cookie, session = self.sessions.issue("")
        ctx = {"csrf": self.sessions.csrf(session), "school": session.school,
               "staff": session.staff, "regional": session.region,
               "open_mode": self.open_mode,
               "collect": self.config.collect_dir is not None,
               "max_mb": self.config.max_body_bytes // (1024 * 1024), **context}
        html = self.env.get_template(name).render(**ctx)
        response = HTMLResponse(html, status_code=status, headers=page_headers(no_store=True))
        if new_cookie:
            self.set_cookie(request, response, new_cookie)
        return response

    def message(self, request: Request, status: int, title: str, text: str) -> HTMLResponse:
        return self.render(request, "message.html", status=status, title=title, text=text)

    async def posted_form(self, request: Request, session: Session | None, *,
                          max_files: int = 0,
                          unreadable: Callable[[], Response] | None = None
                          ) -> FormData | Response:
        """The form of a POST with a valid CSRF token, else the Russian page to answer with
        (`unreadable` for a body that is not a form, 403 for a missing or wrong token)."""
        try:
            form = await request.form(max_files=max_files, max_fields=10)
        except (MultiPartException, StarletteHTTPException, UnicodeDecodeError, ValueError):
            if unreadable is not None:
                return unreadable()
            return self.message(request, 400, "Запрос не распознан", CSRF_RU)
        if not self.sessions.csrf_ok(session, form_text(form.get("csrf"))):
            return self.message(request, 403, "Доступ запрещён", CSRF_RU)
        return form

    def own_result(self, request: Request, token: str) -> tuple[Session | None, Entry | None]:
        """The visitor's session and the result behind `token`, if it is theirs."""
        session = self.session(request)
        return session, (self.store.get(token, session.sid) if session else None)

    def host_ok(self, request: Request) -> bool:
        """In open mode only loopback names are answered (no DNS rebinding from a web page)."""
        if not self.open_mode:
            return True
        host = (request.headers.get("host") or "").strip().lower()
        name = host.rsplit(":", 1)[0] if not host.endswith("]") else host
        return name in LOOPBACK_NAMES or name == self.config.host.lower() or is_loopback_ip(name)

    def guard(self, request: Request, *, need_login: bool = True) -> Response | None:
        """The response to give instead of the page (unknown host, login needed), or None."""
        if not self.host_ok(request):
            return self.message(request, 400, "Неизвестный адрес",
                                HOST_RU.format(port=self.config.port))
        if need_login and not self.open_mode:
            session = self.session(request)
            if session is None or session.account is None:
                return RedirectResponse("/login", status_code=303, headers=page_headers())
        return None

    def staff_only(self, request: Request) -> tuple[Session | None, Response | None]:
        """The staff session, or the answer to give instead (login, 403, not enabled): the one
        guard of every municipal staff route."""
        if not self.host_ok(request):
            return None, self.guard(request)
        session = self.session(request)
        if session is None or session.account is None:
            return None, RedirectResponse("/login", status_code=303, headers=page_headers())
        if not session.staff:
            log.warning("staff route refused school=%s", session.school)
            return None, self.message(request, 403, "Доступ запрещён", FORBIDDEN_RU)
        if self.workspace is None:
            return None, self.message(request, 404, "Не включено", NO_WORKSPACE_RU)
        return session, None
