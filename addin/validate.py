"""The validation facade every front end calls: a batch of workbooks (or one, or a file) in,
one Report per school out."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from addin.errors import WorkbookError
from addin.model import SchoolWorkbook, WorkbookBatch
from addin.report import Report
from addin.rules import RULES, Context, Finding


def validate_batch(batch: WorkbookBatch, reference_date: date) -> list[Report]:
    """Run every rule once over all schools of a batch at one reference date; the findings
    are then split per school, in the batch's order."""
    ctx = Context(batch, reference_date)
    per_school: list[list[Finding]] = [[] for _ in batch.books]
    for r in RULES.values():
        for f in r.run(ctx):
            per_school[f.school].append(f)
    reports = []
    for book, findings in zip(batch.books, per_school, strict=True):
        findings.sort(key=Finding.sort_key)
        reports.append(Report(source=book.source, reference_date=reference_date,
                              findings=findings, school_code=book.school_code,
                              school_name=str(book.school.get("name") or ""),
                              version=book.version))
    return reports


def validate_workbook(wb: SchoolWorkbook, reference_date: date | None = None) -> Report:
    """Run every rule on one workbook at the reference date (default: the workbook's own)."""
    return validate_batch(wb, reference_date or wb.reference_date or date.today())[0]


def validate_path(path: str | Path, reference_date: date | None = None) -> Report:
    """Read and validate a file; an unreadable file gives a Report with `file_error` set."""
    try:
        wb = SchoolWorkbook.from_path(path)
    except WorkbookError as exc:
        return Report(source=Path(path).name, reference_date=reference_date, file_error=exc)
    return validate_workbook(wb, reference_date)
