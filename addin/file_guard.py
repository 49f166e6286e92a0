"""The guard every workbook file passes before a reader touches it.

A reader (python-calamine, openpyxl) allocates the whole grid up to the farthest filled cell and
trusts the zip: one cell at XFD1048576, an .ods row repeated a million times or one flipped byte
would cost gigabytes or end in a zip/XML exception. `check_file` reads every member of the zip
once (so a bad checksum is found here), streams each worksheet to find cells past the contract's
limits, and raises a typed `WorkbookError` with a Russian message naming the sheet and the cell.
"""

from __future__ import annotations

import re
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from addin.errors import (
    NotAWorkbookError,
    PasswordProtectedError,
    WorkbookNotFoundError,
    WorkbookTooLargeError,
    corrupt,
)

#: Limits that keep one file from exhausting memory (see the module docstring).
MAX_UNPACKED_BYTES = 400 * 1024 * 1024
MAX_ROWS = 99_999
MAX_COLUMNS = 100  # column CV; the widest sheet of the contract has 13
#: Cells of all sheets' grids together (rows x columns up to the farthest cell): one sheet
#: reaching both limits, and room for the others. A school of 20,000 rows of 13 columns has
#: 260,000; a reader spends about 50 bytes on each.
MAX_GRID_CELLS = 12_000_000
#: Filled cells an .ods may spell out through repetition (a row of 13 cells repeated 20,000
#: times is 260,000; the reader keeps every repeated cell in memory).
MAX_REPEATED_CELLS = 2_000_000

TOO_LARGE_RU = ("В книге слишком много строк или столбцов (заполнена ячейка далеко за пределами "
                "таблицы, или файл больше {mb} МБ в распакованном виде). Удалите лишние строки и "
                "столбцы, сохраните книгу и повторите.")
FAR_CELL_RU = ("В книге слишком много строк или столбцов: заполнена ячейка далеко за пределами "
               "таблицы — {where}. Строки книги школы — не дальше {rows}-й, столбцы — не "
               "дальше CV. Очистите эту ячейку (выделите лишние строки и столбцы и удалите их), "
               "сохраните книгу и повторите.")
GRID_RU = ("В книге слишком много строк или столбцов: вместе листы занимают больше {cells} "
           "ячеек; дальше всего заполнены: {where}. Удалите лишние строки и столбцы, "
           "сохраните книгу и повторите.")
REPEATED_RU = ("В книге слишком много заполненных строк: {where} повторена {times} раз (так "
               "бывает, если значение протянули до конца столбца). Удалите лишние строки, "
               "сохраните книгу и повторите.")

_ROWS_RU = f"{MAX_ROWS:,}".replace(",", "\u00a0")
_CELLS_RU = f"{MAX_GRID_CELLS:,}".replace(",", "\u00a0")
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_ENCRYPTED_MARK = "EncryptedPackage".encode("utf-16-le")
_CHUNK = 1024 * 1024
#: Exceptions a damaged zip or XML raises while it is read.
_READ_ERRORS = (zipfile.BadZipFile, zipfile.LargeZipFile, zlib.error, EOFError, OSError,
                ValueError, NotImplementedError, RuntimeError, KeyError)


def check_file(path: Path) -> None:
    """Raise a typed WorkbookError unless the file is a sound spreadsheet within the limits."""
    name = path.name
    if not path.is_file():
        raise WorkbookNotFoundError(f"Файл не найден: {path}", source=name)
    with path.open("rb") as fh:
        head = fh.read(8)
    if head.startswith(_OLE_MAGIC):
        if _ENCRYPTED_MARK in path.read_bytes():
            raise PasswordProtectedError(
                "Файл защищён паролем. Снимите пароль (Файл → Сведения → Защита книги) и "
                "сохраните книгу заново.", source=name)
        raise NotAWorkbookError(
            "Это файл старого формата Excel 97–2003 (.xls). Сохраните его как «Книга Excel "
            "(.xlsx)» и проверьте снова.", source=name)
    if not head.startswith(b"PK"):
        raise NotAWorkbookError(
            "Файл не является книгой Excel или LibreOffice. Нужен файл .xlsx, .xlsm или .ods.",
            source=name)
    try:
        with zipfile.ZipFile(path) as zf:
            _check_kind(zf, name, path.suffix.lower())
            _check_members(zf, name)
    except _READ_ERRORS as exc:
        raise corrupt(exc, name) from exc


