"""Reading back what the copies of a school's book mark (highlights, notes) and keep (the
macros and buttons of an .xlsm)."""

from __future__ import annotations

import zipfile
from pathlib import Path

from openpyxl.worksheet.worksheet import Worksheet

MACRO_TYPE = b"application/vnd.ms-excel.sheet.macroEnabled.main+xml"


def package_parts(path: Path) -> dict[str, bytes]:
    """Every part of an .xlsx/.xlsm package by name."""
    with zipfile.ZipFile(path) as z:
        return {n: z.read(n) for n in z.namelist()}


def assert_macros_kept(src: Path, out: Path) -> None:
    """The copy of an .xlsm keeps its VBA project, its macro-enabled type and its buttons,
    byte for byte."""
    before, after = package_parts(src), package_parts(out)
    assert after["xl/vbaProject.bin"] == before["xl/vbaProject.bin"]
    assert MACRO_TYPE in after["[Content_Types].xml"]
    buttons = [n for n in before if n.endswith(".vml") and b"Button" in before[n]]
    assert buttons and all(after[n] == before[n] for n in buttons)


def highlight_of(ws: Worksheet, coordinate: str) -> str | None:
    """ARGB of the conditional-format fill that paints a cell (None when none does)."""
    for cf in ws.conditional_formatting:
        if coordinate in cf.sqref:
            for rule in cf.rules:
                fill = rule.dxf.fill if rule.dxf is not None else None
                if fill is not None:
                    return (fill.bgColor.rgb if fill.bgColor is not None else fill.fgColor.rgb)
    return None


def highlighted(ws: Worksheet) -> set[str]:
    """Every cell a conditional format of the sheet paints."""
    cells: set[str] = set()
    for cf in ws.conditional_formatting:
        for rng in cf.sqref.ranges:
            cells |= {f"{c[0]}{c[1]}" for c in _cells(rng)}
    return cells


def _cells(rng) -> list[tuple[str, int]]:  # noqa: ANN001 - an openpyxl CellRange
    from openpyxl.utils import get_column_letter

    return [(get_column_letter(col), row) for row in range(rng.min_row, rng.max_row + 1)
            for col in range(rng.min_col, rng.max_col + 1)]
