"""A corpus of damaged and odd school workbooks, generated from the demo schools (no binaries
committed): truncated files, flipped bytes (bad CRC, broken deflate), other formats renamed,
headers renamed, deleted or duplicated, sheets dropped, hidden or renamed, merged cells, junk in
every cell (control characters, 40,000-character strings, impossible dates, full-width digits,
Latin look-alikes, emoji, markup), cells far beyond the grid, and .ods files whose rows or
columns are repeated a million times.

`build_corpus(out_dir)` writes the files and returns one `Case` per file with what a user may
expect (the exit codes `nastavnik validate` may give, words its answer must hold).
`python -m tests.hostile_corpus DIR` writes the corpus for a look by hand.
"""

from __future__ import annotations

import copy
import gzip
import io
import random
import struct
import sys
import zipfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

from workbook_templates import contract as C

Values = dict[str, list[list[Any]]]

#: Exit codes of `nastavnik validate`: 0 accepted, 1 errors found, 2 file unreadable.
ANY = frozenset({0, 1, 2})
READABLE = frozenset({0, 1})
UNREADABLE = frozenset({2})
BIG = 40_000
_BIG_MARK = "@@BIG@@"


@dataclass
class Case:
    """One corpus file and what `validate` may answer for it."""

    name: str
    path: Path
    kind: str
    exits: frozenset[int] = ANY
    #: Words the Russian answer must contain (e.g. the sheet and cell of a far cell).
    words: tuple[str, ...] = ()
    extra: dict[str, Any] = field(default_factory=dict)


# -- the base: a clean demo school -------------------------------------------------------------
def base_school() -> tuple[bytes, str]:
    """The bytes of a clean demo school workbook (the real template) and its school code."""
    import tempfile

    from workbook_templates.build import write_school_workbook
    from workbook_templates.demo import generate_municipality

    muni = generate_municipality(participants_per_school=30)
    school = next(s for s in muni.schools if s.clean and s.submission == "ok")
    with tempfile.TemporaryDirectory() as tmp:
        path = write_school_workbook(Path(tmp) / "school.xlsx", school.data)
        return path.read_bytes(), school.code


def read_values(payload: bytes) -> Values:
    """Every sheet's cells as python-calamine reads them."""
    import python_calamine as pc

    book = pc.CalamineWorkbook.from_filelike(io.BytesIO(payload))
    return {name: book.get_sheet_by_name(name).to_python(skip_empty_area=False)
            for name in book.sheet_names}


# -- writers -----------------------------------------------------------------------------------
def write_xlsx(path: Path, values: Values, *, hidden: tuple[str, ...] = (),
               merges: dict[str, list[str]] | None = None,
               formulas: dict[str, dict[str, str]] | None = None,
               cells: dict[str, dict[str, Any]] | None = None) -> Path:
    """A plain .xlsx of `values` (xlsxwriter, strings kept as strings); `_BIG_MARK` cells
    become 40,000-character strings afterwards (xlsxwriter caps strings at 32,767)."""
    import xlsxwriter

    book = xlsxwriter.Workbook(str(path), {"strings_to_numbers": False,
                                           "strings_to_formulas": False,
                                           "strings_to_urls": False})
    day = book.add_format({"num_format": "dd.mm.yyyy"})
    for name, rows in values.items():
        ws = book.add_worksheet(name)
        for r, row in enumerate(rows):
            for c, v in enumerate(row):
                _write_cell(ws, r, c, v, day)
        for a1, text in (formulas or {}).get(name, {}).items():
            ws.write_formula(a1, text)
        for rng in (merges or {}).get(name, []):  # a merge keeps its top-left value only
            top = rng.split(":")[0]
            r0, c0 = int(top[1:]) - 1, ord(top[0]) - 65
            value = rows[r0][c0] if r0 < len(rows) and c0 < len(rows[r0]) else None
            ws.merge_range(rng, "" if isinstance(value, (date, datetime)) or value is None
                           else value)
        if name in hidden:
            ws.hide()
    book.close()
    for name, placed in (cells or {}).items():  # spliced in: xlsxwriter would fill the grid
        index = list(values).index(name) + 1
        xml = "".join(f'<row r="{a1.lstrip("ABCDEFGHIJKLMNOPQRSTUVWXYZ")}"><c r="{a1}" '
                      f't="inlineStr"><is><t>{escape(str(v))}</t></is></c></row>'
                      for a1, v in placed.items())
        _replace_in_zip(path, f"xl/worksheets/sheet{index}.xml", b"</sheetData>",
                        xml.encode() + b"</sheetData>")
    if any(_BIG_MARK == v for rows in values.values() for row in rows for v in row):
        _replace_in_zip(path, "xl/sharedStrings.xml", _BIG_MARK.encode(),
                        ("Ж" * BIG).encode("utf-8"))
    return path