def _check_kind(zf: zipfile.ZipFile, name: str, suffix: str) -> None:
    names = set(zf.namelist())
    if "xl/workbook.xml" not in names and "content.xml" not in names:
        kind = "документ Word" if "word/document.xml" in names else "не книга Excel"
        raise NotAWorkbookError(
            f"Это {kind}, а не книга Excel или LibreOffice. Нужен файл .xlsx, .xlsm или .ods "
            "со стандартными листами.", source=name)
    # the reader picks its format by the extension: say so instead of «повреждён»
    is_ods = "xl/workbook.xml" not in names
    if is_ods != (suffix == ".ods") and suffix in (".xlsx", ".xlsm", ".ods"):
        real = ".ods (LibreOffice)" if is_ods else ".xlsx (Excel)"
        raise NotAWorkbookError(
            f"Это книга {real}, но у файла расширение {suffix}. Переименуйте файл, указав "
            f"расширение {real.split()[0]}, или сохраните книгу в нужном формате и повторите.",
            source=name)


def _check_members(zf: zipfile.ZipFile, name: str, exact: bool = False) -> None:
    """Read every member once: the zip checks each CRC; sheets are scanned on the way.

    Small sheets are measured by a bound (`_scan_sheet`); when the bounds pass the grid
    budget, the sheets are measured exactly before the book is refused."""
    infos = zf.infolist()
    if sum(i.file_size for i in infos) > MAX_UNPACKED_BYTES:
        raise WorkbookTooLargeError(TOO_LARGE_RU.format(mb=MAX_UNPACKED_BYTES >> 20),
                                    source=name)
    grid, widest = 0, ("", _Extent())
    for info in infos:
        if info.is_dir():
            continue
        with zf.open(info) as fh:
            member = info.filename
            if member == "content.xml":
                _check_ods(fh, name)
            elif member.lower().endswith(".xml"):  # any part may be a sheet (rels decide)
                extent = _scan_sheet(fh, exact)
                if extent.far is not None:
                    raise WorkbookTooLargeError(FAR_CELL_RU.format(
                        where=_where(_xlsx_sheet_name(zf, member), extent.far),
                        rows=_ROWS_RU), source=name)
                grid += extent.cells
                widest = max(widest, (member, extent), key=lambda m: m[1].cells)
            _drain(fh)
    if grid > MAX_GRID_CELLS:
        if not exact:
            _check_members(zf, name, exact=True)
            return
        member, extent = widest
        raise WorkbookTooLargeError(GRID_RU.format(cells=_CELLS_RU, where=_where(
            _xlsx_sheet_name(zf, member), extent.corner)), source=name)


def _drain(fh: IO[bytes]) -> None:
    """Read to the end (the zip checks the CRC at the end of a member)."""
    while fh.read(_CHUNK):
        pass


def _where(sheet: str | None, cell: str) -> str:
    what = f"ячейка {cell}" if cell[0].isalpha() else f"строка {cell}"
    return f"лист «{sheet}», {what}" if sheet else what


# -- .xlsx: cells past the limits --------------------------------------------------------------
#: Cells and rows of a worksheet; a row number of 6+ digits or a column of 2+ letters may be
#: far (AA..CV are allowed, checked after), so only chunks holding such a reference are parsed.
_CELL = re.compile(rb'<(?:[A-Za-z_][\w.-]*:)?(row|c)\b[^>]*?\br="([A-Z]*)(\d+)"')
_FAR_HINT = re.compile(rb'r="(?:[A-Z]{2,}\d|[A-Z]*\d{6})')
_ROW = re.compile(rb'<(?:[A-Za-z_][\w.-]*:)?row\b[^>]*?\br="(\d+)"')
#: A reference that needs a look: a column of 2+ letters, or a row of 4+ digits. A chunk
#: without one has rows below 1,000 and columns within Z; without a 5-digit row, below
#: 10,000: bounded by a search or two, not parsed row by row (`_row_bound`).
_QUICK_HINT = re.compile(rb'r="(?:[A-Z]{2,}\d|[A-Z]*\d{4})')
_FIVE_DIGITS = re.compile(rb'r="[A-Z]*\d{5}')


