"""School workbooks in a WebDAV folder: Яндекс Диск (webdav.yandex.ru, an application
password), Nextcloud / ownCloud, Облако Mail.ru — the clouds Russian public bodies may use.

A registry entry names a file by its full address, or (``--source-webdav``) by a path relative
to one WebDAV folder, as ``--source-dir`` resolves a folder. The source:

* lists each folder once (PROPFIND, Depth 1): every file's size, ETag and getlastmodified.
  The size refuses a file over the limit before any download; the ETag (or the modification
  time and size) is the file's *version*, so a re-sync downloads only the files that changed,
  as Drive's modifiedTime spares Google reads;
* downloads a file by ONE streamed GET (one consistent version, even when the school replaces
  the file meanwhile: its version is the one the GET answered with), bounded in bytes and time,
  into a private temporary file that the folder source then reads: the file guard judges the
  downloaded bytes exactly as a local file, and the temporary file is removed at once;
* retries timeouts, dropped connections, 408/429/5xx with exponential backoff, a bounded
  number of times and within a deadline per file; a host that stopped answering is not asked
  again for the rest of the run, so one dead server cannot hold the run for hours.

webdav4 parses the multistatus answers (hrefs, percent-encoded Cyrillic names, dates); the
requests themselves go through its httpx client, so that timeouts, retries, the size cap and
the credentials' scope stay ours. The login and the application password are sent only to the
configured folder's server (httpx drops them on a redirect to another host); they are never in
a URL, a message, a log line or the master.
"""

from __future__ import annotations

import logging
import posixpath
import random
import tempfile
import time
import uuid
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote, urlsplit

import httpx

from addin.errors import WorkbookError, WorkbookNotFoundError, WorkbookTooLargeError
from sync.sources.base import (
    Fetched,
    SchoolEntry,
    SourceError,
    SourceUnavailableError,
    is_google_source,
    is_web_address,
    unexpected_error,
    utc_now,
)
from sync.sources.folder import FolderSource
from workbook_templates.contract import REGISTRY_HEADER

log = logging.getLogger(__name__)

#: Environment variable with the application password (Яндекс ID → Пароли приложений).
PASSWORD_ENV = "NASTAVNIK_WEBDAV_PASSWORD"
#: A school's book is 1-5 MB; anything past this is refused from its listed size.
MAX_DOWNLOAD_BYTES = 50 * 1024 * 1024
DEFAULT_TIMEOUT = 30.0  # seconds without a byte from the server
MAX_ATTEMPTS = 3
#: The longest one file may take, every attempt and backoff included.
FILE_DEADLINE = 120.0
#: Files in a row whose every attempt failed to reach a host: the host is then given up.
DEAD_HOST_AFTER = 2
RETRY_STATUSES = frozenset({408, 425, 429, 500, 502, 503, 504, 509})
_CHUNK = 1024 * 1024
#: (run, host) -> files in a row that failed to reach the host, per process: the batches of
#: one run a worker process reads share what it learnt about a dead server.
_DEAD: dict[tuple[str, str], int] = {}


class WebDavAccessDeniedError(WorkbookNotFoundError):
    """The server refused the file: wrong login or password (401) or no right to it (403)."""

    code = "webdav-no-access"
    status_ru = "нет доступа к файлу"


@dataclass(frozen=True)
class WebDavSettings:
    """Where the books are and as whom they are read. The password never shows in a repr."""

    #: The folder relative registry paths resolve against (``--source-webdav``), or None.
    folder: str | None = None
    login: str | None = None
    password: str | None = field(default=None, repr=False)
    #: The only folder the credentials are sent to (its server), default ``folder``; with
    #: `confined`, files outside it are not read at all (the server's workspace).
    root: str | None = None
    confined: bool = False
    timeout: float = DEFAULT_TIMEOUT
    max_attempts: int = MAX_ATTEMPTS
    max_bytes: int = MAX_DOWNLOAD_BYTES
    file_deadline: float = FILE_DEADLINE
    base_delay: float = 0.5
    max_delay: float = 8.0

    @property
    def scope(self) -> str | None:
        return self.root or self.folder

    def handles(self, source: str) -> bool:
        """True for an entry this source reads: a web address that is not a Google
        spreadsheet, or any non-Google entry when a WebDAV folder is given."""
        s = (source or "").strip()
        if is_google_source(s):
            return False
        return is_web_address(s) or self.folder is not None


