"""Additions to a workbook's styles.xml: fonts, fills, cell formats and differential formats
(for conditional formatting). An entry equal to one already there is reused, so annotating an
annotated copy again does not grow the style table.
"""

from __future__ import annotations

from lxml import etree

from addin.xlsx.package import NS_MAIN, REL_STYLES, Package, local, parse, q, serialize
from addin.xlsx.sheet import element

CT_STYLES = "application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"
#: The style sheet of a book that has none: the entries index 0 (and fill 1) must exist.
EMPTY_STYLES = (f'<styleSheet xmlns="{NS_MAIN}"><fonts count="1"><font><sz val="11"/>'
                '<name val="Calibri"/></font></fonts><fills count="2"><fill><patternFill '
                'patternType="none"/></fill><fill><patternFill patternType="gray125"/></fill>'
                '</fills><borders count="1"><border><left/><right/><top/><bottom/><diagonal/>'
                '</border></borders><cellStyleXfs count="1"><xf numFmtId="0" fontId="0" '
                'fillId="0" borderId="0"/></cellStyleXfs><cellXfs count="1"><xf numFmtId="0" '
                'fontId="0" fillId="0" borderId="0" xfId="0"/></cellXfs><cellStyles count="1">'
                '<cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles></styleSheet>'
                ).encode()
#: Children of <styleSheet> in schema order.
_ORDER = ("numFmts", "fonts", "fills", "borders", "cellStyleXfs", "cellXfs", "cellStyles",
          "dxfs", "tableStyles", "colors", "extLst")


class Styles:
    """The workbook's style sheet, parsed; `save` writes it back into the package."""

    def __init__(self, pkg: Package) -> None:
        self._pkg = pkg
        self._part = pkg.workbook_target(REL_STYLES)
        if self._part is None:  # some generators write none: Excel's defaults, made explicit
            self._part = ("xl/styles.xml" if not pkg.has("xl/styles.xml")
                          else pkg.free_name("xl/styles{}.xml"))
            pkg.rels(pkg.workbook_part).add(REL_STYLES, self._part)
            pkg.add_override(self._part, CT_STYLES)
            self.root = parse(EMPTY_STYLES)
        else:
            self.root = parse(pkg.read(self._part))

    def font(self, bold: bool = False, color: str | None = None,
             underline: bool = False) -> int:
        inner = ("<b/>" if bold else "") + ("<u/>" if underline else "")
        inner += f'<color rgb="{color}"/>' if color else ""
        return self._add("fonts", f'<font>{inner}<sz val="11"/><name val="Calibri"/></font>')

    def fill(self, rgb: str) -> int:
        return self._add("fills", f'<fill><patternFill patternType="solid"><fgColor rgb="{rgb}"/>'
                                  f'<bgColor indexed="64"/></patternFill></fill>')

    def xf(self, font: int = 0, fill: int = 0, num_fmt: int = 0, wrap: bool = False) -> int:
        """A cell format with this font, fill and number format, text wrapped at the top
        when `wrap` (index for a cell's `s`)."""
        extra = ' applyNumberFormat="1"' if num_fmt else ""
        inner = ""
        if wrap:
            extra += ' applyAlignment="1"'
            inner = '<alignment vertical="top" wrapText="1"/>'
        return self._add("cellXfs", f'<xf numFmtId="{num_fmt}" fontId="{font}" fillId="{fill}" '
                                    f'borderId="0" xfId="0" applyFont="1" applyFill="1"{extra}>'
                                    f"{inner}</xf>")

    def num_fmt(self, code: str) -> int:
        """The id of a custom number format (e.g. «DD.MM.YYYY»), added when absent."""
        holder = self._section("numFmts")
        ids = [int(f.get("numFmtId", "0")) for f in holder]
        for f in holder:
            if f.get("formatCode") == code:
                return int(f.get("numFmtId"))
        new = max([*ids, 163]) + 1  # ids below 164 are Excel's built-in formats
        el = element("<numFmt/>")
        el.set("numFmtId", str(new))
        el.set("formatCode", code)
        holder.append(el)
        holder.set("count", str(len(holder)))
        return new

    def dxf_fill(self, rgb: str) -> int:
        """A differential format that paints the cell (both colours: Excel reads bgColor for
        a solid fill in a dxf, LibreOffice fgColor)."""
        return self._add("dxfs", f'<dxf><fill><patternFill patternType="solid">'
                                 f'<fgColor rgb="{rgb}"/><bgColor rgb="{rgb}"/>'
                                 f"</patternFill></fill></dxf>")

    def save(self) -> None:
        self._pkg.write(self._part, serialize(self.root))

    def _add(self, section: str, xml: str) -> int:
        holder = self._section(section)
        new = element(xml)
        key = _shape(new)
        for i, old in enumerate(holder):
            if _shape(old) == key:
                return i
        holder.append(new)
        holder.set("count", str(len(holder)))
        return len(holder) - 1

    def _section(self, name: str) -> etree._Element:
        found = self.root.find(q(name))
        if found is not None:
            return found
        el = element(f"<{name}/>")
        rank = _ORDER.index(name)
        for ch in self.root:
            if local(ch) in _ORDER and _ORDER.index(local(ch)) > rank:
                ch.addprevious(el)
                return el
        self.root.append(el)
        return el


def _shape(el: etree._Element) -> tuple:
    """What an entry means: tag, attributes and children, whatever the prefixes and spacing."""
    return (el.tag, tuple(sorted(el.attrib.items())),
            tuple(_shape(ch) for ch in el if isinstance(ch.tag, str)))
