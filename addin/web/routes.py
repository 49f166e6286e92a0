"""The check-and-submit page: routes, the short-lived result store, rendering.

Routes (all HTML in Russian, rendered on the server from the package's templates):

    GET  /                         the form (or a redirect to /login when codes are required)
    POST /check                    multipart upload -> 303 to /result/<token>
    GET  /result/<token>           status, indicators, findings by sheet, downloads, submit
    GET  /result/<token>/annotated the annotated copy (.xlsx/.xlsm; made on first request)
    GET  /result/<token>/report.json
    POST /submit                   one-time submission token -> 303 to /result/<token>/receipt
    GET  /result/<token>/receipt
    GET  /login, POST /login, POST /logout
    GET  /static/<name>            style.css, app.js

The municipal staff's routes (/staff/...) live in staff.py and share the `Page` made here.

A result lives in its own private folder (mode 0700) for at most RESULT_TTL seconds: the checked
file (needed for the submission and the annotated copy; deleted at once when unreadable), the
JSON report and, once asked for, the annotated copy. Expired results are purged lazily at every
request. A result is bound to the session that made it; each session keeps at most
RESULTS_PER_SESSION results (its oldest go first), so one visitor cannot push out the others.
"""

from __future__ import annotations

import asyncio
import atexit
import ipaddress
import json
import logging
import os
import re
import secrets
import shutil
import sqlite3
import tempfile
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.datastructures import FormData, UploadFile
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.formparsers import MultiPartException

from addin.errors import NotAWorkbookError, WorkbookError, corrupt
from addin.report import (
    SHOWN_MESSAGE_CHARS,
    STATUS_ERRORS,
    STATUS_OK,
    STATUS_UNREADABLE,
    STATUS_WARNINGS,
    Report,
    shorten,
)
from addin.web import collect, plan_routes
from addin.web.access import (
    FAILED_LOGIN_DELAY,
    SESSION_COOKIE,
    STAFF,
    AccessCodes,
    LoginThrottle,
    Session,
    Sessions,
    valid_school_code,
)
from workbook_templates import contract as C

if TYPE_CHECKING:
    from addin.server import ServerConfig

log = logging.getLogger("nastavnik.web")

RESULT_TTL = 15 * 60
ROOT_PREFIX = "nastavnik-web-"
#: Results one session may hold; beyond it the session's own oldest result is removed.
RESULTS_PER_SESSION = 20
#: A bound on all results together (disk), far above what real use reaches.
MAX_RESULTS = 2000
MAX_SHOWN_FINDINGS = 3000
TEMPLATES = Path(__file__).with_name("templates")
STATIC_FILES = {"style.css": "text/css; charset=utf-8",
                "app.js": "text/javascript; charset=utf-8"}
XLSX_TYPES = {".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
              ".xlsm": "application/vnd.ms-excel.sheet.macroEnabled.12"}
SECURITY_HEADERS = {
    "Content-Security-Policy": ("default-src 'none'; style-src 'self'; script-src 'self'; "
                                "connect-src 'self'; img-src 'self' data:; form-action 'self'; "
                                "base-uri 'none'; "
                                "frame-ancestors 'none'"),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
}
STATUS_CLASS = {STATUS_OK: "ok", STATUS_WARNINGS: "warn", STATUS_ERRORS: "bad",
                STATUS_UNREADABLE: "unread"}
LOG_STATUS = {STATUS_OK: "accepted", STATUS_WARNINGS: "warnings", STATUS_ERRORS: "errors",
              STATUS_UNREADABLE: "unreadable"}
_LOOPBACK_NAMES = {"localhost", "127.0.0.1", "::1", "[::1]"}

CSRF_RU = ("Форма устарела или открыта не с этой страницы (нет защитного кода). Откройте "
           "страницу проверки заново и повторите. Если ошибка повторяется, разрешите "
           "браузеру сохранять cookie для этого сайта.")
EXPIRED_RU = ("Результат проверки не найден: ссылки действуют 15 минут и только в том браузере, "
              "где выполнена проверка. Проверьте файл ещё раз.")
