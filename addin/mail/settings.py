"""The centre's mail settings: one TOML file (``--mail-config``), the password beside it.

The password is never in the TOML: it comes from an environment variable (``password_env``,
by default NASTAVNIK_SMTP_PASSWORD) or from a file of its own (``password_file``). It is kept
out of ``repr`` so that no log line or page can show it.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from addin.mail.addresses import AddressError, parse_address

DEFAULT_PASSWORD_ENV = "NASTAVNIK_SMTP_PASSWORD"
SECURITY = {"ssl": "SSL", "starttls": "STARTTLS", "none": "без шифрования"}
DEFAULT_PORTS = {"ssl": 465, "starttls": 587, "none": 25}
KNOWN_KEYS = {"host", "port", "security", "login", "password_env", "password_file",
              "sender_name", "sender_address", "signature", "page_url", "templates",
              "timeout", "ca_file", "reply_to"}


class MailConfigError(Exception):
    """The mail settings or letter templates cannot be used (Russian message)."""

    def __init__(self, message_ru: str) -> None:
        super().__init__(message_ru)
        self.message_ru = message_ru


@dataclass(frozen=True)
class MailSettings:
    """How the centre sends letters (see addin/mail/mail.example.toml)."""

    host: str
    port: int
    security: str  # ssl | starttls | none
    sender_address: str
    sender_name: str = ""
    login: str = ""
    signature: str = ""
    page_url: str = ""
    reply_to: str = ""
    timeout: float = 30.0
    #: The centre's own folder of letter templates (files there replace the defaults).
    templates: Path | None = None
    #: A CA certificate file to trust for the mail server (a centre's own certificate).
    ca_file: Path | None = None
    password: str = field(default="", repr=False, compare=False)

    def where(self) -> str:
        """The server as a person reads it (no login, no password)."""
        return f"{self.host}:{self.port} ({SECURITY[self.security]})"


def load_settings(path: Path, environ: dict[str, str] | None = None) -> MailSettings:
    """The settings of `path`; MailConfigError (Russian) for anything unusable."""
    path = Path(path)
    env = os.environ if environ is None else environ
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise MailConfigError(f"Файл настроек почты не найден: {path}") from None
    except OSError as exc:
        raise MailConfigError(f"Файл настроек почты {path.name} не читается: "
                              f"{exc.strerror}") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise MailConfigError(f"Файл настроек почты {path.name} — не TOML: {exc}") from None
    mail = data.get("mail", data)
    if not isinstance(mail, dict):
        raise MailConfigError(f"В файле {path.name} раздел [mail] должен быть таблицей.")
    if "password" in mail:
        raise MailConfigError(
            f"В файле {path.name} указан пароль. Пароль не хранится в файле настроек: "
            "задайте переменную окружения (password_env) или отдельный файл (password_file) "
            "и удалите строку password.")
    unknown = sorted(set(mail) - KNOWN_KEYS)
    if unknown:
        raise MailConfigError(f"В файле {path.name} неизвестные настройки: "
                              f"{', '.join(unknown)}. Допустимы: {', '.join(sorted(KNOWN_KEYS))}.")
    return _settings(mail, path, env)


def _settings(mail: dict[str, Any], path: Path, env: Any) -> MailSettings:
    name = path.name
    host = _text(mail, "host", name)
    if not host:
        raise MailConfigError(f"В файле {name} не указан адрес почтового сервера (host).")
    security = (_text(mail, "security", name) or "starttls").lower()
    if security not in SECURITY:
        raise MailConfigError(f"В файле {name} security = «{security}»: укажите ssl, starttls "
                              "или none.")
    port = mail.get("port", DEFAULT_PORTS[security])
    if not isinstance(port, int) or not 0 < port < 65536:
        raise MailConfigError(f"В файле {name} port = «{port}»: нужен номер порта 1–65535.")
    timeout = mail.get("timeout", 30)
    if not isinstance(timeout, int | float) or not 0 < timeout <= 600:
        raise MailConfigError(f"В файле {name} timeout = «{timeout}»: нужно число секунд 1–600.")
    sender = _text(mail, "sender_address", name)
    try:
        sender = parse_address(sender)
    except AddressError:
        raise MailConfigError(f"В файле {name} адрес отправителя (sender_address) «{sender}» "
                              "не похож на адрес эл. почты.") from None
    base = path.parent
    return MailSettings(
        host=host, port=port, security=security, sender_address=sender,
        sender_name=_text(mail, "sender_name", name), login=_text(mail, "login", name),
        signature=str(mail.get("signature", "")).strip(), page_url=_text(mail, "page_url", name),
        reply_to=_text(mail, "reply_to", name), timeout=float(timeout),
        templates=_folder(mail, "templates", base, name),
        ca_file=_file(mail, "ca_file", base, name),
        password=_password(mail, base, name, env))


def _text(mail: dict[str, Any], key: str, name: str) -> str:
    value = mail.get(key, "")
    if not isinstance(value, str):
        raise MailConfigError(f"В файле {name} {key} должен быть строкой в кавычках.")
    return value.strip()


def _folder(mail: dict[str, Any], key: str, base: Path, name: str) -> Path | None:
    text = _text(mail, key, name)
    if not text:
        return None
    folder = (base / text).resolve()
    if not folder.is_dir():
        raise MailConfigError(f"Папка шаблонов писем не найдена: {folder} (настройка {key} в "
                              f"файле {name}).")
    return folder


def _file(mail: dict[str, Any], key: str, base: Path, name: str) -> Path | None:
    text = _text(mail, key, name)
    if not text:
        return None
    path = (base / text).resolve()
    if not path.is_file():
        raise MailConfigError(f"Файл {path} не найден (настройка {key} в файле {name}).")
    return path


def _password(mail: dict[str, Any], base: Path, name: str, env: Any) -> str:
    """The password from its file or variable; '' when no login needs one."""
    login = _text(mail, "login", name)
    file_text = _text(mail, "password_file", name)
    if file_text:
        path = (base / file_text).resolve()
        try:
            secret = path.read_text(encoding="utf-8").strip()
        except OSError:
            raise MailConfigError(f"Файл пароля почты не читается: {path} (настройка "
                                  f"password_file в файле {name}).") from None
    else:
        variable = _text(mail, "password_env", name) or DEFAULT_PASSWORD_ENV
        secret = env.get(variable, "")
        if login and not secret:
            raise MailConfigError(
                f"Не задан пароль почты: для входа «{login}» задайте переменную окружения "
                f"{variable} или файл пароля (password_file в файле {name}).")
    if login and not secret:
        raise MailConfigError(f"Файл пароля почты пуст (настройка password_file в файле {name}).")
    return secret
