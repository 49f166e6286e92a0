"""Many SchoolWorkbooks -> municipal tables: a status per school, cross-school checks, and
municipal indicators as sums of numerators over sums of denominators.

Consolidation is pure: it takes what the sources fetched (and the previous period's snapshot
from the store) and returns a `Consolidation`; writers (master, store, federal form) render it.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from datetime import date
from enum import StrEnum
from typing import Any

import numpy as np
import pandas as pd

from addin.errors import UnknownVersionError, WorkbookNotFoundError
from addin.facts import Facts, member, per_school, split_ids
from addin.indicators import INDICATORS, IndicatorValue, batch_indicators, from_sums
from addin.model import SCHOOL, WorkbookBatch, fold_text, normalize_header, period_end
from addin.report import Report
from addin.validate import validate_batch
from sync.figures import counted_records
from sync.sources.base import Fetched, SchoolEntry
from workbook_templates import contract as C


class SchoolStatus(StrEnum):
    """What the municipality did with a school's submission this period."""

    ACCEPTED = "принят"
    ACCEPTED_WARNINGS = "принят с предупреждениями"
    REJECTED = "отклонён"
    MISSING = "не представлен"
    CORRUPT = "файл повреждён"
    UNKNOWN_VERSION = "неизвестная версия шаблона"

    @property
    def accepted(self) -> bool:
        return self in (SchoolStatus.ACCEPTED, SchoolStatus.ACCEPTED_WARNINGS)


@dataclass
class SchoolResult:
    """One school of the registry after fetching, checking and counting."""

    entry: SchoolEntry
    status: SchoolStatus
    reason: str
    fetched: Fetched
    report: Report | None = None
    indicators: list[IndicatorValue] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)
    municipality: str = ""
    #: The result as the store keeps it for a re-sync, made where it was judged (a worker).
    stored: bytes | None = field(default=None, repr=False)

    @property
    def code(self) -> str:
        return self.entry.code

    @property
    def readable(self) -> bool:
        """Whether the file was read (its rows are among the municipal tables)."""
        return self.report is not None


@dataclass
class Judged:
    """Schools judged together, in the order given, and their rows of the municipal tables
    (participants, pairs, roadmap): one frame per table for all of them, each row with its
    school's registry code, schools in the same order. Rows travel as whole tables, never
    cut per school: a city has a million of them."""

    schools: list[SchoolResult]
    rows: dict[str, pd.DataFrame]


@dataclass(frozen=True)
class CrossFinding:
    """A finding that needs more than one school or more than one period to see."""

    code: str
    severity: str
    school_code: str
    message_ru: str
    other_school: str = ""


@dataclass
class Snapshot:
    """What the store remembers of one school in one period (for the next period's checks).

    `people` holds (role, ID): a mentor «1» and a mentee «1» are two people. `participants`
    holds bare IDs, as stores written before roles were kept remember them.
    """

    status: str
    open_pairs: set[str] = field(default_factory=set)
    participants: set[str] = field(default_factory=set)
    people: set[tuple[str, str]] = field(default_factory=set)


@dataclass
class Consolidation:
    """The municipality in one period: what every writer renders."""

    period: str
    reference_date: date
    schools: list[SchoolResult]
    municipal: list[IndicatorValue]
    participants: pd.DataFrame
    pairs: pd.DataFrame
    roadmap: pd.DataFrame
    findings: pd.DataFrame
    cross: list[CrossFinding]
    municipality: str = ""
    #: The rows of every school, accepted or not (participants, pairs, roadmap): what the
    #: store remembers for the next period and for a re-sync.
    rows: dict[str, pd.DataFrame] = field(default_factory=dict)

    @property
    def accepted(self) -> list[SchoolResult]:
        return [s for s in self.schools if s.status.accepted]

    @property
    def org_types(self) -> dict[str, str]:
        """School code -> ОО / СПО / ДО, as the registry says."""
        return {s.entry.code: s.entry.org_type for s in self.schools}

    @functools.cached_property
    def counted(self) -> pd.DataFrame:
        """The records the federal figures count (`figures.counted_records`): made once for
        the form's table and for its trace («Расшифровка»)."""
        return counted_records(self.participants, self.pairs, self.org_types)

    @property
    def any_rejected(self) -> bool:
        return any(not s.status.accepted for s in self.schools)


