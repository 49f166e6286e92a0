"""`nastavnik purge`: the submitted books of old periods leave the collection folder.

152-ФЗ asks that personal data be kept no longer than needed. The books (``schools/`` and
``archive/``) hold the participants' names and birth dates; the journal holds only codes,
logins, SHA-256 sums, statuses and counts. A purge deletes every book of a period before
``--before`` and writes one «purged» event per book into the journal, so the board still
shows who submitted what and when, and says «книга удалена по сроку хранения».

The period of a book is the one it was submitted or checked for (the journal, then
submissions.jsonl); a current file put into ``schools/`` by hand is read for its «Отчётный
период». A book whose period cannot be told is kept and counted. The purge holds the folder's
lock exclusively (``addin.folder_lock``): it never deletes a file a submission or a sync is
writing or reading. The master workbooks that «Собрать свод» kept for those periods (they
list participants by name) are deleted too; the journal keeps the runs.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import time
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from addin.folder_lock import FolderBusy, folder_lock
from addin.web import collect
from addin.web.journal import DONE, PURGED, Journal
from sync.backup import TEMP_PREFIX, BackupError, check_collect_dir

PERIOD_RE = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")
_STAMP_RE = re.compile(r"^(\d{4})(\d{2})\d{2}T")
JOURNAL = Path("workspace") / "journal.sqlite"
ACTOR = "срок хранения"
PURGED_COMMENT_RU = "книга удалена по сроку хранения"


class PurgeError(BackupError):
    """The purge refused (Russian message)."""


@dataclass
class PurgeSummary:
    """What a purge deleted (or would delete, with `dry_run`)."""

    deleted: list[tuple[str, str, str]] = field(default_factory=list)  # (school, period, path)
    freed: int = 0
    unknown: list[str] = field(default_factory=list)  # current files of no known period
    leftovers: int = 0  # temporary files of interrupted writes removed
    masters: int = 0  # master workbooks of purged periods' sync runs

    @property
    def periods(self) -> list[str]:
        return sorted({p for _, p, _ in self.deleted})


def check_before(before: str, today: date | None = None) -> str:
    """`before` as ГГГГ-ММ, not after the current month (a Russian refusal otherwise)."""
    text = (before or "").strip()
    if not PERIOD_RE.match(text):
        raise PurgeError(f"«{before}» — не период: укажите --before ГГГГ-ММ, например 2025-09.")
    now = (today or date.today()).strftime("%Y-%m")
    if text > now:
        raise PurgeError(f"Период {text} ещё не наступил (сейчас {now}): удалить можно только "
                         "книги прошедших периодов. Проверьте --before.")
    return text


def purge(collect_dir: Path, before: str, *, today: date | None = None,
          dry_run: bool = False, wait: float = 600) -> PurgeSummary:
    """Delete the books of periods before `before`; record each in the journal."""
    folder = check_collect_dir(collect_dir)
    before = check_before(before, today)
    try:
        with folder_lock(folder, shared=False, wait=wait):
            return _purge(folder, before, dry_run)
    except FolderBusy:
        raise PurgeError(f"Папка сбора занята дольше {int(wait)} с (идёт «Собрать свод» или "
                         "резервное копирование). Повторите позже.") from None


def _purge(folder: Path, before: str, dry_run: bool) -> PurgeSummary:
    journal = Journal(folder / JOURNAL) if (folder / JOURNAL).is_file() else None
    known = _known_periods(folder, journal)
    summary = PurgeSummary()
    doomed = [*_archived(folder, before), *_current(folder, before, known, summary)]
    for school, period, path in doomed:
        digest = _sha(path)
        size = path.stat().st_size
        summary.deleted.append((school, period, path.relative_to(folder).as_posix()))
        summary.freed += size
        if dry_run:
            continue
        if journal is not None:
            journal.add_event(period=period, school=school, kind=PURGED, actor=ACTOR,
                              sha256=digest, comment=PURGED_COMMENT_RU)
        path.unlink()
    for path in _masters(folder, journal, before):
        summary.masters += 1
        if not dry_run:
            path.unlink(missing_ok=True)
    for path in _leftovers(folder):
        summary.leftovers += 1
        if not dry_run:
            path.unlink(missing_ok=True)
    if not dry_run:
        _drop_empty(folder / "archive")
    return summary


def _archived(folder: Path, before: str) -> list[tuple[str, str, Path]]:
    """archive/<school>/<period>/<UTC stamp>-<sha>.<ext> of periods before `before`."""
    found = []
    root = folder / "archive"
    if not root.is_dir():
        return found
    for school in sorted(p for p in root.iterdir() if p.is_dir()):
        for period_dir in sorted(p for p in school.iterdir() if p.is_dir()):
            for path in sorted(period_dir.iterdir()):
                if not _book(path):
                    continue
                period = period_dir.name if PERIOD_RE.match(period_dir.name) \
                    else _stamp_period(path.name)
                if period and period < before:
                    found.append((school.name, period, path))
    return found


def _masters(folder: Path, journal: Journal | None, before: str) -> list[Path]:
    """The master workbooks «Собрать свод» kept of purged periods (they list participants by
    name): each run's copy, and the shared master when the last run was of such a period.
    The run stays in the journal; its page says the file was deleted."""
    if journal is None:
        return []
    jobs = journal.jobs(limit=1_000_000)
    found = [folder / "workspace" / j.master for j in jobs
             if j.master and j.period < before and (folder / "workspace" / j.master).is_file()]
    done = [j for j in jobs if j.state == DONE]
    shared = folder / "workspace" / "свод.xlsx"
    if done and done[0].period < before and shared.is_file():
        found.append(shared)
    return found


def _book(path: Path) -> bool:
    """A stored book (not a temporary file of a write cut short, see `_leftovers`)."""
    return path.is_file() and path.suffix.lower() in collect.SUFFIXES \
        and not path.name.startswith(TEMP_PREFIX)


def _leftovers(folder: Path) -> list[Path]:
    """Temporary files of writes cut short (a server killed mid-submission), over an hour old:
    never read as books, but they hold the same personal data."""
    old = time.time() - 3600
    found = []
    for sub in ("schools", "archive"):
        root = folder / sub
        if root.is_dir():
            found += [p for p in root.rglob(f"{TEMP_PREFIX}*")
                      if p.is_file() and p.stat().st_mtime < old]
    return found


def _stamp_period(name: str) -> str:
    """A book archived without a period: the month it was submitted (UTC)."""
    m = _STAMP_RE.match(name)
    return f"{m[1]}-{m[2]}" if m and PERIOD_RE.match(f"{m[1]}-{m[2]}") else ""


def _current(folder: Path, before: str, known: dict[str, str],
             summary: PurgeSummary) -> list[tuple[str, str, Path]]:
    """schools/<code>.<ext> whose period is before `before`."""
    found = []
    root = folder / "schools"
    if not root.is_dir():
        return found
    for path in sorted(root.iterdir()):
        if not _book(path):
            continue
        period = known.get(_sha(path)) or _book_period(path)
        if not period:
            summary.unknown.append(path.relative_to(folder).as_posix())
        elif period < before:
            found.append((path.stem, period, path))
    return found


def _known_periods(folder: Path, journal: Journal | None) -> dict[str, str]:
    """SHA-256 -> period, from the journal's checks and submissions.jsonl."""
    periods: dict[str, str] = {}
    log = folder / "submissions.jsonl"
    if log.is_file():
        for line in log.read_text(encoding="utf-8", errors="replace").splitlines():
            try:
                record = json.loads(line)
            except ValueError:
                continue
            if isinstance(record, dict) and PERIOD_RE.match(str(record.get("period", ""))):
                periods[str(record.get("sha256"))] = record["period"]
    if journal is not None:
        for sha, check in journal.all_checks().items():
            if PERIOD_RE.match(check.period or ""):
                periods.setdefault(sha, check.period)
    return periods


def _book_period(path: Path) -> str:
    """The «Отчётный период» of a book put into the folder by hand ("" when unreadable)."""
    from addin.model import SchoolWorkbook

    try:
        period = collect.period_folder(SchoolWorkbook.from_path(path).school.get("period"))
    except Exception:  # noqa: BLE001 (an unreadable book is kept, and said so)
        return ""
    return "" if period == collect.NO_PERIOD else period


def _sha(path: Path) -> str:
    with path.open("rb") as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()


def _drop_empty(root: Path) -> None:
    """Remove the period and school folders the purge left empty."""
    if not root.is_dir():
        return
    for school in root.iterdir():
        if not school.is_dir():
            continue
        for period_dir in school.iterdir():
            if period_dir.is_dir() and not any(period_dir.iterdir()):
                shutil.rmtree(period_dir)
        if not any(school.iterdir()):
            school.rmdir()
