"""The municipal master workbook: one file the municipal centre opens after every sync.

``write_master`` renders a ``Consolidation`` with xlsxwriter (titles, headers, filters,
charts) and `sync.sheet_rows` (the tables' rows, built in Arrow) into a temporary file beside
the master and moves it over the master with ``os.replace``: an existing master is either
replaced whole or left untouched. ``master_lock`` keeps two runs from writing one master at a
time.

Every text value is written as an inline string: a school's text that begins with ``=``,
``+``, ``-`` or ``@`` stays text in the master and never becomes a formula.

The master's layout is its own (not the school workbook contract): sheet names, headers and
texts live in the constants at the top of this module.
"""

from __future__ import annotations

import codecs
import contextlib
import logging
import math
import numbers
import os
import secrets
import shutil
import socket
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pa_compute
import pyarrow.csv as pa_csv
import xlsxwriter
from xlsxwriter.format import Format
from xlsxwriter.worksheet import Worksheet

from addin.facts import split_ids
from addin.indicators import BY_KEY, INDICATORS, IndicatorValue
from addin.plan.gaps import Gap, gap_by_key, gaps
from sync import sheet_rows
from sync.beside import Beside
from sync.consolidate import Consolidation, CrossFinding, SchoolResult, SchoolStatus
from sync.figures import ORG_TYPES, TOTAL, federal_figures, figure_trace
from sync.pseudonym import pseudonym
from sync.sheet_rows import DATE_FORMAT, Block, fills_of
from workbook_templates import contract as C

log = logging.getLogger(__name__)

# ====================================================================== layout of the master
SHEET_SUMMARY = "Свод по ОО"
SHEET_INDICATORS = "Показатели муниципалитета"
SHEET_CHARTS = "Диаграммы"
SHEET_FIGURES = "Численность участников"
SHEET_ROADMAP = "Дорожные карты"
SHEET_PARTICIPANTS = "Участники"
SHEET_PAIRS = "Пары"
SHEET_FINDINGS = "Замечания"
SHEET_LOG = "Журнал сбора"
SHEET_GAPS = "До цели"
SHEET_TRACE = "Расшифровка"
SHEETS = (SHEET_SUMMARY, SHEET_INDICATORS, SHEET_GAPS, SHEET_CHARTS, SHEET_FIGURES,
          SHEET_TRACE, SHEET_ROADMAP, SHEET_PARTICIPANTS, SHEET_PAIRS, SHEET_FINDINGS, SHEET_LOG)

#: Row 0 of every sheet: what the workbook is; headers on row 1, data from row 2.
TITLE = "{municipality}: сводная книга наставничества, период {period}, данные на {ref}"
TITLE_PSEUDONYMIZED = " (участники псевдонимизированы)"
HEADER_ROW = 1

SUMMARY_HEADERS = {
    "code": "Код ОО", "name": "Наименование", "org_type": "Тип", "status": "Статус",
    "reason": "Причина", "errors": "Ошибок", "warnings": "Предупреждений",
    "mentors": "Наставников", "mentees": "Наставляемых", "active_pairs": "Пар (действующих)",
}
INDICATOR_VALUE_HEADER = "{title}, %"
INDICATOR_MET_HEADER = "{title}: цель достигнута"
MUNICIPAL_HEADERS = {
    "title": "Показатель", "numerator": "Числитель", "denominator": "Знаменатель",
    "value": "Значение, %", "target": "Цель, %", "met": "Цель достигнута", "note": "Примечание",
}
#: «Показатели муниципалитета» also says what is missing to each target.
GAP_HEADER = "До цели"
#: «До цели»: per school and for the municipality, what is missing to each target.
GAP_HEADERS = {
    "code": "Код ОО", "name": "Наименование", "title": "Показатель", "value": "Значение, %",
    "target": "Цель, %", "numerator": "Числитель", "denominator": "Знаменатель",
    "missing": "Не хватает (человек, документов)", "text": "Что нужно",
}
GAP_MUNICIPALITY = "Муниципалитет"
#: «Расшифровка»: the records behind every figure of «Численность участников» and the form.
TRACE_HEADERS = {
    "row_key": "Ключ строки", "label": "Показатель", "school_code": "Код ОО",
    "org_type": "Тип", "count": "Число", "ids": "ID участников (в строках о парах — ID пар)",
}
TRACE_IDS_PSEUDONYMIZED = "Псевдонимы участников (в строках о парах — ID пар)"
FIGURE_HEADERS = {"section": "Раздел", "label": "Показатель",
                  **{t: t for t in ORG_TYPES}, TOTAL: TOTAL}