# -- schools ------------------------------------------------------------------------------
def judge_batch(fetched: list[Fetched], reference_date: date,
                targets: dict[str, Any] | None, period: str | None = None, *,
                own_dates: bool = False) -> list[SchoolResult]:
    """Status, reason, findings, indicators and municipal rows of many fetched schools.

    The readable schools make one batch: their sheets are typed, checked and counted once
    for all of them. A workbook of another school or of another period is rejected with the
    reason. With `own_dates`, a school whose form gives «Дата, на которую даны сведения»
    within the period is judged at that date (schools of one date make one batch). Results
    come in the order of `fetched`, without the raw sheets.
    """
    readable = [f for f in fetched if f.sheets is not None]
    results, rows = (_judge_dated(readable, reference_date, targets, period, own_dates)
                     if readable else ([], {}))
    judged = iter(results)
    out = []
    for f in fetched:
        result = next(judged) if f.sheets is not None else _unreadable(f)
        result.fetched = replace(f, sheets=None)
        out.append(result)
    return Judged(out, {name: _concat([rows[name]] if name in rows else [], columns)
                        for name, columns in ROW_TABLES.items()})


def judge(fetched: Fetched, reference_date: date, targets: dict[str, Any] | None,
          period: str | None = None) -> SchoolResult:
    """One school: a batch of one."""
    return judge_batch([fetched], reference_date, targets, period).schools[0]


def _unreadable(fetched: Fetched) -> SchoolResult:
    err = fetched.error
    status = (SchoolStatus.MISSING if isinstance(err, WorkbookNotFoundError)
              else SchoolStatus.UNKNOWN_VERSION if isinstance(err, UnknownVersionError)
              else SchoolStatus.CORRUPT)
    if err is not None and err.code == "source-unavailable":
        status = SchoolStatus.MISSING
    reason = err.message_ru if err is not None else "файл не получен"
    return SchoolResult(fetched.entry, status, reason, fetched)


def _judge_dated(fetched: list[Fetched], ref: date, targets: dict[str, Any] | None,
                 period: str | None, own_dates: bool
                 ) -> tuple[list[SchoolResult], dict[str, pd.DataFrame]]:
    """Judge at `ref`, or per school at its own date: one batch per date. Rows come in the
    order of `fetched`."""
    batch = WorkbookBatch.of([(f.source, f.sheets or {}) for f in fetched])
    dates = [_own_date(b, ref, period) if own_dates else ref for b in batch.books]
    if all(d == ref for d in dates):
        results, rows = _judge_readable(fetched, batch, ref, targets, period)
        return results, {k: v.drop(columns=SCHOOL) for k, v in rows.items()}
    out: list[SchoolResult | None] = [None] * len(fetched)
    parts: dict[str, list[pd.DataFrame]] = {}
    for day in sorted(set(dates)):
        idx = [i for i, d in enumerate(dates) if d == day]
        part = [fetched[i] for i in idx]
        sub = WorkbookBatch.of([(f.source, f.sheets or {}) for f in part])
        results, rows = _judge_readable(part, sub, day, targets, period)
        for i, result in zip(idx, results, strict=True):
            out[i] = result
        for name, frame in rows.items():  # renumber the schools as in `fetched`
            school = np.asarray(idx)[frame[SCHOOL].to_numpy(dtype=int)]
            parts.setdefault(name, []).append(frame.assign(**{SCHOOL: school}))
    rows = {name: pd.concat(frames, ignore_index=True).sort_values(SCHOOL, kind="stable")
            .drop(columns=SCHOOL).reset_index(drop=True) for name, frames in parts.items()}
    return [r for r in out if r is not None], rows


def _own_date(book: Any, ref: date, period: str | None) -> date:
    """The form's «Дата, на которую даны сведения» when it falls within the period."""
    own = book.school.get("reference_date")
    end = period_end(period) if period else None
    if isinstance(own, date) and end is not None and (own.year, own.month) == (end.year,
                                                                                end.month):
        return own
    return ref


