"""Worksheet XML without a full parse: the elements after <sheetData> (where conditional formats,
hyperlinks and the comments drawing live) are edited while the cells stay untouched bytes; the
header row is read by streaming; output sheets get their rows (`addin.xlsx.rows`) spliced in.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from xml.sax.saxutils import quoteattr

from lxml import etree

from addin.xlsx.package import NS_MAIN, Package, column_letter, local, parse, q, serialize

#: Children of <worksheet> in the order the schema (CT_Worksheet) requires.
ORDER = ("sheetPr", "dimension", "sheetViews", "sheetFormatPr", "cols", "sheetData",
         "sheetCalcPr", "sheetProtection", "protectedRanges", "scenarios", "autoFilter",
         "sortState", "dataConsolidate", "customSheetViews", "mergeCells", "phoneticPr",
         "conditionalFormatting", "dataValidations", "hyperlinks", "printOptions",
         "pageMargins", "pageSetup", "headerFooter", "rowBreaks", "colBreaks",
         "customProperties", "cellWatches", "ignoredErrors", "smartTags", "drawing",
         "legacyDrawing", "legacyDrawingHF", "drawingHF", "picture", "oleObjects", "controls",
         "webPublishItems", "tableParts", "extLst")
_RANK = {name: i for i, name in enumerate(ORDER)}

_ROOT = re.compile(rb"<([A-Za-z_][\w.-]*:|)worksheet\b[^>]*>")
#: Characters XML 1.0 cannot carry (a cell read by calamine may hold them).
_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


@dataclass
class SheetTail:
    """A worksheet split at the end of its cells: `head` stays bytes, `root` holds the rest."""

    head: bytes
    root: etree._Element

    @classmethod
    def split(cls, data: bytes) -> SheetTail:
        m = _ROOT.search(data)
        if m is None:
            raise ValueError("not a worksheet part")
        prefix = m.group(1)
        end = data.rfind(b"</" + prefix + b"sheetData>")
        if end >= 0:
            cut = end + len(prefix) + len(b"</sheetData>")
        else:
            empty = re.compile(rb"<" + re.escape(prefix) + rb"sheetData\s*/>").search(data)
            cut = empty.end() if empty else m.end()
        return cls(data[:cut], parse(data[m.start():m.end()] + data[cut:]))

    def join(self) -> bytes:
        """The worksheet part again: the original head and the edited rest."""
        text = etree.tostring(self.root)
        if text.endswith(b"/>") and len(self.root) == 0:  # serialised as an empty element
            prefix = self.root.prefix
            return self.head + (f"</{prefix}:worksheet>" if prefix else "</worksheet>").encode()
        return self.head + text[text.index(b">") + 1:]  # '>' in attributes is escaped

    def find_all(self, name: str) -> list[etree._Element]:
        return [ch for ch in self.root if local(ch) == name]

    def insert(self, el: etree._Element) -> None:
        """Insert a child where the schema wants it (after children of the same kind)."""
        insert_in_order(self.root, el)


def insert_in_order(root: etree._Element, el: etree._Element) -> None:
    """Insert `el` before the first child that the schema orders after it."""
    rank = _RANK[local(el)]
    for ch in root:
        if _rank_of(ch) > rank:
            ch.addprevious(el)
            return
    root.append(el)


def _rank_of(ch: etree._Element) -> int:
    """Schema position of a child; an mc:AlternateContent (Excel wraps form controls in one)
    counts as the element it offers."""
    if local(ch) == "AlternateContent":
        offered = [g for choice in ch for g in choice if isinstance(g.tag, str)]
        return _RANK.get(local(offered[0]), -1) if offered else -1
    return _RANK.get(local(ch), -1)


def element(xml: str) -> etree._Element:
    """An element of the spreadsheet namespace from XML text (its tag without a prefix)."""
    tag_end = re.match(r"<\w+", xml).end()
    return parse((xml[:tag_end] + f' xmlns="{NS_MAIN}"' + xml[tag_end:]).encode())


# -- reading the header row --------------------------------------------------------------------
class SharedStrings:
    """The shared-string table, parsed only as far as the strings asked for."""

    def __init__(self, pkg: Package, part: str | None) -> None:
        self._items: list[str] = []
        self._events = None
        if part is not None:
            self._events = etree.iterparse(pkg.open(part), tag=q("si"), resolve_entities=False,
                                           no_network=True, huge_tree=True)

    def get(self, index: int) -> str:
        while index >= len(self._items) and self._events is not None:
            try:
                _, si = next(self._events)
            except StopIteration:
                self._events = None
                break
            self._items.append(_text_of(si))
            si.clear()
        return self._items[index] if index < len(self._items) else ""


def _text_of(el: etree._Element) -> str:
    """Plain text of a rich-text holder (<si>, <is>): its <t> elements, not phonetic runs."""
    return "".join(t.text or "" for t in el.iter(q("t"))
                   if local(t.getparent()) != "rPh")


def header_row(pkg: Package, part: str, strings: SharedStrings, row: int = 1) -> dict[str, str]:
    """Column letter -> text of the cells of one row near the top, read by streaming."""
    out: dict[str, str] = {}
    with pkg.open(part) as stream:
        for position, (_, r) in enumerate(etree.iterparse(
                stream, tag=q("row"), resolve_entities=False, no_network=True, huge_tree=True)):
            number = int(r.get("r") or position + 1)
            if number > row:
                break
            if number == row:
                for i, c in enumerate(r.iter(q("c")), start=1):
                    ref = c.get("r") or f"{column_letter(i)}{row}"
                    out[ref.rstrip("0123456789")] = _cell_text(c, strings)
                break
            r.clear()
    return out


def _cell_text(c: etree._Element, strings: SharedStrings) -> str:
    kind = c.get("t")
    if kind == "inlineStr":
        inline = c.find(q("is"))
        return "" if inline is None else _text_of(inline)
    v = c.find(q("v"))
    if v is None or v.text is None:
        return ""
    return strings.get(int(v.text)) if kind == "s" else v.text


# -- writing an output sheet -------------------------------------------------------------------
@dataclass(frozen=True)
class Column:
    header: str
    width: float


def clean_text(text: str) -> str:
    """Text XML can carry."""
    return _ILLEGAL.sub("", text)


def new_sheet_xml(columns: Sequence[Column]) -> bytes:
    """An empty worksheet with column widths and the header row frozen."""
    cols = "".join(f'<col min="{j}" max="{j}" width="{c.width}" customWidth="1"/>'
                   for j, c in enumerate(columns, start=1))
    return (f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            f'<worksheet xmlns="{NS_MAIN}"><sheetViews><sheetView workbookViewId="0">'
            f'<pane ySplit="1" topLeftCell="A2" activePane="bottomLeft" state="frozen"/>'
            f'</sheetView></sheetViews><sheetFormatPr defaultRowHeight="15"/>'
            f'<cols>{cols}</cols><sheetData/>'
            f'<pageMargins left="0.7" right="0.7" top="0.75" bottom="0.75" header="0.3" '
            f'footer="0.3"/></worksheet>').encode()


_ROWS_MARK = "NASTAVNIK-ROWS-7f3a"
_LINKS_MARK = "NASTAVNIK-LINKS-7f3a"


def output_sheet(root: etree._Element, header: str, body: str, links: str, last_column: int,
                 n_rows: int) -> bytes:
    """An output sheet's part with new data: its header row is kept when it has values,
    otherwise `header` (row XML) is written; then the `body` rows and the `links`
    (<hyperlink> XML). Old rows and links are dropped.

    The new rows are spliced into the serialised text: moving thousands of elements
    between lxml trees costs seconds, and old ones are deleted by slice for the same reason."""
    data = root.find(q("sheetData"))
    if data is None:
        data = element("<sheetData/>")
        insert_in_order(root, data)
    first = data[0] if len(data) else None
    keep = (first is not None and first.get("r") in ("1", None)
            and any(c.find(q("v")) is not None or c.find(q("is")) is not None
                    for c in first.iter(q("c"))))
    del data[1 if keep else 0:]
    if keep:
        first.tail = _ROWS_MARK
    else:
        data.text = _ROWS_MARK
    for old in root.findall(q("hyperlinks")):
        del old[:]
        root.remove(old)
    if links:
        holder = element("<hyperlinks/>")
        holder.text = _LINKS_MARK
        insert_in_order(root, holder)
    dim = root.find(q("dimension"))
    if dim is not None:
        dim.set("ref", f"A1:{column_letter(last_column)}{max(n_rows, 1)}")
    text = serialize(root).decode("utf-8")
    if data.prefix is not None or data.nsmap.get(None) != NS_MAIN:  # a prefixed main namespace
        declare = f'<row xmlns="{NS_MAIN}" '
        header, body = header.replace("<row ", declare), body.replace("<row ", declare)
        links = links.replace("<hyperlink ", f'<hyperlink xmlns="{NS_MAIN}" ')
    text = text.replace(_ROWS_MARK, ("" if keep else header) + body, 1)
    return text.replace(_LINKS_MARK, links, 1).encode("utf-8")


def hyperlinks_xml(links: Sequence[tuple[str, str, str]]) -> str:
    """Internal links (ref, location, display) as <hyperlink> elements.

    Links carry a `location` and no relationship: LibreOffice rewrites a '#Sheet!A1' target
    into a link to the file itself."""
    return "".join(f"<hyperlink ref={quoteattr(ref)} location={quoteattr(clean_text(loc))} "
                   f"display={quoteattr(clean_text(text))}/>" for ref, loc, text in links)
