"""The transition window: which template versions the centre accepts this period.

A book one version behind is read through the migration (addin.migrate) and accepted with
the warning VER-001; the centre closes the window with `--accept-versions` (the versions it
still takes) or `--old-versions-until ГГГГ-ММ` (the last period old books are taken). Outside
the window an old book is rejected with the reason and the way out.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from sync.consolidate import SchoolResult, SchoolStatus
from workbook_templates import contract as C
from workbook_templates import versions as V


class WindowError(ValueError):
    """The window options cannot be used (Russian message)."""


@dataclass(frozen=True)
class VersionWindow:
    """Versions accepted, and the last period in which the older ones are."""

    accepted: tuple[str, ...] = V.default_accepted()
    until: str | None = None

    def accepts(self, version: str, period: str) -> bool:
        if version == C.TEMPLATE_VERSION:
            return True
        return version in self.accepted and (self.until is None or period <= self.until)

    def reason_ru(self, version: str, period: str) -> str:
        why = (f"старые версии шаблона принимались до периода {self.until} включительно"
               if self.until is not None and version in self.accepted and period > self.until
               else "муниципальный центр принимает книги версий "
               + ", ".join(sorted({*self.accepted, C.TEMPLATE_VERSION})))
        return (f"Книга старой версии шаблона {version}: {why}. Обновите книгу до версии "
                f"{C.TEMPLATE_VERSION} (кнопка «Обновить книгу до версии {C.TEMPLATE_VERSION}» "
                "на странице проверки или nastavnik upgrade-book КНИГА --out НОВАЯ.xlsx) и "
                "пришлите её снова.")


def window_of(accept_versions: str | None, until: str | None) -> VersionWindow:
    """The window from the options (each may be None: the default of versions.py)."""
    accepted = V.default_accepted()
    if accept_versions is not None:
        wanted = tuple(v.strip() for v in accept_versions.replace(";", ",").split(",")
                       if v.strip())
        unknown = [v for v in wanted if v not in V.VERSIONS]
        if unknown:
            raise WindowError(f"неизвестная версия шаблона «{unknown[0]}»; выпущены версии "
                              + ", ".join(V.VERSIONS))
        accepted = tuple(dict.fromkeys((*wanted, C.TEMPLATE_VERSION)))
    return VersionWindow(accepted, until)


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
