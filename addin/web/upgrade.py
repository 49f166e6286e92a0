"""«Обновить книгу до версии …» on the check page: an old book's result offers the book in
the current template (the same upgrade as `nastavnik upgrade-book`).

    GET /result/<token>/upgraded   the checked book, upgraded (.xlsm stays .xlsm with the
                                   current buttons; .xlsx and .ods become .xlsx)

The result page shows the button beside the warning VER-001 through ``upgrade_for``.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, Response

from addin.web.helpers import EXPIRED_RU, XLSX_TYPES, attachment, stem_of
from addin.web.results import Entry
from addin.web.site import Page
from workbook_templates import contract as C

log = logging.getLogger("nastavnik.web")

NO_UPGRADE_RU = ("Эту книгу перенести в новый шаблон не удалось. Скачайте шаблон версии "
                 f"{C.TEMPLATE_VERSION} у муниципального центра или выполните "
                 "nastavnik upgrade-book КНИГА --out НОВАЯ.xlsx.")


def make_router(page: Page) -> APIRouter:
    """The upgrade route; ``upgrade_for`` goes to the page's templates."""
    router = APIRouter()
    page.env.globals["upgrade_for"] = upgrade_for
    page.env.globals["TEMPLATE_VERSION"] = C.TEMPLATE_VERSION

    @router.get("/result/{token}/upgraded")
    def upgraded(request: Request, token: str) -> Response:
        if (stop := page.guard(request)) is not None:
            return stop
        _, entry = page.own_result(request, token)
        if entry is None:
            return page.message(request, 404, "Книга не найдена", EXPIRED_RU)
        reason = NO_UPGRADE_RU
        try:
            out, report = _upgraded(entry)
        except Exception as exc:  # noqa: BLE001 (a Russian page, never a traceback)
            message = getattr(exc, "message_ru", None)
            if message is None:
                log.error("upgrade failed: %s", type(exc).__name__)
            reason = message or reason
            out = None
        if out is None:
            return page.message(request, 422, "Книгу не перенести", reason)
        suffix = out.suffix
        return FileResponse(out, media_type=XLSX_TYPES[suffix], headers=attachment(
            f"{stem_of(entry)}-{report.new_version}{suffix}"))

    return router


def upgrade_for(entry: Entry, r: dict[str, Any]) -> dict[str, Any] | None:
    """What the result page shows of the upgrade: None for a book of the current version."""
    version = r.get("template_version") or ""
    if r.get("file_error") or not version or version == C.TEMPLATE_VERSION \
            or entry.checked is None:
        return None
    return {"old": version, "new": C.TEMPLATE_VERSION,
            "href": f"/result/{entry.token}/upgraded"}


def _upgraded(entry: Entry) -> tuple[Any, Any]:
    """The upgraded book, written beside the result on the first request."""
    from addin.upgrade import upgrade_book

    suffix = ".xlsm" if entry.suffix == ".xlsm" else ".xlsx"
    out = entry.folder / f"upgraded{suffix}"
    with entry.lock:
        report = upgrade_book(entry.checked, out)
    return out, report
