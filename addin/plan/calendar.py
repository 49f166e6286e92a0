"""The deadline calendar: an iCalendar (.ics) file for Yandex Calendar, Google Calendar, Outlook.

Two sources of events, one path to RRULEs:

* the roadmap, as the deadline parser normalizes it (``addin.roadmap_dates.resolve_due``): a
  one-off due date becomes an all-day event, a recurrence («ежеквартально», «ежемесячно 25
  числа», «до 20 декабря и до 20 мая») an all-day event with an RRULE; «без срока», unreadable
  and cancelled items, and one-off items already done, are left out (and counted);
* the reporting calendar of the seeds: municipal monitoring monthly on the 25th,
  персонифицированный учёт quarterly, internal monitoring by 20 December and 20 May, the
  federal form by 30 December.

Every event has a stable UID, so importing a newer file updates the events instead of doubling
them.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pandas as pd
from dateutil.rrule import rrulestr
from icalendar import Alarm, Calendar, Event, vRecur

from addin.deadlines import Deadline
from addin.facts import Facts
from addin.model import SchoolWorkbook
from addin.roadmap_dates import resolve_due
from workbook_templates import contract as C

PRODID = "-//nastavnik//Календарь наставничества//RU"
UID_DOMAIN = "nastavnik"
REMIND_DAYS = 3
#: The reporting calendar of the seeds (domain.md): title, recurrence in the parser's notation.
REPORTING: tuple[tuple[str, str, str], ...] = (
    ("Муниципальный мониторинг: сдать книгу в муниципальный центр", "monthly:25",
     "Ежемесячно, 25 числа (дорожная карта муниципалитета)."),
    ("Персонифицированный учёт участников", "quarterly",
     "Ежеквартально, к концу квартала."),
    ("Внутренний мониторинг программы наставничества", "yearly_dates:05-20,12-20",
     "Дважды в год: до 20 мая и до 20 декабря."),
    ("Сведения о численности участников для федеральной статистики (в РНЦ)",
     "yearly_dates:12-30", "Ежегодно, до 30 декабря."),
)
SKIP_REASONS = {"no_deadline": "без срока", "unreadable": "срок не распознан",
                "empty": "срок не указан", "relative": "срок от неизвестной даты",
                "done": "уже выполнено", "cancelled": "отменено"}
_STEP = {"monthly": 1, "quarterly": 3, "halfyearly": 6, "yearly": 12}
_END_MONTHS = {"quarterly": "3,6,9,12", "halfyearly": "6,12", "yearly": "12"}


@dataclass(frozen=True)
class CalendarEvent:
    """One all-day event, once or recurring."""

    uid: str
    summary: str
    start: date
    description: str = ""
    rrule: str | None = None  # RFC 5545 RRULE value, e.g. "FREQ=MONTHLY;BYMONTHDAY=25"


@dataclass
class CalendarPlan:
    """The events of a calendar and the roadmap items left out, by reason."""

    name: str
    events: list[CalendarEvent] = field(default_factory=list)
    skipped: Counter = field(default_factory=Counter)

    def summary_ru(self) -> str:
        """«Событий: 24 (из них повторяющихся 6); не вошли: без срока — 5»."""
        rec = sum(1 for e in self.events if e.rrule)
        text = f"Событий: {len(self.events)} (из них повторяющихся {rec})"
        if self.skipped:
            text += "; не вошли: " + ", ".join(f"{k} — {n}" for k, n in self.skipped.items())
        return text + "."

    def to_ics(self) -> bytes:
        """The calendar as .ics bytes."""
        return build_calendar(self.events, self.name).to_ical()


# ----------------------------------------------------------------------------- events
def school_calendar(wb: SchoolWorkbook, reference_date: date | None = None, *,
                    reporting: bool = True) -> CalendarPlan:
    """The school's calendar: its roadmap deadlines and the reporting calendar."""
    ref = reference_date or wb.reference_date or date.today()
    code = wb.school_code
    title = " ".join(p for p in (code, str(wb.school.get("name") or "")) if p)
    plan = CalendarPlan(f"Наставничество: {title or 'дорожная карта'}")
    roadmap = Facts(wb, ref).t("roadmap")
    roadmap_events(roadmap.assign(school_code=code), ref, plan)
    if reporting:
        plan.events += reporting_events(ref, scope=code)
    return plan


def roadmap_events(roadmap: pd.DataFrame, reference_date: date, plan: CalendarPlan, *,
                   prefix_school: bool = False) -> CalendarPlan:
    """Add the events of roadmap rows (contract keys; ``school_code`` optional) to ``plan``."""
    due = resolve_due(roadmap)
    anchor = school_year_start(reference_date)
    for i in roadmap.index:
        row, d = roadmap.loc[i], due.loc[i]
        deadline: Deadline | None = d["deadline"]
        status = row.get("status")
        if status == C.STATUS_CANCELLED:
            plan.skipped[SKIP_REASONS["cancelled"]] += 1
            continue
        summary = _summary(row, prefix_school)
        key = (row.get("school_code"), row.get("item_no"), row.get("activity"))
        if pd.notna(d["due"]) and not d["recurring"]:
            if status == C.STATUS_DONE:
                plan.skipped[SKIP_REASONS["done"]] += 1
                continue
            start = pd.Timestamp(d["due"]).date()
            plan.events.append(CalendarEvent(_uid(*key, start), summary, start,
                                             _description(row)))
        elif d["recurring"] and deadline is not None and deadline.recurrence:
            for rule in rrules(deadline.recurrence, deadline.start):
                start = first_occurrence(rule, deadline.start or anchor)
                if start is not None:
                    plan.events.append(CalendarEvent(_uid(*key, rule), summary, start,
                                                     _description(row), rule))
        else:
            kind = deadline.kind if deadline is not None else "empty"
            plan.skipped[SKIP_REASONS.get(kind, SKIP_REASONS["unreadable"])] += 1
    return plan


