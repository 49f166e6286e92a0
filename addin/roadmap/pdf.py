"""The tables of a roadmap published as PDF (pdfplumber: the ruled tables of each page).

A PDF keeps no cells' text, only letters placed on the page: the text of a cell is rebuilt
from its lines. A line break is where the text wrapped, so lines are joined with a space,
except where the column was too narrow for a word and broke it in two («наставничест» /
«ва»): told by the geometry (the line is full, the word wider than the cell) and by the
document's own words (see ``_broken``). A table continued on the next page is a table of that
page; ``addin.roadmap.importer`` puts the pieces together (``mend`` joins a word that a page
break cut).
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from addin.roadmap.columns import NUMBER
from addin.roadmap.table import BULLETS, RoadmapImportError, Row, SourceTable, clean, join


def pdf_tables(path: Path) -> list[SourceTable]:
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
        elif line.text[0] in BULLETS:
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