def has_credentials(url: str) -> bool:
    """A login or password written into the address itself («https://u:p@host/…»)."""
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return False
    return parts.username is not None or parts.password is not None


def shown(url: str) -> str:
    """An address as a person reads it: percent-escapes decoded (never a password)."""
    return unquote(url)


@dataclass(frozen=True)
class RemoteFile:
    """One file as the folder's listing gives it."""

    url: str
    size: int | None
    #: The version: «webdav:<ETag>», or the modification time and size; None if unknown.
    version: str | None
    is_folder: bool = False


def version_of(etag: str | None, modified: datetime | None, size: int | None) -> str | None:
    """The version key of a file from its ETag, or from its modification time and size."""
    if etag:
        return "webdav:" + etag.strip().removeprefix("W/").strip('"')
    if modified is not None:
        moment = modified if modified.tzinfo else modified.replace(tzinfo=UTC)
        return f"webdav:{moment.astimezone(UTC).isoformat()}:{size}"
    return None


class _Exhausted(Exception):
    """Every attempt at one request failed with a retryable error (reason in Russian)."""

    def __init__(self, reason_ru: str, *, transport: bool) -> None:
        super().__init__(reason_ru)
        self.reason_ru, self.transport = reason_ru, transport


class _Status(Exception):
    """A final HTTP status (not retried)."""

    def __init__(self, status: int) -> None:
        super().__init__(status)
        self.status = status