def _judge_readable(fetched: list[Fetched], batch: WorkbookBatch, ref: date,
                    targets: dict[str, Any] | None, period: str | None
                    ) -> tuple[list[SchoolResult], dict[str, pd.DataFrame]]:
    """Results of a batch and its rows, each row with SCHOOL (its school in the batch)."""
    reports = validate_batch(batch, ref)
    values = batch_indicators(batch, ref, targets)
    facts = Facts(batch, ref)
    codes = [f.entry.code for f in fetched]
    rows = {name: make(codes, facts).sort_values(SCHOOL, kind="stable")[
        [SCHOOL, *ROW_TABLES[name]]].reset_index(drop=True) for name, make in
        (("participants", participants_of), ("pairs", pairs_of), ("roadmap", roadmap_of))}
    counts = _row_counts(facts)
    out = []
    for i, (f, book, report) in enumerate(zip(fetched, batch.books, reports, strict=True)):
        status, reason = _status(f.entry, book.school_code, book.school.get("period"), report,
                                 period)
        out.append(SchoolResult(f.entry, status, reason, f, report, values[i], counts[i],
                                str(book.school.get("municipality") or "")))
    return out, rows


def _status(entry: SchoolEntry, code: str, book_period: Any, report: Report,
            period: str | None) -> tuple[SchoolStatus, str]:
    if code and same_code(code) != same_code(entry.code):
        return SchoolStatus.REJECTED, (
            f"В книге указан код ОО «{code}», а в реестре — «{entry.code}»: "
            "проверьте, что прислан файл своей организации (и что в коде нет латинских букв).")
    if period and book_period and book_period != period:
        return SchoolStatus.REJECTED, (
            f"Книга за период {book_period}, а сбор — за {period}: пришлите книгу этого "
            "периода (лист «Сведения об ОО», «Отчётный период»).")
    if report.errors:
        return SchoolStatus.REJECTED, f"ошибок: {report.errors}, предупреждений: {report.warnings}"
    if report.warnings:
        return SchoolStatus.ACCEPTED_WARNINGS, f"предупреждений: {report.warnings}"
    return SchoolStatus.ACCEPTED, "замечаний нет"


#: Latin letters that look like Cyrillic ones, as they get typed into codes like «ОО-001».
_LOOKALIKES = str.maketrans("AaBCcEeHKMOoPpTXxy", "АаВСсЕеНКМОоРрТХху")


def same_code(code: str) -> str:
    """A school code as compared: case, spaces and Latin look-alike letters do not matter."""
    return normalize_header(code.translate(_LOOKALIKES)).replace(" ", "")


def _row_counts(facts: Facts) -> list[dict[str, int]]:
    """Records per table of every school of the batch."""
    n, t = facts.n_schools, facts.t

    def per(frame: pd.DataFrame) -> np.ndarray:
        return per_school(pd.Series(1.0, index=frame.index), frame[SCHOOL], n).astype(int)

    columns = {"mentors": per(t("mentors")), "mentees": per(t("mentees")),
               "pairs": per(t("pairs")), "active_pairs": per(facts.active_pairs),
               "meetings": per(t("meetings")), "roadmap_items": per(t("roadmap"))}
    return [{k: int(v[i]) for k, v in columns.items()} for i in range(n)]


# -- the municipality -------------------------------------------------------------------------
def consolidate(fetched: Iterable[Fetched], period: str, *, reference_date: date | None = None,
                targets: dict[str, Any] | None = None,
                previous: dict[str, Snapshot] | None = None,
                progress: Callable[[SchoolResult], Any] | None = None) -> Consolidation:
    """Judge every school and build the municipal tables of one period."""
    ref = reference_date_of(period, reference_date)
    judged = judge_batch(list(fetched), ref, targets, period)
    if progress is not None:
        for r in judged.schools:
            progress(r)
    return combine(judged, period, ref, targets=targets, previous=previous)


def reference_date_of(period: str, reference_date: date | None = None) -> date:
    """The given date, else the last day of the period ГГГГ-ММ."""
    ref = reference_date or period_end(period)
    if ref is None:
        raise ValueError(f"period must be ГГГГ-ММ, got {period!r}")
    return ref


