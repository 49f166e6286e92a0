"""Import a roadmap («дорожная карта») from the document a school already has.

``read_roadmap`` reads the table of a .docx (python-docx), an .xlsx/.xlsm/.ods (python-calamine)
or a .txt (the table copied out of Word: cells separated by tabs) and returns an
``ImportReport`` with the items and a Russian summary; nothing is written. ``import_into``
writes the items into the «Дорожная карта» sheet of a COPY of a school workbook.

How the table is read
---------------------
* The header row is the first row whose cells name an activity column and a deadline column
  («Наименование мероприятий», «Срок реализации», … see ``HEADER_VARIANTS``; case, punctuation
  and extra words do not matter). Text above it (titles, «Утвержден приказом …») and after the
  table (conclusions) is ignored. Other named columns (№, этап, ответственные, результат,
  показатель) are found by name, never by position; a header that names none of them is
  reported in ``unrecognized_columns``.
* A row numbering the columns («1 2 3 4») is skipped.
* A numbered row with no deadline, responsible, result or indicator is a section heading: its
  text becomes ``section`` of the items below, as «1. Нормативно правовое …». A heading
  numbered under another one («5.1» under «5.») is joined to it: «5. Координация … / 5.1.
  Контроль …». A heading merged across the whole row of a Word table works the same way.
* A row without a number continues the item above, cell by cell (Word splits a long row over
  a page break: «В течение всего периода» + «реализации ЦМН»), when it follows a blank line in
  pasted text, starts with a lowercase letter or «(», has no activity text, or has neither
  deadline nor responsible. Otherwise it is an item of its own (not numbered in the document).
* A table with a stage column («Наименование этапа», «Этап», «Раздел») takes the section from
  it («1. Подготовка условий …»); an empty stage cell (a merged cell) carries the stage down.
  The № column of such a table numbers the stages, so the items are numbered inside their
  stage: 1.1, 1.2, … (noted in the report).
* Two activity columns, one of them a content column («Мероприятия» and «Содержание
  деятельности», seed 003): the activity is «<Мероприятия> — <Содержание деятельности>». The
  «Мероприятия» cell is a heading merged over several rows, so it carries down empty cells
  until the next stage; each row stays self-contained in the workbook, and «Раздел (этап)»
  holds the stage only.
* Whitespace is normalized; lines starting with a bullet («·», «•», «-») stay on their own line,
  other wrapped lines are joined with a space. A single leading bullet of a cell is dropped.

Pasted text (.txt) comes in two shapes: one table row per line with tab-separated cells (a
row may continue on a following line, after a blank line), or one cell per line with a leading
tab (Word's «one cell per paragraph» paste; a line without a tab continues the cell above, and
rows are cut by the number of header cells).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

from addin.deadlines import Deadline, parse_deadline
from addin.model import normalize_header
from workbook_templates import contract as C

#: File types ``read_roadmap`` accepts.
SUPPORTED_SUFFIXES = (".txt", ".docx", ".xlsx", ".xlsm", ".ods")
#: Target workbooks ``import_into`` writes.
TARGET_SUFFIXES = (".xlsx", ".xlsm")

#: Column key -> header variants (compared after ``_norm``). «content» is the second activity
#: column of tables that have both «Мероприятия» and «Содержание деятельности».
HEADER_VARIANTS: dict[str, tuple[str, ...]] = {
    "item_no": ("№", "№ п/п", "№п/п", "n п/п", "п/п", "номер", "№ пункта"),
    "section": ("наименование этапа", "этап", "этапы", "этап реализации", "раздел",
                "наименование раздела"),
    "activity": ("наименование мероприятий", "наименование мероприятия", "мероприятия",
                 "мероприятие", "перечень мероприятий", "наименование"),
    "content": ("содержание деятельности", "содержание работы", "содержание мероприятия",
                "содержание", "вид деятельности"),
    "deadline": ("срок", "сроки", "срок(и)", "срок реализации", "сроки реализации",
                 "сроки проведения", "срок проведения", "срок исполнения", "срок выполнения",
                 "дата", "дата проведения", "период"),
    "responsible": ("ответственные", "ответственный", "ответственный исполнитель",
                    "ответственные исполнители", "исполнители", "исполнитель"),
    "result": ("результат", "результаты", "ожидаемый результат", "ожидаемые результаты",
               "планируемый результат", "документ", "результат. вид документа",
               "вид документа", "итоговый документ", "форма отчетности"),
    "indicator": ("показатели", "показатель", "индикатор", "индикаторы"),
}
#: Words that keep a header out of the deadline column («Дата выполнения» is not a deadline).
_NOT_DEADLINE = re.compile(r"выполн|факт|отметк")
_KEY_ORDER = tuple(HEADER_VARIANTS)

_BULLETS = "·•●▪◦"
_LINE_MARKS = _BULLETS + "-–—"
_NUMBER = re.compile(r"(?:\d{1,3}(?:\.\d{1,3})*\.?|[IVX]{1,5}\.?)")
_NUMBERED_TEXT = re.compile(r"(\d{1,3}(?:\.\d{1,3})*\.?|[IVX]{1,5}\.)\s+(\S.*)", re.S)


class RoadmapImportError(Exception):
    """The roadmap cannot be imported; ``message_ru`` says why, in Russian."""

    def __init__(self, message_ru: str) -> None:
        super().__init__(message_ru)
        self.message_ru = message_ru


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


NOTE_STAGE_NUMBERS = ("Столбец «№» в документе нумерует этапы; мероприятия пронумерованы "
                      "внутри этапа по порядку: 1.1, 1.2, …")

_TARGET_HEADERS = {**C.ROADMAP.headers, "deadline": C.ROADMAP.column("deadline_text").header}


# ------------------------------------------------------------------------------ reading


def read_roadmap(path: str | Path, anchor: date | None = None) -> ImportReport:
    """Read the roadmap table of a .txt, .docx or .xlsx/.xlsm/.ods file.

    ``anchor`` is the date relative deadlines («в течение двух недель с даты определения
    модели») count from; without it they stay without a due date.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        hint = " Сохраните документ Word в формате .docx." if suffix in (".doc", ".rtf") else ""
        raise RoadmapImportError(
            f"Файл «{path.name}»: формат {suffix or 'без расширения'} не поддерживается. "
            f"Подходят .docx, .xlsx, .xlsm, .ods или .txt (таблица, скопированная из Word).{hint}")
    if not path.is_file():
        raise RoadmapImportError(f"Файл «{path.name}» не найден.")
    if suffix == ".txt":
        tables = _txt_tables(_read_text(path))
    elif suffix == ".docx":
        tables = _docx_tables(path)
    else:
        tables = _sheet_tables(path)
    return _interpret(tables, path.name, anchor)


