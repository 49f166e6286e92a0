"""Import a roadmap («дорожная карта») from the document a school already has.

``read_roadmap`` finds every roadmap table of a .docx, .pdf, .doc/.odt/.rtf/.html (through
LibreOffice), .xlsx/.xlsm/.ods or .txt (the table copied out of Word; see
``addin.roadmap.sources``) and returns an ``ImportReport`` with the items, a line per table
found and a Russian summary; nothing is written. ``import_into`` writes the items into the
«Дорожная карта» sheet of a COPY of a school workbook.

Which tables are roadmaps
-------------------------
* A table whose header row names an activity column and a deadline column («Наименование
  мероприятий», «Срок реализации», … see ``HEADER_VARIANTS``) starts a roadmap. Text above the
  header (titles, «Утвержден приказом …») and after the table is ignored.
* A table without a header continues the roadmap above it (Word splits a table at a page
  break; a PDF has one table per page) when no title («Приложение 2», «Дорожная карта …»;
  «Продолжение приложения 1» is no new title) stands between them and the numbering does
  not start again at 1. A repeated header row is skipped, unless the numbering starts again.
  When the continuation has other columns (a PDF page where one column is empty), its columns
  are matched by content.
* Otherwise a table without a header is a roadmap of its own when its shape says so: a column
  of deadlines, a column of responsible people and a column of activities (see
  ``addin.roadmap.columns.shape_mapping``). Other tables are listed as skipped.
* All roadmaps are imported, in order, unless one is chosen (``table=N``, 1-based).

How a table is read
-------------------
* Other named columns (№, этап, ответственные, результат, показатель) are found by name, never
  by position; a header that names none of them is reported in ``unrecognized_columns``.
* A row numbering the columns («1 2 3 4») is skipped, and so is a row of punctuation or
  separators only («-------------», «* * *»).
* A numbered row with no deadline, responsible, result or indicator is a section heading: its
  text becomes ``section`` of the items below, as «1. Нормативно правовое …». A heading
  numbered under another one («5.1» under «5.») is joined to it: «5. Координация … / 5.1.
  Контроль …». A heading merged across the whole row of a table works the same way, numbered
  or not.
* A row without a number continues the item above, cell by cell (a cell that ran over a page
  break arrives as an extra row holding only the overflowing text: «В течение всего периода» +
  «реализации ЦМН»), when it follows a blank line in pasted text, starts with a lowercase letter
  or «(», has no activity text, or has neither deadline nor responsible; at the top of a page
  also when it lacks a deadline or a responsible. Otherwise it is an item of its own.
* A table with a stage column («Наименование этапа», «Этап», «Раздел») takes the section from
  it («1. Подготовка условий …»); an empty stage cell (a merged cell) carries the stage down.
  The № column of such a table numbers the stages, so the items are numbered inside their
  stage: 1.1, 1.2, … (noted in the report).
* Two activity columns, one of them a content column («Мероприятия» and «Содержание
  деятельности», seed 003): the activity is «<Мероприятия> — <Содержание деятельности>». The
  «Мероприятия» cell is a heading merged over several rows, so it carries down empty cells
  until the next stage; each row stays self-contained in the workbook, and «Раздел (этап)»
  holds the stage only.
* A row that is neither a heading, an item nor the continuation of one (text only in columns
  that are not imported, and no row above to continue) is listed as not understood.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from pathlib import Path
from typing import Any

from addin.deadlines import Deadline, parse_deadline
from addin.model import normalize_header
from addin.roadmap.columns import (
    HEADER_VARIANTS,
    NUMBER,
    header_mapping,
    norm,
    shape_mapping,
)
from addin.roadmap.pdf import mend
from addin.roadmap.sources import SUPPORTED_SUFFIXES, read_tables
from addin.roadmap.table import RoadmapImportError, Row, SourceTable, join
from workbook_templates import contract as C

__all__ = ["HEADER_VARIANTS", "SUPPORTED_SUFFIXES", "TARGET_SUFFIXES", "ImportReport",
           "ImportedItem", "RoadmapImportError", "TableSummary", "import_into", "read_roadmap"]

#: Target workbooks ``import_into`` writes.
TARGET_SUFFIXES = (".xlsx", ".xlsm")

_NUMBERED_TEXT = re.compile(r"(\d{1,3}(?:\.\d{1,3})*\.?|[IVX]{1,5}\.)\s+(\S.*)", re.S)
#: A title between two tables: the second one is another roadmap, not a continuation.
_TITLE = re.compile(r"дорожн\w*\s+карт|план\w*\s+(?:мероприят|работ|реализац|внедрен|действ)"
                    r"|приложени\w*\s*(?:№\s*)?\d", re.I)
#: Deadline kinds counted as «срок распознан» in the per-table line.
_READ_KINDS = ("date", "range", "recurrence", "no_deadline", "relative")


@dataclass
class ImportedItem:
    """One roadmap item as read from the document (texts cleaned, deadline parsed)."""

    item_no: str
    section: str
    activity: str
    deadline_text: str
    responsible: str
    result: str
    indicator: str
    deadline: Deadline
    #: which roadmap of the document (1-based) the item comes from
    table: int = 1

    def row_values(self) -> dict[str, Any]:
        """Values of the «Дорожная карта» columns (contract keys) for this item."""
        d = self.deadline
        due = d.due if d.kind in ("date", "range", "relative") and d.due else None
        recurrence = d.describe_ru() if d.kind in ("recurrence", "no_deadline") else None
        return {"item_no": self.item_no, "section": self.section, "activity": self.activity,
                "deadline_text": self.deadline_text, "due_date": due,
                "recurrence": recurrence, "responsible": self.responsible,
                "result": self.result, "indicator": self.indicator}


@dataclass
class TableSummary:
    """One roadmap table found in the document (possibly over several pages)."""

    number: int
    #: the title above it («Приложение 2. Дорожная карта …»), shortened; "" when none
    title: str
    #: where it is: «таблицы 1–2», «стр. 1–3», «лист «План»»
    where: str
    items: int
    #: items whose deadline was read (a date, period, recurrence, «без срока», relative)
    deadlines: int
    #: the table has no header row: its columns were recognised by their content
    by_shape: bool
    #: rows that were not imported (text only in columns that are not imported)
    not_understood: list[str] = field(default_factory=list)

    def line_ru(self) -> str:
        """«Таблица 1 «…» (стр. 1–3): мероприятий — 13, сроков распознано — 13.»"""
        title = f" «{_short(self.title)}»" if self.title else ""
        shape = ", без строки заголовков" if self.by_shape else ""
        where = f" ({self.where}{shape})" if self.where or shape else ""
        return (f"Таблица {self.number}{title}{where}: мероприятий — {self.items}, "
                f"сроков распознано — {self.deadlines}.")


@dataclass
class ImportReport:
    """What ``read_roadmap`` found: the items, the sections and what it could not use."""

    items: list[ImportedItem]
    sections: list[str]
    unrecognized_columns: list[str]
    source: str
    #: column key -> header as written in the document
    columns: dict[str, str] = field(default_factory=dict)
    #: decisions worth telling the user (generated numbering, …)
    notes: list[str] = field(default_factory=list)
    #: every roadmap table found, in document order (``items`` holds the chosen ones)
    tables: list[TableSummary] = field(default_factory=list)
    #: the table chosen with ``table=N``; None: all of them
    selected: int | None = None
    #: tables of the document that are not roadmaps: «таблица 1 «Цель | Задачи»»
    skipped: list[str] = field(default_factory=list)

    def _count(self, *kinds: str) -> int:
        return sum(1 for i in self.items if i.deadline.kind in kinds)

    @property
    def normalized(self) -> int:
        """Deadlines turned into a due date, a period or a recurrence."""
        return sum(1 for i in self.items if i.deadline.kind in ("date", "range", "recurrence")
                   or i.deadline.kind == "relative" and i.deadline.due is not None)

    @property
    def no_deadline(self) -> int:
        """«Без срока» deadlines («в течение года», «постоянно»): never overdue."""
        return self._count("no_deadline")

    @property
    def relative_unresolved(self) -> int:
        """Relative deadlines («в течение двух недель с даты …») without a date to count from."""
        return sum(1 for i in self.items
                   if i.deadline.kind == "relative" and i.deadline.due is None)

    @property
    def unreadable(self) -> int:
        """Deadlines the parser could not read: kept as text, shown to the user."""
        return self._count("unreadable")

    @property
    def empty(self) -> int:
        """Items with an empty deadline cell."""
        return self._count("empty")

    def summary_ru(self) -> str:
        """A Russian report of what would be imported (nothing is written by reading)."""
        lines = [f"Дорожная карта из «{self.source}»: мероприятий — {len(self.items)}, "
                 f"разделов — {len(self.sections)}."]
        lines.extend(self._tables_ru())
        lines.append(
            f"Сроки: приведены к дате или периодичности — {self.normalized}; без срока — "
            f"{self.no_deadline}; нужна дата отсчёта — {self.relative_unresolved}; не "
            f"распознаны (оставлены текстом) — {self.unreadable}; не указаны — {self.empty}.")
        for item in self.items:
            d = item.deadline
            label = f"п. {item.item_no}" if item.item_no else f"«{_short(item.activity)}»"
            if d.kind == "unreadable":
                why = f" ({d.note})" if d.note else ""
                lines.append(f"  Срок не распознан, {label}: «{d.text}»{why}.")
            elif d.kind == "relative" and d.due is None:
                lines.append(f"  Срок зависит от даты, которой нет, {label}: «{d.text}» — "
                             "укажите дату отсчёта или заполните «Срок (дата)».")
        if self.columns:
            names = {k: f"«{h}»" for k, h in self.columns.items()}
            if "content" in names:  # both go into «Мероприятие»: «<Мероприятия> — <Содержание>»
                names["activity"] += " — " + names.pop("content")
            found = "; ".join(f"{h} → «{_TARGET_HEADERS[k]}»" for k, h in names.items())
            lines.append(f"Столбцы: {found}.")
        if self.unrecognized_columns:
            names = ", ".join(f"«{h}»" for h in self.unrecognized_columns)
            lines.append(f"Столбцы не распознаны (не переносятся): {names}.")
        lines.extend(self.notes)
        return "\n".join(lines)

    def _tables_ru(self) -> list[str]:
        """The per-table lines: items, deadlines, rows not understood, tables skipped."""
        n = len(self.tables)
        if self.selected is not None:
            head = f"Таблиц дорожной карты в документе: {n}; переносится таблица {self.selected}."
        elif n > 1:
            head = f"Таблиц дорожной карты в документе: {n}; переносятся все, по порядку."
        else:
            head = ""
        lines = [head] if head else []
        for t in self.tables:
            mark = "  " if self.selected in (None, t.number) else "  (не переносится) "
            lines.append(mark + t.line_ru())
            lines.extend(f"    Строка не понята (не перенесена): «{_short(x, 120)}»."
                         for x in t.not_understood)
        if self.skipped:
            lines.append("Таблицы, не похожие на дорожную карту (пропущены): "
                         + "; ".join(self.skipped) + ".")
        return lines


NOTE_STAGE_NUMBERS = ("Столбец «№» в документе нумерует этапы; мероприятия пронумерованы "
                      "внутри этапа по порядку: 1.1, 1.2, …")

_TARGET_HEADERS = {**C.ROADMAP.headers, "deadline": C.ROADMAP.column("deadline_text").header}


# ------------------------------------------------------------------------------ reading


def read_roadmap(path: str | Path, anchor: date | None = None,
                 table: int | None = None) -> ImportReport:
    """Read the roadmap tables of a document (see ``SUPPORTED_SUFFIXES``).

    ``anchor`` is the date relative deadlines («в течение двух недель с даты определения
    модели») count from; without it they stay without a due date. ``table`` (1-based) picks
    one roadmap of a document that has several; by default all are read, in order.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        known = ", ".join(SUPPORTED_SUFFIXES)
        raise RoadmapImportError(
            f"Файл «{path.name}»: формат {suffix or 'без расширения'} не поддерживается. "
            f"Подходят {known} (.txt — таблица, скопированная из Word). Сохраните документ "
            "в одном из них, например в .docx.")
    if not path.is_file():
        raise RoadmapImportError(f"Файл «{path.name}» не найден.")
    return _interpret(read_tables(path), path.name, anchor, table)


