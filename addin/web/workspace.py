"""The municipal centre's workspace behind the staff pages: the registry, the period board,
returns for revision, the schools' own view of their status, and the interface to the sync.

The web layer may not import ``sync/`` (import-linter). The sync therefore comes in from
outside: ``nastavnik serve`` (sync/cli/serve.py) builds a ``SyncService``
(sync/workspace_service.py) and hands it to the app. This module defines that interface and
the plain data it returns.
"""

from __future__ import annotations

import calendar
import hashlib
import logging
import os
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from addin.atomic_file import replacing
from addin.web import clock, collect
from addin.web.board_checks import BackgroundChecks
from addin.web.checking import judge
from addin.web.journal import (
    PURGED,
    REGISTRY,
    RETURNED,
    SUBMITTED,
    SYNCED,
    Check,
    Event,
    Journal,
    now_iso,
)
from addin.web.workers import CheckWorkers, WorkerLost

if TYPE_CHECKING:
    from addin.report import Report
    from addin.web.config import ServerConfig

log = logging.getLogger("nastavnik.web")

WORKSPACE_DIR = "workspace"
REGISTRY_SUFFIXES = (".csv", ".xlsx")
DEFAULT_DEADLINE_DAY = 25
#: Files checked synchronously per board request; the rest wait for the next refresh.
CHECKS_PER_REQUEST = 40
_PERIOD_RE = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")

# The five statuses of a school's report in a period (the board and the school's page).
NOT_SUBMITTED = "не сдано"
SUBMITTED_RU = "сдано"
RETURNED_RU = "на доработке"
ACCEPTED_RU = "принято"
ACCEPTED_WARN_RU = "принято с предупреждениями"
PURGED_RU = "книга удалена по сроку хранения"
STATUS_CLASS = {NOT_SUBMITTED: "unread", SUBMITTED_RU: "info", RETURNED_RU: "bad",
                ACCEPTED_RU: "ok", ACCEPTED_WARN_RU: "warn"}


# -- the interface the sync implements ------------------------------------------------------
@dataclass(frozen=True)
class RegistryRow:
    """One school of the registry."""

    code: str
    name: str
    org_type: str
    #: A path relative to the collection folder, or a Google spreadsheet ID or URL.
    source: str
    #: Addresses of the optional column «Эл. почта» (letters to the organisation).
    emails: tuple[str, ...] = ()
    #: Why that column was not used for this row ('' if it was, or is empty).
    email_problem: str = ""
    #: The municipality column of the registry («код муниципалитета»), '' when none.
    municipality: str = ""


class RegistryProblem(Exception):
    """The registry cannot be used (Russian message)."""

    def __init__(self, message_ru: str) -> None:
        super().__init__(message_ru)
        self.message_ru = message_ru


class SyncFailed(Exception):
    """The sync did not finish; the master is unchanged (Russian message)."""

    def __init__(self, message_ru: str) -> None:
        super().__init__(message_ru)
        self.message_ru = message_ru


@dataclass(frozen=True)
class SyncRequest:
    """What «Собрать свод» asks: the same as `nastavnik sync --registry --period --out
    --source-dir [--targets]`, plus where to write the federal form."""

    registry: Path
    period: str
    source_dir: Path
    master: Path
    form: Path
    targets: Path | None = None
    #: The staff login that pressed the button (kept in the history's run log).
    actor: str = ""


@dataclass
class SchoolVerdict:
    """The sync's verdict on one school, as the school may see it."""

    code: str
    status: str  # the sync's status: принят, принят с предупреждениями, отклонён, …
    reason: str
    accepted: bool
    sha256: str | None
    #: Cross-school and cross-period findings about this school, worded without any other
    #: school's data: dicts with code, severity, message.
    notes: list[dict[str, str]] = field(default_factory=list)


@dataclass
class SyncOutcome:
    municipality: str
    master: Path
    form: Path | None
    verdicts: list[SchoolVerdict]
    seconds: float
    #: Delivery to the regional history: "" (none configured), DELIVERED or PENDING.
    region: str = ""
    #: Why it is PENDING (Russian).
    region_reason: str = ""


class SyncService(Protocol):
    """The municipal sync as the web layer sees it (implemented in sync/workspace_service.py)."""

    def read_registry(self, path: Path) -> list[RegistryRow]:
        """The registry's rows; RegistryProblem with a Russian message when unusable."""
        ...

    def run_sync(self, request: SyncRequest,
                 progress: Callable[[int, int, str], None]) -> SyncOutcome:
        """One run; progress(done, total, school code); SyncFailed when it did not finish."""
        ...