def combine(judged: Judged, period: str, ref: date, *,
            targets: dict[str, Any] | None = None,
            previous: dict[str, Snapshot] | None = None) -> Consolidation:
    """The municipal tables from judged schools (in registry order, rows in the same order)."""
    schools, rows = judged.schools, judged.rows
    accepted = [s for s in schools if s.status.accepted]
    municipal = municipal_indicators(accepted, ref, targets)
    codes = {s.code for s in accepted}
    kept = {name: frame[frame["school_code"].isin(codes)].reset_index(drop=True)
            for name, frame in rows.items()}
    cross = (same_person_in_two_schools(kept["participants"])
             + vanished(schools, previous or {}, rows))
    names = [s.municipality for s in accepted if s.municipality]
    return Consolidation(
        period=period, reference_date=ref, schools=schools, municipal=municipal,
        participants=kept["participants"], pairs=kept["pairs"], roadmap=kept["roadmap"],
        findings=findings_of(schools), cross=cross,
        municipality=names[0] if names else "", rows=rows)


def merge_rows(parts: list[dict[str, pd.DataFrame]], order: list[str]
               ) -> dict[str, pd.DataFrame]:
    """Rows of schools judged apart (kept from an earlier run, batches of workers) as one
    table each, schools in the registry order `order` (codes), each school's rows as given."""
    position = {code: i for i, code in enumerate(order)}
    out = {}
    for name, columns in ROW_TABLES.items():
        frame = _concat([p[name] for p in parts if name in p], columns)
        at = frame["school_code"].map(position).to_numpy()
        if len(at) and (np.diff(at) < 0).any():
            frame = frame.iloc[np.argsort(at, kind="stable")].reset_index(drop=True)
        out[name] = frame
    return out


def municipal_indicators(accepted: list[SchoolResult], ref: date,
                         targets: dict[str, Any] | None) -> list[IndicatorValue]:
    """Sums of numerators over sums of denominators of the accepted schools."""
    sums = {d.key: [0.0, 0.0] for d in INDICATORS}
    for s in accepted:
        for v in s.indicators:
            sums[v.key][0] += v.numerator
            sums[v.key][1] += v.denominator
    return from_sums({k: (n, d) for k, (n, d) in sums.items()}, year=ref.year, targets=targets)


# -- municipal tables -----------------------------------------------------------------------
PARTICIPANT_COLUMNS = ["school_code", "role", "person_id", "full_name", "birth_date", "age",
                       "category", "special_category", "group", "organization", "consent",
                       "in_active_pair"]
PAIR_COLUMNS = ["school_code", "pair_id", "form", "mentor_id", "mentee_ids", "mentees",
                "start_date", "end_date", "stage", "plan_percent", "active"]
ROADMAP_COLUMNS = ["school_code", "item_no", "section", "activity", "deadline_text", "due",
                   "recurrence", "status", "done_date", "overdue"]
FINDING_COLUMNS = ["school_code", "severity", "code", "sheet", "row", "column", "value",
                   "message", "hint"]
#: The municipal tables every school contributes rows to, with their columns.
ROW_TABLES = {"participants": PARTICIPANT_COLUMNS, "pairs": PAIR_COLUMNS,
              "roadmap": ROADMAP_COLUMNS}


def participants_of(codes: list[str], facts: Facts) -> pd.DataFrame:
    """Mentors and mentees of the batch, one row per person and role, with SCHOOL."""
    # IDs are per sheet (a mentor «1» and a mentee «1» are two people): one test per role
    active = {"mentees": (facts.active_links, "mentee_id"),
              "mentors": (facts.active_pairs, "mentor_id")}
    parts = []
    for key, role in (("mentors", "наставник"), ("mentees", "наставляемый")):
        t = facts.t(key)
        empty = pd.Series(None, index=t.index, dtype=object)
        links, column = active[key]
        parts.append(pd.DataFrame({
            SCHOOL: t[SCHOOL], "school_code": _codes(codes, t),
            "role": pd.Series(role, index=t.index, dtype=object),
            "person_id": t["id"], "full_name": t["full_name"], "birth_date": t["birth_date"],
            "age": facts.age(key), "category": t["category"],
            "special_category": t.get("special_category", empty),
            "group": t.get("group", t.get("position")),
            "organization": t.get("organization", empty),
            "consent": t["consent_date"].notna(),
            "in_active_pair": member(t, "id", links, column)}))
    return pd.concat(parts, ignore_index=True).sort_values(SCHOOL, kind="stable")


