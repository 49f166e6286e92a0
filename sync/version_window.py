"""The transition window: which template versions the centre accepts this period.

A book one version behind is read through the migration (addin.migrate) and accepted with
the warning VER-001; the centre closes the window with `--accept-versions` (the versions it
still takes) or `--old-versions-until ГГГГ-ММ` (the last period old books are taken). Outside
the window an old book is rejected with the reason and the way out.
"""

from __future__ import annotations

from dataclasses import replace

from sync.consolidate import SchoolResult, SchoolStatus
from workbook_templates.versions import (  # noqa: F401 (the window is part of this API)
    VersionWindow,
    WindowError,
    window_of,
)


def apply_window(schools: list[SchoolResult], window: VersionWindow, period: str
                 ) -> list[SchoolResult]:
    """Schools whose accepted book is of a version outside the window become rejected."""
    out = []
    for s in schools:
        version = s.report.version if s.report is not None else ""
        if s.status.accepted and version and not window.accepts(version, period):
            s = replace(s, status=SchoolStatus.REJECTED, reason=window.reason_ru(version,
                                                                                  period))
        out.append(s)
    return out