ROADMAP_HEADERS = {
    "school_code": "Код ОО", "item_no": "№", "section": "Раздел", "activity": "Мероприятие",
    "deadline_text": "Срок (как в книге)", "due": "Срок (дата)", "recurrence": "Периодичность",
    "status": "Статус", "done_date": "Дата выполнения", "overdue": "Просрочено",
}
PARTICIPANT_HEADERS = {
    "school_code": "Код ОО", "role": "Роль", "person_id": "ID участника", "full_name": "ФИО",
    "birth_date": "Дата рождения", "age": "Возраст", "category": "Категория",
    "special_category": "Особая категория", "group": "Класс, группа или должность",
    "organization": "Организация", "consent": "Согласие на обработку ПД",
    "in_active_pair": "В действующей паре",
}
PAIR_HEADERS = {
    "school_code": "Код ОО", "pair_id": "ID пары", "form": "Форма наставничества",
    "mentor_id": "Наставник", "mentee_ids": "Наставляемые", "mentees": "Наставляемых",
    "start_date": "Дата начала", "end_date": "Дата окончания", "stage": "Этап",
    "plan_percent": "Выполнение плана, %", "active": "Действует",
}
FINDING_HEADERS = {
    "school_code": "Код ОО", "severity": "Важность", "code": "Код", "sheet": "Лист",
    "row": "Строка", "column": "Столбец", "value": "Значение", "message": "Замечание",
    "hint": "Что сделать",
}
LOG_HEADERS = {
    "code": "Код ОО", "origin": "Источник", "sha256": "SHA-256", "fetched_at": "Время получения",
    "attempts": "Попыток", "status": "Статус", "reason": "Причина",
}
#: Columns that never reach a pseudonymized master, and the header of the pseudonym column.
PERSONAL_COLUMNS = ("full_name", "birth_date")
PSEUDONYM_HEADER = "Псевдоним участника"
CROSS_SHEET = "между ОО / периодами"

#: Indicators charted by school and over periods.
MAIN_INDICATORS = ("mentees_10_19", "mentors_15_19", "young_teachers", "teachers_covered")
CHART_TREND_TABLE = "Показатели муниципалитета по периодам, %"
CHART_SCHOOL_TABLE = "Показатели по ОО и цели, %"
CHART_PERIOD = "Период"
CHART_TARGET = "Цель"
CHART_BY_SCHOOL = "{title}: значения ОО и цель"
CHART_TREND = "Показатели муниципалитета по периодам"
CHART_PERCENT = "%"
CHART_WIDTH, CHART_HEIGHT = 720, 320  # pixels

OVERDUE = "просрочено"
TIME_FORMAT = "%d.%m.%Y %H:%M:%S"
GREEN, YELLOW, RED, GREY = "#C6EFCE", "#FFEB9C", "#FFC7CE", "#D9D9D9"
HEADER_FILL = "#DDEBF7"
STATUS_FILL = {
    SchoolStatus.ACCEPTED: GREEN, SchoolStatus.ACCEPTED_WARNINGS: YELLOW,
    SchoolStatus.REJECTED: RED, SchoolStatus.CORRUPT: RED, SchoolStatus.UNKNOWN_VERSION: RED,
    SchoolStatus.MISSING: GREY,
}
SEVERITY_FILL = {"ошибка": RED, "предупреждение": YELLOW}

WORKBOOK_OPTIONS = {
    "constant_memory": True, "strings_to_formulas": False, "strings_to_numbers": False,
    "strings_to_urls": False, "nan_inf_to_errors": True,
}
LOCK_MESSAGE = (
    "Сводная книга уже формируется другим запуском (PID {pid}, компьютер {host}, начат {since})."
    " Дождитесь его окончания или удалите файл блокировки {lock}, если тот запуск прерван.")
#: Row sheets longer than this go whole to a CSV file beside the master: a large city's
#: 250,000 participants make a master slow to open in Excel (and 20 MB larger), while the
#: aggregates stay in the master. See also the store.
MASTER_ROW_LIMIT = 50_000
LONG_SHEET_NOTE = ("Строк: {rows}. Список слишком длинный для листа и сохранён целиком в файле "
                   "«{name}» рядом со сводной книгой (открывается в Excel; разделитель «;»).")
MIN_WIDTH, MAX_WIDTH = 6.0, 60.0
WIDTH_SAMPLE = 1000


# ====================================================================== public API
def write_master(cons: Consolidation, out: Path, *, history: pd.DataFrame | None = None,
                 figures: pd.DataFrame | None = None,
                 pseudonymize_key: bytes | None = None) -> Path:
    """Write the master workbook to ``out`` atomically; return ``out``.

    history: municipal indicator values by period (columns period, key, title, numerator,
    denominator, value, target); figures: ``federal_figures`` of ``cons`` (computed when None);
    pseudonymize_key: when given, participants are pseudonyms, without names or birth dates.
    """
    rendered = render_master(cons, out, history=history, figures=figures,
                             pseudonymize_key=pseudonymize_key)
    try:
        return rendered.publish()
    except BaseException:
        rendered.discard()
        raise


@dataclass
class RenderedMaster:
    """A master workbook (and its CSV lists) written to temporary files beside their final
    places: `publish` puts them in place, `discard` removes them."""

    out: Path
    tmp: Path
    #: final path -> temporary file of each CSV list
    lists: dict[Path, Path] = field(default_factory=dict)

    def publish(self) -> Path:
        for final, written in self.lists.items():
            put_in_place(written, final)
        put_in_place(self.tmp, self.out)
        return self.out

    def discard(self) -> None:
        self.tmp.unlink(missing_ok=True)
        for written in self.lists.values():
            written.unlink(missing_ok=True)


