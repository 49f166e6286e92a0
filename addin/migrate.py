"""The one upgrader: the declared steps of workbook_templates/versions.py applied to the raw
sheets of a book of an older template version.

The readers call it inside the transition window (an old book is read as if it were of the
current version); `nastavnik upgrade-book` calls it to carry an old book's values, and the
cell comments beside them, into the current template. Sheets are matched by name and
columns by header the way the readers match them (case, dashes, spaces and ё do not matter).
A step that finds nothing to act on (the column was already renamed, the school deleted
it) is skipped and said so in the notes: upgrading never raises for the book's content.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd
import pyarrow as pa

from addin.raw import RawSheet, fold_text, normalize_header
from workbook_templates import contract as C
from workbook_templates import versions as V


@dataclass
class Migrated:
    """Sheets after the steps, and what the steps did, in Russian, in order."""

    sheets: dict[str, RawSheet]
    notes: list[str] = field(default_factory=list)
    #: (sheet, header) of every column the steps added, in the new version's names.
    added: list[tuple[str, str]] = field(default_factory=list)


def migrate(sheets: Mapping[str, RawSheet], version: str, *, values: bool = True,
            to: str = C.TEMPLATE_VERSION, steps: Sequence[V.Step] | None = None) -> Migrated:
    """Apply every step from `version` up to `to` to the sheets (name -> RawSheet).

    The input is not changed. With values=False the sheets hold something that travels
    with the cells but is not their value (the cell comments): dictionary values are not
    renamed, a split column's comment stays with its first part, merged comments are
    joined by line breaks, and added columns stay blank. `steps` replaces the declared
    steps (a history under test).
    """
    book = _Book({name: _Table.of(raw, _is_form(name, version)) for name, raw in
                  sheets.items()})
    out = Migrated({})
    todo = [s for _, s in V.steps_between(version, to)] if steps is None else list(steps)
    for step in todo:
        note = _APPLY[type(step)](book, step, values)
        if note:
            out.notes.append(note)
        if isinstance(step, V.AddColumn) and note and "уже был" not in note:
            out.added.append((step.sheet, step.header))
    out.added = [(book.final_name(s), h) for s, h in out.added]
    out.sheets = {name: t.raw() for name, t in book.tables.items()}
    return out


def _is_form(name: str, version: str) -> bool:
    """Whether the sheet of this name (in `version`) is a form sheet (label, value)."""
    forms = {normalize_header(s.name) for s in C.DATA_SHEETS if s.kind is C.SheetKind.FORM}
    for _, step in reversed(V.steps_between(version)):
        if isinstance(step, V.RenameSheet) and normalize_header(step.new) in forms:
            forms.add(normalize_header(step.old))
    return normalize_header(name) in forms


@dataclass
class _Table:
    """A sheet being migrated: header and Python or Arrow columns. A form sheet is held
    as a table of one row (labels as the header) and `origin` keeps each label's row."""

    header: list[Any]
    columns: list[Any]
    height: int
    form: bool = False
    origin: list[int | None] = field(default_factory=list)
    form_header: list[Any] = field(default_factory=list)
    #: Columns C… of a form's rows (help texts): they stay on their rows.
    tail: list[list[Any]] = field(default_factory=list)

    @classmethod
    def of(cls, raw: RawSheet, form: bool) -> _Table:
        if not form:
            return cls(list(raw.header), list(raw.columns), raw.height)
        rows = raw.rows()
        body = rows[1:]
        labels = [r[0] if r else None for r in body]
        cells = [[r[1] if len(r) > 1 else None] for r in body]
        tail = [list(r[2:]) for r in body]
        return cls(labels, [pd.Series(c, dtype=object) for c in cells], 1, True,
                   list(range(len(body))), list(rows[0]), tail)

    def find(self, header: str) -> int | None:
        want = normalize_header(header)
        for i, h in enumerate(self.header):
            if normalize_header(h) == want:
                return i
        return None

    def values(self, pos: int) -> list[Any]:
        col = self.columns[pos]
        if isinstance(col, pa.Array):
            return col.to_pylist()
        # only missing cells become None: a cell of spaces is the book's and is kept
        return [None if v is None or (isinstance(v, float) and v != v) else v
                for v in col.tolist()]

    def insert(self, pos: int, header: str, cells: list[Any]) -> None:
        self.header.insert(pos, header)
        self.columns.insert(pos, pd.Series(cells, dtype=object))
        if self.form:
            self.origin.insert(pos, None)

    def drop(self, pos: int) -> None:
        del self.header[pos], self.columns[pos]
        if self.form:  # the label's row stays, blank: the rows below keep their numbers
            del self.origin[pos]

    def add_rows(self, n: int) -> None:
        self.columns = [pd.Series(self.values(i) + [None] * n, dtype=object)
                        for i in range(len(self.columns))]
        self.height += n

    def raw(self) -> RawSheet:
        if not self.form:
            return RawSheet(list(self.header), list(self.columns), self.height)
        rows: list[list[Any]] = [[None, None, *t] for t in self.tail]
        extra: list[list[Any]] = []
        for i, (label, origin) in enumerate(zip(self.header, self.origin, strict=True)):
            value = self.values(i)[0] if self.height else None
            if origin is None:
                extra.append([label, value])
            else:
                rows[origin][:2] = [label, value]
        return RawSheet.from_rows([list(self.form_header), *rows, *extra])