@dataclass
class _Roadmap:
    """One roadmap table of the document, gathered from one or more source tables."""

    mapping: dict[str, int]
    header: list[str]
    body: list[Row]
    title: str
    places: list[str]
    by_shape: bool
    width: int


def _interpret(tables: list[SourceTable], source: str, anchor: date | None,
               table: int | None) -> ImportReport:
    """Find the roadmap tables and turn their rows into items."""
    roadmaps, skipped = _find_roadmaps(tables)
    if not roadmaps:
        seen = [c for t in skipped for c in next((r.cells for r in t.rows if any(r.cells)), [])
                if c]
        listed = "; ".join(f"«{_short(h)}»" for h in dict.fromkeys(seen)) or "таблиц нет"
        hint = (" В PDF таблицы находятся по линиям сетки; если их нет, возьмите исходный "
                "документ Word." if source.lower().endswith(".pdf") else "")
        raise RoadmapImportError(
            f"В файле «{source}» не найдена таблица дорожной карты: нужна строка заголовков "
            f"со столбцами «Мероприятие» (или «Наименование мероприятий») и «Срок» или "
            f"таблица, где есть столбцы сроков и ответственных. Увиденные заголовки: "
            f"{listed}.{hint}")
    if table is not None and not 1 <= table <= len(roadmaps):
        raise RoadmapImportError(
            f"В файле «{source}» таблиц дорожной карты: {len(roadmaps)}; таблицы с номером "
            f"{table} нет. Укажите номер от 1 до {len(roadmaps)}.")
    report = ImportReport(items=[], sections=[], unrecognized_columns=[], source=source,
                          selected=table, skipped=[_skipped_ru(t) for t in skipped])
    for number, rm in enumerate(roadmaps, start=1):
        items, not_understood, generated = _read_body(rm.mapping, rm.body, anchor, number)
        report.tables.append(TableSummary(
            number=number, title=rm.title, where=_places_ru(rm.places), items=len(items),
            deadlines=sum(1 for i in items if i.deadline.kind in _READ_KINDS),
            by_shape=rm.by_shape, not_understood=not_understood))
        if table not in (None, number):
            continue
        report.items.extend(items)
        _note_columns(report, rm)
        if generated and NOTE_STAGE_NUMBERS not in report.notes:
            report.notes.append(NOTE_STAGE_NUMBERS)
    report.sections = list(dict.fromkeys(i.section for i in report.items if i.section))
    return report


