"""The answer page for phones, with no account: the participant types (or scans) the code from
the slip and answers the questionnaire of their role.

    GET  /answer          the code form (a QR code opens /answer#<code>: the script fills it in)
    POST /answer          code -> the questionnaire
    POST /answer/save     code + answers -> saved (first answer or a correction)
    GET  /answer/mine     the questionnaire again, for the browser that sent the answer

A code answers once. The browser that sent the answer gets an edit token in a cookie and may
correct the answer until the wave closes; the same code typed elsewhere is refused. A wrong
code waits a second before the answer and counts against the sender's address, as a failed
login does (`access.LoginThrottle`); a wrong code and a closed wave never tell whose code it
is. No name is asked for and none is stored.
"""

from __future__ import annotations

import asyncio
import logging
import re
import secrets

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, Response
from starlette.datastructures import FormData

from addin.web.access import FAILED_LOGIN_DELAY, FAILURE_WINDOW, LoginThrottle
from addin.web.helpers import form_text
from addin.web.site import Page
from addin.web.survey_book import open_store
from addin.web.survey_store import Code, Saved, Wave, normalize_code
from workbook_templates import surveys as S

log = logging.getLogger("nastavnik.web")

EDIT_COOKIE = "nastavnik_answer"
EDIT_COOKIE_DAYS = 200
#: Wrong codes from one address within the window before every code is refused. Higher than
#: for logins: a whole class answers from behind one school router and mistypes now and then.
MAX_CODE_FAILURES = 20
THROTTLE_KEY = "анкета"
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ufffe\uffff]")

WRONG_RU = ("Такого кода нет. Проверьте цифры на листке (их 12) и введите ещё раз. Если не "
            "получается, обратитесь к куратору программы наставничества.")
THROTTLED_RU = ("Слишком много неверных кодов с этого устройства или сети. Подождите 15 минут "
                "и введите код ещё раз.")
CLOSED_RU = ("Анкетирование по этому коду завершено: ответы больше не принимаются и не "
             "исправляются. Спасибо!")
USED_RU = ("По этому коду анкета уже заполнена. Исправить ответ можно только на том "
           "устройстве, с которого его отправили, пока анкетирование не закончено.")
OFF_RU = "Анкетирование на этом сервере не включено."


