"""The WebDAV options of `nastavnik sync` and `nastavnik serve`: the folder, the login and the
application password (from $NASTAVNIK_WEBDAV_PASSWORD or a file), checked before anything runs.

The password is read here and handed to ``sync.sources.webdav.WebDavSettings`` only; it is
never echoed, not even in a refusal.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import click

from sync.cli_errors import Refused, os_reason

PASSWORD_ENV = "NASTAVNIK_WEBDAV_PASSWORD"  # = sync.sources.webdav.PASSWORD_ENV (no httpx here)


def webdav_options(*, folder_help: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """--source-webdav, --webdav-login, --webdav-password-file (and a hidden timeout)."""

    def decorate(f: Callable[..., Any]) -> Callable[..., Any]:
        for option in reversed((
            click.option("--source-webdav", "source_webdav", metavar="АДРЕС", help=folder_help),
            click.option("--webdav-login", envvar="NASTAVNIK_WEBDAV_LOGIN", metavar="ЛОГИН",
                         help="Логин WebDAV (для Яндекс Диска — адрес почты Яндекса). Пароль "
                              f"приложения — в переменной {PASSWORD_ENV} или в файле "
                              "--webdav-password-file."),
            click.option("--webdav-password-file",
                         type=click.Path(dir_okay=False, path_type=Path), metavar="ФАЙЛ",
                         help="Файл с паролем приложения WebDAV (одна строка)."),
            click.option("--webdav-timeout", type=click.FloatRange(0.1, 600), default=None,
                         hidden=True, help="Секунд ожидания ответа сервера WebDAV (для тестов)."),
        )):
            f = option(f)
        return f

    return decorate


def webdav_settings(source_webdav: str | None, login: str | None, password_file: Path | None,
                    timeout: float | None, *, confined: bool = False) -> Any:
    """WebDavSettings from the options (None when none is given), or a Russian refusal.

    For `sync` the folder is where relative registry paths resolve; for the server
    (`confined`) it is only the folder whose files «Собрать свод» may read (relative paths
    stay in the collection folder)."""
    if not (source_webdav or login or password_file or timeout):
        return None
    if source_webdav:
        check_folder_url(source_webdav)
    elif confined:
        raise Refused("Укажите и --source-webdav: папку WebDAV, из которой сервер читает книги "
                      "(логин и пароль приложения отправляются только ей).")
    password = _password(password_file) if login else None
    if login and not password:
        raise Refused("Задан логин WebDAV, но не задан пароль приложения: укажите его в "
                      f"переменной окружения {PASSWORD_ENV} или в файле --webdav-password-file.")
    if password_file and not login:
        raise Refused("Задан файл пароля WebDAV, но не задан логин: укажите --webdav-login.")
    from sync.sources.webdav import WebDavSettings

    folder = source_webdav.rstrip("/") + "/" if source_webdav else None
    extra = {"timeout": timeout} if timeout else {}
    if confined:
        return WebDavSettings(root=folder, login=login, password=password, confined=True,
                              **extra)
    return WebDavSettings(folder=folder, login=login, password=password, **extra)


def check_folder_url(url: str) -> None:
    """A folder address the source can use: http(s), a host, no login or password in it."""
    try:
        parts = urlsplit(url.strip())
        _ = parts.port
    except ValueError:
        parts = None
    if parts is None or parts.scheme not in ("http", "https") or not parts.hostname:
        raise click.BadParameter("укажите адрес папки WebDAV вида "
                                 "https://webdav.yandex.ru/Наставничество/",
                                 param_hint="'--source-webdav'")
    if parts.username is not None or parts.password is not None:
        raise click.BadParameter("в адресе папки записаны логин или пароль: уберите их из "
                                 "адреса, логин задаётся --webdav-login, пароль приложения — "
                                 f"переменной {PASSWORD_ENV} или файлом --webdav-password-file.",
                                 param_hint="'--source-webdav'")


def _password(password_file: Path | None) -> str | None:
    if password_file is None:
        return os.environ.get(PASSWORD_ENV) or None
    try:
        text = password_file.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise Refused(f"Файл пароля WebDAV не найден: {password_file}") from None
    except OSError as exc:
        raise Refused(f"Файл пароля WebDAV {password_file} не читается: "
                      f"{os_reason(exc)}.") from None
    except UnicodeDecodeError:
        raise Refused(f"Файл пароля WebDAV {password_file} — не текст: запишите в него "
                      "пароль приложения одной строкой.") from None
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    if not lines:
        raise Refused(f"Файл пароля WebDAV {password_file} пуст.")
    return lines[0]
