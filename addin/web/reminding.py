"""Letters from the municipal workspace: reminders for a board filter, the notice of a return
for revision, each school's result of «Собрать свод». Shared by the «Напомнить» pages
(addin/web/remind.py), the staff's return route and `nastavnik remind`.

A letter holds no participant's data: the organisation, the period, the deadline, the status,
the centre's comment and the page's address; a result adds the sync's verdict and the
cross-school findings about the school itself, worded as its page shows them.
"""

from __future__ import annotations

import logging
import sqlite3
import weakref
from datetime import date

from addin.mail.letters import REMINDER, RESULT, RETURNED
from addin.mail.mailer import Addressee, Batch, Mailer
from addin.mail.record import LetterLog, LetterRow
from addin.mail.sender import Outcome
from addin.mail.settings import MailConfigError
from addin.web.journal import RETURNED as RETURN_EVENT
from addin.web.workspace import (
    FILTERS,
    BoardRow,
    RegistryProblem,
    RegistryRow,
    Workspace,
    deadline_of,
    keep,
)

log = logging.getLogger("nastavnik.mail")

#: The filters a reminder may go to (every school with no filter is not a reminder).
REMIND_FILTERS = dict(FILTERS)
DEFAULT_FILTER = "missing"
NOT_CONFIGURED_RU = ("Почта не настроена: запустите сервер с файлом настроек почты "
                     "(nastavnik serve --mail-config почта.toml).")
_BY_WORKSPACE: weakref.WeakKeyDictionary[Workspace, Reminders] = weakref.WeakKeyDictionary()


