"""The mailer: settings and templates loaded and checked together, and one batch of letters
of a kind to many organisations — who gets what, who already got it (never twice for the same
key), who has no address — sent and recorded letter by letter."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from addin.mail.letters import Letters, Rendered
from addin.mail.record import LetterLog
from addin.mail.sender import NO_ADDRESS, Letter, Outcome, send_letters
from addin.mail.settings import MailConfigError, MailSettings, load_settings

__all__ = ["Addressee", "Batch", "MailConfigError", "Mailer"]


@dataclass(frozen=True)
class Addressee:
    """One organisation to write to and the values of its letter."""

    code: str
    name: str
    emails: tuple[str, ...]
    values: dict[str, Any]
    #: Why the registry's address was not used ('' when there is none or it is fine).
    email_problem: str = ""


@dataclass
class Batch:
    """Letters of one kind and key: what will be sent, to whom not, and a sample letter."""

    kind: str
    key: str
    period: str
    letters: list[tuple[Addressee, Letter]] = field(default_factory=list)
    already: list[Addressee] = field(default_factory=list)
    no_address: list[Addressee] = field(default_factory=list)

    @property
    def sample(self) -> Letter | None:
        return self.letters[0][1] if self.letters else None


class Mailer:
    """Settings, templates and the letter record of one workspace."""

    #: One batch at a time (threads here, processes by the record's file lock): a second
    #: press waits, then finds the letters sent.
    _lock = threading.Lock()

    def __init__(self, settings: MailSettings | None, letters: Letters) -> None:
        self.settings = settings
        self.letters = letters

    @classmethod
    def load(cls, path: Path | None) -> Mailer:
        """The mailer of a settings file (None: default templates only, nothing to send
        with — for a dry run); MailConfigError in Russian."""
        if path is None:
            return cls(None, Letters())
        settings = load_settings(path)
        return cls(settings, Letters(settings.templates))

    def common(self) -> dict[str, Any]:
        s = self.settings
        return {"центр": s.sender_name if s else "", "подпись": s.signature if s else "",
                "адрес_страницы": s.page_url if s else ""}

    def render(self, kind: str, values: dict[str, Any]) -> Rendered:
        return self.letters.render(kind, {**self.common(), **values})

    def batch(self, kind: str, key: str, period: str, addressees: Iterable[Addressee],
              log: LetterLog) -> Batch:
        """Who gets this letter now: not those who already got it under `key`."""
        done = log.sent(kind, key)
        batch = Batch(kind, key, period)
        for a in addressees:
            if a.code in done:
                batch.already.append(a)
            elif not a.emails:
                batch.no_address.append(a)
            else:
                r = self.render(kind, a.values)
                batch.letters.append((a, Letter(a.code, kind, a.emails, r.subject, r.text,
                                                r.html)))
        return batch

    def send(self, kind: str, key: str, period: str, addressees: Iterable[Addressee],
             log: LetterLog, actor: str,
             heard: Callable[[Letter, Outcome], None] | None = None) -> tuple[Batch, list[Outcome]]:
        """Build the batch and send it; every attempt (and every missing address) is
        recorded. MailServerError (nothing sent, nothing recorded) when the server is
        unusable."""
        if self.settings is None:
            raise MailConfigError("Почта не настроена: укажите файл настроек почты "
                                  "(--mail-config).")
        addressees = list(addressees)
        with self._lock, log.exclusive():
            batch = self.batch(kind, key, period, addressees, log)

            def record(letter: Letter, outcome: Outcome) -> None:
                log.add(period=period, school=letter.code, kind=kind, key=key,
                        outcome=outcome.status, reason=outcome.reason,
                        recipients=len(letter.to), actor=actor)
                if heard is not None:
                    heard(letter, outcome)

            outcomes = (send_letters(self.settings, [lt for _, lt in batch.letters], record)
                        if batch.letters else [])
            for a in batch.no_address:
                log.add(period=period, school=a.code, kind=kind, key=key, outcome=NO_ADDRESS,
                        reason=a.email_problem, actor=actor)
                outcomes.append(Outcome(a.code, NO_ADDRESS, a.email_problem))
        return batch, outcomes
