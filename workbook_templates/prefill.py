"""Write a few text cells into a workbook that is already built, without building it again.

The server keeps each template built once per contract version and puts a school's code, name,
type, municipality and period (and, in a server-bound .xlsm, the server address and the button
token) into its copy per download. Only the sheets named are parsed and rewritten; every other
part of the package (the VBA project, drawings, validations, styles) is copied byte for byte.

* .xlsx/.xlsm: the cell becomes an inline string (``t="inlineStr"``), so the shared strings
  part is left alone; the cell keeps its style (text format, validation, fill).
* .ods: the cell becomes a string cell with one paragraph; repeated rows and cells
  (``number-rows-repeated``, ``number-columns-repeated``) are split around it.

Cells are given as ``{sheet name: {(row, column): text}}``, 1-based, as in Excel.
"""

from __future__ import annotations

import io
import posixpath
import re
import zipfile
from collections.abc import Mapping

from lxml import etree

Cells = Mapping[str, Mapping[tuple[int, int], str]]

NS_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
NS_R = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
NS_PKG = "http://schemas.openxmlformats.org/package/2006/relationships"
NS_XML = "http://www.w3.org/XML/1998/namespace"
NS_TABLE = "urn:oasis:names:tc:opendocument:xmlns:table:1.0"
NS_OFFICE = "urn:oasis:names:tc:opendocument:xmlns:office:1.0"
NS_TEXT = "urn:oasis:names:tc:opendocument:xmlns:text:1.0"
NS_CALCEXT = "urn:org:documentfoundation:names:experimental:calc:xmlns:calcext:1.0"
_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=True)
#: Characters XML 1.0 cannot hold (a registry cell could carry one).
_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f]")


class PrefillError(ValueError):
    """The workbook has no sheet of that name (not the template it should be)."""


def fill_cells(book: bytes, cells: Cells) -> bytes:
    """The .xlsx/.xlsm `book` with text written into `cells`."""
    parts = _read_zip(book)
    for sheet, values in cells.items():
        part = _xlsx_sheet_part(parts, sheet)
        root = etree.fromstring(parts[part][1], _PARSER)
        data = root.find(f"{{{NS_MAIN}}}sheetData")
        if data is None:
            raise PrefillError(f"sheet {sheet!r} has no sheetData")
        for (row, col), text in sorted(values.items()):
            _xlsx_put(data, row, col, text)
        parts[part] = (parts[part][0], etree.tostring(root, xml_declaration=True,
                                                      encoding="UTF-8", standalone=True))
    return _write_zip(parts)


def fill_ods_cells(book: bytes, cells: Cells) -> bytes:
    """The .ods `book` with text written into `cells`."""
    parts = _read_zip(book)
    root = etree.fromstring(parts["content.xml"][1], _PARSER)
    tables = {t.get(f"{{{NS_TABLE}}}name"): t for t in root.iter(f"{{{NS_TABLE}}}table")}
    for sheet, values in cells.items():
        table = tables.get(sheet)
        if table is None:
            raise PrefillError(f"no sheet {sheet!r}")
        for (row, col), text in sorted(values.items()):
            _ods_put(table, row, col, text)
    parts["content.xml"] = (parts["content.xml"][0],
                            etree.tostring(root, xml_declaration=True, encoding="UTF-8"))
    return _write_zip(parts)


# ------------------------------------------------------------------------ the zip package
def _read_zip(book: bytes) -> dict[str, tuple[zipfile.ZipInfo, bytes]]:
    with zipfile.ZipFile(io.BytesIO(book)) as zf:
        return {i.filename: (i, zf.read(i)) for i in zf.infolist()}


