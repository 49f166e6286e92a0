"""One SMTP sender for a batch of letters: one connection (SSL, STARTTLS or plain), each
letter's outcome as the server answered it, and one Russian error when the server cannot be
used at all (wrong password, host unreachable, no answer in time) — then nothing was sent.
"""

from __future__ import annotations

import base64
import logging
import smtplib
import socket
import ssl
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formataddr, formatdate, make_msgid

from addin.mail.settings import MailSettings

log = logging.getLogger("nastavnik.mail")

SENT, REFUSED, NO_ADDRESS, FAILED = "sent", "refused", "no-address", "failed"
OUTCOME_RU = {SENT: "отправлено", REFUSED: "отклонено почтовым сервером",
              NO_ADDRESS: "нет адреса", FAILED: "не отправлено"}
MAX_REASON = 300


@dataclass(frozen=True)
class Letter:
    """One letter to one organisation (its addresses in `to`)."""

    code: str
    kind: str
    to: tuple[str, ...]
    subject: str
    text: str
    html: str


@dataclass(frozen=True)
class Outcome:
    code: str
    status: str
    reason: str = ""

    @property
    def status_ru(self) -> str:
        return OUTCOME_RU.get(self.status, self.status)


class MailServerError(Exception):
    """The mail server cannot be used (Russian message); no letter of the batch was sent."""

    def __init__(self, message_ru: str) -> None:
        super().__init__(message_ru)
        self.message_ru = message_ru


def build_message(settings: MailSettings, letter: Letter) -> EmailMessage:
    """The MIME letter: plain text and HTML alternatives, UTF-8, headers encoded as needed."""
    msg = EmailMessage()
    msg["From"] = formataddr((settings.sender_name, settings.sender_address))
    msg["To"] = ", ".join(letter.to)
    if settings.reply_to:
        msg["Reply-To"] = settings.reply_to
    msg["Subject"] = letter.subject
    msg["Date"] = formatdate(localtime=True)
    msg["Message-ID"] = make_msgid(domain=settings.sender_address.rpartition("@")[2])
    msg.set_content(letter.text, charset="utf-8")
    msg.add_alternative(letter.html, subtype="html", charset="utf-8")
    return msg


def send_letters(settings: MailSettings, letters: Iterable[Letter],
                 on_outcome: Callable[[Letter, Outcome], None] | None = None) -> list[Outcome]:
    """Send each letter; `on_outcome` hears each one as soon as the server answered it.

    MailServerError when the first connection or login fails (nothing sent). A connection
    lost in the middle is tried once more; letters it cannot reach are FAILED, never SENT.
    """
    pending = list(letters)
    outcomes: list[Outcome] = []
    lost = ""
    conn: smtplib.SMTP | None = connect(settings)
    try:
        for i, letter in enumerate(pending):
            if conn is None:
                outcome = Outcome(letter.code, FAILED, lost)
            else:
                outcome = _send_one(conn, settings, letter)
                if outcome.status == FAILED and i + 1 < len(pending):
                    _quit(conn)
                    conn, lost = _reconnect(settings, outcome.reason)
            outcomes.append(outcome)
            if on_outcome is not None:
                on_outcome(letter, outcome)
    finally:
        if conn is not None:
            _quit(conn)
    log.info("mail batch server=%s:%d letters=%d sent=%d", settings.host, settings.port,
             len(outcomes), sum(o.status == SENT for o in outcomes))
    return outcomes


