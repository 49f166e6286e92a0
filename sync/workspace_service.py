"""The sync as the municipal workspace of `nastavnik serve` uses it.

`addin/` may not import `sync/`, so `nastavnik serve` builds this object and injects it into the
app (``addin.web.workspace.SyncService``). It calls the same functions as the CLI:
``sync.sources.read_registry`` for a registry and ``sync.service.run_sync`` for «Собрать свод»
(then the federal form from the history store, as `nastavnik federal-form` does), so a run from
the page equals `nastavnik sync` over the same folder.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from addin.web.delivery import DELIVERED, PENDING, DeliveryFailed
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


log = logging.getLogger("nastavnik.web")

NOT_DELIVERED_RU = ("Свод записан, но в регион не передан: {why} Сводная книга и история "
                    "муниципалитета сохранены; нажмите «Передать в регион», когда база "
                    "региона будет доступна.")
#: Seconds to wait for the regional database before saying it is unreachable.
CONNECT_TIMEOUT = 10


@dataclass(frozen=True)
class RegionLink:
    """Where the workspace sends its history: `serve --db URL --municipality-code M`."""

    db_url: str
    municipality_code: str


class FolderSyncService:
    """`SyncService` over `sync.sources` and `sync.service` (see module docstring).

    With `region`, each run writes the history beside the master (as `nastavnik sync` does
    without --db), then sends the period to the regional database (`deliver`); a run the
    region did not receive stays pending and is sent again by `deliver` alone.
    """

    def __init__(self, region: RegionLink | None = None, *, municipality_code: str = "",
                 municipality_name: str = "", pseudonymize: bool = False,
                 webdav: Any = None, versions: VersionWindow | None = None) -> None:
        self.region = region
        self.municipality_code = (region.municipality_code if region is not None
                                  else municipality_code)
        self.municipality_name = municipality_name
        self.pseudonymize = pseudonymize
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
                           confined=True, pseudonymize=self.pseudonymize,
                           municipality_code=self.municipality_code or None,
                           municipality_name=self.municipality_name or None,
                           actor=request.actor, webdav=self.webdav,
                           versions=self.versions)
        try:
            request.master.parent.mkdir(parents=True, exist_ok=True)
            result = run_sync(opts, progress=None, checked=checked)
        except Exception as exc:  # noqa: BLE001 (every failure becomes a Russian message)
            raise SyncFailed("Сбор не выполнен, сводная книга не изменена: "
                             + failure_ru(exc)) from None
        form = self._federal_form(result, request)
        outcome = SyncOutcome(result.consolidation.municipality, result.master, form,
                              verdicts(result.consolidation), result.seconds)
        if self.region is not None:
            try:
                self.deliver(request.master, request.period)
                outcome.region = DELIVERED
            except DeliveryFailed as exc:
                outcome.region, outcome.region_reason = PENDING, exc.message_ru
        return outcome

    def deliver(self, master: Path, period: str) -> bool:
        """Send the period as the history beside `master` holds it to the regional database;
        False when the region already has it. DeliveryFailed (Russian) when it cannot."""
        from sqlalchemy.exc import SQLAlchemyError

        from sync.cli_errors import db_reason
        from sync.store import Store

        if self.region is None:
            raise DeliveryFailed("Сервер запущен без базы региона (--db): передавать некуда.")
        with Store.for_master(master, None, self.municipality_code) as local:
            sent = local.sent_period(period)
        if sent is None:
            raise DeliveryFailed(f"в истории муниципалитета нет свода за {period}.")
        url = _with_timeout(self.region.db_url)
        try:
            with Store(url, self.municipality_code) as regional:
                stored = regional.receive_period(sent)
        except (SQLAlchemyError, ImportError) as exc:
            log.warning("region delivery failed: %s", type(exc).__name__)
            raise DeliveryFailed(NOT_DELIVERED_RU.format(
                why=_sentence(db_reason(exc, url.render_as_string(hide_password=True))))
            ) from None
        log.info("region delivery period=%s municipality=%s stored=%s", period,
                 self.municipality_code, stored)
        return stored

    def _federal_form(self, result: Any, request: SyncRequest) -> Path | None:
        """The federal form from the history, as `nastavnik federal-form --master` makes it."""
        from sync.federal_form import write_default_form
        from sync.store import Store

        with Store.for_master(result.master, None, self.municipality_code) as store:
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


def _with_timeout(url: str) -> Any:
    """A PostgreSQL URL that gives up connecting after CONNECT_TIMEOUT seconds."""
    from sync.store import normalize_url

    u = normalize_url(url)
    if u.drivername.startswith("postgresql") and "connect_timeout" not in u.query:
        u = u.update_query_dict({"connect_timeout": str(CONNECT_TIMEOUT)})
    return u


def _sentence(text: str) -> str:
    text = text.strip()
    return text if text.endswith((".", "!", "?")) else text + "."


def services_for(config: Any, *, webdav: Any = None) -> tuple[FolderSyncService, Any]:
    """The services `nastavnik serve` injects for a ServerConfig: the municipal sync (which
    delivers to `db_url` when given; `webdav`: the centre's WebDAV folder) and, on a regional
    server, the regional store's."""
    from sync.region_service import StoreRegionService

    if config.region:
        region = StoreRegionService(config.db_url, config.registry_path, config.targets_path)
        return FolderSyncService(webdav=webdav), region
    link = (RegionLink(config.db_url, config.municipality_code or "") if config.db_url
            else None)
    return FolderSyncService(link, municipality_code=config.municipality_code or "",
                             municipality_name=config.municipality_name or "",
                             pseudonymize=config.pseudonymize, webdav=webdav), None