def reporting_events(reference_date: date, scope: str = "") -> list[CalendarEvent]:
    """The reporting calendar of the seeds from the start of the school year."""
    anchor = school_year_start(reference_date)
    out = []
    for title, rec, note in REPORTING:
        for rule in rrules(rec):
            start = first_occurrence(rule, anchor)
            if start is not None:
                out.append(CalendarEvent(_uid("reporting", scope, title, rule), title, start,
                                         note, rule))
    return out


def school_year_start(day: date) -> date:
    """1 September of the school year ``day`` belongs to."""
    return date(day.year if day.month >= 9 else day.year - 1, 9, 1)


# ----------------------------------------------------------------------------- RRULEs
def rrules(recurrence: str, start: date | None = None) -> list[str]:
    """RRULE values of a recurrence in the deadline parser's notation (see addin.deadlines)."""
    form, _, arg = recurrence.partition(":")
    if form == "daily":
        return ["FREQ=DAILY"]
    if form == "weekly":
        return ["FREQ=WEEKLY"] if start else ["FREQ=WEEKLY;BYDAY=SU"]
    if form == "monthly" and arg:
        day = int(arg)
        if day <= 28:
            return [f"FREQ=MONTHLY;BYMONTHDAY={day}"]
        # «30 числа» in February is its last day, as the parser clamps it
        days = ",".join(str(d) for d in range(28, day + 1))
        return [f"FREQ=MONTHLY;BYMONTHDAY={days};BYSETPOS=-1"]
    if form in _STEP and not arg:
        if start:
            step = _STEP[form]
            return ["FREQ=YEARLY"] if step == 12 else [f"FREQ=MONTHLY;INTERVAL={step}"]
        if form == "monthly":
            return ["FREQ=MONTHLY;BYMONTHDAY=-1"]
        return [f"FREQ=YEARLY;BYMONTH={_END_MONTHS[form]};BYMONTHDAY=-1"]
    if form in ("yearly", "months") and arg:
        return [f"FREQ=YEARLY;BYMONTH={arg};BYMONTHDAY=-1"]
    if form == "yearly_dates":
        by_day: dict[int, list[int]] = {}
        for mmdd in arg.split(","):
            month, day = (int(x) for x in mmdd.split("-"))
            by_day.setdefault(day, []).append(month)
        return [f"FREQ=YEARLY;BYMONTH={','.join(map(str, sorted(ms)))};BYMONTHDAY={day}"
                for day, ms in sorted(by_day.items())]
    raise ValueError(f"unknown recurrence {recurrence!r}")


def first_occurrence(rule: str, anchor: date) -> date | None:
    """The first day of ``rule`` on or after ``anchor`` (RFC 5545 wants it as DTSTART)."""
    start = datetime(anchor.year, anchor.month, anchor.day)
    hit = rrulestr(f"RRULE:{rule}", dtstart=start).after(start, inc=True)
    return hit.date() if hit is not None else None


# ----------------------------------------------------------------------------- .ics
def build_calendar(events: list[CalendarEvent], name: str) -> Calendar:
    """An iCalendar with one all-day VEVENT per event and a reminder a few days before."""
    cal = Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("method", "PUBLISH")
    cal.add("x-wr-calname", name)
    stamp = datetime.now(UTC).replace(microsecond=0)
    for e in events:
        cal.add_component(_vevent(e, stamp))
    return cal


def _vevent(e: CalendarEvent, stamp: datetime) -> Event:
    ev = Event()
    ev.add("uid", e.uid)
    ev.add("dtstamp", stamp)
    ev.add("summary", e.summary)
    ev.add("dtstart", e.start)
    ev.add("dtend", e.start + timedelta(days=1))
    ev.add("transp", "TRANSPARENT")
    if e.description:
        ev.add("description", e.description)
    if e.rrule:
        ev.add("rrule", vRecur.from_ical(e.rrule))
    alarm = Alarm()
    alarm.add("action", "DISPLAY")
    alarm.add("description", e.summary)
    alarm.add("trigger", timedelta(days=-REMIND_DAYS))
    ev.add_component(alarm)
    return ev


def _summary(row: pd.Series, prefix_school: bool) -> str:
    parts = []
    if prefix_school and _text(row.get("school_code")):
        parts.append(f"{_text(row.get('school_code'))}:")
    if _text(row.get("item_no")):
        parts.append(_text(row.get("item_no")))
    parts.append(_text(row.get("activity")) or "Мероприятие дорожной карты")
    return " ".join(parts)


def _description(row: pd.Series) -> str:
    lines = []
    for label, key in (("Срок в дорожной карте", "deadline_text"), ("Раздел", "section"),
                       ("Ответственные", "responsible"), ("Результат", "result"),
                       ("Статус", "status")):
        if _text(row.get(key)):
            lines.append(f"{label}: {_text(row.get(key))}")
    return "\n".join(lines)


def _text(v: Any) -> str:
    if v is None or (not isinstance(v, str) and pd.isna(v)):
        return ""
    return str(v).strip()


def _uid(*parts: Any) -> str:
    digest = hashlib.sha256("|".join(_text(p) for p in parts).encode()).hexdigest()[:24]
    return f"{digest}@{UID_DOMAIN}"
