"""The municipal calendar from the master workbook: every school's roadmap deadlines (sheet
«Дорожные карты», each event prefixed with the school's code) and the reporting calendar."""

from __future__ import annotations

import re
from datetime import date, datetime
from pathlib import Path

import pandas as pd

from addin.model import normalize_header, to_dates
from addin.plan.calendar import CalendarPlan, reporting_events, roadmap_events
from sync.master import HEADER_ROW, ROADMAP_HEADERS, SHEET_ROADMAP

_AS_OF = re.compile(r"данные на (\d{2})\.(\d{2})\.(\d{4})")
_LIST_FILE = re.compile(r"в файле «([^»]+)»")


class MasterCalendarError(Exception):
    """The master cannot give a calendar; ``message_ru`` says why."""

    def __init__(self, message_ru: str) -> None:
        super().__init__(message_ru)
        self.message_ru = message_ru


def master_calendar(master: Path, reference_date: date | None = None, *,
                    reporting: bool = True) -> CalendarPlan:
    """The municipality's calendar: all schools' roadmaps and the reporting calendar."""
    rows = _read_roadmap_sheet(Path(master))
    rows = _long_list(Path(master), rows) or rows
    ref = reference_date or _as_of(rows) or date.today()
    frame = _roadmap_frame(rows)
    plan = CalendarPlan(f"Наставничество: муниципалитет ({Path(master).stem})")
    roadmap_events(frame, ref, plan, prefix_school=True)
    if reporting:
        plan.events += reporting_events(ref, scope="municipality")
    return plan


def _read_roadmap_sheet(master: Path) -> list[list]:
    import python_calamine as pc

    if not master.is_file():
        raise MasterCalendarError(f"Сводная книга не найдена: {master}")
    try:
        book = pc.CalamineWorkbook.from_path(str(master))
        names = {normalize_header(n): n for n in book.sheet_names}
        name = names.get(normalize_header(SHEET_ROADMAP))
        if name is None:
            raise MasterCalendarError(
                f"В книге {master.name} нет листа «{SHEET_ROADMAP}»: это не сводная книга "
                "nastavnik sync.")
        return book.get_sheet_by_name(name).to_python(skip_empty_area=False)
    except MasterCalendarError:
        raise
    except Exception:  # calamine raises several types for broken files
        raise MasterCalendarError(
            f"Сводную книгу {master.name} не удалось прочитать: сформируйте её заново "
            "командой nastavnik sync.") from None


def _as_of(rows: list[list]) -> date | None:
    """The «данные на ДД.ММ.ГГГГ» date of the master's title row."""
    title = str(rows[0][0]) if rows and rows[0] else ""
    m = _AS_OF.search(title)
    return date(int(m.group(3)), int(m.group(2)), int(m.group(1))) if m else None


def _long_list(master: Path, rows: list[list]) -> list[list] | None:
    """The rows of the CSV a long «Дорожные карты» went to (the sheet then holds a note)."""
    note = rows[HEADER_ROW + 1][0] if len(rows) > HEADER_ROW + 1 and rows[HEADER_ROW + 1] else ""
    found = _LIST_FILE.search(str(note or ""))
    if found is None:
        return None
    path = master.with_name(found.group(1))
    try:
        frame = pd.read_csv(path, sep=";", dtype=str, encoding="utf-8-sig", keep_default_na=False)
    except OSError as exc:
        raise MasterCalendarError(f"Не удалось прочитать список дорожных карт {path.name} "
                                  f"рядом со сводной книгой: {exc.strerror}") from None
    # a leading apostrophe kept Excel from reading the text as a formula
    body = frame.map(lambda v: v[1:] if v[:2] in ("'=", "'+", "'-", "'@") else v or None)
    return [rows[0], list(frame.columns), *body.values.tolist()]


def _roadmap_frame(rows: list[list]) -> pd.DataFrame:
    """The master's roadmap rows under contract keys (``due`` becomes ``due_date``)."""
    if len(rows) <= HEADER_ROW:
        return pd.DataFrame(columns=["school_code", "item_no", "activity", "deadline_text",
                                     "due_date", "status"])
    by_header = {normalize_header(h): k for k, h in ROADMAP_HEADERS.items()}
    header = [by_header.get(normalize_header(h)) for h in rows[HEADER_ROW]]
    missing = {"school_code", "activity", "deadline_text", "due"} - set(header)
    if missing:
        raise MasterCalendarError(
            "На листе «Дорожные карты» нет столбцов: "
            + ", ".join(f"«{ROADMAP_HEADERS[k]}»" for k in sorted(missing)) + ".")
    body = [r for r in rows[HEADER_ROW + 1:] if any(v not in (None, "") for v in r)]
    data = {}
    for j, key in enumerate(header):
        if key is not None:
            data[key] = [(r[j] if j < len(r) else None) or None for r in body]
    frame = pd.DataFrame(data)
    frame["due_date"] = to_dates(frame.pop("due").map(_plain_date)) if len(frame) else pd.Series(
        dtype="datetime64[ns]")
    for key in ("item_no", "activity", "deadline_text", "status", "school_code", "section"):
        if key in frame:
            frame[key] = frame[key].map(lambda v: None if v is None else str(v).strip() or None)
    return frame


def _plain_date(v: object) -> object:
    return v.date() if isinstance(v, datetime) else v
