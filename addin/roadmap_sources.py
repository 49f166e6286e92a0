"""Read the tables of the document a roadmap arrives in, whatever its format.

``read_tables`` returns every table of a document, in order, as rows of cleaned cell texts:
.docx (python-docx), .pdf (``addin.roadmap_pdf``), .xlsx/.xlsm/.ods
(python-calamine: one table per sheet), .txt (a table copied out of Word), and .doc, .odt,
.rtf, .html converted to .docx by LibreOffice headless where ``soffice`` is installed. Which table
is a roadmap, and which column holds what, is decided by ``addin.roadmap_import``.

Each table keeps the text that stood before it (titles such as «Приложение 2. Дорожная
карта …», used to tell a second roadmap from the continuation of the first).

Cell texts are cleaned: HTML left in cells (``<p>``, ``<ol>``, ``<li>``, ``<br>``, ``&nbsp;``)
becomes plain text, whitespace is normalized; lines starting with a bullet («·», «•», «-»)
stay on their own line, other wrapped lines are joined with a space; a single leading bullet
of a cell is dropped.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from datetime import date, datetime
from html import unescape
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

from addin.roadmap_columns import header_key, header_mapping

#: Read directly.
DIRECT_SUFFIXES = (".txt", ".docx", ".xlsx", ".xlsm", ".ods", ".pdf")
#: Converted to .docx by LibreOffice first (.html: a web page saved from the browser).
LIBREOFFICE_SUFFIXES = (".doc", ".odt", ".rtf", ".html", ".htm")
SUPPORTED_SUFFIXES = DIRECT_SUFFIXES + LIBREOFFICE_SUFFIXES
#: Seconds LibreOffice may take to convert one document.
CONVERT_TIMEOUT = 180

BULLETS = "·•●▪◦"
_LINE_MARKS = BULLETS + "-–—"


class RoadmapImportError(Exception):
    """The roadmap cannot be imported; ``message_ru`` says why, in Russian."""

    def __init__(self, message_ru: str) -> None:
        super().__init__(message_ru)
        self.message_ru = message_ru


@dataclass
class Row:
    """One row of a source table: cell texts (cleaned) and how it was laid out."""

    cells: list[str]
    after_blank: bool = False  # pasted text: a blank line came before this row
    merged_above: frozenset[int] = frozenset()  # columns merged with the row above
    spanning: bool = False  # one cell merged across the whole row
    page_top: bool = False  # first row of a table continued after a page break
    #: columns whose last word reaches the right edge of the cell (PDF): a page break may
    #: have cut it, to go on in the first row of the next page
    open_end: frozenset[int] = frozenset()


@dataclass
class SourceTable:
    """One table of the document."""

    rows: list[Row]
    #: index of the header row in ``rows`` when the reader already knows it
    header: int | None = None
    #: text between the previous table (or the start of the document) and this one
    before: str = ""
    #: where it is, for the user: «таблица 2», «стр. 3», «лист «План»»
    where: str = ""


def read_tables(path: Path) -> list[SourceTable]:
    """Every table of the document at ``path`` (its suffix is one of SUPPORTED_SUFFIXES)."""
    suffix = path.suffix.lower()
    if suffix == ".txt":
        return _txt_tables(_read_text(path))
    if suffix == ".docx":
        return _docx_tables(path, path.name)
    if suffix == ".pdf":
        from addin.roadmap_pdf import pdf_tables

        return pdf_tables(path)
    if suffix in LIBREOFFICE_SUFFIXES:
        return _via_libreoffice(path)
    return _sheet_tables(path)


# --------------------------------------------------------------------------- texts


class _HtmlText(HTMLParser):
    """Plain text of an HTML fragment: paragraphs and breaks are lines, list items bullets."""

    _BREAKS = {"p", "div", "br", "ol", "ul", "tr", "h1", "h2", "h3", "h4", "table"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "li":
            self.parts.append("\n· ")
        elif tag in self._BREAKS:
            self.parts.append("\n")
        elif tag == "td":
            self.parts.append(" ")

    def handle_endtag(self, tag: str) -> None:
        if tag in self._BREAKS and tag != "br" or tag == "li":
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        self.parts.append(data)


_HTML = re.compile(r"</?\s*(?:p|ol|ul|li|br|div|span|b|i|u|strong|em|font|sup|sub|a|h\d|"
                   r"table|tr|td|th|tbody)\b[^<>]*>|&(?:[a-z]{2,8}|#\d{2,5});", re.I)


def strip_html(text: str) -> str:
    """Text without the HTML a web page or an editor left in a cell (unchanged if none)."""
    if not _HTML.search(text):
        return text
    parser = _HtmlText()
    parser.feed(unescape(text) if "&lt;" in text else text)
    parser.close()
    return "".join(parser.parts)


def clean(text: str | None) -> str:
    """Single spaces; bullet lines stay lines, other wrapped lines are joined; a lone bullet
    at the start of a cell is dropped; HTML becomes text."""
    if not text:
        return ""
    out = ""
    for line in strip_html(str(text)).replace("\xa0", " ").splitlines():
        line = " ".join(line.split())
        if line:
            out = join(out, line)
    if out and out[0] in BULLETS and "\n" not in out and out.count(out[0]) == 1:
        out = out[1:].strip()
    return out


def join(a: str, b: str) -> str:
    """Two pieces of one cell: a bullet line stays a line, other text follows after a space."""
    if not a or not b:
        return a or b
    return f"{a}\n{b}" if b[0] in _LINE_MARKS and len(b) > 1 and b[1] == " " else f"{a} {b}"


def _read_text(path: Path) -> str:
    data = path.read_bytes()
    for encoding in ("utf-8-sig", "cp1251"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    return data.decode("utf-8", errors="replace")


# ------------------------------------------------------------------------ pasted text


def _txt_tables(text: str) -> list[SourceTable]:
    """Tables of pasted text: one row per line (each from a header line; tabbed lines without
    a header are tables too), else Word's «one cell per line» paste."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    tables: list[SourceTable] = []
    before: list[str] = []
    block: list[Row] = []

    def flush() -> None:
        if block:
            tables.append(SourceTable(list(block), before="\n".join(before)))
            before.clear()
            block.clear()

    i = 0
    while i < len(lines):
        line = lines[i]
        if "\t" in line and header_mapping(line.split("\t")) is not None:
            flush()
            rows, used = _rows_per_line(lines[i:])
            tables.append(SourceTable(rows, header=0, before="\n".join(before)))
            before.clear()
            i += max(used, 1)
            continue
        if "\t" in line:
            block.append(Row([clean(c) for c in line.split("\t")]))
        elif line.strip():
            flush()
            before.append(line.strip())
        i += 1
    flush()
    if not any(t.header is not None for t in tables):
        table = _cells_per_line(lines)
        if table is not None:
            return [table]
    return tables


