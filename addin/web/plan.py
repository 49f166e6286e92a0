"""The plan on the check page: what is missing to each target, pair suggestions, the calendar.

``make_router(page)`` gives the routes and adds the template function the «plan.html» partial
uses; the result page includes that partial. Routes:

    GET /result/<token>/calendar.ics   the school's deadline calendar (roadmap + reporting)
    GET /result/<token>/suggestions    a copy of the book with the «Предложения пар» sheet

The plan of a result is computed after the check (``build_plan``, in ``Page.after_check``,
run by the check worker with the workbook and indicators the check already has: the book is
read once) and kept in the result's private folder (plan.json) for as long as the result lives.
"""

from __future__ import annotations

import json
import logging
from datetime import date
from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, Response

from addin.web.checking import CheckedBook
from addin.web.helpers import EXPIRED_RU, XLSX_TYPES, attachment, stem_of
from addin.web.results import Entry
from addin.web.site import Page

if TYPE_CHECKING:
    from addin.indicators import IndicatorValue
    from addin.model import SchoolWorkbook

log = logging.getLogger("nastavnik.web")

ICS_TYPE = "text/calendar; charset=utf-8"
NO_PLAN_RU = ("Для этого результата план не построен: файл не читается или уже удалён. "
              "Проверьте книгу снова.")


def make_router(page: Page) -> APIRouter:
    """The plan's routes; ``plan_for`` goes to the page's templates and ``build_plan`` runs
    after every readable check."""
    router = APIRouter()
    page.env.globals["plan_for"] = lambda entry, r: plan_for(page, entry, r)
    page.after_check.append(build_plan)

    @router.get("/result/{token}/calendar.ics")
    def calendar(request: Request, token: str) -> Response:
        if (stop := page.guard(request)) is not None:
            return stop
        _, entry = page.own_result(request, token)
        if entry is None:
            return page.message(request, 404, "Календарь не найден", EXPIRED_RU)
        path = entry.folder / "calendar.ics"
        if not path.exists():
            return page.message(request, 404, "Календаря нет", NO_PLAN_RU)
        return FileResponse(path, media_type=ICS_TYPE,
                            headers=attachment(f"{stem_of(entry)}-календарь.ics"))

    @router.get("/result/{token}/suggestions")
    def suggestions(request: Request, token: str) -> Response:
        if (stop := page.guard(request)) is not None:
            return stop
        _, entry = page.own_result(request, token)
        if entry is None:
            return page.message(request, 404, "Копия не найдена", EXPIRED_RU)
        try:
            out = _suggestions_copy(entry)
        except Exception as exc:  # noqa: BLE001 (a bug must not show a traceback)
            log.error("suggestions copy failed: %s", type(exc).__name__)
            out = None
        if out is None:
            return page.message(request, 404, "Копии с предложениями нет",
                                "Копию с листом «Предложения пар» можно сделать только из "
                                "книги .xlsx или .xlsm. Предложения — на странице результата.")
        return FileResponse(out, media_type=XLSX_TYPES[entry.suffix],
                            headers=attachment(f"{stem_of(entry)}-предложения{entry.suffix}"))

    return router


def build_plan(book: CheckedBook, wb: SchoolWorkbook, values: list[IndicatorValue],
               ref: date | None) -> None:
    """Compute the plan of a checked book and keep it in the result's folder (plan.json,
    suggestions.json, calendar.ics), from the workbook and indicators the check already has
    (in the check worker). A failure leaves no plan; the page is shown without it."""
    try:
        plan, suggestions, ics = _compute(book, wb, values, ref)
    except Exception as exc:  # noqa: BLE001 (the page shows the rest without the plan)
        log.error("plan failed: %s", type(exc).__name__)
        return
    (book.folder / "calendar.ics").write_bytes(ics)
    (book.folder / "suggestions.json").write_text(json.dumps(suggestions, ensure_ascii=False),
                                                  encoding="utf-8")
    (book.folder / "plan.json").write_text(json.dumps(plan, ensure_ascii=False, default=str),
                                           encoding="utf-8")


def plan_for(page: Page, entry: Entry, r: dict[str, Any]) -> dict[str, Any] | None:
    """The plan shown on the result page (None when the file could not be read)."""
    stored = entry.folder / "plan.json"
    if r.get("file_error") or not stored.exists():
        return None
    return json.loads(stored.read_text(encoding="utf-8"))


def _compute(book: CheckedBook, wb: SchoolWorkbook, values: list[IndicatorValue],
             ref: date | None) -> tuple[dict[str, Any], dict[str, Any], bytes]:
    """(the plan for the page, the suggestions for the copy, the calendar as .ics)."""
    from addin.plan.calendar import school_calendar
    from addin.plan.gaps import MET, gaps
    from addin.plan.pairs import load_capacity, suggest_pairs

    result = suggest_pairs(wb, ref, capacity=load_capacity(book.targets_path),
                           indicators=values)
    calendar = school_calendar(wb, ref)
    suggestions = result.to_dict()
    plan = gaps(values)
    return ({"gaps": [g.to_dict() for g in plan],
             "open_gaps": sum(1 for g in plan if g.status != MET),
             "suggestions": suggestions, "calendar": calendar.summary_ru(),
             "copy": book.suffix in (".xlsx", ".xlsm")},
            suggestions, calendar.to_ics())


def _suggestions_copy(entry: Entry):  # noqa: ANN202 (a Path or None)
    """The copy with «Предложения пар», written on first request."""
    from addin.plan.gaps import Gap
    from addin.plan.pairs import Suggestion, SuggestionResult
    from addin.xlsx.suggestions import write_suggestions

    out = entry.folder / f"suggestions{entry.suffix}"
    with entry.lock:
        if out.exists():
            return out
        stored, plan = entry.folder / "suggestions.json", entry.folder / "plan.json"
        if (entry.suffix not in (".xlsx", ".xlsm") or entry.checked is None
                or not entry.checked.exists() or not stored.exists()):
            return None
        data = json.loads(stored.read_text(encoding="utf-8"))
        result = SuggestionResult(
            date.fromisoformat(data["reference_date"]), data["capacity"],
            [Suggestion(**{**s, "start_date": date.fromisoformat(s["start_date"]),
                           "closes": tuple(s["closes"])}) for s in data["suggestions"]],
            data["unpaired_mentees"], data["free_slots"], data["unmatched"])
        gaps = [Gap(**g) for g in json.loads(plan.read_text(encoding="utf-8"))["gaps"]]
        return write_suggestions(entry.checked, out, result, gaps)
