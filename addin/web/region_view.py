"""The regional centre's view behind the regional board: the interface the regional store's
service implements (``sync/region_service.py``, injected by `nastavnik serve --region`:
addin never imports sync), the plain rows it returns, and «Собрать свод региона» as a
background job (one at a time, progress for the page, outputs kept per run).

Only codes, names of municipalities and organisations, statuses and counts pass through here:
the regional store holds no participant data.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from addin.web.journal import DONE, FAILED, Journal

log = logging.getLogger("nastavnik.web")

UNEXPECTED_RU = ("Свод региона не построен из-за внутренней ошибки программы ({kind}). "
                 "Сообщите администратору сервера.")


class RegionProblem(Exception):
    """The regional store or registry cannot be used (Russian message)."""

    def __init__(self, message_ru: str) -> None:
        super().__init__(message_ru)
        self.message_ru = message_ru


@dataclass(frozen=True)
class MunicipalityRow:
    """One municipality of the regional registry (or of the store) in one period."""

    code: str
    name: str
    contact: str
    #: The last consolidation of the period: when (ISO, UTC), by whom, N of M accepted.
    synced_at: str = ""
    actor: str = ""
    accepted: int | None = None
    total: int | None = None
    #: Not in the registry, but in the store (a registry out of date, or none).
    unlisted: bool = False

    @property
    def synced(self) -> bool:
        return bool(self.synced_at)


@dataclass(frozen=True)
class OrganisationRow:
    """One organisation of a municipality as its last consolidation judged it."""

    code: str
    name: str
    org_type: str
    status: str
    accepted: bool
    errors: int | None
    warnings: int | None


@dataclass
class RegionOutcome:
    master: Path
    form: Path | None
    synced: int
    total: int
    seconds: float


class RegionService(Protocol):
    """The regional store as the regional board sees it (sync/region_service.py)."""

    def periods(self) -> list[str]:
        """Every period some municipality consolidated, newest first."""
        ...

    def board(self, period: str) -> list[MunicipalityRow]:
        """Every municipality of the registry and of the store; RegionProblem if unusable."""
        ...

    def organisations(self, municipality: str, period: str) -> list[OrganisationRow]:
        """The organisations of one municipality's last consolidation of the period."""
        ...

    def build(self, period: str, folder: Path,
              progress: Callable[[int, int, str], None]) -> RegionOutcome:
        """The regional master (with «До цели» per municipality) and the regional form of
        the period's year, written into `folder`; RegionProblem when it cannot be built."""
        ...


@dataclass
class RegionProgress:
    done: int = 0
    total: int = 0
    step: str = ""


class RegionJobs:
    """«Собрать свод региона» runs in a thread; the runs are kept in a journal of their own."""

    def __init__(self, service: RegionService, root: Path) -> None:
        self.service = service
        self.root = Path(root)
        self.journal = Journal(self.root / "journal.sqlite")
        self.journal.fail_orphaned_jobs()
        self._progress: dict[int, RegionProgress] = {}
        self._lock = threading.Lock()

    def start(self, period: str, login: str, after: int) -> tuple[int, bool]:
        """(job id, started now); a second press joins the run already going."""
        with self._lock:
            job_id, new = self.journal.start_job(period, login, after)
            if new:
                self._progress[job_id] = RegionProgress(0, 1, "")
        if new:
            threading.Thread(target=self._run, args=(job_id, period), daemon=True,
                             name=f"region-job-{job_id}").start()
        return job_id, new

    def progress(self, job_id: int) -> RegionProgress | None:
        with self._lock:
            return self._progress.get(job_id)

    def _run(self, job_id: int, period: str) -> None:
        def progress(done: int, total: int, step: str) -> None:
            with self._lock:
                self._progress[job_id] = RegionProgress(done, total, step)

        folder = self.root / "runs" / str(job_id)
        try:
            folder.mkdir(parents=True, exist_ok=True)
            out = self.service.build(period, folder, progress)
            self.journal.finish_job(
                job_id, state=DONE, master=out.master.relative_to(self.root).as_posix(),
                form=out.form.relative_to(self.root).as_posix() if out.form else "",
                accepted=out.synced, total=out.total, seconds=round(out.seconds, 1))
            log.info("region job %d done synced=%d of %d", job_id, out.synced, out.total)
        except RegionProblem as exc:
            self.journal.finish_job(job_id, state=FAILED, message=exc.message_ru)
        except Exception as exc:  # noqa: BLE001 (the page says it, not a traceback)
            log.error("region job %d failed: %s", job_id, type(exc).__name__)
            self.journal.finish_job(job_id, state=FAILED,
                                    message=UNEXPECTED_RU.format(kind=type(exc).__name__))
