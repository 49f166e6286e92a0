"""Small helpers every page module shares: response headers, downloads, form values, the
Russian formatting of numbers and times, findings grouped by sheet. No routes here."""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterable
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from starlette.datastructures import UploadFile
from starlette.responses import Response

from addin.report import Report
from addin.web import clock as server_clock
from addin.web.access import valid_school_code
from workbook_templates import contract as C

if TYPE_CHECKING:
    from addin.web.results import Entry

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
EXPIRED_RU = ("Результат проверки не найден: ссылки действуют 15 минут и только в том браузере, "
              "где выполнена проверка. Проверьте файл ещё раз.")


def page_headers(no_store: bool = True) -> dict[str, str]:
    headers = dict(SECURITY_HEADERS)
    if no_store:
        headers["Cache-Control"] = "no-store"
    return headers


def attachment(filename: str) -> dict[str, str]:
    suffix = Path(filename).suffix
    ascii_name = filename if re.fullmatch(r"[A-Za-z0-9._-]+", filename) else f"nastavnik{suffix}"
    headers = page_headers()
    headers["Content-Disposition"] = (f"attachment; filename=\"{ascii_name}\"; "
                                      f"filename*=UTF-8''{quote(filename)}")
    return headers


def form_text(value: object) -> str:
    return value if isinstance(value, str) else ""


def save_upload(upload: UploadFile, path: Path) -> int:
    upload.file.seek(0)
    with path.open("wb") as out:
        shutil.copyfileobj(upload.file, out, 1024 * 1024)
    return path.stat().st_size


def display_name(filename: str) -> str:
    """The file's own name, for the page only (never logged, never used as a path)."""
    name = filename.replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(ch for ch in name if ch.isprintable()).strip()
    return name[-120:] or "книга"


def stem_of(entry: Entry) -> str:
    return Path(entry.display_name).stem or "книга"


def parse_date(text: str) -> date | None:
    for fmt in ("%Y-%m-%d", "%d.%m.%Y"):
        try:
            return datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    return None


def code_for_log(code: str) -> str:
    return code if valid_school_code(code) else "—"


def clock(ts: float) -> str:
    return server_clock.from_timestamp(ts).strftime("%H:%M")


def when(iso: str) -> str:
    """«25.11.2026 14:03:05 (UTC+03:00)» from an ISO time, in the server's zone."""
    moment = server_clock.from_iso(iso)
    return f"{moment:%d.%m.%Y %H:%M:%S} ({server_clock.offset_text(moment)})"


def num(value: Any) -> str:
    """Numbers the Russian way: 12,5 and 1 200; whole numbers without a fraction."""
    if value is None:
        return "—"
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, int):
        return f"{value:,}".replace(",", "\u00a0")
    return f"{value:,.1f}".replace(",", "\u00a0").replace(".", ",")


def group_by_sheet(findings: list[dict]) -> list[dict]:
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


def report_from_dict(data: dict) -> Report:
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


def short_when(iso: str) -> str:
    """«25.11.2026 14:03» in the municipality's zone, from an ISO time with offset."""
    return f"{server_clock.from_iso(iso):%d.%m.%Y %H:%M}" if iso else ""


def list_workbook(sheet_name: str, header: tuple[str, ...], rows: Iterable[tuple[Any, ...]],
                  widths: tuple[int, ...]) -> bytes:
    """A board as an .xlsx: a bold header, then each value as a number or text (never as a
    formula or a link), frozen and filtered; the staff's and the region's downloads."""
    import io

    import xlsxwriter

    out = io.BytesIO()
    book = xlsxwriter.Workbook(out, {"in_memory": True, "strings_to_formulas": False,
                                     "strings_to_urls": False})
    sheet = book.add_worksheet(sheet_name)
    bold = book.add_format({"bold": True, "bg_color": "#F0F3F8", "text_wrap": True})
    for col, title in enumerate(header):
        sheet.write_string(0, col, title, bold)
    count = 0
    for i, values in enumerate(rows, 1):
        count = i
        for col, value in enumerate(values):
            if isinstance(value, int):
                sheet.write_number(i, col, value)
            elif value:
                sheet.write_string(i, col, str(value))
    for col, width in enumerate(widths):
        sheet.set_column(col, col, width)
    sheet.freeze_panes(1, 1)
    sheet.autofilter(0, 0, max(count, 1), len(header) - 1)
    book.close()
    return out.getvalue()


def json_answer(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    """A JSON body with Russian text kept readable (the progress bars of the sync jobs)."""
    import json

    return Response(json.dumps(data, ensure_ascii=False), status_code=status,
                    media_type="application/json", headers=headers)