def render_master(cons: Consolidation, out: Path, *, history: pd.DataFrame | None = None,
                  figures: pd.DataFrame | None = None,
                  pseudonymize_key: bytes | None = None) -> RenderedMaster:
    """The master of `write_master`, written beside ``out`` but not yet in its place."""
    out = Path(out)
    if figures is None:
        figures = federal_figures(cons.participants, cons.pairs, cons.org_types,
                                  records=cons.counted)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".~{out.stem}.{os.getpid()}.{secrets.token_hex(4)}{out.suffix}")
    lists = _Lists(out)
    rendered = RenderedMaster(out, tmp, lists.files)
    try:
        with tempfile.TemporaryDirectory(prefix="nastavnik-master-",
                                         ignore_cleanup_errors=True) as scratch:
            _render(tmp, scratch, cons, history, figures, pseudonymize_key, lists)
        lists.wait()
    except BaseException:
        with contextlib.suppress(Exception):
            lists.wait()  # nothing may be written after it is removed
        rendered.discard()
        raise
    return rendered


class MasterLockedError(Exception):
    """Another run is writing this master now."""

    def __init__(self, message_ru: str) -> None:
        super().__init__(message_ru)
        self.message_ru = message_ru


@contextmanager
def master_lock(out: Path) -> Iterator[Path]:
    """Hold ``out.with_suffix('.lock')`` for the duration of a run (stale locks are taken over)."""
    lock = Path(out).with_suffix(".lock")
    token = _acquire(lock)
    try:
        yield lock
    finally:
        _release(lock, token)


# ====================================================================== rendering
def _render(path: Path, scratch: str, cons: Consolidation, history: pd.DataFrame | None,
            figures: pd.DataFrame, key: bytes | None, lists: _Lists | None = None) -> None:
    book = MasterBook(path, scratch, _title(cons, key is not None), lists)
    try:
        book.set_properties(cons)
        book.table(SHEET_SUMMARY, _summary(cons), freeze_cols=2)
        book.table(SHEET_INDICATORS, indicator_table(cons.municipal), freeze_cols=1)
        book.table(SHEET_GAPS, _gaps(cons), freeze_cols=3)
        _charts(book, cons, history)
        book.table(SHEET_FIGURES, _figures(figures), freeze_cols=2)
        book.long_table(SHEET_TRACE, _trace(cons, key), freeze_cols=2)
        book.long_table(SHEET_ROADMAP, _roadmap(cons.roadmap), freeze_cols=1)
        book.long_table(SHEET_PARTICIPANTS, _participants(cons.participants, key), freeze_cols=1)
        book.long_table(SHEET_PAIRS, _pairs(cons.pairs, key), freeze_cols=2)
        book.long_table(SHEET_FINDINGS, _findings(cons.findings, cons.cross, key), freeze_cols=1)
        book.table(SHEET_LOG, _log(cons.schools), freeze_cols=1)
    except BaseException:
        book.abandon()
        raise
    book.close()


def _title(cons: Consolidation, pseudonymized: bool) -> str:
    text = TITLE.format(municipality=cons.municipality or "Муниципалитет", period=cons.period,
                        ref=cons.reference_date.strftime("%d.%m.%Y"))
    return text + (TITLE_PSEUDONYMIZED if pseudonymized else "")


@dataclass
class _Lists:
    """Full lists of long sheets, CSV files beside the master: final path -> temporary file
    (put in place with the master, or removed with it)."""

    master: Path
    files: dict[Path, Path] = field(default_factory=dict)
    #: The lists being written, each in a process of its own beside the workbook's sheets.
    jobs: list[Beside] = field(default_factory=list)

    def add(self, sheet: str) -> tuple[Path, Path]:
        final = self.master.with_name(f"{self.master.stem}.{sheet}.csv")
        self.files[final] = final.with_name(f".~{final.name}.{secrets.token_hex(4)}")
        return final, self.files[final]

    def write(self, sheet: str, t: Table) -> Path:
        """Start writing the list of `sheet`; return where it will be."""
        final, written = self.add(sheet)
        self.jobs.append(Beside(lambda: _write_list(t, written)))
        return final

    def wait(self) -> None:
        """Every list written (the first error raised, after all have ended)."""
        errors = []
        for job in self.jobs:
            try:
                job.result()
            except Exception as exc:  # noqa: BLE001 (raised below, once all have ended)
                errors.append(exc)
        self.jobs.clear()
        if errors:
            raise errors[0]


def _write_list(t: Table, path: Path) -> None:
    """A table as CSV for Excel: UTF-8 with BOM, «;», dates as ДД.ММ.ГГГГ, да/нет, decimals
    with a comma (a Russian Excel reads «16,5» as a number and «16.5» as text); text that
    Excel would take for a formula gets a leading apostrophe. Arrow's writer: a city's list
    of a quarter million people takes a fraction of a second."""
    frame = t.frame[list(t.headers)]
    table = pa.table({t.headers[c]: _csv_column(frame[c]) for c in frame.columns})
    with path.open("wb") as fh:
        fh.write(codecs.BOM_UTF8)
        pa_csv.write_csv(table, fh, pa_csv.WriteOptions(delimiter=";"))


