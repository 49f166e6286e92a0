"""The server's configuration and what every part of it shares: the Russian error bodies,
the button token check, the version. It imports no router (``app`` puts them together).
"""

from __future__ import annotations

import hmac
import html
import ipaddress
import logging
from dataclasses import dataclass, field
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from fastapi import Request
from fastapi.responses import HTMLResponse, JSONResponse, Response

from workbook_templates.versions import VersionWindow

log = logging.getLogger("nastavnik.server")

DEFAULT_MAX_BODY = 25 * 1024 * 1024  # a 5,000-participant workbook is ~1-5 MB
TOO_LARGE_RU = ("Файл или запрос слишком большой (больше {mb} МБ). Уменьшите книгу или "
                "обратитесь к администратору.")
BAD_REQUEST_RU = "Запрос не распознан: {what}."
SERVER_ERROR_RU = ("Внутренняя ошибка сервера. Повторите позже; если ошибка повторяется, "
                   "сообщите администратору.")
UNAUTHORIZED_RU = ("Нет доступа: неверный или отсутствующий токен. Укажите токен в настройках "
                   "кнопки.")


class ServerConfigError(Exception):
    """The server cannot start with this configuration (Russian message)."""


@dataclass
class ServerConfig:
    """Everything `nastavnik serve` can be told."""

    host: str = "127.0.0.1"
    port: int = 8000
    #: Token for the remote buttons (Authorization header); None disables the remote API.
    token: str | None = None
    max_body_bytes: int = DEFAULT_MAX_BODY
    #: Folder the page submits accepted files to (the folder `nastavnik sync --source-dir` reads).
    collect_dir: Path | None = None
    #: School access codes (required when bound to a non-loopback address).
    access_file: Path | None = None
    #: Municipality's targets file (TOML) instead of the defaults.
    targets_path: Path | None = None
    #: Registry of schools for the staff's board and «Собрать свод» (staff may upload another).
    registry_path: Path | None = None
    #: The period the board opens on (ГГГГ-ММ); by default the latest one in the journal.
    period: str | None = None
    #: Day of the month the period's workbooks are due (the board counts days to it).
    deadline_day: int = 25
    #: The master workbook «Собрать свод» writes (default <collect>/workspace/свод.xlsx).
    master_path: Path | None = None
    #: Template versions the page lets a school submit (and «Собрать свод» accepts).
    versions: VersionWindow = field(default_factory=VersionWindow)

    @property
    def loopback(self) -> bool:
        try:
            return ipaddress.ip_address(self.host).is_loopback
        except ValueError:
            return self.host == "localhost"

    def check(self) -> None:
        """Refuse configurations that would expose schools' data."""
        if not self.loopback and self.access_file is None:
            raise ServerConfigError(
                f"Сервер запускается на адресе {self.host}, доступном из сети, без файла кодов "
                "доступа школ. Создайте его командой «nastavnik serve add-school-code» и укажите "
                "--access-file, или запустите на 127.0.0.1 для работы на своём компьютере.")
        if self.access_file is not None and not self.access_file.is_file():
            raise ServerConfigError(f"Файл кодов доступа не найден: {self.access_file}")
        if self.registry_path is not None and not self.registry_path.is_file():
            raise ServerConfigError(f"Файл реестра ОО не найден: {self.registry_path}")
        if self.registry_path is not None and self.collect_dir is None:
            raise ServerConfigError("Реестр ОО нужен для работы с папкой сбора: укажите также "
                                    "--collect-dir.")


def app_version() -> str:
    try:
        return version("nastavnik")
    except PackageNotFoundError:  # running from a source tree without install
        return "dev"


def token_ok(config: ServerConfig, header: str | None) -> bool:
    """Constant-time check of 'Authorization: <token>' or 'Authorization: Bearer <token>'."""
    if not config.token or not header:
        return False
    given = header.split(" ", 1)[1] if header.lower().startswith("bearer ") else header
    return hmac.compare_digest(given.strip().encode(), config.token.encode())


def wants_html(request: Request) -> bool:
    return "text/html" in request.headers.get("accept", "")


def russian_error(request: Request, status: int, message: str) -> Response:
    """An error body a person can read: HTML for the page, JSON for programs."""
    if wants_html(request):
        body = (f"<!doctype html><html lang='ru'><meta charset='utf-8'><title>Ошибка</title>"
                f"<body><h1>Ошибка {status}</h1><p>{html.escape(message)}</p><p><a href='/'>"
                "Вернуться к "
                "проверке</a></p></body></html>")
        return HTMLResponse(body, status_code=status)
    return JSONResponse({"error": message}, status_code=status)


def static_dir() -> Path:
    """Assets served by the package itself (no CDN)."""
    return Path(__file__).parent / "static"
