"""Roadmaps kept in a spreadsheet (.xlsx/.xlsm/.ods, python-calamine): one table per sheet."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import Any

from addin.roadmap.table import RoadmapImportError, Row, SourceTable, clean


def sheet_tables(path: Path) -> list[SourceTable]:
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