NO_FILE_RU = "Выберите файл книги (.xlsx, .xlsm или .ods) и нажмите «Проверить»."
EMPTY_FILE_RU = "Файл пустой (0 байт). Выберите сохранённую книгу и повторите."
BAD_DATE_RU = "Дата «{value}» не распознана: укажите её как ДД.ММ.ГГГГ или выберите в календаре."
INTERNAL_RU = ("Проверить книгу не удалось из-за внутренней ошибки программы. Сообщите "
               "администратору сервера; книгу можно проверить и командой nastavnik validate.")
LOGIN_FAILED_RU = "Неверный код ОО или код доступа. Проверьте раскладку клавиатуры и повторите."
THROTTLED_RU = ("Слишком много неудачных попыток входа. Подождите 15 минут или обратитесь в "
                "муниципальный центр за новым кодом доступа.")
HOST_RU = ("Страница открыта по незнакомому адресу. На этом компьютере откройте "
           "http://127.0.0.1:{port}/")


# -- the result store ------------------------------------------------------------------------
@dataclass
class Entry:
    """One check: its private folder, what the page shows and what may still be done."""

    token: str
    folder: Path
    created: float
    sid: str
    display_name: str
    suffix: str
    report_path: Path
    status: str
    school_code: str = ""
    school_name: str = ""
    period: str = ""
    checked: Path | None = None
    annotated: Path | None = None
    submit_token: str | None = None
    submit_blocked: str = ""  # why the submit button is not shown
    receipt: collect.Receipt | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)


class ResultStore:
    """Results by unguessable token; each expires RESULT_TTL seconds after the check."""

    def __init__(self, ttl: float = RESULT_TTL, limit: int = MAX_RESULTS,
                 per_session: int = RESULTS_PER_SESSION) -> None:
        self.ttl, self.limit, self.per_session = ttl, limit, per_session
        _remove_orphans()
        self.root = Path(tempfile.mkdtemp(prefix=f"{ROOT_PREFIX}{os.getpid()}-"))  # mode 0700
        self._entries: OrderedDict[str, Entry] = OrderedDict()
        self._submit: dict[str, str] = {}
        self._lock = threading.Lock()
        atexit.register(shutil.rmtree, self.root, ignore_errors=True)

    def close(self) -> None:
        """Remove every result (server shutdown)."""
        with self._lock:
            self._entries.clear()
            self._submit.clear()
        shutil.rmtree(self.root, ignore_errors=True)

    def new_folder(self) -> Path:
        return Path(tempfile.mkdtemp(prefix="r-", dir=self.root))

    def add(self, entry: Entry) -> None:
        with self._lock:
            self._entries[entry.token] = entry
            if entry.submit_token:
                self._submit[entry.submit_token] = entry.token
        self.purge()

    def get(self, token: str, sid: str) -> Entry | None:
        self.purge()
        with self._lock:
            entry = self._entries.get(token)
        if entry is None or not secrets.compare_digest(entry.sid, sid):
            return None
        return entry

    def take_submission(self, submit_token: str, sid: str) -> tuple[Entry | None, bool]:
        """(entry, whether it belongs to this session); the token is used up only by its own
        session, so a leaked token neither works elsewhere nor can be spoiled."""
        self.purge()
        with self._lock:
            token = self._submit.get(submit_token)
            entry = self._entries.get(token) if token else None
            if entry is None:
                return None, False
            if not secrets.compare_digest(entry.sid, sid):
                return entry, False
            del self._submit[submit_token]
            entry.submit_token = None
        return entry, True

    def purge(self) -> None:
        now = time.time()
        doomed: list[Entry] = []
        with self._lock:
            held: dict[str, int] = {}
            for entry in self._entries.values():
                held[entry.sid] = held.get(entry.sid, 0) + 1
            for token, entry in list(self._entries.items()):  # oldest first
                expired = now - entry.created > self.ttl
                if expired or held[entry.sid] > self.per_session or \
                        len(self._entries) > self.limit:
                    held[entry.sid] -= 1
                    doomed.append(entry)
                    del self._entries[token]
                    if entry.submit_token:
                        self._submit.pop(entry.submit_token, None)
        for entry in doomed:
            with entry.lock:  # never remove a folder while its annotated copy is written
                shutil.rmtree(entry.folder, ignore_errors=True)
        if doomed:
            log.info("purged %d results", len(doomed))


