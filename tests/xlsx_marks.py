"""Reading back what the annotated copy marks: highlights (conditional formats) and notes."""

from __future__ import annotations

from openpyxl.worksheet.worksheet import Worksheet


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