# -- the board ------------------------------------------------------------------------------
@dataclass
class BoardRow:
    """One school in one period, as the board and the school's own page show it."""

    code: str
    name: str
    org_type: str
    status: str = NOT_SUBMITTED
    file: str = ""
    submitted_at: str = ""
    sha256: str = ""
    errors: int | None = None
    warnings: int | None = None
    file_error: str = ""
    comment: str = ""
    comment_by: str = ""
    comment_at: str = ""
    note: str = ""
    deadline_text: str = ""
    overdue: bool = False
    checked: bool = True
    #: The template version of the current book ("" when unknown).
    version: str = ""

    @property
    def status_class(self) -> str:
        return STATUS_CLASS.get(self.status, "info")

    @property
    def has_errors(self) -> bool:
        return bool(self.errors) or bool(self.file_error)


FILTERS = {"missing": "не сдано", "errors": "с ошибками", "returned": "на доработке"}


def keep(row: BoardRow, flt: str) -> bool:
    if flt == "missing":
        return row.status == NOT_SUBMITTED
    if flt == "errors":
        return row.has_errors
    if flt == "returned":
        return row.status == RETURNED_RU
    return True


def valid_period(text: str) -> bool:
    return bool(_PERIOD_RE.match(text or ""))


def deadline_of(period: str, day: int) -> date:
    year, month = int(period[:4]), int(period[5:7])
    return date(year, month, min(day, calendar.monthrange(year, month)[1]))


def _days(n: int) -> str:
    return f"{n}\u00a0дн."


