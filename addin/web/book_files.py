"""The school's own book as the server hands it out: the contract's templates built once per
contract version and kept in memory, and each download filled from them.

* ``.xlsx``: the template of ``workbook_templates.build``;
* ``.xlsm``: the server-bound variant (``workbook_templates.xlsm.server_xlsm``) whose buttons
  post the book to this server with the school's button token;
* ``.ods``: the .xlsx converted once by LibreOffice headless (absent when it is not installed).

A download writes the school's code, full name, type, municipality and the current period into
«Сведения об ОО» of a copy (``workbook_templates.prefill``), and for .xlsm the server address
and the token: no template is built per request.
"""

from __future__ import annotations

import logging
import os
import subprocess
import tempfile
import threading
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

from workbook_templates import contract as C
from workbook_templates.build import build_school_workbook, workbook_bytes
from workbook_templates.prefill import fill_cells, fill_ods_cells
from workbook_templates.xlsm import bind_to_server, server_xlsm

if TYPE_CHECKING:
    from fastapi import Request

    from addin.web.access import Session
    from addin.web.site import Page

log = logging.getLogger("nastavnik.web")

NO_REGISTRY_RU = ("Реестр организаций на сервере не загружен, поэтому книга не заполнена "
                  "сведениями об организации: впишите код, наименование, тип и муниципалитет "
                  "на листе «Сведения об ОО» так, как они записаны в реестре муниципалитета.")
NOT_IN_REGISTRY_RU = ("Организации с кодом {code} нет в реестре муниципалитета, поэтому книга "
                      "не заполнена. Сообщите в муниципальный центр: после исправления реестра "
                      "скачайте книгу заново.")
REGISTRY_BROKEN_RU = ("Реестр организаций на сервере сейчас не читается ({why}); книга дана "
                      "без сведений об организации. Сообщите в муниципальный центр.")

KINDS = ("xlsx", "xlsm", "ods")
MEDIA_TYPES = {
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "xlsm": "application/vnd.ms-excel.sheet.macroEnabled.12",
    "ods": "application/vnd.oasis.opendocument.spreadsheet",
}
#: The fields of «Сведения об ОО» a download fills, in the contract's keys.
PREFILLED = ("code", "name", "org_type", "municipality", "period")
CONVERT_TIMEOUT = 120
#: Placeholders the cached .xlsm carries until a download binds it.
_UNBOUND_URL, _UNBOUND_TOKEN = "http://127.0.0.1/xlwings", "-"

_lock = threading.RLock()  # the .ods is made from the .xlsx under the same lock
_cache: dict[tuple[str, str], bytes | None] = {}


@dataclass(frozen=True)
class SchoolFields:
    """What a download writes into «Сведения об ОО» (empty strings are left blank)."""

    code: str = ""
    name: str = ""
    org_type: str = ""
    municipality: str = ""
    period: str = ""

    def cells(self) -> dict[tuple[int, int], str]:
        """(row, column) -> text on the form sheet (label in A, value in B)."""
        rows = {col.key: C.FIRST_DATA_ROW + i for i, col in enumerate(C.SCHOOL.columns)}
        return {(rows[key], 2): value for key in PREFILLED
                if (value := str(getattr(self, key) or "").strip())}


def template(kind: str) -> bytes | None:
    """The blank template of `kind`, built on first use for this contract version (None: an
    .ods where LibreOffice is not installed)."""
    key = (C.TEMPLATE_VERSION, kind)
    with _lock:
        if key not in _cache:
            _cache[key] = _build(kind)
            log.info("template built kind=%s version=%s", kind, C.TEMPLATE_VERSION)
        return _cache[key]


def ods_offered() -> bool:
    """Whether an .ods can be given (built, or LibreOffice is there to build it): the page
    does not wait for the conversion."""
    from addin.roadmap.word import find_soffice

    key = (C.TEMPLATE_VERSION, "ods")
    if key in _cache:  # a read of one dict entry needs no lock
        return _cache[key] is not None
    return find_soffice() is not None