def connect(settings: MailSettings) -> smtplib.SMTP:
    """A logged-in connection, or MailServerError in Russian."""
    where = settings.where()
    try:
        if settings.security == "ssl":
            conn: smtplib.SMTP = smtplib.SMTP_SSL(settings.host, settings.port,
                                                  timeout=settings.timeout,
                                                  context=_tls(settings))
        else:
            conn = smtplib.SMTP(settings.host, settings.port, timeout=settings.timeout)
        try:
            conn.ehlo()
            if settings.security == "starttls":
                conn.starttls(context=_tls(settings))
                conn.ehlo()
            if settings.login:
                _login(conn, settings)
        except BaseException:
            _quit(conn)
            raise
    except smtplib.SMTPAuthenticationError:
        raise MailServerError(f"Почтовый сервер {where} не принял логин «{settings.login}» и "
                              "пароль. Проверьте логин в настройках почты и пароль в "
                              "переменной окружения или файле пароля.") from None
    except smtplib.SMTPNotSupportedError as exc:
        raise MailServerError(f"Почтовый сервер {where} не поддерживает нужный режим "
                              f"({_reason(exc)}). Проверьте security и port в настройках "
                              "почты.") from None
    except ssl.SSLError as exc:
        raise MailServerError(f"С почтовым сервером {where} не установлено защищённое "
                              f"соединение: {exc.reason or exc}. Проверьте security, port и "
                              "сертификат (ca_file).") from None
    except TimeoutError:
        raise MailServerError(f"Почтовый сервер {where} не ответил за "
                              f"{settings.timeout:g} с. Проверьте адрес и порт или повторите "
                              "позже.") from None
    except smtplib.SMTPResponseException as exc:
        raise MailServerError(f"Почтовый сервер {where} отказал в соединении: "
                              f"{_reason(exc)}.") from None
    except smtplib.SMTPServerDisconnected as exc:
        if isinstance(exc.__context__, TimeoutError):  # smtplib wraps a read that timed out
            raise MailServerError(f"Почтовый сервер {where} не ответил за "
                                  f"{settings.timeout:g} с. Проверьте адрес и порт или "
                                  "повторите позже.") from None
        raise MailServerError(f"Почтовый сервер {where} разорвал соединение. Проверьте "
                              "security и port в настройках почты.") from None
    except OSError as exc:
        raise MailServerError(f"Почтовый сервер {where} недоступен: "
                              f"{_os_reason(exc)}. Проверьте адрес и порт в настройках почты "
                              "и подключение к сети.") from None
    return conn


def _login(conn: smtplib.SMTP, settings: MailSettings) -> None:
    """smtplib encodes logins as ASCII; a password with Cyrillic letters goes as AUTH PLAIN
    in UTF-8 (RFC 4616) instead of failing inside the library."""
    if (settings.login + settings.password).isascii():
        conn.login(settings.login, settings.password)
        return
    if not conn.has_extn("auth"):
        raise smtplib.SMTPNotSupportedError("сервер не предлагает вход (AUTH)")
    token = f"\0{settings.login}\0{settings.password}".encode()
    code, answer = conn.docmd("AUTH", "PLAIN " + base64.b64encode(token).decode("ascii"))
    if code != 235:
        raise smtplib.SMTPAuthenticationError(code, answer)


def _send_one(conn: smtplib.SMTP, settings: MailSettings, letter: Letter) -> Outcome:
    try:
        refused = conn.send_message(build_message(settings, letter),
                                    from_addr=settings.sender_address, to_addrs=list(letter.to))
    except smtplib.SMTPRecipientsRefused as exc:
        first = next(iter(exc.recipients.values()), (0, b""))
        return Outcome(letter.code, REFUSED, _clip(f"{first[0]} {_text(first[1])}"))
    except smtplib.SMTPResponseException as exc:
        return Outcome(letter.code, REFUSED, _reason(exc))
    except (OSError, smtplib.SMTPException) as exc:
        timed_out = isinstance(exc, TimeoutError) or isinstance(exc.__context__, TimeoutError)
        reason = ("почтовый сервер не ответил вовремя" if timed_out
                  else "соединение с почтовым сервером прервалось")
        return Outcome(letter.code, FAILED, reason)
    if refused:
        bad = ", ".join(sorted(refused))
        return Outcome(letter.code, SENT, _clip(f"сервер не принял адреса: {bad}"))
    return Outcome(letter.code, SENT)


def _reconnect(settings: MailSettings, why: str) -> tuple[smtplib.SMTP | None, str]:
    try:
        return connect(settings), ""
    except MailServerError as exc:
        return None, _clip(f"{why}; повторное соединение не удалось: {exc.message_ru}")


def _tls(settings: MailSettings) -> ssl.SSLContext:
    context = ssl.create_default_context()
    if settings.ca_file is not None:
        context.load_verify_locations(cafile=str(settings.ca_file))
    return context


def _quit(conn: smtplib.SMTP) -> None:
    try:
        conn.quit()
    except (OSError, smtplib.SMTPException):
        conn.close()


def _reason(exc: smtplib.SMTPResponseException | smtplib.SMTPException) -> str:
    code = getattr(exc, "smtp_code", "")
    text = _text(getattr(exc, "smtp_error", b"")) or str(exc)
    return _clip(f"{code} {text}".strip())


def _text(value: bytes | str) -> str:
    raw = value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)
    return " ".join(raw.split())


def _os_reason(exc: OSError) -> str:
    if isinstance(exc, socket.gaierror):
        return "имя сервера не найдено"
    if isinstance(exc, ConnectionRefusedError):
        return "соединение отклонено (на этом порту нет почтового сервера)"
    return exc.strerror or type(exc).__name__


def _clip(text: str) -> str:
    return text if len(text) <= MAX_REASON else text[: MAX_REASON - 1] + "…"