def _note_columns(report: ImportReport, rm: _Roadmap) -> None:
    """Record which header went where, and the headers nothing reads."""
    if rm.by_shape:
        found = ", ".join(f"{j + 1} → «{_TARGET_HEADERS[k]}»"
                          for k, j in sorted(rm.mapping.items(), key=lambda kv: kv[1]))
        report.notes.append(f"Таблица без строки заголовков: столбцы определены по "
                            f"содержимому ({found}).")
        return
    for key, j in rm.mapping.items():
        report.columns.setdefault(key, rm.header[j])
    used = set(rm.mapping.values())
    for j, h in enumerate(rm.header):
        if h and j not in used and h not in report.unrecognized_columns:
            report.unrecognized_columns.append(h)


def _find_roadmaps(tables: list[SourceTable]) -> tuple[list[_Roadmap], list[SourceTable]]:
    """Group the source tables into roadmaps (see the module docstring); the rest is skipped."""
    roadmaps: list[_Roadmap] = []
    skipped: list[SourceTable] = []
    last: _Roadmap | None = None  # the roadmap a following headerless table may continue
    for t in tables:
        rows = t.rows
        if not any(any(r.cells) for r in rows):
            continue
        title = _title(t.before)
        candidates = [t.header] if t.header is not None else range(min(15, len(rows)))
        at = next((i for i in candidates if header_mapping(rows[i].cells) is not None), None)
        if at is not None:
            header = rows[at].cells
            if last and not title and [norm(c) for c in header] == [norm(c) for c in last.header] \
                    and not _restarts(last, rows[at + 1:]):
                _append(last, rows[at + 1:], t.where)  # the header repeated on each page
                continue
            mapping = header_mapping(header)
            assert mapping is not None
            last = _Roadmap(mapping, list(header), list(rows[at + 1:]),
                            title or _title(" ".join(r.cells[0] for r in rows[:at] if r.cells)),
                            [t.where], False, _width(rows))
            roadmaps.append(last)
            continue
        if last and not title and (more := _continuation(last, rows)) is not None:
            _append(last, more, t.where)
            continue
        mapping = shape_mapping([r.cells for r in rows])
        if mapping is None:
            skipped.append(t)
            last = None
            continue
        last = _Roadmap(mapping, [""] * _width(rows), list(rows), title, [t.where], True,
                        _width(rows))
        roadmaps.append(last)
    return roadmaps, skipped