def warm_up() -> None:
    """Build every template now (the first download need not wait for LibreOffice)."""
    for kind in KINDS:
        try:
            template(kind)
        except Exception as exc:  # a server that cannot build one still serves the others
            log.error("template %s not built: %s", kind, type(exc).__name__)


def book_bytes(kind: str, fields: SchoolFields | None = None, *, server_url: str = "",
               token: str = "") -> bytes | None:
    """The book of `kind` filled with `fields`; an .xlsm bound to `server_url` and `token`."""
    blank = template(kind)
    if blank is None:
        return None
    cells = fields.cells() if fields is not None else {}
    if kind == "ods":
        return fill_ods_cells(blank, {C.SCHOOL.name: cells}) if cells else blank
    data = fill_cells(blank, {C.SCHOOL.name: cells}) if cells else blank
    return bind_to_server(data, server_url, token) if kind == "xlsm" else data


def _build(kind: str) -> bytes | None:
    if kind == "xlsx":
        return workbook_bytes(build_school_workbook())
    if kind == "xlsm":
        return server_xlsm(None, _UNBOUND_URL, _UNBOUND_TOKEN)
    if kind == "ods":
        return _converted_ods(template("xlsx") or b"")
    raise ValueError(f"unknown kind {kind!r}")


def _converted_ods(xlsx: bytes) -> bytes | None:
    """The .xlsx converted to .ods by LibreOffice headless in its own profile."""
    from addin.roadmap.word import find_soffice

    exe = find_soffice()
    if exe is None:
        log.warning("soffice not found: the .ods template is not offered")
        return None
    with tempfile.TemporaryDirectory(prefix="nastavnik-ods-") as tmp:
        src, profile, outdir = Path(tmp) / "school.xlsx", Path(tmp) / "profile", Path(tmp) / "o"
        src.write_bytes(xlsx)
        cmd = [exe, f"-env:UserInstallation={profile.as_uri()}", "--headless", "--norestore",
               "--convert-to", "ods", "--outdir", str(outdir), str(src)]
        try:
            subprocess.run(cmd, capture_output=True, timeout=CONVERT_TIMEOUT,
                           stdin=subprocess.DEVNULL, env=dict(os.environ, HOME=str(profile)))
        except (subprocess.TimeoutExpired, OSError) as exc:
            log.error("soffice failed to convert the template: %s", type(exc).__name__)
            return None
        out = outdir / "school.ods"
        return out.read_bytes() if out.is_file() else None


# ------------------------------------------------------------------- the school's fields
def server_url(page: Page, request: Request) -> str:
    """The /xlwings address the buttons call: the configured public address, else the one
    the page was opened with."""
    public = getattr(page.config, "public_url", None)
    base = public.rstrip("/") if public else str(request.base_url).rstrip("/")
    return base + "/xlwings"


def current_period(page: Page) -> str:
    """The period the municipality collects now (as the board shows it)."""
    if page.workspace is not None:
        return page.workspace.default_period()
    return page.config.period or date.today().strftime("%Y-%m")


def school_fields(page: Page, session: Session | None) -> tuple[SchoolFields | None, str]:
    """What the school's book is filled with, and a Russian notice when it is not filled."""
    if session is None or not session.school:
        return None, ""
    code = session.school
    if page.workspace is None:
        return None, NO_REGISTRY_RU
    from addin.web.workspace import RegistryProblem

    try:
        rows = page.workspace.registry()
    except RegistryProblem as exc:
        return None, REGISTRY_BROKEN_RU.format(why=exc.message_ru.rstrip("."))
    if not rows:
        return None, NO_REGISTRY_RU
    row = next((r for r in rows if r.code == code), None)
    if row is None:
        return None, NOT_IN_REGISTRY_RU.format(code=code)
    return SchoolFields(code=row.code, name=row.name, org_type=row.org_type,
                        municipality=getattr(row, "municipality", ""),
                        period=current_period(page)), ""