@dataclass
class _Book:
    tables: dict[str, _Table]
    renamed: dict[str, str] = field(default_factory=dict)

    def get(self, name: str) -> tuple[str, _Table] | tuple[None, None]:
        want = normalize_header(name)
        for key, t in self.tables.items():
            if normalize_header(key) == want:
                return key, t
        return None, None

    def final_name(self, name: str) -> str:
        while normalize_header(name) in self.renamed:
            name = self.renamed[normalize_header(name)]
        return name


def _blank(v: Any) -> bool:
    return v is None or (isinstance(v, float) and v != v) or (isinstance(v, str) and not
                                                                v.strip())


def _where(sheet: str, header: str | None = None) -> str:
    return f"«{sheet}»" + (f", «{header}»" if header else "")


def _skip(sheet: str, header: str | None, why: str) -> str:
    return f"{_where(sheet, header)}: шаг пропущен — {why}"


def _rename_sheet(book: _Book, step: V.RenameSheet, values: bool) -> str:
    key, t = book.get(step.old)
    if t is None:
        return ""
    if book.get(step.new)[1] is not None:
        return _skip(step.old, None, f"лист «{step.new}» уже есть")
    book.tables = {(step.new if k == key else k): v for k, v in book.tables.items()}
    book.renamed[normalize_header(step.old)] = step.new
    return f"лист «{step.old}» переименован в «{step.new}»"


def _rename_column(book: _Book, step: V.RenameColumn, values: bool) -> str:
    _, t = book.get(step.sheet)
    if t is None:
        return ""
    pos = t.find(step.old)
    if pos is None:
        return _skip(step.sheet, step.old, "такого столбца нет")
    if t.find(step.new) is not None:
        return _skip(step.sheet, step.old, f"столбец «{step.new}» уже есть")
    t.header[pos] = step.new
    return f"{_where(step.sheet)}: столбец «{step.old}» теперь называется «{step.new}»"


def _add_column(book: _Book, step: V.AddColumn, values: bool) -> str:
    _, t = book.get(step.sheet)
    if t is None:
        return ""
    if t.find(step.header) is not None:
        return f"{_where(step.sheet, step.header)}: столбец уже был в книге, оставлен как есть"
    fill = step.default if values else None
    t.insert(len(t.header), step.header, [fill] * t.height)
    how = "пустой" if fill is None else f"заполнен значением «{fill}»"
    return f"{_where(step.sheet)}: добавлен столбец «{step.header}» ({how})"


def _split(book: _Book, step: V.SplitColumn, values: bool) -> str:
    _, t = book.get(step.sheet)
    if t is None:
        return ""
    pos = t.find(step.old)
    if pos is None:
        return _skip(step.sheet, step.old, "такого столбца нет")
    taken = [h for h in step.new if t.find(h) is not None]
    if taken:
        return _skip(step.sheet, step.old, f"столбец «{taken[0]}» уже есть")
    parts: list[list[Any]] = [[] for _ in step.new]
    for v in t.values(pos):
        cut = _cut(v, step, values)
        for i, p in enumerate(cut):
            parts[i].append(p)
    t.drop(pos)
    for i, header in enumerate(step.new):
        t.insert(pos + i, header, parts[i])
    return (f"{_where(step.sheet)}: столбец «{step.old}» разделён на "
            + ", ".join(f"«{h}»" for h in step.new))