def _remove_orphans() -> None:
    """Result folders left by a server that was killed (its process no longer exists)."""
    for folder in Path(tempfile.gettempdir()).glob(f"{ROOT_PREFIX}*-*"):
        try:
            pid = int(folder.name[len(ROOT_PREFIX):].split("-", 1)[0])
            if folder.stat().st_uid != os.getuid() or pid == os.getpid():
                continue
            os.kill(pid, 0)
        except ProcessLookupError:
            shutil.rmtree(folder, ignore_errors=True)
        except (ValueError, OSError):
            continue


# -- the page ----------------------------------------------------------------------------------
def _is_loopback_ip(name: str) -> bool:
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
        self.env.filters["num"] = _num
        self.env.filters["when"] = _when
        self.env.filters["short"] = shorten  # cell text on a page: 200 characters and «…»
        self.env.globals["message_chars"] = SHOWN_MESSAGE_CHARS
        self._targets: dict | None = None
        #: The municipal workspace (board, journal, sync jobs); set by make_router.
        self.workspace: Any = None

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
               "staff": session.staff, "open_mode": self.open_mode,
               "collect": self.config.collect_dir is not None,
               "max_mb": self.config.max_body_bytes // (1024 * 1024), **context}
        html = self.env.get_template(name).render(**ctx)
        response = HTMLResponse(html, status_code=status, headers=_headers(no_store=True))
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
        if not self.sessions.csrf_ok(session, _text(form.get("csrf"))):
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
        return name in _LOOPBACK_NAMES or name == self.config.host.lower() or _is_loopback_ip(name)

    def guard(self, request: Request, *, need_login: bool = True) -> Response | None:
        """The response to give instead of the page (unknown host, login needed), or None."""
        if not self.host_ok(request):
            return self.message(request, 400, "Неизвестный адрес",
                                HOST_RU.format(port=self.config.port))
        if need_login and not self.open_mode:
            session = self.session(request)
            if session is None or session.account is None:
                return RedirectResponse("/login", status_code=303, headers=_headers())
        return None

    # -- checking
    def analyse(self, entry: Entry, path: Path, reference_date: date | None,
                session: Session) -> None:
        """Read, validate and compute indicators; fill the entry and write the JSON report."""
        from addin.indicators import compute_indicators
        from addin.model import SchoolWorkbook
        from addin.validate import validate_workbook

        started = time.perf_counter()
        indicators: list[dict] = []
        wb = None
        if entry.suffix not in collect.SUFFIXES:
            report = Report(source=entry.display_name, reference_date=reference_date,
                            file_error=NotAWorkbookError(
                                f"Нужна книга .xlsx, .xlsm или .ods, а выбран файл "
                                f"«{entry.suffix or 'без расширения'}». Сохраните книгу в "
                                "одном из этих форматов и проверьте снова."))
        else:
            try:
                try:
                    wb = SchoolWorkbook.from_path(path)
                except Exception as exc:  # noqa: BLE001 (any reading failure: the file's status)
                    raise corrupt(exc) from exc
                report = validate_workbook(wb, reference_date)
            except WorkbookError as exc:
                wb = None
                report = Report(source=entry.display_name, reference_date=reference_date,
                                file_error=exc)
            except Exception as exc:  # noqa: BLE001 (a bug must not show a traceback)
                wb = None
                log.error("check failed: %s", type(exc).__name__)
                report = Report(source=entry.display_name, reference_date=reference_date,
                                file_error=WorkbookError(INTERNAL_RU))
        report.source = entry.display_name
        if wb is not None:
            try:
                values = compute_indicators(wb, report.reference_date, self.targets())
                indicators = [v.to_dict() for v in values]
            except Exception as exc:  # noqa: BLE001
                values = None
                log.error("indicators failed: %s", type(exc).__name__)
            entry.period = str(wb.school.get("period") or "")
            if values is not None:  # the plan from the book in hand: no second read
                plan_routes.build_plan(self, entry, wb, values, report.reference_date)
        data = report.to_dict()
        data["indicators"] = indicators
        entry.report_path.write_text(json.dumps(data, ensure_ascii=False, indent=1,
                                                default=str), encoding="utf-8")
        entry.status = report.status
        entry.school_code, entry.school_name = report.school_code, report.school_name
        if report.file_error is not None:
            path.unlink(missing_ok=True)
        else:
            entry.checked = path
            entry.submit_blocked = self.submit_blocked(report, session)
            if not entry.submit_blocked:
                entry.submit_token = secrets.token_urlsafe(32)
            elif entry.suffix == ".ods":  # no submission, no annotated copy: keep nothing
                path.unlink(missing_ok=True)
                entry.checked = None
        c = report.counts
        log.info("check school=%s status=%s errors=%d warnings=%d advice=%d ms=%d",
                 _code_for_log(report.school_code), report.file_error.code
                 if report.file_error else LOG_STATUS[report.status], c["ошибка"],
                 c["предупреждение"], c["совет"],
                 (time.perf_counter() - started) * 1000)

    def submit_blocked(self, report: Report, session: Session) -> str:
        """Why this report cannot be submitted from this session ("" when it can)."""
        if self.config.collect_dir is None:
            return ("Сдача книг на этом сервере не включена (он запущен без папки сбора "
                    "--collect-dir). Передайте книгу в муниципальный центр так, как он указал.")
        if report.file_error is not None:
            return "Файл не читается — сдать его нельзя."
        if report.errors:
            return ("Книгу с ошибками сдать нельзя: исправьте ошибки, сохраните книгу и "
                    "проверьте снова.")
        code = report.school_code
        if session.staff:
            return ("Вы вошли как сотрудник муниципального центра: сдаёт книгу сама "
                    "организация под своим кодом. Проверять книги здесь можно.")
        if not code:
            return "На листе «Сведения об ОО» не указан код ОО — без него книгу не сдать."
        if not valid_school_code(code):
            return (f"Код ОО «{code}» нельзя использовать как имя файла: допустимы буквы, "
                    "цифры, дефис, точка и подчёркивание.")
        if not self.open_mode and code != session.school:
            return (f"Это книга организации {code}, а вы вошли как {session.school}. Сдать "
                    "можно только книгу своей организации.")
        return ""

    def annotated_copy(self, entry: Entry) -> Path | None:
        """The annotated copy, written on first request (most visitors never ask for it)."""
        from addin.annotate import write_annotated
        from addin.indicators import IndicatorValue

        with entry.lock:
            if entry.annotated is not None and entry.annotated.exists():
                return entry.annotated
            if entry.checked is None or not entry.checked.exists() or entry.suffix == ".ods":
                return None
            data = json.loads(entry.report_path.read_text(encoding="utf-8"))
            report = _report_from_dict(data)
            indicators = [IndicatorValue(**d) for d in data.get("indicators") or []] or None
            out = entry.folder / f"annotated{entry.suffix}"
            started = time.perf_counter()
            write_annotated(entry.checked, out, report, indicators)
            log.info("annotated copy school=%s ms=%d", _code_for_log(entry.school_code),
                     (time.perf_counter() - started) * 1000)
            entry.annotated = out
            return out


