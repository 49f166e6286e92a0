"""Validation report: the one object behind the CLI table, JSON, the Проверка sheet and the page."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from addin.errors import WorkbookError
from addin.rules.base import Finding, Severity

STATUS_OK = "принято"
STATUS_WARNINGS = "принято с предупреждениями"
STATUS_ERRORS = "есть ошибки"
STATUS_UNREADABLE = "файл не читается"
#: Characters of a cell value shown to a person (the JSON report keeps values whole).
SHOWN_CHARS = 200
#: Findings listed in a text report; the rest are counted (all are in JSON and the copy).
SHOWN_FINDINGS = 300
#: Characters of a message shown to a person (a message may quote a long value).
SHOWN_MESSAGE_CHARS = 400
_CONTROL = {**{c: "\ufffd" for c in range(32)}, 9: " ", 10: " ", 13: " ", 127: "\ufffd"}


def shorten(value: Any, limit: int = SHOWN_CHARS) -> str:
    """A value as a person is shown it: at most `limit` characters, a cut one ending in «…»,
    control characters made visible. Only the shown part is touched, so a 40,000-character
    cell costs no more than a short one."""
    if value is None:
        return ""
    text = value if isinstance(value, str) else str(value)
    if len(text) > limit:
        text = text[:limit - 1].rstrip() + "…"
    return text.translate(_CONTROL)


@dataclass
class Report:
    """Findings of one workbook, or the reason it could not be read."""

    source: str
    reference_date: date | None
    findings: list[Finding] = field(default_factory=list)
    school_code: str = ""
    school_name: str = ""
    version: str = ""
    file_error: WorkbookError | None = None

    @property
    def counts(self) -> dict[str, int]:
        c = Counter(f.severity for f in self.findings)
        return {s.value: c.get(s, 0) for s in Severity}

    @property
    def errors(self) -> int:
        return self.counts[Severity.ERROR.value]

    @property
    def warnings(self) -> int:
        return self.counts[Severity.WARNING.value]

    @property
    def valid(self) -> bool:
        """Readable and without errors: the municipality accepts it."""
        return self.file_error is None and self.errors == 0

    @property
    def status(self) -> str:
        if self.file_error is not None:
            return STATUS_UNREADABLE
        if self.errors:
            return STATUS_ERRORS
        return STATUS_WARNINGS if self.warnings else STATUS_OK

    def to_dict(self) -> dict[str, Any]:
        """Plain data for JSON (CLI --format json, the server, the page)."""
        return {
            "source": self.source,
            "school_code": self.school_code,
            "school_name": self.school_name,
            "template_version": self.version,
            "reference_date": self.reference_date.isoformat() if self.reference_date else None,
            "status": self.status,
            "valid": self.valid,
            "counts": self.counts,
            "file_error": None if self.file_error is None else {
                "code": self.file_error.code, "status": self.file_error.status_ru,
                "message": self.file_error.message_ru},
            "findings": [f.to_dict() for f in self.findings],
        }
