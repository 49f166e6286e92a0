"""Cell comments (notes) of one worksheet, edited inside the package: the comments part holds
the text, a VML drawing holds the note boxes Excel needs to show them.

Our notes begin with `MARK`; a later annotation removes them before it writes its own, so notes
never stack up. A user's own note on the same cell is kept, with ours appended after it. The
VML part is edited as text, shape by shape (Excel's VML is not always well-formed XML), so
other shapes in it, such as form buttons, stay as they are.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from lxml import etree

from addin.xlsx.package import (
    CT_COMMENTS,
    CT_VML,
    NS_R,
    REL_COMMENTS,
    REL_VML,
    Package,
    column_index,
    column_letter,
    parse,
    q,
    row_index,
    serialize,
)
from addin.xlsx.sheet import SheetTail, clean_text, element

AUTHOR = "Проверка"
#: First line of every note the check writes.
MARK = "Замечания проверки:"
_SEPARATOR = "\n\n"
#: Characters a line of a note box (240 pt wide) holds, for its height.
NOTE_LINE_CHARS = 45

_SHAPE = re.compile(rb"<(\w+:|)shape\b.*?</\1shape>", re.DOTALL)
_ROW = re.compile(rb"<(?:\w+:)?Row>\s*(\d+)\s*<")
_COLUMN = re.compile(rb"<(?:\w+:)?Column>\s*(\d+)\s*<")
_SHAPE_ID = re.compile(rb'id="_x0000_s(\d+)"')
_IDMAP = re.compile(rb'data="([\d,\s]+)"')

_V = 'xmlns:v="urn:schemas-microsoft-com:vml"'
_O = 'xmlns:o="urn:schemas-microsoft-com:office:office"'
_X = 'xmlns:x="urn:schemas-microsoft-com:office:excel"'
_SHAPETYPE = (f'<v:shapetype {_V} {_O} id="_x0000_t202" coordsize="21600,21600" o:spt="202" '
              'path="m,l,21600r21600,l21600,xe"><v:stroke joinstyle="miter"/>'
              '<v:path gradientshapeok="t" o:connecttype="rect"/></v:shapetype>')


def update_notes(pkg: Package, part: str, tail: SheetTail, notes: Mapping[str, str], *,
                 mark: str = MARK, author: str = AUTHOR) -> bool:
    """Replace our notes on a worksheet by `notes` (cell ref -> text without `mark`).

    Our notes are those beginning with `mark` (the check's by default; another writer passes
    its own first line, so the two never remove each other's notes).
    Returns True when the worksheet's own XML (`tail`) changed."""
    rels = pkg.rels(part)
    found = rels.targets(REL_COMMENTS)
    if not found and not notes:
        return False
    rid, cpart = found[0] if found else (None, None)
    root = parse(pkg.read(cpart)) if cpart and pkg.has(cpart) else _empty_comments()
    before = _refs(root)
    changed = _strip_ours(root, mark)
    if notes:
        _add_notes(root, notes, mark, author)
        changed = True
    if not changed:
        return False
    after = _refs(root)
    if after:
        if cpart is None:
            cpart = pkg.free_name("xl/comments{}.xml")
            rels.add(REL_COMMENTS, cpart)
        if not pkg.has(cpart):
            pkg.add_override(cpart, CT_COMMENTS)
        pkg.write(cpart, serialize(root))
    elif cpart is not None:
        pkg.delete(cpart)
        rels.remove(rid)
    return _update_vml(pkg, part, tail, before - after, after - before, notes)


def _empty_comments() -> etree._Element:
    return element("<comments><authors/><commentList/></comments>")


def _refs(root: etree._Element) -> set[str]:
    return {c.get("ref") for c in root.iter(q("comment"))}


def _text(comment: etree._Element) -> str:
    holder = comment.find(q("text"))
    if holder is None:
        return ""
    return "".join(t.text or "" for t in holder.iter(q("t")))


def _set_text(comment: etree._Element, text: str) -> None:
    """Replace a note's text (plain text; the <text> stays first, as the schema wants)."""
    for old in comment.findall(q("text")):
        comment.remove(old)
    holder = etree.Element(q("text"))
    comment.insert(0, holder)
    t = etree.SubElement(holder, q("t"))
    t.text = clean_text(text)
    t.set("{http://www.w3.org/XML/1998/namespace}space", "preserve")


def _strip_ours(root: etree._Element, mark: str) -> bool:
    """Remove our notes (and our part of notes shared with a user's text)."""
    changed = False
    for comment in list(root.iter(q("comment"))):
        text = _text(comment)
        if text.startswith(mark):
            comment.getparent().remove(comment)
            changed = True
        elif _SEPARATOR + mark in text:
            _set_text(comment, text[:text.index(_SEPARATOR + mark)])
            changed = True
    return changed


def _add_notes(root: etree._Element, notes: Mapping[str, str], mark: str, author: str) -> None:
    authors = root.find(q("authors"))
    names = [a.text or "" for a in authors]
    if author not in names:
        etree.SubElement(authors, q("author")).text = author
        names.append(author)
    author_id = str(names.index(author))
    holder = root.find(q("commentList"))
    existing = {c.get("ref"): c for c in holder}
    for ref, note in notes.items():
        body = f"{mark}\n{note}"
        if ref in existing:
            _set_text(existing[ref], _text(existing[ref]) + _SEPARATOR + body)
            continue
        comment = etree.SubElement(holder, q("comment"))
        comment.set("ref", ref)
        comment.set("authorId", author_id)
        _set_text(comment, body)
    holder[:] = sorted(holder, key=lambda c: (row_index(c.get("ref")), column_index(c.get("ref"))))


# -- the VML drawing --------------------------------------------------------------------------
def _update_vml(pkg: Package, part: str, tail: SheetTail, removed: set[str], added: set[str],
                notes: Mapping[str, str]) -> bool:
    """Drop the note boxes of `removed` cells, add boxes for `added` ones."""
    if not removed and not added:
        return False
    rels = pkg.rels(part)
    drawing = next(iter(tail.find_all("legacyDrawing")), None)
    rid = drawing.get(q("id", NS_R)) if drawing is not None else None
    vpart = rels.target(rid) if rid else None
    if vpart is None or not pkg.has(vpart):
        if not added:
            return False
        vpart = pkg.free_name("xl/drawings/vmlDrawing{}.vml")
        pkg.write(vpart, _new_vml(_free_block(pkg)))
        pkg.ensure_default("vml", CT_VML)
        rid = rels.add(REL_VML, vpart)
        if drawing is not None:
            tail.root.remove(drawing)
        drawing = element("<legacyDrawing/>")
        drawing.set(q("id", NS_R), rid)
        tail.insert(drawing)
        changed_tail = True
    else:
        changed_tail = False
    data = _drop_shapes(pkg.read(vpart), removed)
    if added:
        data = _add_shapes(data, sorted(added, key=lambda r: (row_index(r), column_index(r))),
                           notes)
    if _SHAPE.search(data) is None:  # nothing left to draw: drop the drawing
        pkg.delete(vpart)
        rels.remove(rid)
        tail.root.remove(drawing)
        return True
    pkg.write(vpart, data)
    return changed_tail


def _cell_of(shape: bytes) -> str | None:
    row, col = _ROW.search(shape), _COLUMN.search(shape)
    if b'ObjectType="Note"' not in shape or row is None or col is None:
        return None
    return f"{column_letter(int(col.group(1)) + 1)}{int(row.group(1)) + 1}"


def _drop_shapes(data: bytes, removed: set[str]) -> bytes:
    if not removed:
        return data
    return _SHAPE.sub(lambda m: b"" if _cell_of(m.group(0)) in removed else m.group(0), data)


def _add_shapes(data: bytes, refs: list[str], notes: Mapping[str, str]) -> bytes:
    ids = [int(n) for n in _SHAPE_ID.findall(data)]
    idmap = _IDMAP.search(data)
    first = int(idmap.group(1).split(b",")[0]) if idmap else 1
    next_id = max(ids, default=first * 1024) + 1
    shapes = []
    if b"_x0000_t202" not in data:
        shapes.append(_SHAPETYPE)
    for i, ref in enumerate(refs):
        lines = _lines(notes.get(ref, "")) + 1  # + the mark's line
        shapes.append(_shape(next_id + i, row_index(ref) - 1, column_index(ref) - 1, lines))
    last_block = (next_id + len(refs)) // 1024
    if idmap and last_block > first and b"," not in idmap.group(1):  # a drawing of ours grew
        blocks = ",".join(str(b) for b in range(first, last_block + 1)).encode()
        data = data[:idmap.start(1)] + blocks + data[idmap.end(1):]
    end = data.rfind(b"</xml>")
    if end < 0:
        end = len(data)
    return data[:end] + "".join(shapes).encode() + data[end:]


def _lines(text: str) -> int:
    """Lines a note's text takes in its box (about NOTE_LINE_CHARS characters a line)."""
    return sum(max(1, -(-len(line) // NOTE_LINE_CHARS)) for line in text.split("\n"))


def _shape(shape_id: int, row: int, col: int, lines: int) -> str:
    height = min(40 + 15 * lines, 400)
    return (f'<v:shape {_V} {_O} {_X} id="_x0000_s{shape_id}" type="#_x0000_t202" '
            f'style="position:absolute;margin-left:59.25pt;margin-top:1.5pt;width:240pt;'
            f'height:{height}pt;z-index:{shape_id % 1024};visibility:hidden" '
            f'fillcolor="#ffffe1" o:insetmode="auto"><v:fill color2="#ffffe1"/>'
            f'<v:shadow on="t" color="black" obscured="t"/><v:path o:connecttype="none"/>'
            f'<v:textbox style="mso-direction-alt:auto"><div style="text-align:left"></div>'
            f'</v:textbox><x:ClientData ObjectType="Note"><x:MoveWithCells/><x:SizeWithCells/>'
            f"<x:Anchor>{col + 1}, 15, {max(row - 1, 0)}, 10, {col + 5}, 15, "
            f"{row + 3 + lines // 2}, 4</x:Anchor><x:AutoFill>False</x:AutoFill>"
            f"<x:Row>{row}</x:Row><x:Column>{col}</x:Column></x:ClientData></v:shape>")


def _new_vml(block: int) -> bytes:
    return (f'<xml {_V} {_O} {_X}><o:shapelayout v:ext="edit">'
            f'<o:idmap v:ext="edit" data="{block}"/></o:shapelayout>'
            f"{_SHAPETYPE}</xml>").encode()


def _free_block(pkg: Package) -> int:
    """A shape-id block (of 1024) no other drawing of the workbook uses."""
    used = {0}
    for name in pkg.names():
        if name.lower().endswith(".vml"):
            data = pkg.read(name)
            used |= {int(n) // 1024 for n in _SHAPE_ID.findall(data)}
            for m in _IDMAP.finditer(data):
                used |= {int(x) for x in m.group(1).replace(b" ", b"").split(b",") if x}
    return max(used) + 1