def _rows_per_line(lines: list[str]) -> tuple[list[Row], int]:
    """Rows of tab-separated cells, from the header line to the end of the table, and the
    number of lines used.

    A line without a tab ends the table, unless a tabbed line follows: then it continues the
    last cell of the row above (a line break inside a cell).
    """
    rows: list[Row] = []
    blank = False
    for i, line in enumerate(lines):
        if not line.strip():
            blank = True
            continue
        if "\t" not in line:
            following = next((x for x in lines[i + 1:] if x.strip()), "")
            if "\t" not in following or not rows \
                    or header_mapping(following.split("\t")) is not None:
                return rows, i  # the end of the table (or the title of the next one)
            last = rows[-1].cells
            j = max((k for k, c in enumerate(last) if c), default=0)
            last[j] = join(last[j], clean(line))
            continue
        if rows and header_mapping(line.split("\t")) is not None:
            return rows, i  # the header of the next table
        rows.append(Row([clean(c) for c in line.split("\t")], after_blank=blank))
        blank = False
    return rows, len(lines)


def _cells_per_line(lines: list[str]) -> SourceTable | None:
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
    texts = [clean("\n".join(c)) for c in cells]
    for start in range(len(texts)):
        width = 0
        while start + width < len(texts) and header_key(texts[start + width]):
            width += 1
        if width >= 2 and header_mapping(texts[start:start + width]) is not None:
            body = texts[start + width:]
            rows = [Row(texts[start:start + width])]
            rows += [Row(body[k:k + width]) for k in range(0, len(body), width)]
            return SourceTable(rows, header=0)
    return None


def _header_found(cells: list[list[str]]) -> bool:
    texts = [clean("\n".join(c)) for c in cells]
    return any(header_mapping(texts[i:i + n]) is not None
               for i in range(len(texts)) for n in range(2, 9))


# ------------------------------------------------------------------------------ Word