class WebDavSource:
    """School files on WebDAV servers (see the module docstring).

    Picklable: worker processes of the sync get the settings and the listing, and open their
    own connections."""

    def __init__(self, settings: WebDavSettings,
                 listing: dict[str, RemoteFile | WorkbookError] | None = None,
                 run: str | None = None) -> None:
        self.settings = settings
        self.listing: dict[str, RemoteFile | WorkbookError] = dict(listing or {})
        self.run = run or uuid.uuid4().hex
        self._clients: dict[str, httpx.Client] = {}
        self._rng = random.Random()

    def __getstate__(self) -> dict[str, Any]:
        return {"settings": self.settings, "listing": self.listing, "run": self.run}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(state["settings"], state["listing"], state["run"])

    def close(self) -> None:
        for client in self._clients.values():
            client.close()
        self._clients.clear()

    # -- addresses ----------------------------------------------------------------------
    def url(self, entry: SchoolEntry) -> str:
        """The file's address (percent-encoded); a WorkbookError when there is none to read."""
        s = entry.source.strip()
        if not s:
            raise WorkbookNotFoundError(
                f"В реестре не указан файл книги ОО {entry.code} (столбец "
                f"«{REGISTRY_HEADER[3]}»).", source=entry.code)
        if has_credentials(s):
            raise SourceError(
                f"В адресе книги ОО {entry.code} в реестре записаны логин или пароль. Уберите "
                "их из адреса: логин задаётся параметром --webdav-login, пароль приложения — "
                f"переменной {PASSWORD_ENV} или файлом --webdav-password-file.",
                source=entry.code)
        if is_web_address(s):
            url = s
        else:
            base = self.settings.folder or ""
            rel = "/".join(quote(part, safe="") for part in s.replace("\\", "/").split("/"))
            url = base.rstrip("/") + "/" + rel.lstrip("/")
        parts = urlsplit(url)
        path = posixpath.normpath(unquote(parts.path) or "/")
        url = parts._replace(path=quote(path, safe="/"), query="", fragment="").geturl()
        if self.settings.confined and not self._inside(url):
            where = shown(self.settings.scope) if self.settings.scope else "не задана"
            raise WorkbookNotFoundError(
                f"Файл книги ОО {entry.code} указан вне папки WebDAV сервера ({shown(url)}): "
                f"сервер читает книги только из своей папки WebDAV ({where}).",
                source=entry.code)
        return url

    def _inside(self, url: str) -> bool:
        scope = self.settings.scope
        if not scope:
            return False
        a, b = urlsplit(url), urlsplit(scope)
        root = posixpath.normpath(unquote(b.path) or "/").rstrip("/") + "/"
        return (_origin(a) == _origin(b)
                and (unquote(a.path).rstrip("/") + "/").startswith(root))

    def _auth(self, url: str) -> tuple[str, str] | None:
        """Credentials for this address: only for the configured folder's server."""
        s = self.settings
        if not s.login:
            return None
        if s.scope and _origin(urlsplit(url)) != _origin(urlsplit(s.scope)):
            return None
        return (s.login, s.password or "")

    def _client(self, url: str) -> httpx.Client:
        origin = _origin(urlsplit(url))
        client = self._clients.get(origin)
        if client is None:
            t = self.settings.timeout
            # the environment's proxy is honoured: centres often reach the internet through one
            client = httpx.Client(auth=self._auth(url), follow_redirects=True,
                                  timeout=httpx.Timeout(t, connect=min(t, 10.0)),
                                  headers={"User-Agent": "nastavnik"})
            self._clients[origin] = client
        return client

    # -- listing ------------------------------------------------------------------------
    def list_files(self, entries: list[SchoolEntry]) -> dict[str, RemoteFile | WorkbookError]:
        """List the folders of these entries (one PROPFIND, Depth 1, per folder): entry code
        -> its file, or the error that stops it. Entries of a folder that could not be listed
        for a reason that may not hold for the file itself are left out (fetched on their own)."""
        folders: dict[str, list[tuple[SchoolEntry, str]]] = {}
        for entry in entries:
            try:
                url = self.url(entry)
            except WorkbookError as exc:
                self.listing[entry.code] = exc
                continue
            parent = url.rsplit("/", 1)[0] + "/"
            folders.setdefault(parent, []).append((entry, url))
        for parent, items in folders.items():
            self._list_folder(parent, items)
        return self.listing

    def _list_folder(self, parent: str, items: list[tuple[SchoolEntry, str]]) -> None:
        try:
            files = self._propfind(parent, depth="1", deadline=self._deadline())
        except _Status as exc:
            if exc.status in (404, 410):
                for entry, url in items:
                    self.listing[entry.code] = WorkbookNotFoundError(
                        f"Папка {shown(parent)} не найдена на сервере WebDAV: проверьте адрес "
                        f"книги ОО {entry.code} в реестре (или --source-webdav).",
                        source=shown(url))
            elif exc.status == 401:
                for entry, url in items:
                    self.listing[entry.code] = self._denied(401, url)
            return  # 403 or another answer: each file is asked on its own
        except _Exhausted as exc:
            for entry, url in items:
                self.listing[entry.code] = self._unavailable(exc, url)
            return
        except Exception as exc:  # noqa: BLE001 (an odd answer: each file on its own)
            log.warning("WebDAV listing unusable (%s); files are asked one by one",
                        type(exc).__name__)
            return
        for entry, url in items:
            found = files.get(_path_key(url))
            self.listing[entry.code] = found if found is not None else WorkbookNotFoundError(
                f"Файл книги ОО {entry.code} не найден на сервере WebDAV: {shown(url)}. "
                "Проверьте имя файла в реестре и что школа загрузила книгу в папку.",
                source=shown(url))

    def _propfind(self, url: str, depth: str, deadline: float) -> dict[str, RemoteFile]:
        """Path key -> file of a PROPFIND answer (webdav4 parses the multistatus XML)."""
        from webdav4.multistatus import MultiStatusResponse

        def request() -> str:
            response = self._client(url).request("PROPFIND", url, headers={"Depth": depth})
            if response.status_code != 207:
                self._raise_for(response.status_code)
            return response.text

        text = self._attempts(url, request, deadline)
        try:
            parsed = MultiStatusResponse(text)
        except Exception as exc:  # noqa: BLE001 (malformed XML, a response without href)
            log.warning("WebDAV answer not understood (%s)", type(exc).__name__)
            raise SourceUnavailableError(
                "Сервер WebDAV прислал непонятный ответ на запрос списка файлов. Проверьте "
                "адрес папки (для Nextcloud он оканчивается на /remote.php/dav/files/ЛОГИН/…) "
                "и запустите сбор ещё раз.", source=shown(url)) from None
        origin = _origin(urlsplit(url))
        out = {}
        for path, resp in parsed.responses.items():
            props = resp.properties
            full = f"{origin}{quote(path, safe='/')}"
            out[path.rstrip("/")] = RemoteFile(
                full, props.content_length,
                version_of(props.etag, props.modified, props.content_length),
                is_folder=bool(props.collection))
        return out

    def unread(self, entry: SchoolEntry) -> Fetched:
        """The file's version and address without downloading it (a re-sync keeps the result
        of a file whose listed version it judged before)."""
        found = self.listing.get(entry.code)
        if isinstance(found, RemoteFile):
            return Fetched(entry, None, None, origin=shown(found.url), sha256=None,
                           fetched_at=utc_now(), source=_name(found.url),
                           version=found.version)
        return Fetched(entry, None, None, origin=entry.source, sha256=None,
                       fetched_at=utc_now(), source=entry.source)

    # -- one file -----------------------------------------------------------------------
    def fetch(self, entry: SchoolEntry) -> Fetched:
        """Download and read one school's file; errors go into Fetched.error, never raised."""
        origin, attempts = entry.source, [0]
        try:
            url = self.url(entry)
            origin = shown(url)
            return self._fetch(entry, url, attempts)
        except WorkbookError as exc:
            exc.source = exc.source or origin
            error: WorkbookError = exc
        except Exception as exc:  # noqa: BLE001 (one bad school never stops the run)
            error = unexpected_error(exc, origin)
        return Fetched(entry, None, error, origin=origin, sha256=None, fetched_at=utc_now(),
                       attempts=max(1, attempts[0]), source=_name(origin))

    def _fetch(self, entry: SchoolEntry, url: str, attempts: list[int]) -> Fetched:
        host = (self.run, _origin(urlsplit(url)))
        if _DEAD.get(host, 0) >= DEAD_HOST_AFTER:
            raise SourceUnavailableError(
                "Сервер WebDAV перестал отвечать во время сбора, файл не запрашивался. "
                "Запустите сбор ещё раз позже.", source=shown(url))
        deadline = self._deadline()
        found = self.listing.get(entry.code)
        if isinstance(found, WorkbookError):
            raise found
        try:
            if found is None:  # not listed: ask for the file itself
                found = self._stat(url, deadline)
            if found.is_folder:
                raise WorkbookNotFoundError(
                    f"По адресу книги ОО {entry.code} на сервере WebDAV — папка, а не файл "
                    f"({shown(url)}). Укажите в реестре файл книги.", source=shown(url))
            self._check_size(found.size, url)
            fetched = self._download(entry, found.url, deadline, attempts)
        except _Exhausted as exc:
            if exc.transport:
                _DEAD[host] = _DEAD.get(host, 0) + 1
            raise self._unavailable(exc, url) from None
        except _Status as exc:
            raise self._status_error(exc.status, url) from None
        _DEAD.pop(host, None)
        if found.version is not None and fetched.version != found.version:
            # replaced since the listing: what was read is the version the GET answered
            log.info("WebDAV file of %s changed during the sync; its new version was read",
                     entry.code)
        return fetched

    def _stat(self, url: str, deadline: float) -> RemoteFile:
        files = self._propfind(url, depth="0", deadline=deadline)
        found = files.get(_path_key(url)) or next(iter(files.values()), None)
        if found is None:
            raise _Status(404)
        return found

    def _check_size(self, size: int | None, url: str, *, listed: bool = True) -> None:
        limit = self.settings.max_bytes
        if size is not None and size > limit:
            what = (f"— {_mb(size)} МБ, больше предела {_mb(limit)} МБ, и не загружался" if listed
                    else f"больше предела {_mb(limit)} МБ: загрузка прервана")
            raise WorkbookTooLargeError(
                f"Файл книги на сервере WebDAV {what}. Книга школы занимает обычно 1–5 МБ: "
                "удалите лишние строки и столбцы (или вложенные картинки), сохраните книгу и "
                "загрузите снова.",
                source=shown(url))

    def _download(self, entry: SchoolEntry, url: str, deadline: float,
                  attempts: list[int]) -> Fetched:
        """One streamed GET into a private temporary file, read there by the folder source."""
        name = _name(url)
        with tempfile.TemporaryDirectory(prefix="nastavnik-webdav-") as tmp:
            path = Path(tmp) / name

            def request() -> str | None:
                attempts[0] += 1
                return self._get(url, path, deadline)

            version = self._attempts(url, request, deadline)
            read = FolderSource(Path(tmp)).fetch(replace(entry, source=name))
        if version is None and read.sha256:
            version = f"webdav-sha256:{read.sha256}"  # never matches a listing: read again
        return Fetched(entry, read.sheets, read.error, origin=shown(url), sha256=read.sha256,
                       fetched_at=utc_now(), attempts=max(1, attempts[0]), source=name,
                       version=version)

    def _get(self, url: str, path: Path, deadline: float) -> str | None:
        """Download `url` to `path` within the size limit; the version the answer carries."""
        with self._client(url).stream("GET", url) as response:
            if response.status_code != 200:
                self._raise_for(response.status_code)
            length = response.headers.get("content-length")
            self._check_size(int(length) if length and length.isdigit() else None, url)
            size = 0
            with path.open("wb") as out:
                for chunk in response.iter_bytes(_CHUNK):
                    size += len(chunk)
                    self._check_size(size, url, listed=False)  # the size was not told
                    if time.monotonic() > deadline:
                        raise httpx.ReadTimeout("file deadline passed")
                    out.write(chunk)
            modified = response.headers.get("last-modified")
            return version_of(response.headers.get("etag"),
                              _http_date(modified) if modified else None, size)

    # -- retries ------------------------------------------------------------------------
    def _deadline(self) -> float:
        return time.monotonic() + self.settings.file_deadline

    def _attempts(self, url: str, request: Any, deadline: float) -> Any:
        """`request()` with bounded retries and exponential backoff within `deadline`."""
        s = self.settings
        reason, transport = "", False
        for attempt in range(1, s.max_attempts + 1):
            try:
                return request()
            except _Status as exc:
                if exc.status not in RETRY_STATUSES:
                    raise
                reason, transport = f"ответ сервера HTTP {exc.status}", False
            except httpx.TimeoutException:
                reason, transport = f"сервер не ответил за {s.timeout:g} с", True
            except httpx.TransportError as exc:
                reason, transport = _transport_ru(exc), True
            delay = min(s.max_delay, s.base_delay * 2 ** (attempt - 1))
            delay *= 1 - 0.5 * self._rng.random()
            if attempt == s.max_attempts or time.monotonic() + delay > deadline:
                break
            log.info("WebDAV request failed (%s), retry %d", reason, attempt)
            time.sleep(delay)
        raise _Exhausted(reason, transport=transport)

    @staticmethod
    def _raise_for(status: int) -> None:
        raise _Status(status)

    # -- errors -------------------------------------------------------------------------
    def _status_error(self, status: int, url: str) -> WorkbookError:
        if status in (404, 410):
            return WorkbookNotFoundError(
                f"Файл книги не найден на сервере WebDAV: {shown(url)}. Проверьте имя файла в "
                "реестре и что школа загрузила книгу в папку.", source=shown(url))
        if status in (401, 403):
            return self._denied(status, url)
        return SourceUnavailableError(
            f"Сервер WebDAV отказал в выдаче файла (HTTP {status}). Запустите сбор ещё раз; "
            "если ошибка повторится, проверьте файл в облаке.", source=shown(url))

    def _denied(self, status: int, url: str) -> WorkbookError:
        if status == 401:
            why = ("сервер не принял логин и пароль приложения (HTTP 401). Проверьте "
                   f"--webdav-login и пароль приложения ({PASSWORD_ENV} или "
                   "--webdav-password-file); для Яндекс Диска нужен пароль приложения из "
                   "Яндекс ID, а не пароль от почты")
            if not self._auth(url):
                why = ("сервер требует логин и пароль приложения (HTTP 401), а они для этого "
                       "адреса не заданы")
        else:
            why = ("у учётной записи центра нет доступа к этому файлу (HTTP 403). Попросите "
                   "школу открыть доступ к файлу или загрузить его в общую папку заново")
        return WebDavAccessDeniedError(f"Нет доступа к файлу книги: {why}.", source=shown(url))

    def _unavailable(self, exc: _Exhausted, url: str) -> WorkbookError:
        return SourceUnavailableError(
            f"Сервер WebDAV не ответил после {self.settings.max_attempts} попыток "
            f"({exc.reason_ru}). Остальные книги прочитаны; запустите сбор ещё раз позже.",
            source=shown(url))


def _origin(parts: Any) -> str:
    return f"{parts.scheme.lower()}://{(parts.netloc or '').lower()}"


def _path_key(url: str) -> str:
    return unquote(urlsplit(url).path).rstrip("/")


def _name(url: str) -> str:
    return Path(unquote(urlsplit(url).path)).name or "книга.xlsx"


def _mb(size: int) -> str:
    mb = size / 1024 / 1024
    return f"{mb:.0f}" if mb >= 10 else f"{mb:.1f}".replace(".", ",")


def _http_date(value: str) -> datetime | None:
    try:
        return parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None


def _transport_ru(exc: httpx.TransportError) -> str:
    if isinstance(exc, httpx.ConnectError):
        return "не удалось соединиться с сервером"
    if isinstance(exc, httpx.RemoteProtocolError):
        return "соединение прервалось до конца файла"
    return f"ошибка связи ({type(exc).__name__})"