def _continuation(rm: _Roadmap, rows: list[Row]) -> list[Row] | None:
    """The rows of a headerless table in ``rm``'s columns when it continues ``rm``, else None."""
    if _width(rows) == rm.width and _starts_like_body(rm.mapping, rows):
        moved = rows
    else:
        shape = shape_mapping([r.cells for r in rows])
        if shape is None or "activity" not in shape or "deadline" not in shape:
            return None
        moved = [_project(r, shape, rm.mapping, rm.width) for r in rows]
    return None if _restarts(rm, moved) else moved


def _project(row: Row, src: dict[str, int], dst: dict[str, int], width: int) -> Row:
    """A row moved from the columns ``src`` to the columns ``dst``."""
    cells = [""] * width
    moved = {j: dst[key] for key, j in src.items() if key in dst and j < len(row.cells)}
    for j, k in moved.items():
        cells[k] = row.cells[j]
    return replace(row, cells=cells,
                   merged_above=frozenset(moved[j] for j in row.merged_above if j in moved),
                   open_end=frozenset(moved[j] for j in row.open_end if j in moved))


def _restarts(rm: _Roadmap, rows: list[Row]) -> bool:
    """Whether the numbering starts again at 1 (another roadmap, not a continuation)."""
    j = rm.mapping.get("item_no")
    if j is None:
        return False
    first = next((r.cells[j] for r in rows if j < len(r.cells) and r.cells[j]), "")
    if first.rstrip(".") != "1":
        return False
    return any(j < len(r.cells) and _top_number(r.cells[j]) >= 2 for r in rm.body)