class Reminders:
    """The workspace's letters (its mailer, its record in the journal file)."""

    def __init__(self, ws: Workspace, mailer: Mailer, problem: str = "") -> None:
        self.ws = ws
        self.mailer = mailer
        #: Why letters cannot be sent ('' when they can).
        self.problem = problem or ("" if mailer.settings is not None else NOT_CONFIGURED_RU)
        self.log = LetterLog(ws.journal.path)

    @classmethod
    def of(cls, ws: Workspace) -> Reminders:
        """The reminders of a server's workspace (its ``mail_config``), made once."""
        found = _BY_WORKSPACE.get(ws)
        if found is None:
            path = getattr(ws.config, "mail_config", None)
            try:
                found = cls(ws, Mailer.load(path))
            except MailConfigError as exc:
                found = cls(ws, Mailer.load(None), exc.message_ru)
            _BY_WORKSPACE[ws] = found
        return found

    @property
    def can_send(self) -> bool:
        return not self.problem

    # -- reminders for a board filter
    def reminder_key(self, period: str) -> str:
        """One reminder per school, period and day, whoever sends it (page or timer)."""
        return f"{period}:{date.today().isoformat()}"

    def remind_targets(self, period: str, flt: str) -> list[Addressee]:
        flt = flt if flt in REMIND_FILTERS else DEFAULT_FILTER
        emails = {e.code: e for e in self.ws.registry()}
        return [self._addressee(r, emails.get(r.code), period, статус=_status(r),
                                комментарий=r.comment if r.comment else "",
                                срок_текст=r.deadline_text.replace("\u00a0", " "))
                for r in self.ws.board(period) if keep(r, flt)]

    def preview(self, period: str, flt: str) -> Batch:
        return self.mailer.batch(REMINDER, self.reminder_key(period), period,
                                 self.remind_targets(period, flt), self.log)

    def remind(self, period: str, flt: str, actor: str) -> tuple[Batch, list[Outcome]]:
        """Send the filter's reminders (MailServerError / MailConfigError in Russian)."""
        self._require()
        batch, outcomes = self.mailer.send(REMINDER, self.reminder_key(period), period,
                                           self.remind_targets(period, flt), self.log, actor)
        _log_batch(REMINDER, period, outcomes)
        return batch, outcomes

    # -- a return for revision
    def notify_return(self, code: str, period: str, comment: str, actor: str) -> Outcome | None:
        """Mail the school its return at once; None when mail is not set up. A failure is
        recorded and logged, never raised: the return itself is done."""
        if not self.can_send:
            return None
        try:
            return self._notify_return(code, period, comment, actor)
        except (RegistryProblem, OSError, sqlite3.Error) as exc:  # the return stands anyway
            log.error("return notice failed school=%s: %s", code, type(exc).__name__)
            return None

    def _notify_return(self, code: str, period: str, comment: str, actor: str) -> Outcome | None:
        from addin.mail.sender import FAILED, MailServerError

        events = [e for e in self.ws.journal.events(code) if e.kind == RETURN_EVENT]
        key = f"return:{events[-1].id}" if events else f"return:{period}:{comment}"
        entry = next((e for e in self.ws.registry() if e.code == code), None)
        row = self.ws.row(code, period)
        target = self._addressee(row, entry, period, комментарий=comment)
        try:
            _, outcomes = self.mailer.send(RETURNED, key, period, [target], self.log, actor)
        except MailServerError as exc:
            self.log.add(period=period, school=code, kind=RETURNED, key=key, outcome=FAILED,
                         reason=exc.message_ru, actor=actor)
            log.warning("return notice not sent school=%s", code)
            return Outcome(code, FAILED, exc.message_ru)
        _log_batch(RETURNED, period, outcomes)
        return outcomes[0] if outcomes else None

    # -- the results of a sync run
    def result_targets(self, job_id: int) -> tuple[str, list[Addressee]]:
        """(period, schools with a verdict in this finished run)."""
        job = self.ws.journal.job(job_id)
        if job is None or job.state != "done":
            return "", []
        targets = []
        for entry in self.ws.registry():
            latest = self.ws.journal.feedback(entry.code)
            if latest is None or latest[0].id != job_id:
                continue
            fb = latest[1]
            notes = [f"{n['code']} {n['severity']}: {n['message']}" for n in fb.notes]
            row = BoardRow(entry.code, entry.name, entry.org_type, status=fb.status)
            targets.append(self._addressee(row, entry, job.period, итог=fb.status,
                                           причина=fb.reason, принято=fb.accepted,
                                           замечания=notes))
        return job.period, targets

    def preview_results(self, job_id: int) -> Batch:
        period, targets = self.result_targets(job_id)
        return self.mailer.batch(RESULT, f"job:{job_id}", period, targets, self.log)

    def send_results(self, job_id: int, actor: str) -> tuple[Batch, list[Outcome]]:
        self._require()
        period, targets = self.result_targets(job_id)
        batch, outcomes = self.mailer.send(RESULT, f"job:{job_id}", period, targets, self.log,
                                           actor)
        _log_batch(RESULT, period, outcomes)
        return batch, outcomes

    # -- what happened
    def outcomes(self, period: str) -> dict[str, LetterRow]:
        """Each school's latest reminder or notice in the period (for the board)."""
        return self.log.latest(period, (REMINDER, RETURNED, RESULT))

    def _require(self) -> None:
        if self.problem:
            raise MailConfigError(self.problem)

    def _addressee(self, row: BoardRow, entry: RegistryRow | None, period: str,
                   **extra: object) -> Addressee:
        deadline = deadline_of(period, self.ws.deadline_day)
        values = {"организация": row.name or row.code, "код": row.code, "период": period,
                  "срок": deadline.strftime("%d.%m.%Y"), "статус": row.status, **extra}
        if entry is not None and entry.name:
            values["организация"] = entry.name
        return Addressee(row.code, row.name, entry.emails if entry else (), values,
                         entry.email_problem if entry else "")


def _status(row: BoardRow) -> str:
    """The board's status, with what «с ошибками» means for this book."""
    if row.file_error:
        return f"{row.status}, файл не читается"
    if row.errors:
        return f"{row.status}, ошибок в книге: {row.errors}"
    return row.status


def _log_batch(kind: str, period: str, outcomes: list[Outcome]) -> None:
    """Counts only: no address, no name, no letter text goes to the log."""
    counts: dict[str, int] = {}
    for o in outcomes:
        counts[o.status] = counts.get(o.status, 0) + 1
    log.info("letters kind=%s period=%s %s", kind, period,
             " ".join(f"{k}={v}" for k, v in sorted(counts.items())) or "none")