def pairs_of(codes: list[str], facts: Facts) -> pd.DataFrame:
    """Pairs and groups of the batch, with whether each works at the reference date."""
    p = facts.t("pairs")
    return pd.DataFrame({
        SCHOOL: p[SCHOOL], "school_code": _codes(codes, p), "pair_id": p["id"],
        "form": p["form"], "mentor_id": p["mentor_id"], "mentee_ids": p["mentee_ids"],
        "mentees": p["mentee_ids"].map(lambda v: len(split_ids(v))),
        "start_date": p["start_date"], "end_date": p["end_date"], "stage": p["stage"],
        "plan_percent": p["plan_percent"],
        "active": p.index.isin(facts.active_pairs.index)})


def roadmap_of(codes: list[str], facts: Facts) -> pd.DataFrame:
    """Roadmap items of the batch with their due dates and overdue flags."""
    r, due = facts.t("roadmap"), facts.roadmap_due
    closed = r["status"].isin([C.STATUS_DONE, C.STATUS_CANCELLED])
    overdue = ~closed & due["due"].notna() & (due["due"] < facts.ref) & ~due["recurring"]
    return pd.DataFrame({
        SCHOOL: r[SCHOOL], "school_code": _codes(codes, r), "item_no": r["item_no"],
        "section": r["section"], "activity": r["activity"], "deadline_text": r["deadline_text"],
        "due": due["due"],
        "recurrence": due["deadline"].map(
            lambda d: d.describe_ru() if d is not None and d.kind in
            ("recurrence", "no_deadline") else None),
        "status": r["status"], "done_date": r["done_date"], "overdue": overdue})


def _codes(codes: list[str], table: pd.DataFrame) -> pd.Series:
    """The registry code of each row's school, as Python text like the columns beside it
    (pandas would make it Arrow text, and every later use would convert it back)."""
    return pd.Series(np.asarray(codes, dtype=object)[table[SCHOOL].to_numpy()],
                     index=table.index, dtype=object)


def findings_of(schools: list[SchoolResult]) -> pd.DataFrame:
    """Every finding of every school, one row each (one frame: thousands of schools)."""
    rows = []
    for s in schools:
        if s.report is None:  # the file itself could not be used
            rows.append([s.code, "ошибка", "FILE", "", None, None, None,
                         f"{s.status.value}: {s.reason}", ""])
            continue
        rows.extend([s.code, f.severity.value, f.code, f.sheet, f.row, f.column, f.value,
                     f.message_ru, f.hint_ru] for f in s.report.findings)
    return pd.DataFrame(rows, columns=FINDING_COLUMNS)


def _concat(frames: list[pd.DataFrame], columns: list[str]) -> pd.DataFrame:
    frames = [f for f in frames if not f.empty]
    if not frames:
        return pd.DataFrame(columns=columns)
    return pd.concat(frames, ignore_index=True)[columns]


# -- cross-school and cross-period checks ------------------------------------------------------
def same_person_in_two_schools(people: pd.DataFrame) -> list[CrossFinding]:
    """One person (same name and birth date) in active pairs of two schools (X-001), among
    the participants of the accepted schools."""
    people = people[people["in_active_pair"].astype(bool) & people["full_name"].notna()
                    & people["birth_date"].notna()]
    names = [fold_text(str(n)) for n in people["full_name"].to_numpy(dtype=object)]
    key = pd.Series(names, index=people.index, dtype=object) + "|" + people[
        "birth_date"].astype(str).to_numpy(dtype=object)
    # a city has hundreds of thousands of people and a handful of shared ones: find the keys
    # met in two schools first, then look at those people only
    met = pd.DataFrame({"key": key, "school": people["school_code"].to_numpy(dtype=object)})
    met = met.drop_duplicates()
    shared = set(met.loc[met["key"].duplicated(keep=False), "key"])
    people = people.assign(key=key)[key.isin(shared)]
    out = []
    for _, group in people.groupby("key"):
        schools = group.drop_duplicates("school_code")
        first = schools.iloc[0]
        for _, other in schools.iloc[1:].iterrows():
            out.append(CrossFinding(
                "X-001", "предупреждение", other["school_code"],
                f"Участник {other['person_id']} ({other['school_code']}) совпадает по ФИО и дате "
                f"рождения с участником {first['person_id']} ({first['school_code']}): один "
                "человек в парах двух организаций в одном периоде.", first["school_code"]))
    return out