def _top_number(text: str) -> int:
    m = re.match(r"(\d{1,3})(?:\.|$)", text)
    return int(m[1]) if m and NUMBER.fullmatch(text) else 0


def _append(rm: _Roadmap, rows: list[Row], where: str) -> None:
    """Add the rows of a continued table; its first row may hold text that overflowed."""
    first = True
    for row in rows:
        if first and any(row.cells):
            row = replace(row, page_top=True)
            first = False
        rm.body.append(row)
    if where and where not in rm.places:
        rm.places.append(where)


def _title(text: str) -> str:
    """The last line of ``text`` that names a roadmap or an appendix, else "" (also for
    «Продолжение приложения 1», «Продолжение таблицы»: the same roadmap goes on)."""
    lines = [" ".join(line.split()) for line in text.splitlines()]
    line = next((line for line in reversed(lines) if _TITLE.search(line)), "")
    return "" if re.search(r"продолжени", line, re.I) else line


def _places_ru(places: list[str]) -> str:
    """«таблицы 1–2», «стр. 1–3», or the places listed."""
    if len(places) < 2:
        return places[0] if places else ""
    first, last = places[0].rpartition(" "), places[-1].rpartition(" ")
    if first[0] == last[0] and first[2].isdigit() and last[2].isdigit():
        word = "таблицы" if first[0] == "таблица" else first[0]
        return f"{word} {first[2]}–{last[2]}"
    return ", ".join(places)