# -- the router --------------------------------------------------------------------------------
def make_router(config: ServerConfig, service: Any = None) -> APIRouter:
    """The page's routes for one server configuration, with the municipal staff's routes
    (staff.py) when there is a collection folder; `service` is the injected sync
    (addin.web.workspace.SyncService), None where the server runs without it."""
    from addin.web import staff
    from addin.web.workspace import Workspace

    page = Page(config)
    if config.collect_dir is not None:
        try:
            page.workspace = Workspace(config, service)
        except (OSError, sqlite3.Error) as exc:  # the check page still works without it
            log.error("municipal workspace disabled: %s", type(exc).__name__)

    @asynccontextmanager
    async def lifespan(app):  # noqa: ANN001, ANN202
        yield
        page.store.close()  # uvicorn ends on the signal itself, so atexit would not run

    router = APIRouter(lifespan=lifespan)

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
        raw_date = _text(form.get("reference_date")).strip()
        reference_date = _parse_date(raw_date)
        if raw_date and reference_date is None:
            return page.render(request, "index.html", status=400, session=session,
                               error=BAD_DATE_RU.format(value=raw_date[:20]))
        display = _display_name(upload.filename or "")
        suffix = Path(display).suffix.lower()
        folder = page.store.new_folder()
        path = folder / f"checked{suffix if suffix in collect.SUFFIXES else '.bin'}"
        try:
            size = await run_in_threadpool(_save_upload, upload, path)
            await upload.close()
            if size == 0:
                shutil.rmtree(folder, ignore_errors=True)
                return page.render(request, "index.html", status=400, session=session,
                                   error=EMPTY_FILE_RU)
            entry = Entry(token=secrets.token_urlsafe(32), folder=folder, created=time.time(),
                          sid=session.sid, display_name=display, suffix=suffix,
                          report_path=folder / "report.json", status="")
            await run_in_threadpool(page.analyse, entry, path, reference_date, session)
        except BaseException:  # disk full, client gone: never leave the file behind
            shutil.rmtree(folder, ignore_errors=True)
            raise
        page.store.add(entry)
        return RedirectResponse(f"/result/{entry.token}", status_code=303, headers=_headers())

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
            groups=_group_by_sheet(findings[:MAX_SHOWN_FINDINGS]),
            hidden=max(0, len(findings) - MAX_SHOWN_FINDINGS),
            indicators=data.get("indicators") or [],
            annotated=entry.checked is not None and entry.suffix in XLSX_TYPES,
            expires=_clock(entry.created + RESULT_TTL))

    @router.get("/result/{token}/report.json")
    def report_json(request: Request, token: str) -> Response:
        if (stop := page.guard(request)) is not None:
            return stop
        got, entry = page.own_result(request, token)
        if entry is None or not entry.report_path.exists():
            return page.message(request, 404, "Отчёт не найден", EXPIRED_RU)
        return FileResponse(entry.report_path, media_type="application/json",
                            headers=_attachment(f"{_stem(entry)}-проверка.json"))

    @router.get("/result/{token}/annotated")
    def annotated(request: Request, token: str) -> Response:
        if (stop := page.guard(request)) is not None:
            return stop
        got, entry = page.own_result(request, token)
        if entry is None:
            return page.message(request, 404, "Копия не найдена", EXPIRED_RU)
        from addin.annotate import AnnotatedCopyError

        reason = ("Для этого файла копию с замечаниями сделать не удалось. Замечания — на "
                  "странице результата и в отчёте JSON.")
        try:
            out = page.annotated_copy(entry)
        except AnnotatedCopyError as exc:  # a Russian reason the curator can act on
            out = None
            reason = f"{exc.message_ru} Замечания — на странице результата и в отчёте JSON."
        except Exception as exc:  # noqa: BLE001
            log.error("annotated copy failed: %s", type(exc).__name__)
            out = None
        if out is None:
            return page.message(request, 404, "Копии с замечаниями нет", reason)
        return FileResponse(out, media_type=XLSX_TYPES[entry.suffix],
                            headers=_attachment(f"{_stem(entry)}-проверка{entry.suffix}"))

    @router.post("/submit")
    async def submit(request: Request) -> Response:
        if (stop := page.guard(request)) is not None:
            return stop
        got = page.session(request)
        form = await page.posted_form(request, got)
        if isinstance(form, Response):
            return form
        return await run_in_threadpool(_do_submit, page, request, got,
                                       _text(form.get("submit_token")))

    @router.get("/result/{token}/receipt", response_class=HTMLResponse)
    def receipt(request: Request, token: str) -> Response:
        if (stop := page.guard(request)) is not None:
            return stop
        got, entry = page.own_result(request, token)
        if entry is None or entry.receipt is None:
            return page.message(request, 404, "Квитанция не найдена", EXPIRED_RU)
        return page.render(request, "receipt.html", session=got, entry=entry, rc=entry.receipt,
                           when=_when(entry.receipt.submitted_at))

    @router.get("/login", response_class=HTMLResponse)
    def login_form(request: Request) -> Response:
        if (stop := page.guard(request, need_login=False)) is not None:
            return stop
        got = page.session(request)
        if page.open_mode or (got is not None and got.account is not None):
            target = "/staff" if got is not None and got.staff else "/"
            return RedirectResponse(target, status_code=303, headers=_headers())
        return page.render(request, "login.html", session=got)

    @router.post("/login")
    async def login(request: Request) -> Response:
        if (stop := page.guard(request, need_login=False)) is not None:
            return stop
        got = page.session(request)
        if page.open_mode:
            return RedirectResponse("/", status_code=303, headers=_headers())
        form = await page.posted_form(request, got)
        if isinstance(form, Response):
            return form
        name = _text(form.get("school")).strip()[:64]
        secret = _text(form.get("code"))[:200]
        address = request.client.host if request.client else "?"
        return await _do_login(page, request, got, name, secret, address)

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
                                    headers=_headers())
        page.set_cookie(request, response, value)
        return response

    plan_routes.install(router, page)

    @router.get("/static/{name}")
    def static(name: str) -> Response:
        from addin.server import static_dir

        kind = STATIC_FILES.get(name)
        path = static_dir() / name
        if kind is None or not path.is_file():
            return Response("Не найдено", status_code=404, media_type="text/plain; charset=utf-8")
        return Response(path.read_bytes(), media_type=kind,
                        headers={"Cache-Control": "max-age=3600",
                                 "X-Content-Type-Options": "nosniff"})

    staff.add_routes(router, page)
    return router


