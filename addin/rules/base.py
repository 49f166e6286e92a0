"""Findings, rules and the registry every rule module adds itself to.

A rule is a small function over a `Context` (the SchoolWorkbook plus the reference date) that
returns findings for every offending row at once, computed with pandas over whole columns.
Rules yield findings; they never raise for bad data.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import date
from enum import StrEnum
from typing import Any

import pandas as pd

from addin.facts import (  # noqa: F401  (re-exported for the rule modules)
    Facts,
    ages,
    lookup,
    member,
    person_keys,
    split_ids,
)
from addin.model import ROW, SCHOOL
from workbook_templates import contract as C


class Severity(StrEnum):
    """How serious a finding is; errors block acceptance by the municipality."""

    ERROR = "ошибка"
    WARNING = "предупреждение"
    ADVICE = "совет"

    @property
    def rank(self) -> int:
        return {"ошибка": 0, "предупреждение": 1, "совет": 2}[self.value]


@dataclass(frozen=True)
class Finding:
    """One thing wrong in a workbook, located at a cell where there is one."""

    code: str
    severity: Severity
    sheet: str  # Russian sheet name
    row: int | None  # Excel row
    column: str | None  # Russian column header
    value: str | None
    message_ru: str
    hint_ru: str
    #: Position of the school in its batch (0 for one school); not part of the report.
    school: int = field(default=0, compare=False, repr=False)

    def sort_key(self) -> tuple:
        order = {s.name: i for i, s in enumerate(C.SHEETS)}
        return (self.severity.rank, order.get(self.sheet, 99), self.row or 0, self.code)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d.pop("school")
        d["severity"] = self.severity.value
        return d


@dataclass(frozen=True)
class Rule:
    """A check with a stable code, documented from its own fields."""

    code: str
    severity: Severity
    sheet_key: str  # "mentors", several "mentors,mentees", or "*" for every sheet
    title: str
    hint: str
    func: Callable[[Context], Iterable[Finding]] = field(compare=False, repr=False)

    def run(self, ctx: Context) -> list[Finding]:
        return list(self.func(ctx))


RULES: dict[str, Rule] = {}


def rule(code: str, severity: Severity, sheet_key: str, title: str, hint: str):
    """Register a rule function under a stable code (decorator)."""
    def register(func: Callable[[Context], Iterable[Finding]]):
        if code in RULES:
            raise ValueError(f"duplicate rule code {code}")
        RULES[code] = Rule(code, severity, sheet_key, title, hint, func)
        return func
    return register


@dataclass
class Context(Facts):
    """What a rule sees: the workbook facts plus helpers that build located findings."""

    _raw_index: dict[str, pd.DataFrame | None] = field(default_factory=dict, repr=False)

    def findings(self, code: str, rows: pd.DataFrame, column: str | None,
                 message: str | Callable[[pd.Series], str],
                 value: str | Callable[[pd.Series], Any] | None = None,
                 sheet_key: str | None = None) -> Iterator[Finding]:
        """One finding per row of `rows` (a slice of a table), located at `column` (a key).

        `message` and `value` may be functions of the row, for texts that name the values.
        """
        if rows.empty:  # most rules find nothing: skip the setup
            return
        r = RULES[code]
        sheet = C.sheet(sheet_key or r.sheet_key)  # rules on several sheets pass sheet_key
        header = sheet.column(column).header if column else None
        is_date = column is not None and sheet.column(column).type is C.ColType.DATE
        for _, row in rows.iterrows():
            school = int(row[SCHOOL])
            if callable(value):
                val = value(row)
            elif value is None and column is not None:
                val = self.raw_value(sheet.key, school, row[ROW], column)
                if is_date and isinstance(row.get(column), pd.Timestamp):
                    # a date cell as the user sees it, whatever the reader got (a serial
                    # number from Google Sheets, a date from Excel)
                    val = row[column]
            else:
                val = value
            yield Finding(
                code=code, severity=r.severity, sheet=sheet.name, row=int(row[ROW]),
                column=header, value=_show(val),
                message_ru=message(row) if callable(message) else message,
                hint_ru=r.hint, school=school)

    def raw_value(self, sheet_key: str, school: int, row: int, column: str) -> Any:
        """The cell as typed by the user (before conversion)."""
        if sheet_key not in self._raw_index:
            raw = self.wb.raw.get(sheet_key)
            self._raw_index[sheet_key] = None if raw is None else raw.set_index([SCHOOL, ROW])
        raw = self._raw_index[sheet_key]
        if raw is None or column not in raw.columns or (school, row) not in raw.index:
            return None
        return raw.at[(school, row), column]

    def form_finding(self, school: int, code: str, column: str, message: str,
                     value: Any = None) -> Finding:
        """A finding on one field of the «Сведения об ОО» form of a school of the batch."""
        r = RULES[code]
        book = self.wb.books[school]
        return Finding(
            code=code, severity=r.severity, sheet=C.SCHOOL.name,
            row=book.school_rows.get(column), column=C.SCHOOL.column(column).header,
            value=_show(value if value is not None else book.school_raw.get(column)),
            message_ru=message, hint_ru=r.hint, school=school)


def _show(v: Any) -> str | None:
    """A cell value as the user would read it."""
    if v is None or _isna(v):
        return None
    if isinstance(v, bool):
        return "ИСТИНА" if v else "ЛОЖЬ"  # what Excel shows for a boolean cell
    if isinstance(v, pd.Timestamp | date):
        return v.strftime("%d.%m.%Y")
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v)


def _isna(v: Any) -> bool:
    try:
        return bool(pd.isna(v))
    except (TypeError, ValueError):  # list-like values are not missing
        return False