def _write_zip(parts: dict[str, tuple[zipfile.ZipInfo, bytes]]) -> bytes:
    """The parts in their order with their own compression (an .ods keeps its stored
    «mimetype» first, as the format requires)."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as zf:
        for info, data in parts.values():
            zf.writestr(info, data, compress_type=info.compress_type)
    return out.getvalue()


def _xlsx_sheet_part(parts: dict[str, tuple[zipfile.ZipInfo, bytes]], sheet: str) -> str:
    workbook = etree.fromstring(parts["xl/workbook.xml"][1], _PARSER)
    rid = next((s.get(f"{{{NS_R}}}id") for s in workbook.iter(f"{{{NS_MAIN}}}sheet")
                if s.get("name") == sheet), None)
    if rid is None:
        raise PrefillError(f"no sheet {sheet!r}")
    rels = etree.fromstring(parts["xl/_rels/workbook.xml.rels"][1], _PARSER)
    target = next(r.get("Target") for r in rels.iter(f"{{{NS_PKG}}}Relationship")
                  if r.get("Id") == rid)
    return target.lstrip("/") if target.startswith("/") else posixpath.normpath(
        posixpath.join("xl", target))


def _letters(col: int) -> str:
    letters = ""
    while col:
        col, rem = divmod(col - 1, 26)
        letters = chr(65 + rem) + letters
    return letters


def _ref_col(ref: str) -> int:
    n = 0
    for ch in re.match(r"[A-Z]+", ref).group(0):
        n = n * 26 + ord(ch) - 64
    return n


def _xlsx_put(data: etree._Element, row: int, col: int, text: str) -> None:
    q = f"{{{NS_MAIN}}}"
    rows = data.findall(q + "row")
    row_el = next((r for r in rows if int(r.get("r", 0)) == row), None)
    if row_el is None:
        row_el = etree.Element(q + "row", r=str(row))
        later = next((r for r in rows if int(r.get("r", 0)) > row), None)
        if later is None:
            data.append(row_el)
        else:
            later.addprevious(row_el)
    ref = f"{_letters(col)}{row}"
    cells = row_el.findall(q + "c")
    cell = next((c for c in cells if c.get("r") == ref), None)
    if cell is None:
        cell = etree.Element(q + "c", r=ref)
        later = next((c for c in cells if _ref_col(c.get("r", "A")) > col), None)
        if later is None:
            row_el.append(cell)
        else:
            later.addprevious(cell)
    for child in list(cell):
        cell.remove(child)
    cell.set("t", "inlineStr")
    t = etree.SubElement(etree.SubElement(cell, q + "is"), q + "t")
    t.set(f"{{{NS_XML}}}space", "preserve")
    t.text = _ILLEGAL.sub("", text)


# ------------------------------------------------------------------------------- .ods
def _ods_rows(table: etree._Element) -> list[etree._Element]:
    """The rows of a table in order (also those inside header-row and row groups)."""
    wanted = {f"{{{NS_TABLE}}}table-row"}
    groups = {f"{{{NS_TABLE}}}table-header-rows", f"{{{NS_TABLE}}}table-rows",
              f"{{{NS_TABLE}}}table-row-group"}
    out: list[etree._Element] = []
    for child in table:
        if child.tag in wanted:
            out.append(child)
        elif child.tag in groups:
            out.extend(_ods_rows(child))
    return out


def _split(items: list[etree._Element], index: int, attr: str) -> etree._Element:
    """The element covering position `index` (0-based) of a run of repeated elements, split
    off on its own: the repetitions before and after stay as they were."""
    key = f"{{{NS_TABLE}}}{attr}"
    pos = 0
    for el in items:
        n = int(el.get(key, "1"))
        if pos + n <= index:
            pos += n
            continue
        before, after = index - pos, pos + n - index - 1
        if before:
            head = _copy(el, key, before)
            el.addprevious(head)
        if after:
            tail = _copy(el, key, after)
            el.addnext(tail)
        el.attrib.pop(key, None)
        return el
    raise PrefillError(f"position {index + 1} is beyond the sheet")


def _copy(el: etree._Element, key: str, count: int) -> etree._Element:
    from copy import deepcopy

    dup = deepcopy(el)
    if count > 1:
        dup.set(key, str(count))
    else:
        dup.attrib.pop(key, None)
    return dup


def _ods_put(table: etree._Element, row: int, col: int, text: str) -> None:
    row_el = _split(_ods_rows(table), row - 1, "number-rows-repeated")
    cells = [c for c in row_el if c.tag in (f"{{{NS_TABLE}}}table-cell",
                                            f"{{{NS_TABLE}}}covered-table-cell")]
    cell = _split(cells, col - 1, "number-columns-repeated")
    for child in list(cell):
        cell.remove(child)
    for attr in ("value", "date-value", "time-value", "boolean-value", "string-value"):
        cell.attrib.pop(f"{{{NS_OFFICE}}}{attr}", None)
    cell.attrib.pop(f"{{{NS_TABLE}}}formula", None)
    cell.set(f"{{{NS_OFFICE}}}value-type", "string")
    cell.set(f"{{{NS_CALCEXT}}}value-type", "string")
    etree.SubElement(cell, f"{{{NS_TEXT}}}p").text = _ILLEGAL.sub("", text)