def _skipped_ru(t: SourceTable) -> str:
    first = next((r.cells for r in t.rows if any(r.cells)), [])
    text = " | ".join(c for c in first if c)
    return f"{t.where or 'таблица'} «{_short(text, 50)}»"


def _starts_like_body(mapping: dict[str, int], rows: list[Row]) -> bool:
    """Whether a table without a header continues the roadmap (a number or no № column)."""
    first = next((r.cells for r in rows if any(r.cells)), None)
    j = mapping.get("item_no")
    if first is None or j is None:
        return first is not None
    return j < len(first) and (not first[j] or bool(NUMBER.fullmatch(first[j])))


def _width(rows: list[Row]) -> int:
    return max((len(r.cells) for r in rows), default=0)


@dataclass
class _Cells:
    """The fields of one logical row."""

    no: str = ""
    section: str = ""
    group: str = ""
    activity: str = ""
    deadline: str = ""
    responsible: str = ""
    result: str = ""
    indicator: str = ""
    spanning: bool = False

    @property
    def has_details(self) -> bool:
        return any((self.deadline, self.responsible, self.result, self.indicator))


def _fields(mapping: dict[str, int], row: Row) -> _Cells:
    def get(key: str) -> str:
        j = mapping.get(key)
        if j is None or j >= len(row.cells):
            return ""
        if j in row.merged_above and key in ("item_no", "section", "activity", "content"):
            return ""  # a merged heading: carried down by the reader
        return row.cells[j]

    two = "content" in mapping
    return _Cells(no=get("item_no"), section=get("section"),
                  group=get("activity") if two else "",
                  activity=get("content") if two else get("activity"),
                  deadline=get("deadline"), responsible=get("responsible"),
                  result=get("result"), indicator=get("indicator"))


def _logical_rows(mapping: dict[str, int], body: list[Row]) -> list[Row]:
    """The body with continuation rows merged into the row they continue."""
    logical: list[Row] = []
    for row in body:
        if not any(row.cells) or _is_column_numbering(row.cells) or _only_separators(row.cells):
            continue
        if logical and _continues(mapping, row):
            prev = logical[-1]
            size = max(len(prev.cells), len(row.cells))
            more = ["" if j in row.merged_above else c for j, c in enumerate(row.cells)]
            cut = prev.open_end if row.page_top else frozenset()  # a word cut by the page?
            prev.cells = [mend(a, b) if j in cut else join(a, b) for j, (a, b) in
                          enumerate(zip(_pad(prev.cells, size), _pad(more, size), strict=True))]
            prev.open_end = row.open_end
            continue
        logical.append(replace(row, cells=list(row.cells), page_top=False))
    return logical