def _do_submit(page: Page, request: Request, session: Session, submit_token: str) -> Response:
    """Re-validate the kept file and store it; a workbook with errors is never stored."""
    from addin.model import SchoolWorkbook
    from addin.validate import validate_workbook

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
            wb = SchoolWorkbook.from_path(entry.checked)
            report = validate_workbook(wb)
        except Exception:  # noqa: BLE001 (read once already; any failure now: not submitted)
            return page.message(request, 422, "Сдача невозможна",
                                "Файл не читается — сдать его нельзя.")
        blocked = page.submit_blocked(report, session)
        if blocked:
            log.info("submit refused school=%s errors=%d", _code_for_log(report.school_code),
                     report.errors)
            return page.message(request, 422 if report.errors else 403, "Сдача невозможна",
                                blocked)
        try:
            rc = collect.submit(page.config.collect_dir, entry.checked, report.school_code,
                                report.school_name, wb.school.get("period"))
        except OSError as exc:
            log.error("submit failed school=%s: %s", report.school_code, type(exc).__name__)
            return page.message(request, 500, "Сдача не выполнена",
                                "Не удалось записать файл в папку сбора. Сообщите "
                                "администратору сервера и повторите позже.")
    entry.receipt = rc
    log.info("submit school=%s period=%s sha256=%s size=%d", rc.school_code, rc.period,
             rc.sha256, rc.size)
    if page.workspace is not None:
        try:
            page.workspace.submitted(rc, report)
        except (OSError, sqlite3.Error) as exc:  # the file is stored; the board re-checks it
            log.error("journal not written for a submission: %s", type(exc).__name__)
    return RedirectResponse(f"/result/{entry.token}/receipt", status_code=303,
                            headers=_headers())


