"""What a check worker does (addin/web/workers.py runs these in its processes): read a book,
apply the rules, compute the indicators, run the after-check hooks, write the JSON report.

Everything here is a module-level function over picklable arguments, and knows no request,
session or page: the server keeps those, and judges the submission by what comes back.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

from addin.errors import NotAWorkbookError, WorkbookError, corrupt
from addin.report import Report
from addin.web import collect

if TYPE_CHECKING:
    from addin.indicators import IndicatorValue
    from addin.model import SchoolWorkbook

log = logging.getLogger("nastavnik.web")

#: The JSON report in a result's folder.
REPORT_NAME = "report.json"

INTERNAL_RU = ("Проверить книгу не удалось из-за внутренней ошибки программы. Сообщите "
               "администратору сервера; книгу можно проверить и командой nastavnik validate.")


@dataclass(frozen=True)
class CheckedBook:
    """Where one check's result lives, as an after-check hook needs it."""

    folder: Path
    suffix: str
    targets_path: Path | None = None


#: Called in the worker after every readable check with (the result's place, the workbook,
#: its indicators, the reference date); a module-level function, so that it can be sent there.
AfterCheck = Callable[[CheckedBook, "SchoolWorkbook", "list[IndicatorValue]", "date | None"],
                      None]


@dataclass
class CheckOutcome:
    """What the server needs back from a check: the report (also written to the result's
    folder as REPORT_NAME), the book's «Отчётный период», whether it could be read."""

    report: Report
    period: str = ""
    readable: bool = False
    #: The period as the book holds it (a submission's verdict is judged by it).
    raw_period: object = None
    indicators: list[dict[str, Any]] = field(default_factory=list)


def check_upload(path: Path, book: CheckedBook, display_name: str,
                 reference_date: date | None, targets: dict,
                 hooks: Sequence[AfterCheck] = ()) -> CheckOutcome:
    """Read, validate and compute indicators for an uploaded file; write report.json into
    the result's folder. Never raises for a bad file: its reason is the report's."""
    from addin.indicators import compute_indicators

    outcome = CheckOutcome(Report(source=display_name, reference_date=reference_date))
    wb = None
    if book.suffix not in collect.SUFFIXES:
        outcome.report.file_error = NotAWorkbookError(
            f"Нужна книга .xlsx, .xlsm или .ods, а выбран файл «{book.suffix or 'без расширения'}»."
            " Сохраните книгу в одном из этих форматов и проверьте снова.")
    else:
        try:
            wb, outcome.report = read_and_validate(path, reference_date)
        except WorkbookError as exc:
            outcome.report.file_error = exc
        except Exception as exc:  # noqa: BLE001 (a bug must not show a traceback)
            log.error("check failed: %s", type(exc).__name__)
            outcome.report.file_error = WorkbookError(INTERNAL_RU)
    report = outcome.report
    report.source = display_name
    if wb is not None:
        outcome.readable = True
        outcome.raw_period = wb.school.get("period")
        outcome.period = str(outcome.raw_period or "")
        try:
            values = compute_indicators(wb, report.reference_date, targets)
            outcome.indicators = [v.to_dict() for v in values]
        except Exception as exc:  # noqa: BLE001
            values = None
            log.error("indicators failed: %s", type(exc).__name__)
        if values is not None:  # the plan from the book in hand: no second read
            for after in hooks:
                after(book, wb, values, report.reference_date)
    write_report(book.folder / REPORT_NAME, outcome)
    return outcome


def write_report(path: Path, outcome: CheckOutcome) -> None:
    """The JSON report the result page, report.json and the annotated copy read."""
    data = outcome.report.to_dict()
    data["indicators"] = outcome.indicators
    path.write_text(json.dumps(data, ensure_ascii=False, indent=1, default=str),
                    encoding="utf-8")


def read_and_validate(path: Path, reference_date: date | None = None
                      ) -> tuple[SchoolWorkbook, Report]:
    """The book and its report; WorkbookError (a Russian reason) when it cannot be read."""
    from addin.model import SchoolWorkbook
    from addin.validate import validate_workbook

    try:
        wb = SchoolWorkbook.from_path(path)
    except Exception as exc:  # noqa: BLE001 (any reading failure: the file's status)
        raise corrupt(exc) from exc
    return wb, validate_workbook(wb, reference_date)


def judge(path: Path) -> tuple[Report, object]:
    """A stored or kept book read and checked by its own date: (report, «Отчётный период»);
    WorkbookError when it cannot be read."""
    wb, report = read_and_validate(path)
    return report, wb.school.get("period")


def warm(targets: dict, hooks: Sequence[AfterCheck] = ()) -> None:
    """A worker's first work: check a small invented book through every step of the page's
    check (the hooks included), so that the first curator's book does not pay for what the
    engine does once per process (about half a second for a large book)."""
    import random
    import tempfile

    from workbook_templates.build import write_school_workbook
    from workbook_templates.demo import make_school

    with tempfile.TemporaryDirectory(prefix="nastavnik-warm-") as tmp:
        folder = Path(tmp)
        path = write_school_workbook(folder / "warm.xlsx", make_school(
            "ОО-000", random.Random(0), n_participants=30))
        check_upload(path, CheckedBook(folder, ".xlsx"), "warm.xlsx", None, targets, hooks)