def make_router(page: Page) -> APIRouter:
    """The public answer routes."""
    router = APIRouter()
    store = open_store(page.config.collect_dir)
    throttle = LoginThrottle(limit=MAX_CODE_FAILURES, window=FAILURE_WINDOW)

    def refuse(request: Request, status: int, title: str, text: str) -> Response:
        return page.render(request, "answer_message.html", status=status, title=title,
                           text=text)

    async def find(request: Request, typed: str) -> tuple[Code, Wave] | Response:
        """The code and its wave, or the refusal (throttled, wrong, closed)."""
        address = request.client.host if request.client else "?"
        if throttle.blocked(address, THROTTLE_KEY):
            log.warning("survey code throttled")
            await asyncio.sleep(FAILED_LOGIN_DELAY)
            return page.render(request, "answer_code.html", status=429, error=THROTTLED_RU,
                               privacy=S.PRIVACY_RU)
        code = normalize_code(typed)
        found = await run_in_threadpool(store.lookup, code) if code else None
        if found is None:
            throttle.failed(address, THROTTLE_KEY)
            log.warning("survey code refused")
            await asyncio.sleep(FAILED_LOGIN_DELAY)
            return page.render(request, "answer_code.html", status=404, error=WRONG_RU,
                               privacy=S.PRIVACY_RU)
        if not found[1].is_open:
            return refuse(request, 410, "Анкетирование завершено", CLOSED_RU)
        return found

    def questionnaire(request: Request, code: Code, status: int = 200,
                      values: dict | None = None, errors: dict | None = None) -> Response:
        return page.render(request, "answer_form.html", status=status, code=code.code,
                           role=code.role, questions=S.QUESTIONS, values=values or {},
                           errors=errors or {}, correcting=code.answered_at is not None,
                           comment_max=S.COMMENT_MAX)

    @router.get("/answer", response_class=HTMLResponse)
    def code_form(request: Request) -> Response:
        if (stop := page.guard(request, need_login=False)) is not None:
            return stop
        if store is None:
            return refuse(request, 404, "Не включено", OFF_RU)
        return page.render(request, "answer_code.html", privacy=S.PRIVACY_RU)

    @router.post("/answer")
    async def open_code(request: Request) -> Response:
        if (stop := page.guard(request, need_login=False)) is not None:
            return stop
        if store is None:
            return refuse(request, 404, "Не включено", OFF_RU)
        form = await page.posted_form(request, page.session(request))
        if isinstance(form, Response):
            return form
        found = await find(request, form_text(form.get("code"))[:40])
        if isinstance(found, Response):
            return found
        code, _ = found
        if code.answered_at is not None:
            if not code.editable_by(_edit_token(request, code.code)):
                return refuse(request, 409, "Код уже использован", USED_RU)
            return questionnaire(request, code, values=code.answers)
        return questionnaire(request, code)

    @router.get("/answer/mine", response_class=HTMLResponse)
    async def mine(request: Request) -> Response:
        if (stop := page.guard(request, need_login=False)) is not None:
            return stop
        if store is None:
            return refuse(request, 404, "Не включено", OFF_RU)
        code_text, _, token = (request.cookies.get(EDIT_COOKIE) or "").partition(".")
        found = await run_in_threadpool(store.lookup, normalize_code(code_text)) \
            if normalize_code(code_text) else None
        if found is None or not found[0].editable_by(token):
            return page.render(request, "answer_code.html", privacy=S.PRIVACY_RU)
        if not found[1].is_open:
            return refuse(request, 410, "Анкетирование завершено", CLOSED_RU)
        return questionnaire(request, found[0], values=found[0].answers)

    @router.post("/answer/save")
    async def save(request: Request) -> Response:
        if (stop := page.guard(request, need_login=False)) is not None:
            return stop
        if store is None:
            return refuse(request, 404, "Не включено", OFF_RU)
        form = await page.posted_form(request, page.session(request))
        if isinstance(form, Response):
            return form
        found = await find(request, form_text(form.get("code"))[:40])
        if isinstance(found, Response):
            return found
        code, _ = found
        answers, errors = parse_answers(form)
        if errors:
            return questionnaire(request, code, 422, answers, errors)
        token = _edit_token(request, code.code)
        new_token = secrets.token_urlsafe(24)
        saved = await run_in_threadpool(store.save_answer, code.code, answers, token,
                                        new_token)
        if saved is Saved.CLOSED:
            return refuse(request, 410, "Анкетирование завершено", CLOSED_RU)
        if saved is Saved.USED:
            return refuse(request, 409, "Код уже использован", USED_RU)
        if saved is Saved.UNKNOWN:  # deleted between the look-up and the save
            return page.render(request, "answer_code.html", status=404, error=WRONG_RU,
                               privacy=S.PRIVACY_RU)
        log.info("survey answer %s", saved.value)
        response = page.render(request, "answer_done.html",
                               corrected=saved is Saved.CORRECTED)
        if saved is Saved.NEW:
            response.set_cookie(EDIT_COOKIE, f"{code.code}.{new_token}",
                                max_age=EDIT_COOKIE_DAYS * 86400, path="/answer",
                                httponly=True, samesite="strict",
                                secure=request.url.scheme == "https")
        return response
    return router


def _edit_token(request: Request, code: str) -> str:
    """The edit token this browser holds for `code` ("" when none)."""
    held, _, token = (request.cookies.get(EDIT_COOKIE) or "").partition(".")
    return token if held == code else ""


def parse_answers(form: FormData) -> tuple[dict[str, object], dict[str, str]]:
    """The answers of a posted questionnaire and, per question, what is wrong (Russian).

    `Page.posted_form` reads at most 10 fields: the CSRF token, the code and the questions
    (six today) must stay within them."""
    answers: dict[str, object] = {}
    errors: dict[str, str] = {}
    for q in S.QUESTIONS:
        raw = form_text(form.get(q.key)).strip()
        if q.kind is S.Kind.TEXT:
            text = " ".join(_CONTROL.sub(" ", raw).split())[:S.COMMENT_MAX]
            answers[q.key] = text or None
            continue
        if raw not in q.choices:
            answers[q.key] = None
            if q.required:
                errors[q.key] = "Выберите ответ."
            continue
        answers[q.key] = int(raw) if q.kind is S.Kind.SCALE else raw
    return answers, errors
