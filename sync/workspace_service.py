"""The sync as the municipal workspace of `nastavnik serve` uses it.

`addin/` may not import `sync/`, so `nastavnik serve` builds this object and injects it into the
app (``addin.web.workspace.SyncService``). It calls the same functions as the CLI:
``sync.sources.read_registry`` for a registry and ``sync.service.run_sync`` for «Собрать свод»
(then the federal form from the history store, as `nastavnik federal-form` does), so a run from
the page equals `nastavnik sync` over the same folder.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from addin.web.workspace import (
    RegistryProblem,
    RegistryRow,
    SchoolVerdict,
    SyncFailed,
    SyncOutcome,
    SyncRequest,
)
from workbook_templates.versions import VersionWindow

#: X-001's message names both participants and both schools; a school is told only its own.
_X001 = re.compile(r"Участник (?P<a>\S+) \((?P<sa>[^)]+)\).*?участником (?P<b>\S+) "
                   r"\((?P<sb>[^)]+)\)")
X001_RU = ("Участник {person} совпадает по ФИО и дате рождения с участником пар другой "
           "организации в этом периоде. Уточните, где на самом деле участвует человек, и "
           "исправьте книгу или сообщите в муниципальный центр.")
X001_GENERIC_RU = ("Один из участников совпадает по ФИО и дате рождения с участником пар "
                   "другой организации в этом периоде. Уточните подробности в муниципальном "
                   "центре.")


class FolderSyncService:
    """`SyncService` over `sync.sources` and `sync.service` (see module docstring)."""

    def __init__(self, webdav: Any = None, versions: VersionWindow | None = None) -> None:
        #: `sync.sources.webdav.WebDavSettings` of `serve --source-webdav …`: registry
        #: addresses inside that folder are read with the centre's login and password, kept
        #: here on the server's side; None: addresses on WebDAV are not read.
        self.webdav = webdav
        #: The template versions «Собрать свод» accepts (`nastavnik serve --accept-versions`).
        self.versions = versions if versions is not None else VersionWindow()

    def read_registry(self, path: Path) -> list[RegistryRow]:
        from sync.sources.registry import RegistryError, read_registry

        try:
            entries = read_registry(path)
        except RegistryError as exc:
            raise RegistryProblem(exc.message_ru) from None
        except OSError as exc:
            raise RegistryProblem(f"Реестр ОО не читается: {exc.strerror}") from None
        return [RegistryRow(e.code, e.name, e.org_type, e.source, emails=e.emails,
                            email_problem=e.email_problem, municipality=e.municipality)
                for e in entries]

    def run_sync(self, request: SyncRequest,
                 progress: Callable[[int, int, str], None]) -> SyncOutcome:
        from sync.service import SyncOptions, run_sync

        total = len(self.read_registry(request.registry))
        done = 0

        def checked(school: Any) -> None:
            nonlocal done
            done += 1
            progress(done, total, school.code)

        # staff upload the registry: it must not lead the server to files elsewhere
        opts = SyncOptions(registry=request.registry, period=request.period, out=request.master,
                           source_dir=request.source_dir, targets=request.targets,
                           confined=True, webdav=self.webdav, versions=self.versions)
        try:
            request.master.parent.mkdir(parents=True, exist_ok=True)
            result = run_sync(opts, progress=None, checked=checked)
        except Exception as exc:  # noqa: BLE001 (every failure becomes a Russian message)
            raise SyncFailed("Сбор не выполнен, сводная книга не изменена: "
                             + failure_ru(exc)) from None
        form = self._federal_form(result, request)
        return SyncOutcome(result.consolidation.municipality, result.master, form,
                           verdicts(result.consolidation), result.seconds)

    def _federal_form(self, result: Any, request: SyncRequest) -> Path | None:
        """The federal form from the history, as `nastavnik federal-form --master` makes it."""
        from sync.federal_form import write_default_form
        from sync.store import Store

        store = Store.for_master(result.master)
        figures = store.figures(request.period)
        if figures is None or figures.empty:
            return None
        request.form.parent.mkdir(parents=True, exist_ok=True)
        write_default_form(figures, request.form, year=int(request.period[:4]),
                           municipality=result.consolidation.municipality,
                           period=request.period)
        return request.form


def verdicts(cons: Any) -> list[SchoolVerdict]:
    """Each school's status and the cross-school findings about it, in its own words."""
    notes: dict[str, list[dict[str, str]]] = {}
    for finding in cons.cross:
        for school, note in own_notes(finding):
            notes.setdefault(school, []).append(note)
    return [SchoolVerdict(s.code, s.status.value, s.reason, s.status.accepted,
                          s.fetched.sha256, notes.get(s.code, []))
            for s in cons.schools]


def own_notes(finding: Any) -> list[tuple[str, dict[str, str]]]:
    """(school, note) pairs: what each school concerned may read of a cross finding."""
    code, severity = finding.code, finding.severity
    if code == "X-001":
        m = _X001.search(finding.message_ru)
        if m is None:
            return [(s, {"code": code, "severity": severity, "message": X001_GENERIC_RU})
                    for s in (finding.school_code, finding.other_school) if s]
        return [(m["sa"], {"code": code, "severity": severity,
                           "message": X001_RU.format(person=m["a"])}),
                (m["sb"], {"code": code, "severity": severity,
                           "message": X001_RU.format(person=m["b"])})]
    if finding.other_school:  # an unknown finding about two schools: no details
        return [(finding.school_code, {"code": code, "severity": severity,
                                       "message": X001_GENERIC_RU})]
    return [(finding.school_code, {"code": code, "severity": severity,
                                   "message": finding.message_ru})]


def failure_ru(exc: Exception) -> str:
    """A Russian reason for a failed run; the type name only for the unexpected."""
    message = getattr(exc, "message_ru", None)
    if message:
        return str(message)
    if isinstance(exc, PermissionError):
        return f"нет прав на запись: {Path(str(exc.filename or '')).name}"
    if isinstance(exc, OSError):
        return f"ошибка файла {Path(str(exc.filename or '')).name}: {exc.strerror}"
    return f"непредвиденная ошибка ({type(exc).__name__}); сообщите разработчикам."
