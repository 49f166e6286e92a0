"""What every reader of a roadmap document gives: tables of rows of cleaned cell texts.

Cell texts are cleaned: HTML left in cells (``<p>``, ``<ol>``, ``<li>``, ``<br>``, ``&nbsp;``)
becomes plain text, whitespace is normalized; lines starting with a bullet («·», «•», «-»)
stay on their own line, other wrapped lines are joined with a space; a single leading bullet
of a cell is dropped.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from html import unescape
from html.parser import HTMLParser

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
