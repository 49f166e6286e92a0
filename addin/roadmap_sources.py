"""Read the tables of the document a roadmap arrives in, whatever its format.

``read_tables`` returns every table of a document, in order, as rows of cleaned cell texts:
.docx (python-docx), .pdf (pdfplumber: the ruled tables of each page), .xlsx/.xlsm/.ods
(python-calamine: one table per sheet), .txt (a table copied out of Word), and .doc, .odt,
.rtf converted to .docx by LibreOffice headless where ``soffice`` is installed. Which table
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
from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime
from html import unescape
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

from addin.roadmap_columns import NUMBER, header_key, header_mapping

#: Read directly.
DIRECT_SUFFIXES = (".txt", ".docx", ".xlsx", ".xlsm", ".ods", ".pdf")
#: Converted to .docx by LibreOffice first.
LIBREOFFICE_SUFFIXES = (".doc", ".odt", ".rtf")
SUPPORTED_SUFFIXES = DIRECT_SUFFIXES + LIBREOFFICE_SUFFIXES
#: Seconds LibreOffice may take to convert one document.
CONVERT_TIMEOUT = 180

_BULLETS = "·•●▪◦"
_LINE_MARKS = _BULLETS + "-–—"


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
        return _pdf_tables(path)
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
    if out and out[0] in _BULLETS and "\n" not in out and out.count(out[0]) == 1:
        out = out[1:].strip()
    return out


def join(a: str, b: str) -> str:
    """Two pieces of one cell: a bullet line stays a line, other text follows after a space."""
    if not a or not b:
        return a or b
    return f"{a}\n{b}" if b[0] in _LINE_MARKS and len(b) > 1 and b[1] == " " else f"{a} {b}"


def mend(a: str, b: str) -> str:
    """The two parts of a cell that a page break cut where the last word of ``a`` filled its
    line: the word is joined again when it is a known word or ``b`` starts with a short
    ending («а», «ых»); otherwise as ``join``."""
    head, tail = (a.split() or [""])[-1], (b.split() or [""])[0]
    if head[-1:].isalpha() and tail[:1].islower():
        h, t = _core(head), _core(tail)
        if h + t in _KNOWN_WORDS or len(t) <= 2 and t not in _SHORT_WORDS \
                and h not in _KNOWN_WORDS:
            return a + b
    return join(a, b)


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
    """Convert .doc/.odt/.rtf to .docx with LibreOffice headless (own temporary profile)."""
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
               "--convert-to", "docx", "--outdir", str(outdir), str(path.resolve())]
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


# ------------------------------------------------------------------------------- PDF


def _pdf_tables(path: Path) -> list[SourceTable]:
    """The ruled tables of every page, in reading order, with the text between them.

    A line repeated in the margins of several pages (a running header or footer) is not
    taken for a title between tables.
    """
    import pdfplumber

    pieces: list[tuple[str, _PdfTable | None]] = []  # (text before, table) in order
    has_text = False
    try:
        with pdfplumber.open(str(path)) as pdf:
            for page in pdf.pages:
                has_text = has_text or bool(page.chars)
                pieces.extend(_page_pieces(page))
    except Exception as exc:  # pdfminer raises many types for broken or locked files
        raise RoadmapImportError(
            f"Файл «{path.name}» не читается как PDF: он повреждён или защищён паролем. "
            "Откройте его и сохраните заново без пароля.") from exc
    if not has_text:
        raise RoadmapImportError(
            f"В файле «{path.name}» нет текста: это, похоже, скан. Импорт читает PDF с "
            "текстом; распознайте скан (OCR) или возьмите исходный документ Word.")
    counts = Counter(line for text, _ in pieces for line in set(text.splitlines()))
    words = _vocabulary(t for _, t in pieces if t is not None)
    tables: list[SourceTable] = []
    before: list[str] = []
    for text, table in pieces:
        before += [ln for ln in text.splitlines() if ln.strip() and counts[ln] < 2]
        if table is not None:
            tables.append(table.source("\n".join(before), words))
            before = []
    return tables


@dataclass
class _PdfLine:
    text: str
    #: room left at the right of the line
    gap: float
    #: width of the first character (what a line needs to hold one more letter)
    first_width: float
    #: widths of the first and the last word, and the room for text in the cell
    first_word: float = 0.0
    last_word: float = 0.0
    room: float = float("inf")

    @property
    def full(self) -> bool:
        """Whether hardly one more letter (of the size of the last word's) fits."""
        last = self.text.split()[-1]
        return self.last_word > 0 and self.gap < 1.5 * self.last_word / len(last)

    def fills(self, line: _PdfLine) -> bool:
        """Whether this line had to break its last word before ``line``: not even one more
        letter fits, and the word and the start of ``line`` are wider than the whole cell."""
        return self.gap < line.first_width and self.last_word + line.first_word > self.room


@dataclass
class _PdfTable:
    """A table of one PDF page: per row, per cell, the lines of text (None: merged away)."""

    cells: list[list[list[_PdfLine] | None]]
    spanning: list[bool]
    merged: list[frozenset[int]]
    where: str

    def source(self, before: str, words: _Words) -> SourceTable:
        rows = [Row([clean(_pdf_cell_text(c or [], words)) for c in cells], spanning=span,
                    merged_above=merged,
                    open_end=frozenset(j for j, c in enumerate(cells) if c and c[-1].full))
                for cells, span, merged in zip(self.cells, self.spanning, self.merged,
                                               strict=True)]
        return SourceTable(rows, before=before, where=self.where)


def _page_pieces(page: Any) -> list[tuple[str, _PdfTable | None]]:
    """(text above, table) for each table of the page, then (text below, None)."""
    pieces: list[tuple[str, _PdfTable | None]] = []
    top = 0.0
    for table in sorted(page.find_tables(), key=lambda t: t.bbox[1]):
        if not table.rows:
            continue
        pieces.append((_text_between(page, top, table.bbox[1]), _pdf_table(page, table)))
        top = table.bbox[3]
    pieces.append((_text_between(page, top, page.height), None))
    return pieces


def _text_between(page: Any, top: float, bottom: float) -> str:
    if bottom - top < 1:
        return ""
    return page.crop((0, top, page.width, bottom), strict=False).extract_text() or ""


def _pdf_table(page: Any, table: Any) -> _PdfTable:
    """Lines of every cell; merged cells: spanning rows and cells merged with the one above."""
    boxes = [row.cells for row in table.rows]
    width = max(len(r) for r in boxes)
    lefts = [min((r[j][0] for r in boxes if j < len(r) and r[j]), default=0.0)
             for j in range(width)]
    x0, _, x1, _ = table.bbox
    out = _PdfTable([], [], [], f"стр. {page.page_number}")
    for i, box in enumerate(boxes):
        filled = [j for j, b in enumerate(box) if b is not None]
        out.spanning.append(len(box) > 1 and len(filled) == 1
                            and box[filled[0]][0] <= x0 + 1 and box[filled[0]][2] >= x1 - 1)
        out.merged.append(frozenset(j for j, b in enumerate(box) if i and b is None
                                    and not _covered(box, j, lefts)))
        out.cells.append([_cell_lines(page, b) if b is not None else None for b in box])
    return out


def _covered(box: list[Any], j: int, lefts: list[float]) -> bool:
    """Whether cell j lies under a cell to its left that spans columns."""
    return any(b is not None and b[2] > lefts[j] + 1 for b in box[:j])


def _cell_lines(page: Any, box: tuple[float, float, float, float]) -> list[_PdfLine]:
    x0, top, x1, bottom = box

    def inside(obj: dict[str, Any]) -> bool:  # by the middle of a letter, as pdfplumber does
        h, v = (obj["x0"] + obj["x1"]) / 2, (obj["top"] + obj["bottom"]) / 2
        return obj.get("object_type") == "char" and x0 <= h < x1 and top <= v < bottom

    # spaces are gaps between letters: a narrow space (after «-») is wider than 1.5 pt
    lines = page.filter(inside).extract_text_lines(return_chars=True, x_tolerance=1.5)
    if not lines:
        return []
    pad = min(line["x0"] for line in lines) - box[0]  # the cell's inner margin, both sides
    right = box[2] - pad
    out = []
    for line in lines:
        chars, words = line["chars"], line["text"].split()
        first = chars[0]
        pdf_line = _PdfLine(line["text"], right - line["x1"], first["x1"] - first["x0"])
        if len(chars) == sum(map(len, words)):  # letters match the text: words have widths
            pdf_line.first_word = chars[len(words[0]) - 1]["x1"] - first["x0"]
            pdf_line.last_word = chars[-1]["x1"] - chars[-len(words[-1])]["x0"]
            pdf_line.room = right - box[0] - pad
        out.append(pdf_line)
    return out


#: Short words that stand alone after a line break («… наставничества / в колледже»).
_SHORT_WORDS = frozenset("а в и к о с у бы во да до же за из им их ко ли мы на не ни но об он "
                         "от по со то ты".split())
#: Words of roadmap tables a narrow PDF column often breaks.
_KNOWN_WORDS = frozenset(
    "ежедневно еженедельно ежемесячно ежеквартально ежегодно постоянно систематически "
    "регулярно наставничества наставничество наставники наставников ответственные "
    "ответственный ответственных исполнитель реализации мероприятий мероприятия директора "
    "директор заместитель руководитель руководители куратор кураторы педагог педагоги "
    "январь февраль март апрель май июнь июль август сентябрь октябрь ноябрь декабрь "
    "января февраля марта апреля мая июня июля августа сентября октября ноября декабря "
    "течение периода учебного года квартал полугодие".split())


_DATE = re.compile(r"\d{1,2}\.\d{1,2}\.(?:\d{4}|\d{2})(?:г\.?)?[,.;)]?")


def _core(word: str) -> str:
    return word.strip("«»\"'()[].,;:!?").lower()


@dataclass
class _Words:
    """The words of a PDF's tables: to tell a word a narrow column broke from two words."""

    #: seen inside a line (neither first nor last): whole words, never fragments
    inner: set[str]
    #: seen with another word before it on its line (a fragment never is)
    not_first: set[str]
    #: seen with another word after it on its line (a fragment never is)
    not_last: set[str]


def _vocabulary(tables: Any) -> _Words:
    words = _Words(set(_KNOWN_WORDS), set(), set())
    for table in tables:
        for row in table.cells:
            for lines in row:
                for line in lines or []:
                    tokens = [_core(w) for w in line.text.split()]
                    words.inner.update(tokens[1:-1])
                    words.not_first.update(tokens[1:])
                    words.not_last.update(tokens[:-1])
    return words


def _pdf_cell_text(lines: list[_PdfLine], words: _Words) -> str:
    """The text of a cell: wrapped lines joined with a space, a word broken by a narrow
    column joined again, a hyphenated word keeps its hyphen, a bullet line stays a line."""
    text = ""
    for prev, line in zip([None, *lines], lines, strict=False):
        if prev is None:
            text = line.text
        elif line.text[0] in _BULLETS:
            text += "\n" + line.text
        elif re.match(r"[-–—]\w", line.text):
            if prev.fills(line):  # «предприятий» + «-партнёров»: one word
                text += line.text
            else:  # «-сроки»: a dash item whose space was lost
                text += f"\n{line.text[0]} {line.text[1:]}"
        elif prev.text.endswith("-") and line.text[0].islower() or _broken(prev, line, words):
            text += line.text
        elif NUMBER.fullmatch(text + line.text) or _DATE.fullmatch(
                text.rsplit(" ", 1)[-1] + line.text.split()[0]):  # «5.1.» + «1», «15.09.2» + «026»
            text += line.text
        elif prev.text.endswith("<") or line.text.startswith(">"):
            text += line.text  # inside an HTML tag
        else:
            text += " " + line.text
    return re.sub(r"(?<=\w) +(?=[,.;:](?:\s|$))", "", text)  # «организации ,»


def _broken(prev: _PdfLine, line: _PdfLine, words: _Words) -> bool:
    """Whether a narrow column broke a word between ``prev`` and ``line``.

    ``prev`` must fill its line (see ``_PdfLine.fills``). Then: the
    joined word is known: yes; the upper part is a known word, or the lower one a preposition:
    no; the lower part is a short ending («ых», «й»): yes; the lower part occurs elsewhere:
    no; otherwise yes when neither part was seen as a word elsewhere, the lower part is short
    (six letters at most, shorter than the upper one) and the joined word is not longer than
    Russian words usually are (a word that nearly fills a narrow column is common, so two
    words must not be glued).
    """
    head, tail = prev.text.split()[-1], line.text.split()[0]
    if not (prev.fills(line) and head[-1].isalpha() and tail[0].islower()):
        return False
    h, t = _core(head), _core(tail)
    if h + t in words.inner:
        return True
    if h in words.inner or t in _SHORT_WORDS:
        return False
    if len(t) <= 2:
        return True
    if t in words.not_first or h in words.not_last:
        return False
    return len(t) <= min(6, len(h) - 1) and len(h + t) <= 20


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
