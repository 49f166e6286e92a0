"""The template kit `nastavnik build-templates` writes: school.xlsx (``build``), school.xlsm
with the buttons and the Google Sheets script (``xlsm``)."""

from __future__ import annotations

from pathlib import Path

from workbook_templates.build import write_school_workbook
from workbook_templates.xlsm import build_button_templates


def build_templates(out_dir: str | Path, server_url: str | None = None) -> list[Path]:
    """Write every template into ``out_dir`` (created if needed) and return their paths:
    school.xlsx, school.xlsm with the buttons, and the Google Apps Script files."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    buttons = (build_button_templates(out, server_url) if server_url
               else build_button_templates(out))
    return [write_school_workbook(out / "school.xlsx"), *buttons]