def vanished(schools: list[SchoolResult], previous: dict[str, Snapshot],
             rows: dict[str, pd.DataFrame]) -> list[CrossFinding]:
    """Schools, pairs and participants present last period and gone now (X-002, X-003).
    `rows` are this period's rows of every school (`Judged.rows`)."""
    out: list[CrossFinding] = []
    if not previous:
        return out
    by_code = {s.code: s for s in schools}
    now_rows = _Present(rows["pairs"], rows["participants"])
    for code, before in previous.items():
        now = by_code.get(code)
        was_accepted = before.status in (SchoolStatus.ACCEPTED, SchoolStatus.ACCEPTED_WARNINGS)
        if now is None or not now.readable:
            if was_accepted:
                out.append(CrossFinding(
                    "X-003", "предупреждение", code,
                    "Организация сдавала данные в прошлом периоде, а в этом книга не получена."))
            continue
        gone_pairs = sorted(p for p in before.open_pairs if (code, p) not in now_rows.pairs)
        if gone_pairs:
            out.append(CrossFinding(
                "X-002", "предупреждение", code,
                f"Пары прошлого периода исчезли без даты окончания: {_some(gone_pairs)}"))
        gone_people = now_rows.gone_people(code, before)
        if gone_people:
            out.append(CrossFinding(
                "X-002", "предупреждение", code,
                f"Участники прошлого периода исчезли из книги: {_some(gone_people)}"))
    return out


class _Present:
    """Pairs and people of this period, by school, as sets (one pass over all rows)."""

    def __init__(self, pairs: pd.DataFrame, people: pd.DataFrame) -> None:
        # a pair still listed (ended or not) has not vanished
        known = pairs[pairs["pair_id"].notna()]
        self.pairs = set(zip(*_plain(known, "school_code", "pair_id"), strict=True))
        people = people[people["person_id"].notna()]
        code, role, pid = _plain(people, "school_code", "role", "person_id")
        self.people = set(zip(code, role, (str(p) for p in pid), strict=True))
        self.ids = set(zip(code, pid, strict=True))

    def gone_people(self, code: str, before: Snapshot) -> list[str]:
        """People of the last period missing now, each with their role where it is known."""
        if before.people:
            return [f"{pid} ({role})" for role, pid in sorted(before.people)
                    if (code, role, pid) not in self.people]
        return sorted(pid for pid in before.participants if (code, pid) not in self.ids)


def python_values(column: pd.Series) -> np.ndarray:
    """A column as an array of Python values, None where missing (what a DB driver binds;
    iterating Arrow-backed text value by value is slow)."""
    values = column.to_numpy(dtype=object)
    missing = pd.isna(values)
    if missing.any():
        values[missing] = None
    return values


def _plain(frame: pd.DataFrame, *columns: str) -> list[np.ndarray]:
    return [python_values(frame[c]) for c in columns]


def _people(people: pd.DataFrame) -> list[tuple[str, str]]:
    known = people[people["person_id"].notna()]
    return list(zip(known["role"], known["person_id"].astype(str), strict=True))


def _some(ids: list[str], limit: int = 20) -> str:
    return ", ".join(ids[:limit]) + (" …" if len(ids) > limit else "")


def snapshots(cons: Consolidation) -> dict[str, Snapshot]:
    """What to remember of each school for the next period (the store keeps the same, built
    over all schools at once)."""
    pairs, people = cons.rows["pairs"], cons.rows["participants"]
    pairs_of = dict(tuple(pairs.groupby("school_code", sort=False)))
    people_of = dict(tuple(people.groupby("school_code", sort=False)))
    out = {}
    for s in cons.schools:
        if not s.readable:
            out[s.code] = Snapshot(status=s.status.value)
            continue
        p = pairs_of.get(s.code, pairs.iloc[:0])
        ppl = people_of.get(s.code, people.iloc[:0])
        out[s.code] = Snapshot(
            status=s.status.value,
            open_pairs=set(p.loc[p["end_date"].isna(), "pair_id"].dropna()),
            participants=set(ppl["person_id"].dropna()), people=set(_people(ppl)))
    return out