def _read_body(mapping: dict[str, int], body: list[Row], anchor: date | None,
               table: int) -> tuple[list[ImportedItem], list[str], bool]:
    """The items of one roadmap, the rows not understood, and whether numbers were made."""
    items: list[ImportedItem] = []
    not_understood: list[str] = []
    rows = [(_heading_fields(mapping, row), row) for row in _logical_rows(mapping, body)]
    # With a stage column, the № column numbers the stages when every number sits on a row
    # that opens a stage; the items are then numbered inside their stage (1.1, 1.2, …).
    by_stage = "section" in mapping and any(f.no and f.section for f, _ in rows) and not any(
        f.no and not f.section and not _is_heading(f) for f, _ in rows)
    headings: list[tuple[str, str]] = []  # (number, text) of the open headings
    stage, stage_no, group, count, generated = "", "", "", 0, False
    for f, row in rows:
        if f.section:
            stage_no = f.no.rstrip(".") if by_stage else ""
            no = f.no.rstrip(".")
            stage = f"{no}. {f.section}" if no and by_stage else f.section
            group, count, headings = "", 0, []
            if not (f.activity or f.group or f.has_details):
                continue
        elif _is_heading(f):
            no, text = f.no.rstrip("."), (f.activity or f.group).rstrip(" :")
            headings = [h for h in headings if no.startswith(h[0] + ".")] if no else []
            headings.append((no, text))
            group = ""
            continue
        if f.group:
            group = f.group
        if not (f.activity or f.group or f.has_details):
            if not f.no:
                not_understood.append(" | ".join(c for c in row.cells if c))
            continue
        activity = f"{group} — {f.activity}" if group and f.activity else (f.activity or group)
        item_no = f.no.rstrip(".")
        if by_stage and stage_no and (not item_no or item_no == stage_no):
            count += 1
            item_no, generated = f"{stage_no}.{count}", True
        path = " / ".join(f"{n}. {t}" if n else t for n, t in headings)
        items.append(ImportedItem(
            item_no=item_no, section=" / ".join(x for x in (stage, path) if x),
            activity=activity, deadline_text=f.deadline, responsible=f.responsible,
            result=f.result, indicator=f.indicator,
            deadline=parse_deadline(f.deadline, anchor=anchor), table=table))
    return items, not_understood, generated


def _heading_fields(mapping: dict[str, int], row: Row) -> _Cells:
    """The fields of a row; a row merged across the table is a heading «1. Текст»."""
    f = _fields(mapping, row)
    if row.spanning or (f.no and not NUMBER.fullmatch(f.no) and not f.activity):
        return _split_spanning(row)
    return f


def _is_heading(f: _Cells) -> bool:
    """A row merged across the table, or a numbered row that names no deadline,
    responsible, result or indicator."""
    if f.spanning:
        return bool(f.activity)
    return bool(f.no) and bool(NUMBER.fullmatch(f.no)) and bool(f.activity or f.group) \
        and not f.has_details


def _split_spanning(row: Row) -> _Cells:
    """A row merged across the table: «1. Нормативно правовое …» as a heading."""
    text = next((c for c in row.cells if c), "")
    no, rest = _split_number(text)
    return _Cells(no=no, activity=rest, spanning=row.spanning)


def _split_number(text: str) -> tuple[str, str]:
    m = _NUMBERED_TEXT.fullmatch(text)
    return (m[1], m[2].strip()) if m else ("", text)


def _continues(mapping: dict[str, int], row: Row) -> bool:
    """Whether a row continues the row above (see the module docstring)."""
    f = _fields(mapping, row)
    if f.no or row.spanning:
        return False
    if row.after_blank:
        return True
    texts = [t for t in (f.section, f.group, f.activity) if t]
    if not texts:
        return True
    first = texts[0][0]
    if row.page_top:  # an overflow row holds the tail of some cells only
        missing = any(key in mapping and not value for key, value in
                      (("deadline", f.deadline), ("responsible", f.responsible)))
        if missing or first.islower() or first == "(":
            return True
    if "item_no" not in mapping:  # every row is unnumbered: only the sure signs above
        return False
    if first.islower() or first == "(":
        return True
    return not (f.deadline or f.responsible)


def _is_column_numbering(cells: Sequence[str]) -> bool:
    """A row «1 2 3 4» numbering the columns under the header."""
    filled = [c for c in cells if c]
    return len(filled) >= 2 and filled == [str(i) for i in range(1, len(filled) + 1)]


def _only_separators(cells: Sequence[str]) -> bool:
    """A row of punctuation or rules only («-------------», «* * *», «—|—»): a separator
    line of the document, not an activity (found on a real roadmap)."""
    return not any(ch.isalnum() for c in cells for ch in c)


def _pad(cells: list[str], size: int) -> list[str]:
    return cells + [""] * (size - len(cells))


def _short(text: str, limit: int = 60) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit - 1] + "…"


# ------------------------------------------------------------------------------ writing


