"""The server's configuration and what every part of it shares: the Russian error bodies,
the button token check, the version. It imports no router (``app`` puts them together).
"""

from __future__ import annotations

import hmac
import html
import ipaddress
import logging
import re
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from fastapi import Request
from fastapi.responses import HTMLResponse, JSONResponse, Response

from workbook_templates.versions import VersionWindow, WindowError, window_of

log = logging.getLogger("nastavnik.server")

#: The server's log lines (its check workers write theirs the same way).
LOG_FORMAT = "%(asctime)s %(name)s %(message)s"
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
    #: Mail settings (TOML) for «Напомнить», return notices and results; None: no letters.
    mail_config: Path | None = None
    #: The WebDAV folder «Собрать свод» may read registry addresses from, the login, and the
    #: file holding the application password (`serve --webdav-password-file`; the password
    #: itself is read at start into the injected sync service, never kept here).
    source_webdav: str | None = None
    webdav_login: str | None = None
    webdav_key_file: Path | None = None
    #: The address schools open the server at (https://…), for the buttons of the .xlsm it
    #: hands out; by default the address the page was opened with.
    public_url: str | None = None
    #: Certificate and private key (PEM) for HTTPS served by uvicorn itself.
    tls_cert: Path | None = None
    tls_key: Path | None = None
    #: A reverse proxy (nginx) terminates HTTPS in front of the server: its X-Forwarded-Proto
    #: and X-Forwarded-For are trusted, from `proxy_address` only.
    behind_proxy: bool = False
    proxy_address: str = "127.0.0.1"
    #: IANA time zone of shown times and deadlines (None: the machine's).
    timezone: str | None = None
    #: The regional history (`--db`): «Собрать свод» delivers to it; with `region`, the
    #: store the regional board reads.
    db_url: str | None = None
    #: The municipality's code (ОКТМО) and name in the regional history.
    municipality_code: str | None = None
    municipality_name: str | None = None
    #: «Собрать свод» writes a master without names and birth dates.
    pseudonymize: bool = False
    #: A regional centre's server: the regional board over `db_url`.
    region: bool = False
    #: Template versions a school may submit and «Собрать свод» accepts («1.0,1.1»; None:
    #: the current one and the one before it), and the last period (ГГГГ-ММ) old versions
    #: are accepted for (None: no end). See `versions`.
    accept_versions: str | None = None
    old_versions_until: str | None = None
    #: Processes the books are checked in (0: one per core); see addin/web/workers.py.
    check_workers: int = 0

    @property
    def loopback(self) -> bool:
        try:
            return ipaddress.ip_address(self.host).is_loopback
        except ValueError:
            return self.host == "localhost"

    @property
    def versions(self) -> VersionWindow:
        """The transition window of template versions (checked by `check`)."""
        return window_of(self.accept_versions, self.old_versions_until)

    def check(self) -> None:
        """Refuse configurations that would expose schools' data."""
        try:
            self.versions  # noqa: B018 (a Russian refusal of a version the program never had)
        except WindowError as exc:
            raise ServerConfigError(f"--accept-versions: {exc}") from None
        if self.old_versions_until is not None and not re.fullmatch(
                r"\d{4}-(0[1-9]|1[0-2])", self.old_versions_until):
            raise ServerConfigError(f"--old-versions-until: «{self.old_versions_until}» — не "
                                    "период; укажите ГГГГ-ММ, например 2027-01.")
        if not self.loopback and self.access_file is None:
            raise ServerConfigError(
                f"Сервер запускается на адресе {self.host}, доступном из сети, без файла кодов "
                "доступа школ. Создайте его командой «nastavnik serve add-school-code» и укажите "
                "--access-file, или запустите на 127.0.0.1 для работы на своём компьютере.")
        if self.access_file is not None and not self.access_file.is_file():
            raise ServerConfigError(f"Файл кодов доступа не найден: {self.access_file}")
        if self.registry_path is not None and not self.registry_path.is_file():
            raise ServerConfigError(f"Файл реестра ОО не найден: {self.registry_path}")
        if self.region and not self.db_url:
            raise ServerConfigError("Серверу регионального центра (--region) нужна база истории "
                                    "региона: укажите --db postgresql://…")
        if self.db_url and not self.region and not self.municipality_code:
            raise ServerConfigError("Чтобы «Собрать свод» передавал историю в базу региона "
                                    "(--db), укажите код муниципалитета: --municipality-code.")
        if self.registry_path is not None and self.collect_dir is None and not self.region:
            raise ServerConfigError("Реестр ОО нужен для работы с папкой сбора: укажите также "
                                    "--collect-dir.")
        check_transport(self)
        if self.mail_config is not None:
            from addin.mail.mailer import MailConfigError, Mailer

            try:  # the settings and every letter template, checked before serving
                Mailer.load(self.mail_config)
            except MailConfigError as exc:
                raise ServerConfigError(exc.message_ru) from None


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


NO_TLS_RU = ("Сервер запускается на адресе {host}, доступном из сети, без HTTPS: коды доступа "
             "и книги с персональными данными шли бы по сети открытым текстом. Укажите "
             "сертификат (--tls-cert и --tls-key) или, если перед сервером стоит nginx с HTTPS, "
             "--behind-proxy (см. docs/deploy.md).")
PROXY_OPEN_RU = ("За обратным прокси (--behind-proxy) страница доступна из сети: укажите файл "
                 "кодов доступа (--access-file).")


def check_transport(config: ServerConfig) -> None:
    """HTTPS, the proxy and the zone: refuse what would send codes in the clear."""
    from addin.web import clock, tls

    if (config.tls_cert is None) != (config.tls_key is None):
        raise ServerConfigError("Для HTTPS нужны оба файла: --tls-cert (сертификат) и "
                                "--tls-key (закрытый ключ).")
    if config.tls_cert is not None and config.tls_key is not None:
        problem = tls.pair_problem(Path(config.tls_cert), Path(config.tls_key))
        if problem:
            raise ServerConfigError(problem)
    elif not config.loopback and not config.behind_proxy:
        raise ServerConfigError(NO_TLS_RU.format(host=config.host))
    if config.behind_proxy:
        if config.access_file is None:
            raise ServerConfigError(PROXY_OPEN_RU)
        if not tls.valid_address(config.proxy_address):
            raise ServerConfigError(f"Адрес прокси «{config.proxy_address}» не похож на "
                                    "IP-адрес (например, 127.0.0.1).")
    if config.timezone:
        try:
            clock.zone_named(config.timezone)
        except clock.UnknownZone as exc:
            raise ServerConfigError(exc.message_ru) from None