def _csv_column(column: pd.Series) -> pa.Array:
    """A column as the sheet shows it (see `_write_list`)."""
    if pd.api.types.is_bool_dtype(column.dtype):
        return pa.array(np.where(column.to_numpy(dtype=bool), C.YES, C.NO), type=pa.string())
    if pd.api.types.is_datetime64_any_dtype(column.dtype):
        if getattr(column.dt, "tz", None) is not None:
            column = column.dt.tz_convert(None)
        return _dmy(pa.array(column))
    if pd.api.types.is_numeric_dtype(column.dtype):
        numbers = pa.array(column.astype("float64"), from_pandas=True)
        return pa_compute.replace_substring(pa_compute.cast(numbers, pa.string()), ".", ",")
    values = column.to_numpy(dtype=object)
    try:  # text only: formulas neutralised in Arrow
        text = pa.array(values, type=pa.string(), from_pandas=True)
    except (pa.ArrowInvalid, pa.ArrowTypeError):  # numbers or dates typed among the text
        return pa.array([_csv_text(v) for v in values], type=pa.string())
    formula = pa_compute.match_substring_regex(text, FORMULA_RE)
    if not pa_compute.any(formula).as_py():
        return text
    return pa_compute.if_else(formula, pa_compute.binary_join_element_wise("'", text, ""), text)


def _dmy(moments: pa.Array) -> pa.Array:
    """ДД.ММ.ГГГГ of each moment (Arrow's strftime is ten times slower)."""
    def two(part: pa.Array) -> pa.Array:
        return pa_compute.utf8_lpad(pa_compute.cast(part, pa.string()), 2, "0")

    return pa_compute.binary_join_element_wise(
        two(pa_compute.day(moments)), two(pa_compute.month(moments)),
        pa_compute.cast(pa_compute.year(moments), pa.string()), ".")


def _csv_text(v: Any) -> str | None:
    """One cell of a text (or mixed) column, written as the sheet would show it."""
    if v is None or v is pd.NA or v is pd.NaT or (isinstance(v, float) and math.isnan(v)):
        return None
    if isinstance(v, str):
        return "'" + v if v[:1] in FORMULA_STARTS else v
    if isinstance(v, bool | np.bool_):
        return C.YES if v else C.NO
    if isinstance(v, datetime | date):
        return v.strftime("%d.%m.%Y")
    if isinstance(v, numbers.Real):
        return (f"{int(v)}" if float(v).is_integer() else repr(float(v))).replace(".", ",")
    return str(v)


FORMULA_RE = "^[=+\\-@]"  # what FORMULA_STARTS says, for Arrow
FORMULA_STARTS = ("=", "+", "-", "@")


def put_in_place(tmp: Path, out: Path) -> None:
    """Make the written file durable and put it in place of the master."""
    _sync_file(tmp)
    if out.exists():
        shutil.copymode(out, tmp)
    os.replace(tmp, out)
    _sync_dir(out.parent)


def _sync_file(path: Path) -> None:
    with path.open("rb+") as fh:
        os.fsync(fh.fileno())


def _sync_dir(path: Path) -> None:
    if os.name != "posix":
        return
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    except OSError:  # some filesystems do not sync directories
        pass
    finally:
        os.close(fd)


# ====================================================================== tables
@dataclass
class Table:
    """A frame to write: its columns (machine key -> header, in order) and how they look."""

    frame: pd.DataFrame
    headers: dict[str, str]
    #: Excel number format per column (dates get DATE_FORMAT by themselves).
    formats: dict[str, str] = field(default_factory=dict)
    #: Extra format properties per column and row (e.g. a fill), or None for a plain cell.
    styles: dict[str, Sequence[dict[str, Any] | None]] = field(default_factory=dict)
    widths: dict[str, float] = field(default_factory=dict)
    title: str | None = None  # None: the workbook title


@dataclass(frozen=True)
class Placed:
    """Where a table landed: header row, first and last data row (last < first when empty)."""

    header: int
    first: int
    last: int
    columns: list[str]

    def col(self, key: str) -> int:
        return self.columns.index(key)


def _summary(cons: Consolidation) -> Table:
    rows = [_summary_row(s) for s in cons.schools]
    headers = dict(SUMMARY_HEADERS)
    styles: dict[str, list] = {"status": [_fill(STATUS_FILL.get(s.status)) for s in cons.schools]}
    for d in INDICATORS:
        headers[f"value:{d.key}"] = INDICATOR_VALUE_HEADER.format(title=d.title)
        headers[f"met:{d.key}"] = INDICATOR_MET_HEADER.format(title=d.title)
        marks = [_met_fill(_indicator(s, d.key)) for s in cons.schools]
        styles[f"value:{d.key}"] = styles[f"met:{d.key}"] = marks
    frame = pd.DataFrame(rows, columns=list(headers))
    formats = {k: "0.0" for k in headers if k.startswith("value:")}
    widths = {k: 14.0 for k in headers if ":" in k} | {"name": 40.0, "reason": 40.0}
    return Table(frame, headers, formats, styles, widths)


def _summary_row(s: SchoolResult) -> dict[str, Any]:
    report = s.report
    row: dict[str, Any] = {
        "code": s.entry.code, "name": s.entry.name, "org_type": s.entry.org_type,
        "status": s.status.value, "reason": s.reason,
        "errors": report.errors if report else None,
        "warnings": report.warnings if report else None,
        "mentors": s.counts.get("mentors"), "mentees": s.counts.get("mentees"),
        "active_pairs": s.counts.get("active_pairs"),
    }
    for v in s.indicators:
        row[f"value:{v.key}"] = v.value
        row[f"met:{v.key}"] = _mark(v.met)
    return row