@dataclass
class _Row:
    """One row of a source table: cell texts (cleaned) and how it was laid out."""

    cells: list[str]
    after_blank: bool = False  # pasted text: a blank line came before this row
    merged_above: frozenset[int] = frozenset()  # columns merged with the row above (Word)
    spanning: bool = False  # one cell merged across the whole row (Word)


@dataclass
class _Table:
    rows: list[_Row]
    #: index of the header row in ``rows`` when the reader already knows it
    header: int | None = None


def _read_text(path: Path) -> str:
    data = path.read_bytes()
    for encoding in ("utf-8-sig", "cp1251"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    return data.decode("utf-8", errors="replace")


def _txt_tables(text: str) -> list[_Table]:
    """The table of pasted text: one row per line, else one cell per line."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    for i, line in enumerate(lines):
        if "\t" in line and _header_mapping(line.split("\t")) is not None:
            return [_Table(_rows_per_line(lines[i:]), header=0)]
    table = _cells_per_line(lines)
    if table is not None:
        return [table]
    seen = [_Row([_clean(c) for c in line.split("\t")]) for line in lines if "\t" in line]
    return [_Table(seen[:1])] if seen else []


def _rows_per_line(lines: list[str]) -> list[_Row]:
    """Rows of tab-separated cells, from the header line to the end of the table.

    A line without a tab ends the table, unless a tabbed line follows: then it continues the
    last cell of the row above (a line break inside a cell).
    """
    rows: list[_Row] = []
    blank = False
    for i, line in enumerate(lines):
        if not line.strip():
            blank = True
            continue
        if "\t" not in line:
            following = next((x for x in lines[i + 1:] if x.strip()), "")
            if "\t" not in following or not rows:
                break
            last = rows[-1].cells
            j = max((k for k, c in enumerate(last) if c), default=0)
            last[j] = _join(last[j], _clean(line))
            continue
        rows.append(_Row([_clean(c) for c in line.split("\t")], after_blank=blank))
        blank = False
    return rows


def _cells_per_line(lines: list[str]) -> _Table | None:
    """Word's paste of one cell per line: «\\tcell»; a line without a tab continues the cell.

    The header is the first run of cells that all name a column; body rows are cut by the
    number of header cells. After two blank lines, a line without a tab ends the table.
    """
    cells: list[list[str]] = []
    blanks = 0
    for line in lines:
        if not line.strip():
            blanks += 1
            continue
        if line.startswith("\t"):
            cells.append([line[1:]])
        elif cells and blanks < 2:
            cells[-1].append(line)
        elif cells and _header_found(cells):
            break
        blanks = 0
    texts = [_clean("\n".join(c)) for c in cells]
    for start in range(len(texts)):
        width = 0
        while start + width < len(texts) and _header_key(texts[start + width]):
            width += 1
        if width >= 2 and _header_mapping(texts[start:start + width]) is not None:
            body = texts[start + width:]
            rows = [_Row(texts[start:start + width])]
            rows += [_Row(body[k:k + width]) for k in range(0, len(body), width)]
            return _Table(rows, header=0)
    return None


def _header_found(cells: list[list[str]]) -> bool:
    texts = [_clean("\n".join(c)) for c in cells]
    return any(_header_mapping(texts[i:i + n]) is not None
               for i in range(len(texts)) for n in range(2, 9))


def _docx_tables(path: Path) -> list[_Table]:
    """Every table of the document (nested tables are not looked into)."""
    import docx
    from docx.opc.exceptions import PackageNotFoundError

    try:
        document = docx.Document(str(path))
    except (PackageNotFoundError, KeyError, ValueError) as exc:
        raise RoadmapImportError(
            f"Файл «{path.name}» не читается как документ Word (.docx). Откройте его в Word "
            "или LibreOffice и сохраните заново.") from exc
    tables: list[_Table] = []
    for table in document.tables:
        rows: list[_Row] = []
        above: list[Any] = []
        for tr in table.rows:
            cells = tr.cells
            tcs = [cell._tc for cell in cells]  # lxml keeps one proxy per element while held
            texts: list[str] = []
            merged: set[int] = set()
            for j, tc in enumerate(tcs):
                if j and tc is tcs[j - 1]:
                    texts.append("")  # the same cell spanning columns
                    continue
                if j < len(above) and tc is above[j]:
                    merged.add(j)
                texts.append(_clean(cells[j].text))
            distinct = {id(tc) for tc in tcs}
            rows.append(_Row(texts, merged_above=frozenset(merged),
                             spanning=len(tcs) > 1 and len(distinct) == 1))
            above = tcs
        tables.append(_Table(rows))
    return tables


def _sheet_tables(path: Path) -> list[_Table]:
    """Every sheet of a spreadsheet, in order."""
    import python_calamine as pc

    try:
        book = pc.CalamineWorkbook.from_path(str(path))
        sheets = [book.get_sheet_by_name(n).to_python(skip_empty_area=False)
                  for n in book.sheet_names]
    except Exception as exc:  # calamine raises several types for broken content
        raise RoadmapImportError(
            f"Файл «{path.name}» не читается как книга Excel. Откройте его в Excel или "
            "LibreOffice и сохраните заново.") from exc
    return [_Table([_Row([_cell_text(v) for v in row]) for row in rows]) for rows in sheets]


def _cell_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return f"{value:%d.%m.%Y}"
    if isinstance(value, date):
        return f"{value:%d.%m.%Y}"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return _clean(str(value))


# --------------------------------------------------------------------------- headers


def _norm(text: str) -> str:
    """Header text as compared: lowercase, «ё» = «е», no punctuation, single spaces."""
    s = normalize_header(text).replace("№", " № ")
    s = re.sub(r"[^\w№ ]+", "", s)
    return " ".join(s.split())


_VARIANTS = {key: tuple(_norm(v) for v in variants) for key, variants in HEADER_VARIANTS.items()}


def _score(header: str, key: str) -> int:
    """3: the header is a variant; 2: it starts with one; 1: contains one; 0: no match."""
    words = header.split()
    if key == "deadline" and _NOT_DEADLINE.search(header):
        return 0
    best = 0
    for variant in _VARIANTS[key]:
        v = variant.split()
        if words == v:
            return 3
        if words[:len(v)] == v:
            best = max(best, 2)
        elif len(words) <= 5 and any(words[i:i + len(v)] == v
                                     for i in range(len(words) - len(v) + 1)):
            best = max(best, 1)
    return best


def _header_key(text: str) -> str | None:
    """The column key a header cell names best (None: none)."""
    h = _norm(text)
    if not h or len(h) > 80:
        return None
    scored = [(_score(h, k), -i, k) for i, k in enumerate(_KEY_ORDER)]
    best = max(scored)
    return best[2] if best[0] else None


def _header_mapping(cells: Sequence[str]) -> dict[str, int] | None:
    """Column key -> cell index, when the cells name an activity and a deadline column."""
    best: dict[str, tuple[int, int]] = {}
    for j, cell in enumerate(cells):
        key = _header_key(cell)
        if key is None:
            continue
        score = _score(_norm(cell), key)
        if key not in best or score > best[key][0]:
            best[key] = (score, j)
    mapping = {key: j for key, (_, j) in best.items()}
    if "activity" not in mapping and "content" in mapping:
        mapping["activity"] = mapping.pop("content")
    if "activity" not in mapping or "deadline" not in mapping:
        return None
    return mapping


# ------------------------------------------------------------------------ interpreting


def _interpret(tables: list[_Table], source: str, anchor: date | None) -> ImportReport:
    """Find the roadmap table(s) and turn their rows into items."""
    found: list[tuple[dict[str, int], list[str], list[_Row]]] = []
    seen: list[str] = []
    width = None
    for table in tables:
        rows = table.rows
        candidates = [table.header] if table.header is not None else range(min(15, len(rows)))
        header_at = next((i for i in candidates
                          if _header_mapping(rows[i].cells) is not None), None)
        if header_at is None:
            if found and width == _width(rows) and _starts_like_body(found[-1][0], rows):
                # a Word table split over pages
                found[-1][2].extend(rows)
            else:
                width = None
                first = next((r.cells for r in rows if any(r.cells)), [])
                seen.extend(c for c in first if c)
            continue
        mapping = _header_mapping(rows[header_at].cells)
        assert mapping is not None
        found.append((mapping, rows[header_at].cells, rows[header_at + 1:]))
        width = _width(rows)
    if not found:
        listed = "; ".join(f"«{_short(h)}»" for h in dict.fromkeys(seen)) or "таблиц нет"
        raise RoadmapImportError(
            f"В файле «{source}» не найдена таблица дорожной карты: нужна строка заголовков "
            f"со столбцами «Мероприятие» (или «Наименование мероприятий») и «Срок». "
            f"Увиденные заголовки: {listed}.")
    report = ImportReport(items=[], sections=[], unrecognized_columns=[], source=source)
    for mapping, header, body in found:
        for key, j in mapping.items():
            report.columns.setdefault(key, header[j])
        used = set(mapping.values())
        for j, h in enumerate(header):
            if h and j not in used and h not in report.unrecognized_columns:
                report.unrecognized_columns.append(h)
        _read_body(mapping, body, report, anchor)
    report.sections = list(dict.fromkeys(i.section for i in report.items if i.section))
    return report


def _starts_like_body(mapping: dict[str, int], rows: list[_Row]) -> bool:
    """Whether a table without a header continues the roadmap (a number or no № column)."""
    first = next((r.cells for r in rows if any(r.cells)), None)
    j = mapping.get("item_no")
    if first is None or j is None:
        return first is not None
    return j < len(first) and (not first[j] or bool(_NUMBER.fullmatch(first[j])))


def _width(rows: list[_Row]) -> int:
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

    @property
    def has_details(self) -> bool:
        return any((self.deadline, self.responsible, self.result, self.indicator))


def _fields(mapping: dict[str, int], row: _Row) -> _Cells:
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


def _read_body(mapping: dict[str, int], body: list[_Row], report: ImportReport,
               anchor: date | None) -> None:
    """Merge continuation rows, then read headings, stages and items into ``report``."""
    logical: list[_Row] = []
    for row in body:
        if not any(row.cells) or _is_column_numbering(row.cells):
            continue
        if logical and _continues(mapping, row):
            prev = logical[-1]
            size = max(len(prev.cells), len(row.cells))
            more = ["" if j in row.merged_above else c for j, c in enumerate(row.cells)]
            prev.cells = [_join(a, b) for a, b in zip(_pad(prev.cells, size), _pad(more, size),
                                                      strict=True)]
            continue
        logical.append(_Row(list(row.cells), row.after_blank, row.merged_above, row.spanning))

    rows = [_heading_fields(mapping, row) for row in logical]
    # With a stage column, the № column numbers the stages when every number sits on a row
    # that opens a stage; the items are then numbered inside their stage (1.1, 1.2, …).
    by_stage = "section" in mapping and any(f.no and f.section for f in rows) and not any(
        f.no and not f.section and not _is_heading(f) for f in rows)
    headings: list[tuple[str, str]] = []  # (number, text) of the open headings
    stage, stage_no, group, count, generated = "", "", "", 0, False
    for f in rows:
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
            continue
        activity = f"{group} — {f.activity}" if group and f.activity else (f.activity or group)
        item_no = f.no.rstrip(".")
        if by_stage and stage_no and (not item_no or item_no == stage_no):
            count += 1
            item_no, generated = f"{stage_no}.{count}", True
        path = " / ".join(f"{n}. {t}" if n else t for n, t in headings)
        report.items.append(ImportedItem(
            item_no=item_no, section=" / ".join(x for x in (stage, path) if x),
            activity=activity, deadline_text=f.deadline, responsible=f.responsible,
            result=f.result, indicator=f.indicator,
            deadline=parse_deadline(f.deadline, anchor=anchor)))
    if generated and NOTE_STAGE_NUMBERS not in report.notes:
        report.notes.append(NOTE_STAGE_NUMBERS)


def _heading_fields(mapping: dict[str, int], row: _Row) -> _Cells:
    """The fields of a row; a row merged across the table is a heading «1. Текст»."""
    f = _fields(mapping, row)
    if row.spanning or (f.no and not _NUMBER.fullmatch(f.no) and not f.activity):
        return _split_spanning(row)
    return f


def _is_heading(f: _Cells) -> bool:
    """A numbered row that names no deadline, responsible, result or indicator."""
    return bool(f.no) and bool(_NUMBER.fullmatch(f.no)) and bool(f.activity or f.group) \
        and not f.has_details


def _split_spanning(row: _Row) -> _Cells:
    """A row merged across the table: «1. Нормативно правовое …» as a heading."""
    text = next((c for c in row.cells if c), "")
    no, rest = _split_number(text)
    return _Cells(no=no, activity=rest)


def _split_number(text: str) -> tuple[str, str]:
    m = _NUMBERED_TEXT.fullmatch(text)
    return (m[1], m[2].strip()) if m else ("", text)


def _continues(mapping: dict[str, int], row: _Row) -> bool:
    """Whether a row continues the row above (see the module docstring)."""
    f = _fields(mapping, row)
    if f.no or row.spanning:
        return False
    if row.after_blank:
        return True
    texts = [t for t in (f.section, f.group, f.activity) if t]
    if not texts:
        return True
    if "item_no" not in mapping:  # every row is unnumbered: only the sure signs above
        return False
    first = texts[0][0]
    if first.islower() or first == "(":
        return True
    return not (f.deadline or f.responsible)


def _is_column_numbering(cells: Sequence[str]) -> bool:
    """A row «1 2 3 4» numbering the columns under the header."""
    filled = [c for c in cells if c]
    return len(filled) >= 2 and filled == [str(i) for i in range(1, len(filled) + 1)]


# --------------------------------------------------------------------------- texts


def _clean(text: str | None) -> str:
    """Single spaces; bullet lines stay lines, other wrapped lines are joined; a lone bullet
    at the start of a cell is dropped."""
    if not text:
        return ""
    out = ""
    for line in str(text).replace("\xa0", " ").splitlines():
        line = " ".join(line.split())
        if line:
            out = _join(out, line)
    if out and out[0] in _BULLETS and "\n" not in out and out.count(out[0]) == 1:
        out = out[1:].strip()
    return out


def _join(a: str, b: str) -> str:
    if not a or not b:
        return a or b
    return f"{a}\n{b}" if b[0] in _LINE_MARKS and len(b) > 1 and b[1] == " " else f"{a} {b}"


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

    from addin.annotate import save_atomically

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
    return len(report.items)


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
