"""The validation facade every front end calls: workbook (or file) in, Report out."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from addin.errors import WorkbookError
from addin.model import SchoolWorkbook
from addin.report import Report
from addin.rules import RULES, Context, Finding


def validate_workbook(wb: SchoolWorkbook, reference_date: date | None = None) -> Report:
    """Run every rule on a workbook at the reference date (default: the workbook's own)."""
    ref = reference_date or wb.reference_date or date.today()
    ctx = Context(wb, ref)
    findings: list[Finding] = []
    for r in RULES.values():
        findings.extend(r.run(ctx))
    findings.sort(key=Finding.sort_key)
    return Report(source=wb.source, reference_date=ref, findings=findings,
                  school_code=wb.school_code, school_name=str(wb.school.get("name") or ""),
                  version=wb.version)


def validate_path(path: str | Path, reference_date: date | None = None) -> Report:
    """Read and validate a file; an unreadable file gives a Report with `file_error` set."""
    try:
        wb = SchoolWorkbook.from_path(path)
    except WorkbookError as exc:
        return Report(source=Path(path).name, reference_date=reference_date, file_error=exc)
    return validate_workbook(wb, reference_date)