def _cut(v: Any, step: V.SplitColumn, values: bool) -> list[Any]:
    """One value cut into the new columns; what is not text stays whole in the first."""
    n = len(step.new)
    if not values or not isinstance(v, str):
        return [v] + [None] * (n - 1)
    pieces = [p.strip() for p in v.strip().split(step.separator, n - 1)]
    pieces = [p or None for p in pieces]
    return pieces + [None] * (n - len(pieces))


def _merge(book: _Book, step: V.MergeColumns, values: bool) -> str:
    _, t = book.get(step.sheet)
    if t is None:
        return ""
    found = [p for p in (t.find(h) for h in step.old) if p is not None]
    if not found:
        return _skip(step.sheet, step.old[0], "таких столбцов нет")
    if t.find(step.new) is not None and t.find(step.new) not in found:
        return _skip(step.sheet, step.old[0], f"столбец «{step.new}» уже есть")
    columns = [t.values(p) for p in found]
    sep = step.separator if values else "\n"
    merged = [_join([c[i] for c in columns], sep) for i in range(t.height)]
    at = min(found)
    for p in sorted(found, reverse=True):
        t.drop(p)
    t.insert(at, step.new, merged)
    return (f"{_where(step.sheet)}: столбцы " + ", ".join(f"«{h}»" for h in step.old)
            + f" объединены в «{step.new}»")


def _join(cells: list[Any], sep: str) -> Any:
    filled = [c for c in cells if not _blank(c)]
    if len(filled) <= 1:  # one value keeps its type (a date stays a date)
        return filled[0] if filled else None
    return sep.join(_text(c) for c in filled)


def _text(v: Any) -> str:
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    if hasattr(v, "strftime"):
        return v.strftime("%d.%m.%Y")
    return str(v)


def _rename_value(book: _Book, step: V.RenameValue, values: bool) -> str:
    _, t = book.get(step.sheet)
    if t is None:
        return ""
    pos = t.find(step.column)
    if pos is None:
        return _skip(step.sheet, step.column, "такого столбца нет")
    if not values:
        return ""
    old = fold_text(step.old).replace(" ", "")
    cells = t.values(pos)
    hits = [isinstance(v, str) and fold_text(v).replace(" ", "") == old for v in cells]
    t.columns[pos] = pd.Series([step.new if h else v for v, h in zip(cells, hits,
                                                                     strict=True)], dtype=object)
    return (f"{_where(step.sheet, step.column)}: значение «{step.old}» заменено на "
            f"«{step.new}» (ячеек: {sum(hits)})")


def _move(book: _Book, step: V.MoveColumn, values: bool) -> str:
    _, src = book.get(step.source)
    _, dst = book.get(step.target)
    if src is None or dst is None:
        return ""
    pos, skey, dkey = (src.find(step.column), src.find(step.source_key),
                       dst.find(step.target_key))
    if pos is None or skey is None or dkey is None:
        return _skip(step.source, step.column, "нет столбца или ключа")
    if dst.find(step.column) is not None:
        return _skip(step.source, step.column, f"на листе «{step.target}» он уже есть")
    by_key: dict[str, tuple[Any, Any]] = {}  # folded key -> (key as typed, value)
    for k, v in zip(src.values(skey), src.values(pos), strict=True):
        if not _blank(k) and not _blank(v):
            by_key.setdefault(_key(k), (k, v))
    keys = dst.values(dkey)
    present = {_key(k) for k in keys if not _blank(k)}
    moved = [by_key.get(_key(k), (None, None))[1] if not _blank(k) else None for k in keys]
    orphans = [kv for folded, kv in by_key.items() if folded not in present]
    src.drop(pos)
    dst.insert(len(dst.header), step.column, moved)
    if orphans:  # a value whose row is not in the target: a new row keeps it
        start = dst.height
        dst.add_rows(len(orphans))
        for i, (k, v) in enumerate(orphans):
            dst.columns[dkey].iloc[start + i] = k
            dst.columns[-1].iloc[start + i] = v
    return (f"столбец «{step.column}» перенесён с листа «{step.source}» на лист "
            f"«{step.target}» (по «{step.target_key}»)")


def _key(v: Any) -> str:
    return fold_text(_text(v))


_APPLY = {V.RenameSheet: _rename_sheet, V.RenameColumn: _rename_column,
          V.AddColumn: _add_column, V.SplitColumn: _split, V.MergeColumns: _merge,
          V.RenameValue: _rename_value, V.MoveColumn: _move}