def _indicator(s: SchoolResult, key: str) -> IndicatorValue | None:
    return next((v for v in s.indicators if v.key == key), None)


def indicator_table(values: list[IndicatorValue]) -> Table:
    """«Показатели …» of the municipal and the regional master: one row per indicator, with
    what is missing to its target («До цели»)."""
    plan = gap_by_key(values)
    frame = pd.DataFrame({
        "title": [v.title for v in values], "numerator": [v.numerator for v in values],
        "denominator": [v.denominator for v in values], "value": [v.value for v in values],
        "target": [v.target for v in values], "met": [_mark(v.met) for v in values],
        "note": [v.note for v in values],
        "gap": [plan[v.key].text_ru if v.key in plan else None for v in values]})
    marks = [_met_fill(v) for v in values]
    return Table(frame, {**MUNICIPAL_HEADERS, "gap": GAP_HEADER}, {"value": "0.0", "target": "0.0"},
                 {"value": marks, "met": marks}, {"title": 60.0, "note": 30.0, "gap": 60.0})


def _gaps(cons: Consolidation) -> Table:
    """The municipality first, then every accepted school: one row per indicator with a target."""
    return gap_table([(GAP_MUNICIPALITY, cons.municipality, cons.municipal),
                      *((s.entry.code, s.entry.name, s.indicators) for s in cons.accepted)])


def gap_table(groups: Iterable[tuple[str, str, list[IndicatorValue]]],
              headers: dict[str, str] = GAP_HEADERS) -> Table:
    """The «До цели» sheet of the municipal and the regional master: for each (code, name,
    indicators) group, one row per indicator with a target; ``headers`` has GAP_HEADERS' keys."""
    rows = [_gap_row(code, name, g) for code, name, values in groups for g in gaps(values)]
    frame = pd.DataFrame(rows, columns=list(GAP_HEADERS))
    frame = frame.astype({"missing": "float64"})
    marks = [_fill(RED if m and m > 0 else GREEN if m == 0 else None) for m in frame["missing"]]
    return Table(frame, headers, {"value": "0.0", "target": "0.0", "missing": "0"},
                 {"missing": marks}, {"name": 30.0, "title": 50.0, "text": 70.0})


def _gap_row(code: str, name: str, g: Gap) -> dict[str, Any]:
    return {"code": code, "name": name, "title": g.title, "value": g.value, "target": g.target,
            "numerator": g.numerator, "denominator": g.denominator, "missing": g.missing,
            "text": g.text_ru}


def _trace(cons: Consolidation, key: bytes | None) -> Table:
    rename = None if key is None else (lambda school, i: _pseudonym(school, i, key))
    frame = figure_trace(cons.participants, cons.pairs, cons.org_types, rename,
                         records=cons.counted)
    headers = dict(TRACE_HEADERS)
    if key is not None:
        headers["ids"] = TRACE_IDS_PSEUDONYMIZED
    return Table(frame, headers, {"count": "0"},
                 widths={"row_key": 30.0, "label": 40.0, "ids": 80.0})


def _figures(figures: pd.DataFrame) -> Table:
    return Table(figures, FIGURE_HEADERS, widths={"section": 30.0, "label": 50.0})


def _roadmap(roadmap: pd.DataFrame) -> Table:
    overdue = [bool(o) and pd.notna(o) for o in roadmap["overdue"]]
    marks = [_fill(RED) if o else None for o in overdue]
    frame = roadmap.assign(overdue=[OVERDUE if o else None for o in overdue])
    return Table(frame, ROADMAP_HEADERS, styles={"overdue": marks, "due": marks},
                 widths={"section": 30.0, "activity": 50.0, "deadline_text": 20.0})


def _participants(people: pd.DataFrame, key: bytes | None) -> Table:
    headers = dict(PARTICIPANT_HEADERS)
    if key is not None:
        ids = _pseudonyms(people["school_code"], people["person_id"], key)
        people = people.drop(columns=list(PERSONAL_COLUMNS)).assign(person_id=ids)
        headers = {k: h for k, h in headers.items() if k not in PERSONAL_COLUMNS}
        headers["person_id"] = PSEUDONYM_HEADER
    return Table(people, headers, {"age": "0"})


def _pairs(pairs: pd.DataFrame, key: bytes | None) -> Table:
    if key is not None:
        mentees = [", ".join(pseudonym(s, i, key) for i in split_ids(v)) or None
                   for s, v in zip(pairs["school_code"], pairs["mentee_ids"], strict=True)]
        pairs = pairs.assign(mentor_id=_pseudonyms(pairs["school_code"], pairs["mentor_id"], key),
                             mentee_ids=mentees)
    return Table(pairs, PAIR_HEADERS, {"plan_percent": "0"})


def _pseudonyms(schools: pd.Series, ids: pd.Series, key: bytes) -> list[str | None]:
    return [_pseudonym(s, i, key) if isinstance(i, str) and i.strip() else None
            for s, i in zip(schools, ids, strict=True)]


@lru_cache(maxsize=1 << 19)
def _pseudonym(school: str, person_id: str, key: bytes) -> str:
    """One HMAC per person and run: «Участники» and «Расшифровка» show the same people."""
    return pseudonym(school, person_id, key)


