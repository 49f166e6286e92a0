"""An .xlsx/.xlsm file edited as an OPC package: parts are read on demand, changed parts are
replaced, new parts added and registered, and the whole written atomically.

Nothing else of the file is parsed or rewritten: a VBA project, drawings, data validations and
users' own sheets leave the package byte for byte as they came in. This is what keeps the
annotated copy fast on big books (openpyxl loads and re-serialises every cell).
"""

from __future__ import annotations

import copy
import posixpath
import re
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from lxml import etree

from addin.atomic_file import replacing

NS_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
NS_R = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
NS_PKG_REL = "http://schemas.openxmlformats.org/package/2006/relationships"
NS_CT = "http://schemas.openxmlformats.org/package/2006/content-types"
REL_OFFICE_DOC = NS_R + "/officeDocument"
REL_WORKSHEET = NS_R + "/worksheet"
REL_STYLES = NS_R + "/styles"
REL_SHARED_STRINGS = NS_R + "/sharedStrings"
REL_COMMENTS = NS_R + "/comments"
REL_VML = NS_R + "/vmlDrawing"
CT_WORKSHEET = "application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"
CT_COMMENTS = "application/vnd.openxmlformats-officedocument.spreadsheetml.comments+xml"
CT_VML = "application/vnd.openxmlformats-officedocument.vmlDrawing"

#: Parser for XML from users' files: no entity expansion, no network.
PARSER = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=True)


def parse(data: bytes) -> etree._Element:
    """Root element of an XML part."""
    return etree.fromstring(data, PARSER)


def serialize(root: etree._Element) -> bytes:
    """An XML part as bytes, with the declaration Office writes."""
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", standalone=True)


def q(tag: str, ns: str = NS_MAIN) -> str:
    """Clark name of a tag in a namespace."""
    return f"{{{ns}}}{tag}"


def local(el: etree._Element) -> str:
    """Tag name without its namespace (comments and PIs give '')."""
    return etree.QName(el).localname if isinstance(el.tag, str) else ""


class Relationships:
    """The relationships of one part (its .rels file), parsed and editable."""

    def __init__(self, source: str, data: bytes | None) -> None:
        self.source = source
        self.root = parse(data) if data else etree.Element(q("Relationships", NS_PKG_REL),
                                                           nsmap={None: NS_PKG_REL})
        self.changed = False

    def targets(self, rel_type: str) -> list[tuple[str, str]]:
        """(rId, part name) of every internal relationship of this type."""
        out = []
        for rel in self.root:
            if rel.get("Type") == rel_type and rel.get("TargetMode") != "External":
                out.append((rel.get("Id"), self.resolve(rel.get("Target", ""))))
        return out

    def target(self, rid: str) -> str | None:
        """Part name of one relationship id (None when absent or external)."""
        for rel in self.root:
            if rel.get("Id") == rid and rel.get("TargetMode") != "External":
                return self.resolve(rel.get("Target", ""))
        return None

    def resolve(self, target: str) -> str:
        """Part name (no leading slash) of a target written relative to the source part."""
        if target.startswith("/"):
            return target.lstrip("/")
        return posixpath.normpath(posixpath.join(posixpath.dirname(self.source), target))

    def add(self, rel_type: str, part: str) -> str:
        """Add a relationship to `part`; returns its new id."""
        ids = {rel.get("Id") for rel in self.root}
        n = len(ids) + 1
        while f"rId{n}" in ids:
            n += 1
        rel = etree.SubElement(self.root, q("Relationship", NS_PKG_REL))
        rel.set("Id", f"rId{n}")
        rel.set("Type", rel_type)
        rel.set("Target", posixpath.relpath(part, posixpath.dirname(self.source) or "."))
        self.changed = True
        return f"rId{n}"

    def remove(self, rid: str) -> None:
        for rel in list(self.root):
            if rel.get("Id") == rid:
                self.root.remove(rel)
                self.changed = True


@dataclass(frozen=True)
class SheetRef:
    """A worksheet of the workbook: its name and the part that holds it."""

    name: str
    part: str