async def _do_login(page: Page, request: Request, session: Session, name: str, secret: str,
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
    if account.role == STAFF:
        log.info("login staff=%s", account.name)
        value, _ = page.sessions.issue(staff=account.name, stamp=stamp)
        target = "/staff"
    else:
        log.info("login school=%s", account.name)
        value, _ = page.sessions.issue(account.name, stamp=stamp)
        target = "/"
    response = RedirectResponse(target, status_code=303, headers=_headers())
    page.set_cookie(request, response, value)
    return response


# -- helpers -----------------------------------------------------------------------------------
def _headers(no_store: bool = True) -> dict[str, str]:
    headers = dict(SECURITY_HEADERS)
    if no_store:
        headers["Cache-Control"] = "no-store"
    return headers


def _attachment(filename: str) -> dict[str, str]:
    suffix = Path(filename).suffix
    ascii_name = filename if re.fullmatch(r"[A-Za-z0-9._-]+", filename) else f"nastavnik{suffix}"
    headers = _headers()
    headers["Content-Disposition"] = (f"attachment; filename=\"{ascii_name}\"; "
                                      f"filename*=UTF-8''{quote(filename)}")
    return headers


def _text(value: object) -> str:
    return value if isinstance(value, str) else ""


def _save_upload(upload: UploadFile, path: Path) -> int:
    upload.file.seek(0)
    with path.open("wb") as out:
        shutil.copyfileobj(upload.file, out, 1024 * 1024)
    return path.stat().st_size


def _display_name(filename: str) -> str:
    """The file's own name, for the page only (never logged, never used as a path)."""
    name = filename.replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(ch for ch in name if ch.isprintable()).strip()
    return name[-120:] or "книга"


def _stem(entry: Entry) -> str:
    return Path(entry.display_name).stem or "книга"


def _parse_date(text: str) -> date | None:
    for fmt in ("%Y-%m-%d", "%d.%m.%Y"):
        try:
            return datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    return None


def _code_for_log(code: str) -> str:
    return code if valid_school_code(code) else "—"


def _clock(ts: float) -> str:
    return datetime.fromtimestamp(ts).astimezone().strftime("%H:%M")


def _when(iso: str) -> str:
    """«25.11.2026 14:03:05 (UTC+03:00)» from an ISO time with offset."""
    moment = datetime.fromisoformat(iso)
    offset = iso[-6:] if iso[-6] in "+-" else "+00:00"
    return f"{moment:%d.%m.%Y %H:%M:%S} (UTC{offset})"


def _num(value: Any) -> str:
    """Numbers the Russian way: 12,5 and 1 200; whole numbers without a fraction."""
    if value is None:
        return "—"
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, int):
        return f"{value:,}".replace(",", "\u00a0")
    return f"{value:,.1f}".replace(",", "\u00a0").replace(".", ",")