def _findings(findings: pd.DataFrame, cross: list[CrossFinding], key: bytes | None) -> Table:
    extra = pd.DataFrame([_cross_row(f) for f in cross], columns=list(FINDING_HEADERS))
    frame = pd.concat([f for f in (findings, extra) if not f.empty] or [findings],
                      ignore_index=True)
    headers = dict(FINDING_HEADERS)
    if key is not None:  # a finding's value may be a name or a birth date
        del headers["value"]
    marks = [_fill(SEVERITY_FILL.get(s)) for s in frame["severity"]]
    return Table(frame, headers, styles={"severity": marks},
                 widths={"message": 60.0, "hint": 50.0, "value": 20.0})


def _cross_row(f: CrossFinding) -> dict[str, Any]:
    return {"school_code": f.school_code, "severity": f.severity, "code": f.code,
            "sheet": CROSS_SHEET, "message": f.message_ru}


def _log(schools: list[SchoolResult]) -> Table:
    frame = pd.DataFrame({
        "code": [s.entry.code for s in schools],
        "origin": [s.fetched.origin for s in schools],
        "sha256": [s.fetched.sha256 for s in schools],
        "fetched_at": [_local_time(s.fetched.fetched_at) for s in schools],
        "attempts": [s.fetched.attempts for s in schools],
        "status": [s.status.value for s in schools],
        "reason": [s.reason for s in schools]})
    styles = {"status": [_fill(STATUS_FILL.get(s.status)) for s in schools]}
    return Table(frame, LOG_HEADERS, styles=styles,
                 widths={"origin": 50.0, "sha256": 66.0, "fetched_at": 20.0, "reason": 50.0})