class Package:
    """An open .xlsx/.xlsm package. Use as a context manager; call `save` to write a copy."""

    def __init__(self, path: str | Path) -> None:
        self._zip = zipfile.ZipFile(path)
        self._infos = self._zip.infolist()
        self._names = {i.filename for i in self._infos}
        self._data: dict[str, bytes] = {}
        self._deleted: set[str] = set()
        self._rels: dict[str, Relationships] = {}
        self._types: etree._Element | None = None
        self.workbook_part = self._office_document()
        self._workbook: etree._Element | None = None
        self._edited: set[str] = set()  # parsed parts changed in place

    def __enter__(self) -> Package:
        return self

    def __exit__(self, *exc: object) -> None:
        self._zip.close()

    # -- parts -----------------------------------------------------------------------------
    def has(self, name: str) -> bool:
        return name not in self._deleted and (name in self._data or name in self._names)

    def read(self, name: str) -> bytes:
        if name in self._data:
            return self._data[name]
        return self._zip.read(name)

    def open(self, name: str):  # noqa: ANN201 - a binary file object
        """A stream of an unchanged part (for incremental parsing)."""
        return self._zip.open(name)

    def write(self, name: str, data: bytes) -> None:
        self._data[name] = data
        self._deleted.discard(name)

    def delete(self, name: str) -> None:
        """Drop a part with its content-type override."""
        self._deleted.add(name)
        self._data.pop(name, None)
        for el in self.content_types.findall(q("Override", NS_CT)):
            if el.get("PartName", "").lstrip("/") == name:
                self.content_types.remove(el)
                self._edited.add("types")

    def free_name(self, pattern: str) -> str:
        """The first unused part name of the form `pattern` (with '{}' for a number)."""
        taken = {n.lower() for n in self._names | set(self._data)}
        n = 1
        while pattern.format(n).lower() in taken:
            n += 1
        return pattern.format(n)

    def names(self) -> Iterator[str]:
        yield from (n for n in self._names if self.has(n))
        yield from (n for n in self._data if n not in self._names and self.has(n))

    # -- relationships and content types ---------------------------------------------------
    def rels(self, part: str) -> Relationships:
        """Relationships of a part (an empty set if it has none yet)."""
        if part not in self._rels:
            name = _rels_name(part)
            self._rels[part] = Relationships(part, self.read(name) if self.has(name) else None)
        return self._rels[part]

    @property
    def content_types(self) -> etree._Element:
        if self._types is None:
            self._types = parse(self.read("[Content_Types].xml"))
        return self._types

    def add_override(self, part: str, content_type: str) -> None:
        el = etree.SubElement(self.content_types, q("Override", NS_CT))
        el.set("PartName", "/" + part)
        el.set("ContentType", content_type)
        self._edited.add("types")

    def ensure_default(self, extension: str, content_type: str) -> None:
        for el in self.content_types.findall(q("Default", NS_CT)):
            if el.get("Extension", "").lower() == extension:
                return
        el = etree.Element(q("Default", NS_CT))
        el.set("Extension", extension)
        el.set("ContentType", content_type)
        self.content_types.insert(0, el)
        self._edited.add("types")

    # -- the workbook ----------------------------------------------------------------------
    @property
    def workbook(self) -> etree._Element:
        if self._workbook is None:
            self._workbook = parse(self.read(self.workbook_part))
        return self._workbook

    def sheets(self) -> list[SheetRef]:
        """Worksheets in workbook order (chart sheets and dialogs are left out)."""
        rels = self.rels(self.workbook_part)
        parts = dict(rels.targets(REL_WORKSHEET))
        out = []
        for el in self.workbook.iter(q("sheet")):
            part = parts.get(el.get(q("id", NS_R)))
            if part is not None:
                out.append(SheetRef(el.get("name", ""), part))
        return out

    def add_sheet(self, name: str, data: bytes, position: int | None = None) -> SheetRef:
        """Add a worksheet at `position` in the workbook's order (at the end when None).

        References by sheet index (a defined name's localSheetId, the active and first tab)
        are moved along, so filters and print areas stay on their sheets."""
        part = self.free_name("xl/worksheets/sheet{}.xml")
        self.write(part, data)
        self.add_override(part, CT_WORKSHEET)
        rid = self.rels(self.workbook_part).add(REL_WORKSHEET, part)
        sheets = self.workbook.find(q("sheets"))
        ids = [int(s.get("sheetId", "0")) for s in sheets]
        el = etree.Element(q("sheet"))
        el.set("name", name)
        el.set("sheetId", str(max(ids, default=0) + 1))
        el.set(q("id", NS_R), rid)
        if position is None or position >= len(sheets):
            sheets.append(el)
        else:
            sheets.insert(position, el)
            self._shift_sheet_indices(position)
        self._edited.add("workbook")
        return SheetRef(name, part)

    def _shift_sheet_indices(self, position: int) -> None:
        """Sheet indices at or after `position` move one place on (a sheet was inserted)."""
        def bump(el: etree._Element, attr: str) -> None:
            value = el.get(attr)
            if value is not None and value.isdigit() and int(value) >= position:
                el.set(attr, str(int(value) + 1))

        for name in self.workbook.iter(q("definedName")):
            bump(name, "localSheetId")
        for view in self.workbook.iter(q("workbookView")):
            bump(view, "activeTab")
            bump(view, "firstSheet")

    def date1904(self) -> bool:
        """Whether the workbook counts dates from 1904 (old Mac books) instead of 1900."""
        pr = self.workbook.find(q("workbookPr"))
        return pr is not None and pr.get("date1904", "").lower() in ("1", "true")

    def workbook_target(self, rel_type: str) -> str | None:
        """Part of the workbook's first relationship of a type (styles, shared strings)."""
        found = self.rels(self.workbook_part).targets(rel_type)
        return found[0][1] if found else None

    # -- saving ------------------------------------------------------------------------------
    def save(self, out: Path) -> Path:
        """Write the edited package to `out` through a temporary file and a rename."""
        self._flush()
        with replacing(out) as tmp, zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as dst:
            for info in self._infos:
                if self.has(info.filename):  # a copy: writestr updates offsets in place
                    dst.writestr(copy.copy(info), self.read(info.filename))
            for name, data in self._data.items():
                if name not in self._names:
                    dst.writestr(_new_info(name), data)
        return out

    def _flush(self) -> None:
        """Write back the parsed parts that were edited."""
        if "types" in self._edited:
            self.write("[Content_Types].xml", serialize(self._types))
        if "workbook" in self._edited:
            self.write(self.workbook_part, serialize(self._workbook))
        for part, rels in self._rels.items():
            if rels.changed:
                self.write(_rels_name(part), serialize(rels.root))

    def _office_document(self) -> str:
        root = parse(self.read("_rels/.rels"))
        for rel in root:
            if rel.get("Type") == REL_OFFICE_DOC:
                return rel.get("Target", "").lstrip("/")
        raise KeyError("officeDocument")


def _rels_name(part: str) -> str:
    folder, base = posixpath.split(part)
    return posixpath.join(folder, "_rels", base + ".rels")


def _new_info(name: str) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, date_time=(2026, 1, 1, 0, 0, 0))
    info.compress_type = zipfile.ZIP_DEFLATED
    return info


_COL = re.compile(r"[A-Z]+")


def column_letter(index: int) -> str:
    """Column letters of a 1-based column index (1 -> A, 27 -> AA)."""
    letters = ""
    while index:
        index, rem = divmod(index - 1, 26)
        letters = chr(65 + rem) + letters
    return letters


def column_index(ref: str) -> int:
    """1-based column index of a cell reference such as 'AB12'."""
    n = 0
    for ch in _COL.match(ref.upper()).group():
        n = n * 26 + ord(ch) - 64
    return n


def row_index(ref: str) -> int:
    """Row number of a cell reference such as 'AB12'."""
    return int(ref.lstrip("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz$").lstrip("$"))
