"""«Собрать свод» as a background job: one run at a time, progress for the page, outputs kept
per run, and a Russian message when it fails.

The job row in the journal is written before the thread starts and closed when it ends; a
server that stops mid-run leaves it «running», and the next start marks it failed (the sync
writes the master atomically, so the previous master is still in place).
"""

from __future__ import annotations

import logging
import shutil
import threading
from dataclasses import dataclass
from pathlib import Path

from addin.atomic_file import replacing
from addin.folder_lock import folder_lock
from addin.web.delivery import Deliveries
from addin.web.journal import DONE, FAILED, Feedback
from addin.web.workspace import (
    RegistryProblem,
    SyncFailed,
    SyncOutcome,
    SyncRequest,
    Workspace,
)

log = logging.getLogger("nastavnik.web")

UNEXPECTED_RU = ("Сбор не выполнен из-за внутренней ошибки программы ({kind}). Сводная книга "
                 "не изменена; сообщите администратору сервера.")


@dataclass
class Progress:
    done: int = 0
    total: int = 0
    school: str = ""


class JobRunner:
    """Starts sync runs in a thread and reports how far they got."""

    def __init__(self, workspace: Workspace) -> None:
        self.ws = workspace
        self._progress: dict[int, Progress] = {}
        self._lock = threading.Lock()

    def runs_dir(self, job_id: int) -> Path:
        return self.ws.root / "runs" / str(job_id)

    def start(self, period: str, staff: str, after: int) -> tuple[int, bool]:
        """(job id, started now). A press while a run is going, or a second press of the same
        button, returns the job already started instead of starting another."""
        if self.ws.service is None:
            raise RegistryProblem("Сервер запущен без службы сбора: собрать свод нельзя.")
        registry = self.ws.registry_path()
        if registry is None:
            raise RegistryProblem("Сначала загрузите реестр организаций.")
        entries = self.ws.registry()  # a broken registry is said now, not in the job
        with self._lock:
            job_id, new = self.ws.journal.start_job(period, staff, after)
            if new:
                self._progress[job_id] = Progress(0, len(entries))
        if not new:
            return job_id, False
        folder = self.runs_dir(job_id)
        request = SyncRequest(registry=registry, period=period, source_dir=self.ws.collect_dir,
                              master=self.ws.master_path,
                              form=folder / f"форма-{period[:4]}.xlsx",
                              targets=getattr(self.ws.config, "targets_path", None),
                              actor=staff)
        log.info("sync job %d started period=%s staff=%s schools=%d", job_id, period, staff,
                 len(entries))
        thread = threading.Thread(target=self._run, args=(job_id, request, staff),
                                  name=f"sync-job-{job_id}", daemon=True)
        thread.start()
        return job_id, True

    def progress(self, job_id: int) -> Progress | None:
        with self._lock:
            return self._progress.get(job_id)

    def _run(self, job_id: int, request: SyncRequest, staff: str) -> None:
        def progress(done: int, total: int, school: str) -> None:
            with self._lock:
                self._progress[job_id] = Progress(done, total, school)

        try:
            request.form.parent.mkdir(parents=True, exist_ok=True)
            # shared: submissions go on; a backup or a purge waits for the run's end
            with folder_lock(self.ws.collect_dir, shared=True):
                outcome = self.ws.service.run_sync(request, progress)  # type: ignore[union-attr]
                self._finish(job_id, request, outcome)
        except SyncFailed as exc:
            log.warning("sync job %d failed: %s", job_id, type(exc).__name__)
            self.ws.journal.finish_job(job_id, state=FAILED, message=exc.message_ru)
        except Exception as exc:  # noqa: BLE001 (the board must say it, not a traceback)
            log.error("sync job %d failed: %s", job_id, type(exc).__name__)
            self.ws.journal.finish_job(job_id, state=FAILED,
                                       message=UNEXPECTED_RU.format(kind=type(exc).__name__))

    def _finish(self, job_id: int, request: SyncRequest, outcome: SyncOutcome) -> None:
        folder = self.runs_dir(job_id)
        master = folder / f"свод-{request.period}.xlsx"
        _copy_atomically(outcome.master, master)
        form = outcome.form if outcome.form is not None and outcome.form.is_file() else None
        verdicts = [(Feedback(job_id, v.code, v.sha256, v.status, v.reason, v.accepted,
                              v.notes), f"свод №{job_id}") for v in outcome.verdicts]
        accepted = sum(v.accepted for v in outcome.verdicts)
        if outcome.region:  # before the job is done: a page showing it done shows this too
            Deliveries(self.ws.journal.path).record(job_id, request.period, outcome.region,
                                                    outcome.region_reason)
        self.ws.journal.finish_job(
            job_id, state=DONE, master=master.relative_to(self.ws.root).as_posix(),
            form=form.relative_to(self.ws.root).as_posix() if form else "",
            accepted=accepted, total=len(outcome.verdicts), seconds=round(outcome.seconds, 1),
            verdicts=verdicts)
        log.info("sync job %d done accepted=%d of %d s=%.1f", job_id, accepted,
                 len(outcome.verdicts), outcome.seconds)


def _copy_atomically(source: Path, target: Path) -> None:
    with replacing(target) as tmp:
        shutil.copyfile(source, tmp)