def _local_time(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    return moment.astimezone().strftime(TIME_FORMAT)


def _mark(met: bool | None) -> str | None:
    return None if met is None else (C.YES if met else C.NO)


def _fill(colour: str | None) -> dict[str, Any] | None:
    return {"bg_color": colour} if colour else None


def _met_fill(v: IndicatorValue | None) -> dict[str, Any] | None:
    if v is None or v.met is None:
        return None
    return _fill(GREEN if v.met else RED)


# ====================================================================== charts
def _charts(book: MasterBook, cons: Consolidation, history: pd.DataFrame | None) -> None:
    """Diagrams sheet: the trend table and chart, the by-school table and one chart each."""
    trend = book.table(SHEET_CHARTS, _trend(cons, history), filter_=False, freeze=False)
    schools = book.table(SHEET_CHARTS, _by_school(cons), top=trend.last + 2, filter_=False,
                         freeze=False)
    anchor = len(schools.columns) + 1
    book.chart(SHEET_CHARTS, anchor, 0, _trend_chart(book, trend), height=CHART_HEIGHT + 80)
    n = max(schools.last - schools.first + 1, 1)
    for i, key in enumerate(MAIN_INDICATORS):
        chart = target_chart(book, schools, key, CHART_BY_SCHOOL)
        book.chart(SHEET_CHARTS, anchor, CHART_HEIGHT + 100 + (CHART_HEIGHT + 20) * i, chart,
                   width=min(max(CHART_WIDTH, 36 * n), 4000))


def _trend(cons: Consolidation, history: pd.DataFrame | None) -> Table:
    """Periods x main indicators: the stored history, this period from ``cons``."""
    current = pd.DataFrame({"period": cons.period, "key": [v.key for v in cons.municipal],
                            "value": [v.value for v in cons.municipal]})
    frames = [current]
    if history is not None and not history.empty:
        past = history.loc[history["period"].astype(str) != cons.period,
                           ["period", "key", "value"]]
        frames.insert(0, past.astype({"period": str}))
    long = pd.concat([f for f in frames if not f.empty], ignore_index=True)
    long = long.drop_duplicates(["period", "key"], keep="last")
    wide = long.pivot(index="period", columns="key", values="value").sort_index()
    wide = wide.reindex(columns=list(MAIN_INDICATORS)).astype(float).reset_index()
    headers = {"period": CHART_PERIOD} | {k: BY_KEY[k].title for k in MAIN_INDICATORS}
    return Table(wide, headers, {k: "0.0" for k in MAIN_INDICATORS},
                 widths=dict.fromkeys(MAIN_INDICATORS, 16.0), title=CHART_TREND_TABLE)


def _by_school(cons: Consolidation) -> Table:
    headers = {"code": SUMMARY_HEADERS["code"]}
    data: dict[str, list] = {"code": [s.entry.code for s in cons.schools]}
    targets = {v.key: v.target for v in cons.municipal}
    for key in MAIN_INDICATORS:
        headers[f"value:{key}"] = BY_KEY[key].title
        headers[f"target:{key}"] = f"{CHART_TARGET}: {BY_KEY[key].title}"
        data[f"value:{key}"] = [_value(s, key) for s in cons.schools]
        data[f"target:{key}"] = [targets.get(key)] * len(cons.schools)
    frame = pd.DataFrame(data).astype({k: float for k in headers if k != "code"})
    return Table(frame, headers, {k: "0.0" for k in headers if k != "code"},
                 widths={k: 16.0 for k in headers if k != "code"}, title=CHART_SCHOOL_TABLE)


def _value(s: SchoolResult, key: str) -> float | None:
    v = _indicator(s, key)
    return None if v is None else v.value


def _trend_chart(book: MasterBook, trend: Placed) -> Any:
    chart = book.add_chart({"type": "line"})
    for key in MAIN_INDICATORS:
        chart.add_series({
            "name": BY_KEY[key].title,
            "categories": [SHEET_CHARTS, trend.first, 0, trend.last, 0],
            "values": [SHEET_CHARTS, trend.first, trend.col(key), trend.last, trend.col(key)],
            "marker": {"type": "circle", "size": 6}})
    chart.set_title({"name": CHART_TREND})
    chart.set_y_axis({"name": CHART_PERCENT, "min": 0})
    chart.set_legend({"position": "bottom"})
    return chart


def target_chart(book: MasterBook, placed: Placed, key: str, title: str) -> Any:
    """Columns of one indicator per row of a «Диаграммы» table (a school, a municipality)
    against a dashed target line; `title` is formatted with the indicator's title."""
    cats = [SHEET_CHARTS, placed.first, 0, placed.last, 0]
    value, target = placed.col(f"value:{key}"), placed.col(f"target:{key}")
    chart = book.add_chart({"type": "column"})
    chart.add_series({"name": BY_KEY[key].title, "categories": cats,
                      "values": [SHEET_CHARTS, placed.first, value, placed.last, value]})
    line = book.add_chart({"type": "line"})
    line.add_series({"name": CHART_TARGET, "categories": cats,
                     "values": [SHEET_CHARTS, placed.first, target, placed.last, target],
                     "line": {"color": "#C00000", "dash_type": "dash", "width": 2},
                     "marker": {"type": "none"}})
    chart.combine(line)
    chart.set_title({"name": title.format(title=BY_KEY[key].title)})
    chart.set_y_axis({"name": CHART_PERCENT, "min": 0})
    chart.set_legend({"position": "bottom"})
    return chart


# ====================================================================== the workbook writer
class MasterBook:
    """An xlsxwriter workbook with cached formats and one way of writing a table."""

    def __init__(self, path: Path, scratch: str, title: str,
                 lists: _Lists | None = None) -> None:
        self.lists = lists if lists is not None else _Lists(path)
        self.path = Path(path)
        #: the rows of each sheet's tables, put in when the workbook is closed
        self.blocks: dict[str, list[Block]] = {}
        self.wb = xlsxwriter.Workbook(str(path), {**WORKBOOK_OPTIONS, "tmpdir": scratch})
        self.title_text = title
        self._formats: dict[tuple, Format] = {}
        self._sheets: dict[str, Worksheet] = {}
        self.header_fmt = self.fmt(bold=True, text_wrap=True, valign="top", bg_color=HEADER_FILL,
                                   border=1)
        self.title_fmt = self.fmt(bold=True, font_size=12)
        self.date_fmt = self.fmt(num_format=DATE_FORMAT)

    def fmt(self, **props: Any) -> Format:
        key = tuple(sorted(props.items()))
        if key not in self._formats:
            self._formats[key] = self.wb.add_format(props)
        return self._formats[key]

    def sheet(self, name: str) -> Worksheet:
        if name not in self._sheets:
            self._sheets[name] = self.wb.add_worksheet(name)
        return self._sheets[name]

    def add_chart(self, options: dict[str, Any]) -> Any:
        return self.wb.add_chart(options)

    def chart(self, sheet: str, col: int, y: int, chart: Any, *, width: int = CHART_WIDTH,
              height: int = CHART_HEIGHT) -> None:
        """A chart at column ``col``, ``y`` pixels below the top of row 1."""
        chart.set_size({"width": width, "height": height})
        self.sheet(sheet).insert_chart(1, col, chart, {"y_offset": y})

    def set_properties(self, cons: Consolidation) -> None:
        self.wb.set_properties({"title": self.title_text, "subject": cons.period,
                                "company": cons.municipality, "comments": "nastavnik sync"})

    def close(self) -> None:
        self.wb.close()
        sheet_rows.fill(self.path, self.blocks)

    def abandon(self) -> None:
        """Close the row files of an unfinished workbook (xlsxwriter has no public way)."""
        for ws in self.wb.worksheets():
            close = getattr(ws, "_opt_close", None)
            if close is not None and getattr(ws, "row_data_fh", None) is not None:
                close()

    # -- one table ------------------------------------------------------------------------
    def long_table(self, sheet: str, t: Table, *, freeze_cols: int = 0) -> Placed:
        """A table of rows (participants, pairs...): on the sheet up to MASTER_ROW_LIMIT rows;
        a longer one goes whole to a CSV file beside the master, and the sheet says where."""
        if len(t.frame) <= MASTER_ROW_LIMIT:
            return self.table(sheet, t, freeze_cols=freeze_cols)
        final = self.lists.write(sheet, t)
        note = LONG_SHEET_NOTE.format(rows=len(t.frame), name=final.name)
        return self.table(sheet, Table(pd.DataFrame({"note": [note]}), {"note": "Где список"},
                                       widths={"note": 120.0}), filter_=False)

    def table(self, sheet: str, t: Table, *, top: int = 0, freeze_cols: int = 0,
              filter_: bool = True, freeze: bool = True) -> Placed:
        """Title at ``top``, headers below it, then the rows; returns where they landed.

        xlsxwriter writes the title and the header; the rows are kept as a block and put
        into the sheet when the workbook is closed (`sheet_rows`: ~20x faster)."""
        ws = self.sheet(sheet)
        keys = list(t.headers)
        frame = t.frame[keys]
        header, first = top + 1, top + 2
        last = first + len(frame) - 1
        ws.write_string(top, 0, t.title or self.title_text, self.title_fmt)
        self._header(ws, header, t, keys)
        if len(frame):
            fills = [None if t.styles.get(k) is None else fills_of(t.styles[k]) for k in keys]
            if any(f is not None and len(f) != len(frame) for f in fills):
                raise ValueError(f"{sheet}: a style per row is needed")
            self.blocks.setdefault(sheet, []).append(
                Block(first, frame, [t.formats.get(k) for k in keys], fills))
        if freeze:
            ws.freeze_panes(first, freeze_cols)
        if filter_:
            ws.autofilter(header, 0, max(last, header), len(keys) - 1)
        return Placed(header, first, last, keys)

    def _header(self, ws: Worksheet, row: int, t: Table, keys: list[str]) -> None:
        widths = [t.widths.get(k) or _width(t.frame[k], t.headers[k]) for k in keys]
        lines = max(math.ceil(len(t.headers[k]) / max(w - 1, 1)) for k, w in zip(keys, widths,
                                                                                   strict=True))
        ws.set_row(row, 15 * min(max(lines, 1), 8))
        for c, (k, w) in enumerate(zip(keys, widths, strict=True)):
            ws.set_column(c, c, w)
            ws.write_string(row, c, t.headers[k], self.header_fmt)


def _width(s: pd.Series, header: str) -> float:
    """A column's width: its header's longest word (or the header, when short) or the
    longest of its first values, within MIN_WIDTH..MAX_WIDTH."""
    longest_word = max((len(w) for w in header.split()), default=0)
    head = len(header) if len(header) <= 14 else max(longest_word, 14)
    if pd.api.types.is_datetime64_any_dtype(s.dtype):
        body = 11
    else:
        sample = s.iloc[:WIDTH_SAMPLE]
        sample = sample[sample.notna()].tolist()
        if pd.api.types.is_bool_dtype(s.dtype):
            sample = [C.YES if v else C.NO for v in sample]
        body = max((len(_display(v)) for v in sample), default=0)
    return min(max(float(max(head, body) + 2), MIN_WIDTH), MAX_WIDTH)


def _display(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:.1f}"
    return str(v)


# ====================================================================== the lock
@dataclass(frozen=True)
class _Holder:
    pid: int | None
    host: str
    since: str


def _acquire(lock: Path) -> str:
    token = (f"{os.getpid()}\n{socket.gethostname()}\n"
             f"{datetime.now().astimezone().isoformat(timespec='seconds')}\n")
    for _ in range(2):
        try:
            fd = os.open(lock, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        except FileExistsError:
            holder = _read_lock(lock)
            if holder is not None and _held(holder):
                raise MasterLockedError(_lock_message(lock, holder)) from None
            log.warning("taking over a stale lock %s (%s)", lock, holder)
            lock.unlink(missing_ok=True)
            continue
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(token)
        return token
    raise MasterLockedError(_lock_message(lock, _read_lock(lock) or _Holder(None, "?", "?")))


def _release(lock: Path, token: str) -> None:
    try:
        if lock.read_text(encoding="utf-8") == token:
            lock.unlink()
    except FileNotFoundError:
        pass


def _read_lock(lock: Path) -> _Holder | None:
    """Who holds the lock; None when the file is gone or unreadable and old (stale)."""
    try:
        text = lock.read_text(encoding="utf-8", errors="replace")
        age = datetime.now().timestamp() - lock.stat().st_mtime
    except FileNotFoundError:
        return None
    parts = text.splitlines() + ["", "", ""]
    pid = int(parts[0]) if parts[0].strip().isdigit() else None
    if pid is None and age > 10:  # a crash between creating and writing the lock
        return None
    return _Holder(pid, parts[1] or "?", parts[2] or "?")


def _held(holder: _Holder) -> bool:
    if holder.pid is None:  # being written right now
        return True
    if holder.host not in ("?", socket.gethostname()):  # another computer: cannot check
        return True
    return _pid_alive(holder.pid)


def _pid_alive(pid: int) -> bool:
    if pid <= 0:
        return False
    if os.name == "nt":
        return _windows_pid_alive(pid)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, another user's
        return True
    return True


def _windows_pid_alive(pid: int) -> bool:  # pragma: no cover - Windows only
    import ctypes

    kernel32 = ctypes.windll.kernel32  # type: ignore[attr-defined]
    handle = kernel32.OpenProcess(0x1000, False, pid)  # PROCESS_QUERY_LIMITED_INFORMATION
    if not handle:
        return kernel32.GetLastError() == 5  # ERROR_ACCESS_DENIED: exists
    code = ctypes.c_ulong()
    try:
        ok = kernel32.GetExitCodeProcess(handle, ctypes.byref(code))
    finally:
        kernel32.CloseHandle(handle)
    return bool(ok) and code.value == 259  # STILL_ACTIVE


def _lock_message(lock: Path, holder: _Holder) -> str:
    since = holder.since
    try:
        since = datetime.fromisoformat(since).strftime("%d.%m.%Y %H:%M")
    except ValueError:
        pass
    return LOCK_MESSAGE.format(pid=holder.pid or "?", host=holder.host, since=since, lock=lock)