def _write_cell(ws: Any, r: int, c: int, v: Any, day: Any) -> None:
    if v is None or v == "":
        return
    if isinstance(v, (datetime, date)):
        ws.write_datetime(r, c, v if isinstance(v, datetime) else
                          datetime(v.year, v.month, v.day), day)
    elif isinstance(v, bool):
        ws.write_boolean(r, c, v)
    elif isinstance(v, (int, float)):
        ws.write_number(r, c, v)
    else:
        ws.write_string(r, c, str(v))


def _replace_in_zip(path: Path, member: str, old: bytes, new: bytes) -> None:
    members = _members(path.read_bytes())
    members[member] = members[member].replace(old, new)
    path.write_bytes(_zip(members))


def _members(payload: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(payload)) as zf:
        return {i.filename: zf.read(i.filename) for i in zf.infolist()}


def _zip(members: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as zf:
        for name, data in members.items():
            method = zipfile.ZIP_STORED if name == "mimetype" else zipfile.ZIP_DEFLATED
            zf.writestr(name, data, compress_type=method)
    return out.getvalue()


_ODS_NS = ('xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
           'xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" '
           'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" '
           'xmlns:calcext="urn:org:documentfoundation:names:experimental:calc:xmlns:calcext:1.0"')
_MANIFEST = ('<?xml version="1.0" encoding="UTF-8"?><manifest:manifest xmlns:manifest="urn:oasis:'
             'names:tc:opendocument:xmlns:manifest:1.0" manifest:version="1.2"><manifest:file-entry'
             ' manifest:full-path="/" manifest:media-type="application/vnd.oasis.opendocument.'
             'spreadsheet"/><manifest:file-entry manifest:full-path="content.xml" manifest:'
             'media-type="text/xml"/></manifest:manifest>')


def ods_bytes(values: Values, *, row_attrs: dict[tuple[str, int], str] | None = None,
              tails: dict[str, str] | None = None, trailing_empty: bool = True) -> bytes:
    """A minimal .ods of `values`. row_attrs[(sheet, index)] adds attributes to one row (e.g.
    a repetition); tails[sheet] is raw XML appended after the sheet's rows; trailing_empty
    ends each sheet as LibreOffice does: a million repeated empty rows and columns."""
    parts = [f'<?xml version="1.0" encoding="UTF-8"?><office:document-content {_ODS_NS} '
             'office:version="1.2"><office:body><office:spreadsheet>']
    for name, rows in values.items():
        parts.append(f'<table:table table:name="{escape(name, {chr(34): "&quot;"})}">')
        for i, row in enumerate(rows):
            attrs = (row_attrs or {}).get((name, i), "")
            cells = "".join(_ods_cell(v) for v in row)
            if trailing_empty:
                cells += '<table:table-cell table:number-columns-repeated="16000"/>'
            parts.append(f"<table:table-row{attrs}>{cells}</table:table-row>")
        parts.append((tails or {}).get(name, ""))
        if trailing_empty:
            parts.append('<table:table-row table:number-rows-repeated="1048000"><table:table-'
                         'cell table:number-columns-repeated="16384"/></table:table-row>')
        parts.append("</table:table>")
    parts.append("</office:spreadsheet></office:body></office:document-content>")
    return _zip({"mimetype": b"application/vnd.oasis.opendocument.spreadsheet",
                 "META-INF/manifest.xml": _MANIFEST.encode(),
                 "content.xml": "".join(parts).encode("utf-8")})


def _ods_cell(v: Any) -> str:
    if v is None or v == "":
        return "<table:table-cell/>"
    if isinstance(v, (datetime, date)):
        return (f'<table:table-cell office:value-type="date" office:date-value='
                f'"{v:%Y-%m-%d}"><text:p>{v:%d.%m.%Y}</text:p></table:table-cell>')
    if isinstance(v, bool):
        return (f'<table:table-cell office:value-type="boolean" office:boolean-value='
                f'"{str(v).lower()}"><text:p>{v}</text:p></table:table-cell>')
    if isinstance(v, (int, float)):
        return (f'<table:table-cell office:value-type="float" office:value="{v!r}">'
                f"<text:p>{v}</text:p></table:table-cell>")
    return (f'<table:table-cell office:value-type="string"><text:p>{escape(str(v))}</text:p>'
            "</table:table-cell>")


# -- the corpus --------------------------------------------------------------------------------
def build_corpus(out: Path) -> list[Case]:
    """Write every corpus file into `out` and return the cases (over 200)."""
    out.mkdir(parents=True, exist_ok=True)
    base, code = base_school()
    values = read_values(base)
    cases: list[Case] = []
    add = _Adder(out, cases)
    (out / "clean.xlsx").write_bytes(base)
    cases.append(Case("clean.xlsx", out / "clean.xlsx", "clean", frozenset({0})))
    _truncated(add, base)
    _flipped(add, base)
    _other_formats(add, base, values)
    _structure(add, values)
    _junk(add, values)
    _far(add, values)
    _ods(add, values)
    _misc(add, base, values)
    return cases


class _Adder:
    def __init__(self, out: Path, cases: list[Case]) -> None:
        self.out, self.cases = out, cases

    def bytes(self, name: str, payload: bytes, kind: str, exits: frozenset[int] = ANY,
              words: tuple[str, ...] = (), **extra: Any) -> Case:
        path = self.out / name
        path.write_bytes(payload)
        return self._case(Case(name, path, kind, exits, words, extra))

    def xlsx(self, name: str, values: Values, kind: str, exits: frozenset[int] = ANY,
             words: tuple[str, ...] = (), **kw: Any) -> Case:
        path = write_xlsx(self.out / name, values, **kw)
        return self._case(Case(name, path, kind, exits, words))

    def _case(self, case: Case) -> Case:
        self.cases.append(case)
        return case


def _truncated(add: _Adder, base: bytes) -> None:
    for i in range(20):  # 20 points from the first bytes to one byte short
        keep = max(1, int(len(base) * (i + 0.5) / 20)) if i < 19 else len(base) - 1
        add.bytes(f"truncated-{i:02d}.xlsx", base[:keep], "truncated", UNREADABLE,
                  ("повреждён",))


def _flipped(add: _Adder, base: bytes) -> None:
    """Bytes flipped inside the compressed data of members (bad CRC or broken deflate), in
    the stored checksums, and at random places (those may leave the file readable)."""
    with zipfile.ZipFile(io.BytesIO(base)) as zf:
        infos = zf.infolist()
    for info in infos:
        if info.compress_size < 16:
            continue
        start = info.header_offset + 30 + len(info.filename.encode()) + len(info.extra)
        for j, where in enumerate((0.3, 0.85)):
            payload = bytearray(base)
            payload[start + int(info.compress_size * where)] ^= 0x01
            member = info.filename.replace("/", "_")
            add.bytes(f"flip-{member}-{j}.xlsx", bytes(payload), "flipped", ANY)
    for info in infos:  # the CRC in the central directory
        payload = bytearray(base)
        at = _central_entry(base, info.filename)
        if at < 0:
            continue
        payload[at + 16] ^= 0xFF  # crc-32 of the entry
        name = info.filename.replace("/", "_")
        add.bytes(f"crc-{name}.xlsx", bytes(payload), "crc", UNREADABLE, ("повреждён",))
    rng = random.Random(17)
    for k in range(12):
        payload = bytearray(base)
        payload[rng.randrange(len(payload))] ^= 0xFF
        add.bytes(f"flip-random-{k:02d}.xlsx", bytes(payload), "flipped", ANY)


def _central_entry(payload: bytes, name: str) -> int:
    """Offset of the central-directory entry of `name`, or -1."""
    at = payload.find(b"PK\x01\x02")
    while at >= 0:
        n, m, k = struct.unpack("<HHH", payload[at + 28:at + 34])
        if payload[at + 46:at + 46 + n].decode("utf-8", "replace") == name:
            return at
        at = payload.find(b"PK\x01\x02", at + 46 + n + m + k)
    return -1


def _other_formats(add: _Adder, base: bytes, values: Values) -> None:
    docx = _zip({"[Content_Types].xml": b"<Types/>", "word/document.xml": b"<document/>"})
    formats = {
        "empty": b"",
        "text": "Список наставников: Иванов И. И.".encode(),
        "csv": "ID наставника;ФИО\nН-001;Иванов Иван\n".encode("cp1251"),
        "html": "<html><body><table><tr><td>Н-001</td></tr></table></body></html>".encode(),
        "pdf": b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer <<>>\n%%EOF\n",
        "png": b"\x89PNG\r\n\x1a\n" + b"\0" * 64,
        "gzip": gzip.compress(base),
        "xls": b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 2048,
        "encrypted": (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 504
                      + "EncryptedPackage".encode("utf-16-le") + b"\0" * 512),
        "docx": docx,
        "zip-of-text": _zip({"readme.txt": "не книга".encode()}),
        "zip-empty": _zip({}),
        "json": b'{"school": "\xd0\x9e\xd0\x9e-001"}',
        "pk-only": b"PK\x03\x04",
        "nested-zip": _zip({"school.xlsx": base}),
    }
    for kind, payload in formats.items():
        add.bytes(f"format-{kind}.xlsx", payload, "format", UNREADABLE)
    # a real workbook under another format's extension: told to rename it
    add.bytes("format-ods-as.xlsx", ods_bytes(values), "format", UNREADABLE, ("расширение",))
    add.bytes("format-xlsx-as.ods", base, "format", UNREADABLE, ("расширение",))
    add.bytes("format-xlsx-as.xlsm", base, "format", READABLE)


def _table_sheets() -> list[C.Sheet]:
    return [s for s in C.DATA_SHEETS if s.kind is C.SheetKind.TABLE]


def _structure(add: _Adder, values: Values) -> None:
    """Headers renamed, deleted and duplicated; sheets dropped, hidden, renamed; merges."""
    for n, sheet in enumerate(_table_sheets()):
        rows = values[sheet.name]
        v = copy.deepcopy(values)
        v[sheet.name][0] = [f"{h} (изм.)" if h else h for h in rows[0]]
        add.xlsx(f"headers-renamed-{n}.xlsx", v, "headers", READABLE)
        v = copy.deepcopy(values)
        v[sheet.name] = [r[1:] for r in rows]
        add.xlsx(f"header-deleted-{n}.xlsx", v, "headers", READABLE)
        v = copy.deepcopy(values)
        v[sheet.name] = [r + r[:3] for r in rows]
        add.xlsx(f"headers-duplicated-{n}.xlsx", v, "headers", READABLE)
        v = copy.deepcopy(values)
        v[sheet.name] = [r[::-1] for r in rows]
        add.xlsx(f"columns-reversed-{n}.xlsx", v, "headers", READABLE)
        v = copy.deepcopy(values)
        v[sheet.name] = rows[1:]
        add.xlsx(f"header-row-missing-{n}.xlsx", v, "headers", READABLE)
        v = copy.deepcopy(values)
        del v[sheet.name]
        add.xlsx(f"sheet-dropped-{n}.xlsx", v, "sheets", READABLE)
        add.xlsx(f"sheet-hidden-{n}.xlsx", values, "sheets", READABLE, hidden=(sheet.name,))
        v = {(k + "1" if k == sheet.name else k): r for k, r in values.items()}
        add.xlsx(f"sheet-renamed-{n}.xlsx", v, "sheets", READABLE)
        merges = {sheet.name: ["A1:C1", "B2:D4", "A5:A9"]}
        add.xlsx(f"merged-{n}.xlsx", values, "merged", READABLE, merges=merges)
        v = copy.deepcopy(values)
        v[sheet.name] = [[] for _ in range(5)] + rows
        add.xlsx(f"rows-shifted-{n}.xlsx", v, "headers", READABLE)
    data = {s.name for s in C.DATA_SHEETS}
    add.xlsx("only-instructions.xlsx", {k: r for k, r in values.items() if k not in data},
             "sheets", UNREADABLE)
    add.xlsx("no-instructions.xlsx", {k: r for k, r in values.items()
                                      if k != C.INSTRUCTIONS.name}, "sheets", UNREADABLE)
    add.xlsx("all-hidden-but-one.xlsx", values, "sheets", READABLE,
             hidden=tuple(k for k in values if k != C.INSTRUCTIONS.name))
    add.xlsx("empty-sheets.xlsx", {k: ([] if k in data else r) for k, r in values.items()},
             "sheets", READABLE)


#: Junk written into every data cell of a sheet (one file per kind and sheet).
JUNK: dict[str, Callable[[int, int], Any]] = {
    "control": lambda r, c: f"\x01\x02\x07Н-{r:03d}\x1b[31m\x7f",
    "huge": lambda r, c: _BIG_MARK,
    "dates": lambda r, c: ["31.02.2026", "00.00.0000", "99.99.9999", -5, 2958466, 1e308,
                           "2026-13-45", "30 февраля"][(r + c) % 8],
    "fullwidth": lambda r, c: ["１２", "Ｎ-００１", "２０２６-１１",
                               "０１.０９.２０２６"][(r + c) % 4],
    "latin": lambda r, c: ["H-001", "OO-001", "Hаставник", "cтудент"][(r + c) % 4],
    "emoji": lambda r, c: ["👩‍🏫 Наставник 🎓", "🙂", "Н-001🔥", "\U0001F600" * 50][(r + c) % 4],
    "markup": lambda r, c: ["[/bold] [red]x[/]", "<script>alert(1)</script>", "{{ 7*7 }}",
                            "=cmd|' /C calc'!A0", "+1+1", "@SUM(1)", "-2"][(r + c) % 7],
    "types": lambda r, c: [True, False, 0, -1, 1.5, 10**15, ""][(r + c) % 7],
}


def _junk(add: _Adder, values: Values) -> None:
    sheets = [*C.DATA_SHEETS]
    for kind, junk in JUNK.items():
        for n, sheet in enumerate(sheets):
            v = copy.deepcopy(values)
            rows = v[sheet.name]
            first = 0 if sheet.kind is C.SheetKind.FORM else C.HEADER_ROW
            col0 = 1 if sheet.kind is C.SheetKind.FORM else 0
            for r in range(first, len(rows)):
                rows[r] = rows[r][:col0] + [junk(r, c) for c in range(col0, len(rows[r]))]
            add.xlsx(f"junk-{kind}-{n}.xlsx", v, f"junk-{kind}", READABLE)


def _far(add: _Adder, values: Values) -> None:
    """Cells far beyond the grid: refused before reading, naming the sheet and the cell."""
    far = [("XFD1048576", C.MENTORS.name), ("A1048576", C.MENTEES.name),
           ("CW1", C.PAIRS.name), ("A100000", C.MEETINGS.name), ("ZZ5", C.ROADMAP.name),
           ("XFD1", C.SCHOOL.name)]
    for cell, sheet in far:
        add.xlsx(f"far-{cell}.xlsx", values, "far", UNREADABLE,
                 (f"лист «{sheet}»", f"ячейка {cell}"), cells={sheet: {cell: "x"}})
    # the far cell on a sheet the reader would not even load is refused as well
    add.xlsx("far-other-sheet.xlsx", values, "far", UNREADABLE, ("ячейка XFD1048576",),
             cells={C.INSTRUCTIONS.name: {"XFD1048576": 1}})
    add.xlsx("far-at-the-limit.xlsx", values, "far", READABLE, cells={C.MENTORS.name:
                                                                       {"CV99999": "x"}})
    # each sheet within the limits, all of them together far past what a reader can hold
    add.xlsx("far-limit-every-sheet.xlsx", values, "far", UNREADABLE, ("ячейка CV99999",),
             cells={s.name: {"CV99999": "x"} for s in C.DATA_SHEETS})


def _ods(add: _Adder, values: Values) -> None:
    """.ods files; a non-empty row repeated a million times must be refused at once."""
    mentors = C.MENTORS.name
    add.bytes("ods-clean.ods", ods_bytes(values), "ods", frozenset({0}))
    add.bytes("ods-no-trailing.ods", ods_bytes(values, trailing_empty=False), "ods",
              frozenset({0}))
    for times, exits in ((1_000_000, UNREADABLE), (200_000, UNREADABLE), (2_000, READABLE)):
        add.bytes(f"ods-repeated-row-{times}.ods",
                  ods_bytes(values, row_attrs={(mentors, 1): f' table:number-rows-repeated='
                                                             f'"{times}"'}),
                  "ods-repeated", exits, (f"«{mentors}»",) if exits == UNREADABLE else ())
    wide = ('<table:table-row><table:table-cell office:value-type="string" table:number-'
            'columns-repeated="20000"><text:p>x</text:p></table:table-cell></table:table-row>')
    add.bytes("ods-repeated-columns.ods", ods_bytes(values, tails={mentors: wide}),
              "ods-repeated", UNREADABLE, (f"«{mentors}»",))
    gap = ('<table:table-row table:number-rows-repeated="1000000"><table:table-cell/>'
           '</table:table-row><table:table-row><table:table-cell office:value-type="string">'
           "<text:p>x</text:p></table:table-cell></table:table-row>")
    add.bytes("ods-far-row.ods", ods_bytes(values, tails={mentors: gap}), "ods-repeated",
              UNREADABLE, (f"«{mentors}»",))
    far_col = ('<table:table-row><table:table-cell table:number-columns-repeated="16000"/>'
               '<table:table-cell office:value-type="float" office:value="1"><text:p>1</text:p>'
               "</table:table-cell></table:table-row>")
    add.bytes("ods-far-column.ods", ods_bytes(values, tails={mentors: far_col}),
              "ods-repeated", UNREADABLE, (f"«{mentors}»",))
    for times in (1_000_000, 90_000):
        every = {(s, 1): f' table:number-rows-repeated="{times}"' for s in values}
        add.bytes(f"ods-every-sheet-repeated-{times}.ods", ods_bytes(values, row_attrs=every),
                  "ods-repeated", UNREADABLE, ("повторена",))
    clean = ods_bytes(values)
    for k, share in enumerate((0.1, 0.5, 0.9)):
        add.bytes(f"ods-truncated-{k}.ods", clean[:int(len(clean) * share)], "ods",
                  UNREADABLE, ("повреждён",))
    members = _members(clean)
    members["content.xml"] = members["content.xml"][:len(members["content.xml"]) // 2]
    add.bytes("ods-broken-xml.ods", _zip(members), "ods", UNREADABLE, ("повреждён",))
    members = _members(clean)
    members["content.xml"] = (b'<?xml version="1.0"?><!DOCTYPE d [<!ENTITY a "aaaaaaaaaa">'
                              b'<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]><d>&b;</d>')
    add.bytes("ods-entities.ods", _zip(members), "ods", UNREADABLE)
    v = copy.deepcopy(values)
    v[mentors][1] = [f"\x01{x}" if isinstance(x, str) else x for x in v[mentors][1]]
    add.bytes("ods-control-chars.ods", ods_bytes(v), "ods", ANY)


def _misc(add: _Adder, base: bytes, values: Values) -> None:
    """Formulas, a zip bomb, a huge shared-string table, an unknown version, deep XML."""
    add.xlsx("formulas.xlsx", values, "misc", READABLE,
             formulas={C.MENTORS.name: {"B2": "=1/0", "C2": '=HYPERLINK("http://x","y")',
                                        "D2": "=A2&A3"}})
    add.bytes("zip-bomb.xlsx", _with_zeros(base, "xl/media/bomb.bin", 450), "misc",
              UNREADABLE, ("слишком",))
    add.bytes("zip-zeros.xlsx", _with_zeros(base, "xl/media/zeros.bin", 120), "misc", ANY)
    v = copy.deepcopy(values)
    v[C.INSTRUCTIONS.name] = [[C.VERSION_LABEL, "9.9"]]
    add.xlsx("unknown-version.xlsx", v, "misc", UNREADABLE, ("9.9",))
    members = _members(base)
    members["xl/worksheets/sheet4.xml"] = b"<" * 1000
    add.bytes("worksheet-not-xml.xlsx", _zip(members), "misc", UNREADABLE, ("повреждён",))
    members = _members(base)
    members["xl/worksheets/sheet4.xml"] = b"<a>" * 100_000 + b"</a>" * 100_000
    add.bytes("worksheet-deep-xml.xlsx", _zip(members), "misc", ANY)
    members = _members(base)
    members["xl/sharedStrings.xml"] = (
        b'<?xml version="1.0"?><!DOCTYPE s [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;'
        b'&a;&a;&a;&a;&a;&a;"><!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">]><sst>&c;</sst>')
    add.bytes("shared-strings-entities.xlsx", _zip(members), "misc", ANY)
    members = _members(base)
    del members["xl/workbook.xml"]
    members["content.xml"] = b"<nothing/>"
    add.bytes("xlsx-without-workbook.xlsx", _zip(members), "misc", UNREADABLE)
    members = _members(base)
    members["xl/worksheets/sheet4.xml"] = zlib.compress(b"x")  # bytes that are not XML
    add.bytes("worksheet-binary.xlsx", _zip(members), "misc", UNREADABLE)


def _with_zeros(base: bytes, member: str, megabytes: int) -> bytes:
    """`base` with one more member of `megabytes` zero bytes, compressed a thousandfold."""
    out = io.BytesIO(base)
    with zipfile.ZipFile(out, "a", compression=zipfile.ZIP_DEFLATED) as zf:
        with zf.open(member, "w", force_zip64=True) as fh:
            block = bytes(1024 * 1024)
            for _ in range(megabytes):
                fh.write(block)
    return out.getvalue()


if __name__ == "__main__":  # python -m tests.hostile_corpus OUT_DIR
    built = build_corpus(Path(sys.argv[1] if len(sys.argv) > 1 else "hostile-corpus"))
    print(f"{len(built)} files")