def _group_by_sheet(findings: list[dict]) -> list[dict]:
    """Findings grouped by sheet in the workbook's sheet order, each group sorted by row."""
    order = {s.name: i for i, s in enumerate(C.SHEETS)}
    groups: dict[str, list[dict]] = {}
    for f in findings:
        groups.setdefault(f["sheet"] or "Книга", []).append(f)
    out = []
    for sheet in sorted(groups, key=lambda s: (order.get(s, 99), s)):
        items = sorted(groups[sheet], key=lambda f: (f["row"] or 0, f["code"]))
        counts = {sev: sum(f["severity"] == sev for f in items)
                  for sev in ("ошибка", "предупреждение", "совет")}
        out.append({"sheet": sheet, "findings": items, "counts": counts})
    return out


def _report_from_dict(data: dict) -> Report:
    """The Report behind a stored JSON report (for the annotated copy)."""
    from addin.rules.base import Finding, Severity

    findings = [Finding(code=f["code"], severity=Severity(f["severity"]), sheet=f["sheet"],
                        row=f["row"], column=f["column"], value=f["value"],
                        message_ru=f["message_ru"], hint_ru=f["hint_ru"])
                for f in data["findings"]]
    ref = date.fromisoformat(data["reference_date"]) if data.get("reference_date") else None
    return Report(source=data["source"], reference_date=ref, findings=findings,
                  school_code=data["school_code"], school_name=data["school_name"],
                  version=data["template_version"])