def import_into(report: ImportReport, workbook: str | Path, out: str | Path, *,
                replace: bool = False) -> int:
    """Write the items into the «Дорожная карта» sheet of a copy of ``workbook`` saved as
    ``out``; returns the number of rows written.

    The items go after the last non-empty row, or, with ``replace``, instead of the existing
    rows. Columns are found by their header (never by position). ``workbook`` itself is never
    modified: ``out`` must be another file (ValueError otherwise).
    """
    from openpyxl import load_workbook

    from addin.xlsx.annotate import save_atomically

    src, dst = Path(workbook), Path(out)
    if src.resolve() == dst.resolve():
        raise ValueError("the roadmap is imported into a copy: out must differ from workbook")
    if src.suffix.lower() not in TARGET_SUFFIXES:
        raise RoadmapImportError(
            f"Книга «{src.name}»: импорт возможен в .xlsx или .xlsm (стандартный шаблон).")
    if not src.is_file():
        raise RoadmapImportError(f"Книга «{src.name}» не найдена.")
    try:
        wb = load_workbook(src, keep_vba=src.suffix.lower() == ".xlsm")
    except Exception as exc:  # openpyxl raises several types for broken files
        raise RoadmapImportError(
            f"Книга «{src.name}» не открывается. Сохраните её заново в Excel или LibreOffice."
        ) from exc
    target = normalize_header(C.ROADMAP.name)
    ws = next((wb[n] for n in wb.sheetnames if normalize_header(n) == target), None)
    if ws is None:
        raise RoadmapImportError(
            f"В книге «{src.name}» нет листа «{C.ROADMAP.name}». Импортируйте дорожную карту "
            "в стандартный шаблон книги наставничества.")
    header = {normalize_header(c.value): c.column for c in ws[C.HEADER_ROW] if c.value}
    columns = {col.key: header[normalize_header(col.header)] for col in C.ROADMAP.columns
               if normalize_header(col.header) in header}
    missing = [C.ROADMAP.column(k).header for k in ("activity", "deadline_text")
               if k not in columns]
    if missing:
        raise RoadmapImportError(
            f"На листе «{ws.title}» книги «{src.name}» нет столбцов: "
            + ", ".join(f"«{h}»" for h in missing) + ".")
    last = _last_filled_row(ws)
    if replace:
        for row in ws.iter_rows(min_row=C.FIRST_DATA_ROW, max_row=max(last, C.HEADER_ROW)):
            for cell in row:
                cell.value = None
        last = C.HEADER_ROW
    for offset, item in enumerate(report.items, start=1):
        for key, value in item.row_values().items():
            if key in columns and value not in (None, ""):
                _put(ws.cell(row=last + offset, column=columns[key]), value)
    new_last = last + len(report.items)
    if ws.auto_filter.ref:
        ws.auto_filter.ref = re.sub(r"\d+$", str(max(new_last, C.HEADER_ROW + 1)),
                                    ws.auto_filter.ref)
    save_atomically(wb, dst)
    if src.suffix.lower() == ".xlsm":
        _keep_buttons(src, dst)
    return len(report.items)


def _keep_buttons(src: Path, dst: Path) -> None:
    """Put the «Проверить» and «Показатели» buttons of school.xlsm back into the copy:
    openpyxl keeps the VBA project but drops form buttons."""
    from addin.atomic_file import write_bytes
    from workbook_templates.xlsm import add_buttons, has_buttons

    if has_buttons(src.read_bytes()):
        write_bytes(dst, add_buttons(dst.read_bytes()))


def _last_filled_row(ws: Any) -> int:
    """The last row with any value (the header row when the table is empty)."""
    for r in range(ws.max_row, C.HEADER_ROW, -1):
        if any(c.value not in (None, "") for c in ws[r]):
            return r
    return C.HEADER_ROW


def _put(cell: Any, value: Any) -> None:
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    if isinstance(value, date):
        cell.value = value
        cell.number_format = "DD.MM.YYYY"
        return
    cell.value = ILLEGAL_CHARACTERS_RE.sub("", str(value))
    cell.data_type = "s"  # never a formula