class Workspace:
    """State and actions of the staff pages over one collection folder."""

    def __init__(self, config: ServerConfig, service: SyncService | None,
                 workers: CheckWorkers | None = None) -> None:
        assert config.collect_dir is not None
        #: The check's processes (the page's; a workspace of its own has its own).
        self.workers = workers or CheckWorkers(config.check_workers)
        self.config = config
        self.service = service
        self.collect_dir = Path(config.collect_dir)
        self.root = self.collect_dir / WORKSPACE_DIR
        self.root.mkdir(parents=True, exist_ok=True)
        self.journal = Journal(self.root / "journal.sqlite")
        failed = self.journal.fail_orphaned_jobs()
        if failed:
            log.warning("sync jobs interrupted by a restart marked failed: %d", failed)
        self.deadline_day = getattr(config, "deadline_day", DEFAULT_DEADLINE_DAY)
        self._registry_cache: tuple[tuple, list[RegistryRow]] | None = None
        self._lock = threading.Lock()
        #: Books too many to check within a board request, checked in the background.
        self.checks = BackgroundChecks(self._check_path)

    # -- where things are
    @property
    def master_path(self) -> Path:
        configured = getattr(self.config, "master_path", None)
        return Path(configured) if configured else self.root / "свод.xlsx"

    def registry_path(self) -> Path | None:
        for suffix in REGISTRY_SUFFIXES:
            uploaded = self.root / f"registry{suffix}"
            if uploaded.is_file():
                return uploaded
        configured = getattr(self.config, "registry_path", None)
        return Path(configured) if configured else None

    def registry(self) -> list[RegistryRow]:
        """The registry's schools ([] when there is none); RegistryProblem when unusable."""
        path = self.registry_path()
        if path is None:
            return []
        if self.service is None:
            raise RegistryProblem("Сервер запущен без службы сбора: реестр прочитать нельзя.")
        try:
            st = path.stat()
        except OSError:
            raise RegistryProblem(f"Файл реестра ОО не найден: {path.name}") from None
        key = (str(path), st.st_mtime_ns, st.st_size)
        with self._lock:
            if self._registry_cache is not None and self._registry_cache[0] == key:
                return self._registry_cache[1]
        rows = self.service.read_registry(path)
        with self._lock:
            self._registry_cache = (key, rows)
        return rows

    def upload_registry(self, filename: str, payload: bytes, staff: str) -> int:
        """Check an uploaded registry with the sync's own reader; keep it only if it reads."""
        if self.service is None:
            raise RegistryProblem("Сервер запущен без службы сбора: реестр прочитать нельзя.")
        suffix = Path(filename).suffix.lower()
        if suffix not in REGISTRY_SUFFIXES:
            raise RegistryProblem(f"Реестр нужен в формате .csv или .xlsx, а выбран файл "
                                  f"«{suffix or 'без расширения'}».")
        if not payload:
            raise RegistryProblem("Файл реестра пустой (0 байт).")
        with replacing(self.root / f"registry{suffix}", mode=0o640) as tmp:
            with tmp.open("wb") as fh:
                fh.write(payload)
                fh.flush()
                os.fsync(fh.fileno())
            rows = self.service.read_registry(tmp)  # raises: the registry stays as it was
        for other in REGISTRY_SUFFIXES:
            if other != suffix:
                (self.root / f"registry{other}").unlink(missing_ok=True)
        log.info("registry uploaded staff=%s schools=%d", staff, len(rows))
        self.journal.add_event(period=self.default_period(), school="", kind=REGISTRY,
                               actor=staff, comment=f"реестр {suffix}: организаций {len(rows)}")
        return len(rows)

    def default_period(self) -> str:
        configured = getattr(self.config, "period", None)
        if configured:
            return configured
        known = self.journal.periods()
        return known[0] if known else clock.today().strftime("%Y-%m")

    def periods(self) -> list[str]:
        return sorted({self.default_period(), *self.journal.periods()}, reverse=True)

    # -- files and their checks
    def school_file(self, code: str, entry: RegistryRow | None) -> Path | None:
        """Where the sync reads this school: the registry's path, else schools/<code>.*
        (never a file outside the collection folder, whatever the registry says)."""
        if entry is not None and _is_folder_source(entry.source):
            # by the path's text, then the real path only of a link: resolving every school's
            # path cost a board of 2,000 schools most of its time
            root = os.path.normpath(self.collect_dir)
            full = os.path.normpath(os.path.join(root, entry.source))
            if not full.startswith(root + os.sep):
                return None
            path = self.collect_dir / entry.source
            if os.path.islink(full):
                try:
                    path.resolve().relative_to(self.collect_dir.resolve())
                except ValueError:
                    return None
            return path
        if entry is not None:
            return None  # a Google spreadsheet: nothing in the folder
        for suffix in collect.SUFFIXES:
            path = self.collect_dir / "schools" / f"{code}{suffix}"
            if path.is_file():
                return path
        return None

    def sha_of(self, path: Path, files: dict[str, tuple[int, int, str]] | None = None) -> str:
        """SHA-256 of a file, remembered by (path, size, modification time)."""
        st = path.stat()
        rel = path.as_posix()
        if files is not None:
            size, mtime, digest = files.get(rel, (-1, -1, ""))
            known = digest if (size, mtime) == (st.st_size, st.st_mtime_ns) else None
        else:
            known = self.journal.file_sha(rel, st.st_size, st.st_mtime_ns)
        if known:
            return known
        with path.open("rb") as fh:
            digest = hashlib.file_digest(fh, "sha256").hexdigest()
        self.journal.remember_file(rel, st.st_size, st.st_mtime_ns, digest)
        return digest

    def check_file(self, path: Path, sha256: str) -> tuple[Check, Report | None]:
        """The same check as the page's (rules, date from the book); its summary is kept."""
        from addin.errors import WorkbookError

        report = None
        try:
            report, period = self.workers.run(judge, path)
            check = Check(sha256, report.school_code, str(period or ""),
                          report.status, report.errors, report.warnings,
                          report.counts["совет"], "", now_iso(), report.version)
        except WorkbookError as exc:
            check = Check(sha256, "", "", "файл не читается", 0, 0, 0,
                          exc.message_ru if hasattr(exc, "message_ru") else str(exc)[:300],
                          now_iso())
        except Exception as exc:  # noqa: BLE001 (a bug in one file must not break the board)
            log.error("board check failed: %s", type(exc).__name__)
            check = Check(sha256, "", "", "файл не читается", 0, 0, 0,
                          "Файл не удалось проверить из-за внутренней ошибки программы.",
                          now_iso())
            if isinstance(exc, WorkerLost):  # the worker's fault, not the book's: not kept,
                return check, None           # so the next board checks the book again
        self.journal.remember_check(check)
        return check, report

    def _check_path(self, path: Path) -> None:
        """A background check of one file, unless its content is checked already."""
        sha = self.sha_of(path)
        if self.journal.check(sha) is None:
            self.check_file(path, sha)

    # -- statuses
    def board(self, period: str, *, budget: int = CHECKS_PER_REQUEST) -> list[BoardRow]:
        """Every registry school with its status in `period` (see docs/web.md).

        Nothing is read or checked on a first pass; books not checked yet are checked now
        when at most `budget` of them, else in the background (their rows say so)."""
        entries = self.registry()
        by_school: dict[str, list[Event]] = {}
        for e in self.journal.events():
            by_school.setdefault(e.school, []).append(e)
        files, checks = self.journal.all_files(), self.journal.all_checks()
        memo = _Memo(0, files, checks, deferred={})
        rows = [self._row(entry.code, entry, period, by_school.get(entry.code, []), memo)
                for entry in entries]
        if memo.deferred and len(memo.deferred) <= budget:
            again = _Memo(budget, files, checks)
            rows = [self._row(entry.code, entry, period, by_school.get(entry.code, []), again)
                    if entry.code in memo.deferred else row
                    for entry, row in zip(entries, rows, strict=True)]
        elif memo.deferred:
            self.checks.add(memo.deferred.values())
        return rows

    def row(self, code: str, period: str) -> BoardRow:
        entry = next((e for e in self.registry() if e.code == code), None)
        return self._row(code, entry, period, self.journal.events(code), _Memo(10))

    def _row(self, code: str, entry: RegistryRow | None, period: str, events: list[Event],
             memo: _Memo) -> BoardRow:
        row = BoardRow(code, entry.name if entry else "", entry.org_type if entry else "")
        path = self.school_file(code, entry)
        deadline = deadline_of(period, self.deadline_day)
        if entry is not None and path is None:
            row.note = "таблица Google: читается при сборе свода"
        if path is not None and memo.deferred is not None and not memo.known(path):
            memo.deferred[code] = path  # not even hashed yet: later, or in the background
            row.file, row.status, row.checked = _relative(path, self.collect_dir), \
                SUBMITTED_RU, False
            row.note = "книга ещё не проверена — обновите страницу"
            path = None
        if path is not None and path.is_file():
            row.file = _relative(path, self.collect_dir)
            sha = self.sha_of(path, memo.files)
            check = memo.checks.get(sha) if memo.checks is not None else self.journal.check(sha)
            if check is None and memo.budget > 0:
                memo.budget -= 1
                check, _ = self.check_file(path, sha)
            if check is None:
                row.checked = False
                row.note = "книга ещё не проверена — обновите страницу"
            elif check.period and check.period != period:
                row.note = f"текущая книга — за период {check.period}"
                sha = ""
            if sha:
                self._fill_submission(row, path, sha, check, events)
        if not row.sha256:
            self._fill_purged(row, period, events, memo)
        self._fill_deadline(row, deadline)
        return row

    def _fill_purged(self, row: BoardRow, period: str, events: list[Event],
                     memo: _Memo) -> None:
        """The period's book was submitted and then deleted by `nastavnik purge`: the
        journal still tells its status, time, hash and counts."""
        gone = {e.sha256 for e in events if e.kind == PURGED and e.period == period}
        sent = [e for e in events if e.kind == SUBMITTED and e.period == period
                and e.sha256 in gone]
        if not sent:
            return
        sha = sent[-1].sha256 or ""
        check = memo.checks.get(sha) if memo.checks is not None else self.journal.check(sha)
        self._fill_submission(row, None, sha, check, events)
        row.file, row.note = "", PURGED_RU

    def _fill_submission(self, row: BoardRow, path: Path | None, sha: str, check: Check | None,
                         events: list[Event]) -> None:
        row.sha256 = sha
        row.status = SUBMITTED_RU
        if check is not None:
            row.errors, row.warnings, row.file_error = check.errors, check.warnings, \
                check.file_error
            row.version = check.version
        mine = [e for e in events if e.sha256 == sha]
        sent = [e for e in mine if e.kind == SUBMITTED]
        if sent:
            row.submitted_at = sent[-1].at
        elif path is not None:  # put into the folder by hand: its time is the file's
            row.submitted_at = clock.from_timestamp(path.stat().st_mtime) \
                .isoformat(timespec="seconds")
        last = next((e for e in reversed(mine) if e.kind in (SUBMITTED, RETURNED, SYNCED)),
                    None)
        if last is None or last.kind == SUBMITTED:
            return
        if last.kind == RETURNED or (last.kind == SYNCED and last.comment):
            row.status = RETURNED_RU
            row.comment, row.comment_by, row.comment_at = last.comment, last.actor, last.at
        elif last.kind == SYNCED:
            row.status = ACCEPTED_WARN_RU if "предупрежд" in last.status else ACCEPTED_RU

    def _fill_deadline(self, row: BoardRow, deadline: date) -> None:
        # Both days are the municipality's (serve --timezone), not the machine's.
        today = clock.today()
        if row.status in (NOT_SUBMITTED, RETURNED_RU):
            left = (deadline - today).days
            row.overdue = left < 0
            row.deadline_text = (f"осталось {_days(left)}" if left >= 0
                                 else f"просрочено на {_days(-left)}")
        elif row.submitted_at:
            late = (clock.from_iso(row.submitted_at).date() - deadline).days
            row.deadline_text = "в срок" if late <= 0 else f"с опозданием {_days(late)}"

    # -- steps
    def submitted(self, receipt: collect.Receipt, report: Report) -> None:
        """A school submitted through the page: record the step and the check's summary."""
        self.journal.add_event(period=receipt.period, school=receipt.school_code,
                               kind=SUBMITTED, actor=receipt.school_code,
                               sha256=receipt.sha256, status=report.status,
                               errors=report.errors, warnings=report.warnings)
        self.journal.remember_check(Check(receipt.sha256, receipt.school_code, receipt.period,
                                          report.status, report.errors, report.warnings,
                                          report.counts["совет"], "", now_iso(), report.version))
        # the board knows the stored file at once: after a deadline's rush of submissions it
        # would otherwise list them as «ещё не проверена» until a background pass hashed them
        stored = self.collect_dir / receipt.current
        try:
            st = stored.stat()
        except OSError:
            return
        self.journal.remember_file(stored.as_posix(), st.st_size, st.st_mtime_ns, receipt.sha256)

    def return_for_revision(self, code: str, period: str, comment: str, staff: str) -> BoardRow:
        """Staff send the school's current file back with a comment."""
        row = self.row(code, period)
        if not row.sha256:
            raise RegistryProblem("Возвращать нечего: организация не сдала книгу за этот период.")
        if row.note == PURGED_RU:
            raise RegistryProblem("Возвращать нечего: книга этого периода удалена по сроку "
                                  "хранения.")
        self.journal.add_event(period=period, school=code, kind=RETURNED, actor=staff,
                               sha256=row.sha256, comment=comment)
        log.info("returned school=%s period=%s staff=%s", code, period, staff)
        return self.row(code, period)

    def school_view(self, code: str) -> dict[str, Any] | None:
        """What a logged-in school sees about its report and the municipality's verdict."""
        try:
            period = self.default_period()
            row = self.row(code, period)
        except RegistryProblem:
            return None
        latest = self.journal.feedback(code)
        feedback = None
        if latest is not None:
            job, fb = latest
            feedback = {"job": job.id, "period": job.period, "at": job.finished_at or "",
                        "status": fb.status, "reason": fb.reason, "notes": fb.notes,
                        "accepted": fb.accepted,
                        "current": bool(fb.sha256) and fb.sha256 == row.sha256}
        return {"period": period, "row": row, "feedback": feedback,
                "deadline": deadline_of(period, self.deadline_day)}


@dataclass
class _Memo:
    """One board's budget of checks and the journal's files and checks read at once; with
    `deferred`, files not hashed and checked yet are collected there instead (code: path)."""

    budget: int
    files: dict[str, tuple[int, int, str]] | None = None
    checks: dict[str, Check] | None = None
    deferred: dict[str, Path] | None = None

    def known(self, path: Path) -> bool:
        """Whether the file is hashed as it is now and its content checked."""
        try:
            st = path.stat()
        except OSError:
            return True  # no file: nothing to check
        size, mtime, digest = (self.files or {}).get(path.as_posix(), (-1, -1, ""))
        return ((size, mtime) == (st.st_size, st.st_mtime_ns)
                and self.checks is not None and digest in self.checks)


def _is_folder_source(source: str) -> bool:
    text = (source or "").strip()
    return Path(text).suffix.lower() in collect.SUFFIXES and "://" not in text


def _relative(path: Path, root: Path) -> str:
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return path.name