def _docx_tables(path: Path, name: str) -> list[SourceTable]:
    """Every table of the document with the paragraphs before it (nested tables are not
    looked into)."""
    import docx
    from docx.opc.exceptions import PackageNotFoundError
    from docx.table import Table

    try:
        document = docx.Document(str(path))
    except (PackageNotFoundError, KeyError, ValueError) as exc:
        raise RoadmapImportError(
            f"Файл «{name}» не читается как документ Word (.docx). Откройте его в Word "
            "или LibreOffice и сохраните заново.") from exc
    tables: list[SourceTable] = []
    before: list[str] = []
    for block in document.iter_inner_content():
        if not isinstance(block, Table):
            if block.text.strip():
                before.append(block.text.strip())
            continue
        tables.append(SourceTable(_docx_rows(block), before="\n".join(before),
                                  where=f"таблица {len(tables) + 1}"))
        before = []
    return tables


def _docx_rows(table: Any) -> list[Row]:
    rows: list[Row] = []
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
            texts.append(clean(cells[j].text))
        distinct = {id(tc) for tc in tcs}
        rows.append(Row(texts, merged_above=frozenset(merged),
                        spanning=len(tcs) > 1 and len(distinct) == 1))
        above = tcs
    return rows


def find_soffice() -> str | None:
    """LibreOffice's ``soffice``: the SOFFICE variable when set (empty: none), else PATH."""
    exe = os.environ.get("SOFFICE")
    if exe is not None:
        return shutil.which(exe) if exe.strip() else None
    return shutil.which("soffice") or shutil.which("libreoffice")


def _via_libreoffice(path: Path) -> list[SourceTable]:
    """Convert .doc/.odt/.rtf/.html to .docx with LibreOffice headless (own temporary
    profile)."""
    kind = path.suffix.lower()
    exe = find_soffice()
    if exe is None:
        raise RoadmapImportError(
            f"Файл «{path.name}»: чтобы прочитать документ {kind}, нужен LibreOffice "
            "(программа soffice), а он на этом компьютере не найден. Установите LibreOffice "
            "или сохраните документ в формате .docx (в Word или LibreOffice: «Файл» → "
            "«Сохранить как» → «Документ Word (.docx)») и импортируйте его.")
    with tempfile.TemporaryDirectory(prefix="nastavnik-lo-") as tmp:
        profile, outdir = Path(tmp) / "profile", Path(tmp) / "out"
        cmd = [exe, f"-env:UserInstallation={profile.as_uri()}", "--headless", "--norestore",
               # the filter named: a web page opens in Writer/Web, which has no plain «docx»
               "--convert-to", "docx:MS Word 2007 XML", "--outdir", str(outdir),
               str(path.resolve())]
        failed = ""
        try:
            subprocess.run(cmd, capture_output=True, timeout=CONVERT_TIMEOUT,
                           stdin=subprocess.DEVNULL, env=dict(os.environ, HOME=str(profile)))
        except subprocess.TimeoutExpired:
            failed = f" (не уложился в {CONVERT_TIMEOUT} с)"
        except OSError:
            failed = " (soffice не запускается)"
        out = outdir / f"{path.stem}.docx"
        if failed or not out.is_file():  # soffice may exit 0 without writing anything
            raise RoadmapImportError(
                f"Файл «{path.name}»: LibreOffice не смог преобразовать его в .docx{failed}. "
                "Откройте документ в Word или LibreOffice и сохраните его в формате .docx.")
        return _docx_tables(out, path.name)


# ------------------------------------------------------------------------ spreadsheets


def _sheet_tables(path: Path) -> list[SourceTable]:
    """Every sheet of a spreadsheet, in order."""
    import python_calamine as pc

    try:
        book = pc.CalamineWorkbook.from_path(str(path))
        sheets = [(n, book.get_sheet_by_name(n).to_python(skip_empty_area=False))
                  for n in book.sheet_names]
    except Exception as exc:  # calamine raises several types for broken content
        raise RoadmapImportError(
            f"Файл «{path.name}» не читается как книга Excel. Откройте его в Excel или "
            "LibreOffice и сохраните заново.") from exc
    return [SourceTable([Row([_cell_text(v) for v in row]) for row in rows],
                        where=f"лист «{name}»") for name, rows in sheets]


def _cell_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime | date):
        return f"{value:%d.%m.%Y}"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return clean(str(value))
