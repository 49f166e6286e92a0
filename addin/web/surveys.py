"""The curator's survey waves: open a wave from the school's book, print the slips with codes,
follow the progress, close the wave, transfer the answers into the book, delete the wave.

    GET  /surveys                      the school's waves and the form to open one
    POST /surveys/open                 book + month + school year + roles -> the wave
    GET  /surveys/<id>                 progress (answered N of M by role), actions
    GET  /surveys/<id>/slips           printable slips: code, QR code, participant ID, no name
    GET  /surveys/<id>/codes.csv       the same as a list to send
    POST /surveys/<id>/add             codes for participants added to the book since
    POST /surveys/<id>/close           no more answers or corrections
    POST /surveys/<id>/transfer        the book with the answers on «Мониторинг» (download)
    POST /surveys/<id>/delete          the wave with its codes and answers

A school signed in with its code sees its own waves only; on a server in open mode (one
computer, no codes) every wave of the server. Members of staff do not run school surveys.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any, TypeVar

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.datastructures import UploadFile

from addin.web.helpers import (
    XLSX_TYPES,
    attachment,
    code_for_log,
    display_name,
    form_text,
    page_headers,
    save_upload,
)
from addin.web.site import LOOPBACK_NAMES, Page, is_loopback_ip
from addin.web.survey_book import (
    BookRefused,
    answer_link,
    codes_csv,
    open_store,
    participants_of,
    transfer,
)
from addin.web.survey_store import Code, SurveyStore, Wave, WaveExists, shown_code
from addin.xlsx.monitoring import Transfer
from workbook_templates import surveys as S

log = logging.getLogger("nastavnik.web")

T = TypeVar("T")
ROLE_CHOICES = {"both": S.ROLES, "mentors": (S.MENTOR,), "mentees": (S.MENTEE,)}
NOT_ENABLED_RU = ("Анкетирование по ссылке на этом сервере не включено: его запускают с папкой "
                  "сбора (--collect-dir), рядом с которой хранятся ответы.")
STAFF_RU = ("Анкетирование ведёт организация под своим кодом: войдите кодом организации. "
            "Сотрудник муниципального центра видит итоги в сданных книгах.")
NOT_FOUND_RU = "Волна анкетирования не найдена: она удалена или принадлежит другой организации."
NO_FILE_RU = "Выберите файл книги своей организации (.xlsx или .xlsm) и повторите."


def school_year_start(today: date) -> int:
    """The year the school year of `today` began in (September to August)."""
    return today.year if today.month >= 9 else today.year - 1


def make_router(page: Page) -> APIRouter:
    """The curator's survey routes."""
    router = APIRouter()
    store = open_store(page.config.collect_dir)

    def curator(request: Request) -> tuple[str | None, Response | None]:
        """The school whose waves these are ("" in open mode: any), or the page instead."""
        if (stop := page.guard(request)) is not None:
            return None, stop
        if store is None:
            return None, page.message(request, 404, "Не включено", NOT_ENABLED_RU)
        got = page.session(request)
        if got is not None and got.staff:
            return None, page.message(request, 403, "Доступ запрещён", STAFF_RU)
        return ("" if page.open_mode else got.school), None

    def own_wave(school: str, wave_id: str) -> Wave | None:
        wave = store.wave(wave_id)
        if wave is None or (school and wave.school != school):
            return None
        return wave

    def curators_wave(request: Request, wave_id: str) -> tuple[Wave | None, Response | None]:
        """The curator's own wave `wave_id`, or the page to answer instead (login, 403, 404)."""
        school, stop = curator(request)
        if stop is not None:
            return None, stop
        wave = own_wave(school, wave_id)
        if wave is None:
            return None, page.message(request, 404, "Волна не найдена", NOT_FOUND_RU)
        return wave, None

    def show_list(request: Request, school: str, status: int = 200, error: str = "",
                  **extra: object) -> Response:
        waves = store.waves(school or None)
        rows = [(w, store.progress(w.id)) for w in waves]
        year = school_year_start(date.today())
        return page.render(request, "surveys.html", status=status, waves=rows, error=error,
                           years=[year, year + 1], titles=_titles(waves), **extra)

    @router.get("/surveys", response_class=HTMLResponse)
    async def index(request: Request) -> Response:
        school, stop = curator(request)
        if stop is not None:
            return stop
        await run_in_threadpool(store.purge)
        return await run_in_threadpool(show_list, request, school)

    @router.post("/surveys/open")
    async def open_wave(request: Request) -> Response:
        school, stop = curator(request)
        if stop is not None:
            return stop
        got = page.session(request)
        form = await page.posted_form(request, got, max_files=1)
        if isinstance(form, Response):
            return form
        wave = form_text(form.get("wave"))
        roles = ROLE_CHOICES.get(form_text(form.get("roles")))
        try:
            year = int(form_text(form.get("year")))
        except ValueError:
            year = 0
        if wave not in (S.DECEMBER, S.MAY) or roles is None or not 2000 < year < 2100:
            return show_list(request, school, 400, "Выберите месяц, учебный год и участников.")
        upload = form.get("file")
        if not isinstance(upload, UploadFile) or not (upload.filename or "").strip():
            return show_list(request, school, 400, NO_FILE_RU)
        try:
            book = await _with_upload(upload, lambda p: participants_of(p, roles))
        except BookRefused as exc:
            return show_list(request, school, 422, exc.message_ru)
        if school and book.school_code != school:
            return show_list(request, school, 403, (
                f"Это книга организации «{book.school_code or 'без кода'}», а вы вошли как "
                f"{school}. Откройте анкетирование по книге своей организации."))
        if not book.school_code:
            return show_list(request, school, 422, "На листе «Сведения об ОО» не указан код "
                                                   "ОО: без него волну не открыть.")
        if not book.participants:
            return show_list(request, school, 422, (
                "В книге нет участников с ID на листах «Наставники» и «Наставляемые» для "
                "выбранных ролей: анкетировать некого."))
        try:
            new = await run_in_threadpool(store.open_wave, book.school_code, wave, year, roles,
                                          book.participants, school or "local")
        except WaveExists as exc:
            return show_list(request, school, 409, (
                f"Волна «{S.wave_title(wave, year)}» уже открыта: продолжайте её или закройте, "
                "прежде чем открыть новую."), existing=exc.wave_id)
        log.info("survey wave opened school=%s codes=%d", code_for_log(new.school),
                 len(book.participants))
        return RedirectResponse(f"/surveys/{new.id}", status_code=303, headers=page_headers())

    @router.get("/surveys/{wave_id}", response_class=HTMLResponse)
    def wave_page(request: Request, wave_id: str) -> Response:
        wave, stop = curators_wave(request, wave_id)
        if stop is not None:
            return stop
        return _wave_view(page, request, store, wave)

    @router.get("/surveys/{wave_id}/slips", response_class=HTMLResponse)
    def slips(request: Request, wave_id: str) -> Response:
        wave, stop = curators_wave(request, wave_id)
        if stop is not None:
            return stop
        base = str(request.base_url)
        cards = [{"id": c.participant_id, "role": c.role, "code": shown_code(c.code),
                  "qr": _qr_svg(answer_link(base, c.code)), "answered": c.answered_at}
                 for c in store.codes(wave.id)]
        host = (request.url.hostname or "").lower()
        return page.render(request, "survey_slips.html", wave=wave, cards=cards,
                           title=S.wave_title(wave.wave, wave.start_year),
                           answer_url=f"{base.rstrip('/')}/answer",
                           local_only=host in LOOPBACK_NAMES or is_loopback_ip(host))

    @router.get("/surveys/{wave_id}/codes.csv")
    def codes_list(request: Request, wave_id: str) -> Response:
        wave, stop = curators_wave(request, wave_id)
        if stop is not None:
            return stop
        body = codes_csv(store.codes(wave.id), str(request.base_url))
        name = f"коды-анкет-{wave.school}-{wave.wave}-{wave.start_year}.csv"
        return Response(body, media_type="text/csv; charset=utf-8", headers=attachment(name))

    async def action(request: Request, wave_id: str) -> tuple[Wave | None, Any, Response | None]:
        """The wave and the posted form of a POST action, or the page to answer with."""
        school, stop = curator(request)
        if stop is not None:
            return None, None, stop
        form = await page.posted_form(request, page.session(request), max_files=1)
        if isinstance(form, Response):
            return None, None, form
        wave = own_wave(school, wave_id)
        if wave is None:
            return None, None, page.message(request, 404, "Волна не найдена", NOT_FOUND_RU)
        return wave, form, None

    @router.post("/surveys/{wave_id}/close")
    async def close(request: Request, wave_id: str) -> Response:
        wave, _, stop = await action(request, wave_id)
        if stop is not None:
            return stop
        await run_in_threadpool(store.close, wave.id)
        log.info("survey wave closed school=%s", code_for_log(wave.school))
        return RedirectResponse(f"/surveys/{wave.id}", status_code=303, headers=page_headers())

    @router.post("/surveys/{wave_id}/delete")
    async def delete(request: Request, wave_id: str) -> Response:
        wave, _, stop = await action(request, wave_id)
        if stop is not None:
            return stop
        await run_in_threadpool(store.delete, wave.id)
        log.info("survey wave deleted school=%s", code_for_log(wave.school))
        return RedirectResponse("/surveys", status_code=303, headers=page_headers())

    @router.post("/surveys/{wave_id}/add")
    async def add(request: Request, wave_id: str) -> Response:
        wave, form, stop = await action(request, wave_id)
        if stop is not None:
            return stop
        upload = form.get("file")
        if not wave.is_open or not isinstance(upload, UploadFile) or not upload.filename:
            return _wave_view(page, request, store, wave, 400,
                              NO_FILE_RU if wave.is_open else "Волна закрыта.")
        try:
            book = await _with_upload(upload, lambda p: participants_of(p, wave.roles))
            if book.school_code != wave.school:
                raise BookRefused(f"Это книга организации «{book.school_code or 'без кода'}», "
                                  f"а волна — организации {wave.school}.")
        except BookRefused as exc:
            return _wave_view(page, request, store, wave, 422, exc.message_ru)
        added = await run_in_threadpool(store.add_participants, wave.id, book.participants)
        return _wave_view(page, request, store, wave, notice=(
            f"Новых участников: {added}. Их листки — в конце списка листков."
            if added else "Новых участников в книге нет: у всех уже есть коды."))

    @router.post("/surveys/{wave_id}/transfer")
    async def transfer_answers(request: Request, wave_id: str) -> Response:
        wave, form, stop = await action(request, wave_id)
        if stop is not None:
            return stop
        upload = form.get("file")
        if not isinstance(upload, UploadFile) or not (upload.filename or "").strip():
            return _wave_view(page, request, store, wave, 400, NO_FILE_RU)
        answered = await run_in_threadpool(store.answered, wave.id)
        if not answered:
            return _wave_view(page, request, store, wave, 422,
                              "Ответов пока нет: переносить нечего.")
        display = display_name(upload.filename or "")
        suffix = Path(display).suffix.lower()
        try:
            body, done = await _with_upload(upload, lambda p: _transfer_bytes(p, wave,
                                                                              answered))
        except BookRefused as exc:
            return _wave_view(page, request, store, wave, 422, exc.message_ru)
        await run_in_threadpool(store.mark_transferred, wave.id, len(answered))
        log.info("survey answers transferred school=%s rows=%d replaced=%d",
                 code_for_log(wave.school), done.appended + done.replaced, done.replaced)
        headers = attachment(f"{Path(display).stem or 'книга'}-анкеты{suffix}")
        headers["X-Nastavnik-Appended"] = str(done.appended)
        headers["X-Nastavnik-Replaced"] = str(done.replaced)
        return Response(body, media_type=XLSX_TYPES[suffix], headers=headers)
    return router