@dataclass
class _Extent:
    """How far a sheet's cells reach: the grid a reader allocates for it."""

    rows: int = 0
    cols: int = 0
    #: The first cell (e.g. «XFD1048576») past the limits, else such a row («1048576»).
    far: str | None = None

    @property
    def cells(self) -> int:
        return self.rows * self.cols

    @property
    def corner(self) -> str:
        return f"{_column_letters(self.cols)}{self.rows}"


def _scan_sheet(stream: IO[bytes], exact: bool = False) -> _Extent:
    """The extent of a worksheet XML, read in chunks (a huge sheet costs no memory).

    A chunk without a two-letter column or a 6-digit row is bounded (`_row_bound` x Z) unless
    `exact`; otherwise rows are counted from every row tag, and columns are parsed only in
    chunks that hold a two-letter column or a 6-digit row, else taken as at most Z (26):
    precise enough for the grid budget, and cheap on the path every check takes."""
    ext, tail = _Extent(), b""
    while chunk := stream.read(4 * _CHUNK):
        text = tail + chunk
        tail = text[-256:]
        if not exact and (bound := _row_bound(text)) is not None:
            if b"row" in text:
                ext.rows = max(ext.rows, bound)
            if b"<c " in text or b":c " in text:
                ext.cols = max(ext.cols, 26)
            continue
        for m in _ROW.finditer(text):
            ext.rows = max(ext.rows, int(m.group(1)))
        if _FAR_HINT.search(text):
            for m in _CELL.finditer(text):
                kind, letters, digits = m.groups()
                row, col = int(digits), _column_number(letters)
                ext.rows, ext.cols = max(ext.rows, row), max(ext.cols, col)
                if row > MAX_ROWS or col > MAX_COLUMNS:
                    if kind == b"c":  # a cell names the place best: done
                        ext.far = (letters + digits).decode("ascii")
                        return ext
                    ext.far = ext.far or digits.decode("ascii")
        elif b"<c " in text or b":c " in text:
            ext.cols = max(ext.cols, 26)
    return ext


def _row_bound(text: bytes) -> int | None:
    """Rows of a chunk are at most this (its columns within Z); None: parse it (a column
    of two letters or a row of six digits)."""
    if _QUICK_HINT.search(text) is None:
        return 999
    if _FAR_HINT.search(text) is not None:
        return None
    return 9_999 if _FIVE_DIGITS.search(text) is None else MAX_ROWS


def _column_number(letters: bytes | str) -> int:
    n = 0
    for ch in letters.encode("ascii") if isinstance(letters, str) else letters:
        n = n * 26 + ch - 64
    return n


def _column_letters(number: int) -> str:
    out = ""
    while number > 0:
        number, rem = divmod(number - 1, 26)
        out = chr(65 + rem) + out
    return out


def _xlsx_sheet_name(zf: zipfile.ZipFile, member: str) -> str | None:
    """The name a user sees of worksheet `member` (xl/workbook.xml through its rels)."""
    from defusedxml import ElementTree as ET

    try:
        rels = ET.fromstring(zf.read("xl/_rels/workbook.xml.rels"))
        target_of = {r.get("Id"): (r.get("Target") or "").lstrip("/") for r in rels}
        book = ET.fromstring(zf.read("xl/workbook.xml"))
    except Exception:  # noqa: BLE001 (the name is a courtesy; the cell is still named)
        return None
    wanted = member.removeprefix("xl/")
    for el in book.iter():
        if el.tag.endswith("}sheet") or el.tag == "sheet":
            rid = next((v for k, v in el.attrib.items() if k.endswith("}id")), None)
            target = target_of.get(rid, "")
            if target in (wanted, member):
                return el.get("name")
    return None


# -- .ods: repeated rows and columns -------------------------------------------------------------
_TABLE_NS = rb"urn:oasis:names:tc:opendocument:xmlns:table:1.0"
_PREFIX = re.compile(rb'xmlns:([A-Za-z_][\w.-]*)="' + re.escape(_TABLE_NS) + rb'"')
_NAME = re.compile(rb'\bname="([^"]*)"')
_ROWS_REPEATED = re.compile(rb'number-rows-repeated="(\d+)"')
_COLUMNS_REPEATED = re.compile(rb'number-columns-repeated="(\d+)"')
_FILLED = b'value-type="'