def _transfer_bytes(path: Path, wave: Wave, answered: list[Code]) -> tuple[bytes, Transfer]:
    """The transferred copy of the uploaded book, as bytes (the folder goes afterwards)."""
    out = path.with_name(f"out{path.suffix}")
    done = transfer(path, out, wave, answered)
    return out.read_bytes(), done


async def _with_upload(upload: UploadFile, work: Callable[[Path], T]) -> T:
    """`work(path)` on the upload saved in a private folder, deleted afterwards."""
    suffix = Path(display_name(upload.filename or "")).suffix.lower()
    folder = Path(tempfile.mkdtemp(prefix="nastavnik-survey-"))
    try:
        path = folder / f"book{suffix if suffix in ('.xlsx', '.xlsm', '.ods') else '.bin'}"
        size = await run_in_threadpool(save_upload, upload, path)
        await upload.close()
        if size == 0:
            raise BookRefused("Файл пустой (0 байт). Выберите сохранённую книгу.")
        return await run_in_threadpool(work, path)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _wave_view(page: Page, request: Request, store: SurveyStore, wave: Wave,
               status: int = 200, error: str = "", notice: str = "") -> Response:
    fresh = store.wave(wave.id) or wave
    progress = store.progress(wave.id)
    answered = sum(a for a, _ in progress.values())
    total = sum(t for _, t in progress.values())
    return page.render(request, "survey_wave.html", status=status, wave=fresh,
                       title=S.wave_title(fresh.wave, fresh.start_year), progress=progress,
                       answered=answered, total=total, error=error, notice=notice,
                       means=_means(store, wave.id) if answered else [],
                       extra=[S.BY_KEY[k].header for k in S.EXTRA_KEYS])


def _means(store: SurveyStore, wave_id: str) -> list[dict]:
    """Per question and role, the mean of the scale answers or the share of «да»."""
    out = []
    codes = store.answered(wave_id)
    for q in S.QUESTIONS:
        if q.kind is S.Kind.TEXT:
            continue
        row = {"title": q.header, "values": {}}
        for role in S.ROLES:
            given = [(c.answers or {}).get(q.key) for c in codes if c.role == role]
            given = [v for v in given if v not in (None, "")]
            if not given:
                continue
            if q.kind is S.Kind.SCALE:
                row["values"][role] = f"{sum(given) / len(given):.1f}".replace(".", ",")
            else:
                share = 100 * sum(v == q.choices[0] for v in given) / len(given)
                row["values"][role] = f"«{q.choices[0]}» — {share:.0f} %"
        out.append(row)
    return out


def _titles(waves: list[Wave]) -> dict[str, str]:
    return {w.id: S.wave_title(w.wave, w.start_year) for w in waves}


def _qr_svg(url: str) -> str:
    """The QR code of the answer link as inline SVG (no script, no external image)."""
    import segno

    return segno.make(url, error="m").svg_inline(scale=3, title="QR-код анкеты")