class _OdsScan:
    """Counts the rows and columns of content.xml the way a reader expands them, one row at a
    time with byte searches (a 20,000-row sheet costs a fraction of reading it). Only filled
    cells (with a value type) count: LibreOffice writes a million repeated EMPTY rows and
    16,000 empty columns at the end of every sheet, which readers skip."""

    def __init__(self, source: str, prefix: bytes) -> None:
        self.source = source
        self.token = re.compile(rb"<(/?)" + re.escape(prefix) + rb":(table-row|table)"
                                rb"(?=[\s/>])([^>]*)>")
        self.row_end = b"</" + prefix + b":table-row>"
        self.cell_tags = (b"<" + prefix + b":table-cell", b"<" + prefix + b":covered-table-cell")
        self.sheet = ""
        self.row = 0  # rows of the sheet so far
        self.last_row = 0  # last filled row of the sheet
        self.max_col = 0  # farthest filled column of the sheet
        self.grid = 0  # cells of the grids of the sheets before this one
        self.repeated_cells = 0

    def feed(self, buf: bytes) -> int:
        """Handle every complete row in `buf`; return where the unhandled rest starts."""
        pos = 0
        while m := self.token.search(buf, pos):
            closing, kind, attrs = m.groups()
            if kind == b"table":
                if closing or attrs.endswith(b"/"):
                    self.end_table()
                if not closing:
                    name = _NAME.search(attrs)
                    self.sheet = name.group(1).decode("utf-8", "replace") if name else ""
                    self.row = self.last_row = self.max_col = 0
            elif not closing:
                if attrs.endswith(b"/"):
                    content, end = b"", m.end()
                else:
                    at = buf.find(self.row_end, m.end())
                    if at < 0:
                        return m.start()  # the row goes on in the next chunk
                    content, end = buf[m.end():at], at + len(self.row_end)
                repeat = _ROWS_REPEATED.search(attrs)
                self.add_row(int(repeat.group(1)) if repeat else 1, self.filled_width(content))
                pos = end
                continue
            pos = m.end()
        return max(pos, len(buf) - 4096)

    def filled_width(self, content: bytes) -> int:
        """Columns up to the end of the row's last filled cell (0 for an empty row)."""
        last = content.rfind(_FILLED)
        if last < 0:
            return 0
        head = content[:content.find(b">", last) + 1]
        width = head.count(self.cell_tags[0]) + head.count(self.cell_tags[1])
        if b"columns-repeated" in head:
            width += sum(max(int(n), 1) - 1 for n in _COLUMNS_REPEATED.findall(head))
        return width

    def add_row(self, repeat: int, width: int) -> None:
        first = self.row + 1
        self.row += max(repeat, 1)
        if not width:
            return
        if width > MAX_COLUMNS:
            self.refuse_far(_column_letters(width), first)
        self.repeated_cells += width * repeat
        if repeat > 1 and (self.row > MAX_ROWS or self.repeated_cells > MAX_REPEATED_CELLS):
            raise WorkbookTooLargeError(REPEATED_RU.format(
                where=f"на листе «{self.sheet}» строка {first}", times=repeat),
                source=self.source)
        if self.row > MAX_ROWS:
            self.refuse_far(_column_letters(width), self.row)
        self.last_row, self.max_col = self.row, max(self.max_col, width)
        if self.grid + self.last_row * self.max_col > MAX_GRID_CELLS:
            raise WorkbookTooLargeError(GRID_RU.format(cells=_CELLS_RU, where=_where(
                self.sheet, f"{_column_letters(self.max_col)}{self.last_row}")),
                source=self.source)

    def end_table(self) -> None:
        self.grid += self.last_row * self.max_col
        self.last_row = self.max_col = 0

    def refuse_far(self, letters: str, row: int) -> None:
        raise WorkbookTooLargeError(FAR_CELL_RU.format(
            where=_where(self.sheet, f"{letters}{row}"), rows=_ROWS_RU), source=self.source)


def _check_ods(stream: IO[bytes], source: str) -> None:
    """Refuse an .ods whose rows or columns, as repeated, reach past the limits."""
    scan, buf = None, b""
    for chunk in _chunks(stream):
        buf += chunk
        if scan is None:
            prefix = _PREFIX.search(buf)
            scan = _OdsScan(source, prefix.group(1) if prefix else b"table")
        buf = buf[scan.feed(buf):]


def _chunks(stream: IO[bytes]) -> Iterator[bytes]:
    while chunk := stream.read(_CHUNK):
        yield chunk
