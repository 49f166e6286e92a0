"""Where school workbooks come from: the registry of schools, a folder of files, Google Sheets.

A *source* turns one registry entry into a ``Fetched``: the school's raw sheets (checked to be
our workbook of a known version; consolidation types many schools at once) or a typed
``WorkbookError`` saying why there are none. A source never raises for one bad school, so
one school never stops a municipal run.

* ``FolderSource`` reads .xlsx/.xlsm/.ods files with fastexcel (``addin.model.load_sheets``).
* ``GoogleSheetsSource`` reads a Google spreadsheet with stock gspread: ONE
  ``spreadsheets.get`` request per spreadsheet for every contract sheet, asking (by a field
  mask) only for each cell's effective value and number format type. A number whose format
  is a date or time becomes a Python datetime (time) as openpyxl gives it from an .xlsx,
  so a date typed into a text column reads «ДД.ММ.ГГГГ» as from the file, not a serial
  number; everything else arrives as the values API gives it (numbers, text exactly as
  typed, booleans). It retries 429/5xx/connection errors with exponential backoff and paces
  its requests to respect the API quota. ``endpoint`` redirects all Google traffic to
  another base URL (a staging server, or the fake Sheets API of the tests) through
  ``LoopbackAdapter``.
"""

from __future__ import annotations

import csv
import email.utils
import hashlib
import io
import json
import logging
import os
import random
import re
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from datetime import time as dtime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import gspread
import requests
from google.auth import exceptions as auth_exceptions
from google.auth.transport.requests import AuthorizedSession, Request
from google.oauth2 import service_account

from addin.errors import WorkbookError, WorkbookNotFoundError, corrupt
from addin.model import RawSheet, SchoolWorkbook, check_sheets, load_sheets, normalize_header
from workbook_templates import contract as C
from workbook_templates.contract import REGISTRY_HEADER, dictionary_values

log = logging.getLogger(__name__)

# ------------------------------------------------------------------------------- errors


class RegistryError(Exception):
    """The registry of schools cannot be used (missing file or column, bad row)."""

    def __init__(self, message_ru: str) -> None:
        super().__init__(message_ru)
        self.message_ru = message_ru


class SourceError(WorkbookError):
    """The source itself is not set up (no or bad service-account key, API disabled)."""

    code = "source-config"
    status_ru = "источник не настроен"


class SourceUnavailableError(WorkbookError):
    """The source did not answer after every retry (quota, server or network errors)."""

    code = "source-unavailable"
    status_ru = "источник недоступен"


class SheetAccessDeniedError(WorkbookNotFoundError):
    """The spreadsheet exists but is not shared with the service account (HTTP 403)."""

    code = "sheet-no-access"
    status_ru = "нет доступа к таблице"


# ------------------------------------------------------------------------------- registry

#: Machine keys of the registry columns, in the order of ``REGISTRY_HEADER``
#: (the Russian headers live with the demo generator that writes registries).
REGISTRY_KEYS = ("code", "name", "org_type", "source")
REGISTRY_SUFFIXES_TABLE = (".xlsx", ".xlsm", ".ods")
#: An optional registry column: the municipality's code (ОКТМО), the same on every row.
REGISTRY_MUNICIPALITY = "код муниципалитета"


@dataclass(frozen=True)
class SchoolEntry:
    """One row of the registry of schools."""

    code: str
    name: str
    org_type: str
    #: A path relative to the source folder, or a Google spreadsheet ID or URL.
    source: str
    #: The municipality's code from the optional column «код муниципалитета» ('' if none).
    municipality: str = ""


def read_registry(path: Path) -> list[SchoolEntry]:
    """Entries of a registry (.csv, or the first sheet of .xlsx/.xlsm/.ods).

    The header row holds «код ОО», «наименование», «тип», «источник» (any case, any order,
    extra columns ignored). CSV may be UTF-8 (with or without BOM) or, as Excel writes it on a
    Russian Windows, cp1251; the separator (';', ',' or tab) is taken from the header line.
    """
    path = Path(path)
    if not path.is_file():
        raise RegistryError(f"Файл реестра ОО не найден: {path}")
    suffix = path.suffix.lower()
    if suffix == ".csv":
        rows = _read_csv_rows(path)
    elif suffix in REGISTRY_SUFFIXES_TABLE:
        rows = _read_table_rows(path)
    else:
        kind = path.suffix or "файл без расширения"
        raise RegistryError(f"Реестр ОО {path.name}: нужен файл .csv или .xlsx, а не «{kind}».")
    return _parse_registry(rows, path.name)


def _read_csv_rows(path: Path) -> list[tuple[int, list[str]]]:
    payload = path.read_bytes()
    try:
        text = payload.decode("utf-8-sig")
    except UnicodeDecodeError:
        # Excel on a Russian Windows saves «CSV (разделители - запятые)» in cp1251.
        try:
            text = payload.decode("cp1251")
        except UnicodeDecodeError as exc:
            raise RegistryError(
                f"Реестр ОО {path.name}: не удаётся прочитать текст. Сохраните файл как "
                "«CSV UTF-8 (разделитель — точка с запятой)».") from exc
    first = next((line for line in text.splitlines() if line.strip()), "")
    delimiter = max((";", ",", "\t"), key=first.count)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    rows = []
    try:
        for row in reader:
            rows.append((reader.line_num, row))
    except csv.Error as exc:
        raise RegistryError(f"Реестр ОО {path.name}, строка {reader.line_num}: ошибка формата "
                            f"CSV ({exc}).") from exc
    return rows


def _read_table_rows(path: Path) -> list[tuple[int, list[Any]]]:
    import python_calamine as pc

    try:
        book = pc.CalamineWorkbook.from_path(str(path))
        values = book.get_sheet_by_index(0).to_python(skip_empty_area=False)
    except Exception as exc:  # calamine raises several types for broken files
        raise RegistryError(
            f"Реестр ОО {path.name}: файл не читается (повреждён или защищён паролем). "
            "Откройте его, сохраните заново и повторите.") from exc
    return [(i + 1, list(r)) for i, r in enumerate(values)]


def _cell_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return " ".join(str(value).split())


def _parse_registry(rows: list[tuple[int, list[Any]]], name: str) -> list[SchoolEntry]:
    rows = [(n, [_cell_text(v) for v in r]) for n, r in rows]
    rows = [(n, r) for n, r in rows if any(r)]
    expected = ", ".join(f"«{h}»" for h in REGISTRY_HEADER)
    if not rows:
        raise RegistryError(f"Реестр ОО {name} пуст. Первая строка должна содержать столбцы "
                            f"{expected}, далее — по строке на каждую ОО.")
    header_line, header = rows[0]
    positions = {}
    for i, h in enumerate(header):
        positions.setdefault(normalize_header(h), i)
    index = {}
    for key, title in zip(REGISTRY_KEYS, REGISTRY_HEADER, strict=True):
        pos = positions.get(normalize_header(title))
        if pos is None:
            raise RegistryError(
                f"В реестре ОО {name} нет столбца «{title}» (строка {header_line} должна "
                f"содержать заголовки {expected}).")
        index[key] = pos
    if (pos := positions.get(normalize_header(REGISTRY_MUNICIPALITY))) is not None:
        index["municipality"] = pos
    entries: list[SchoolEntry] = []
    seen: dict[str, int] = {}
    for line, row in rows[1:]:
        cells = {k: (row[p] if p < len(row) else "") for k, p in index.items()}
        code = cells["code"]
        if not code:
            raise RegistryError(
                f"Реестр ОО {name}, строка {line}: не указан код ОО (столбец "
                f"«{REGISTRY_HEADER[0]}»).")
        key = normalize_header(code)
        if key in seen:
            raise RegistryError(
                f"Реестр ОО {name}, строка {line}: код ОО «{code}» уже указан в строке "
                f"{seen[key]}. У каждой ОО должен быть свой код.")
        seen[key] = line
        cells["org_type"] = _org_type(cells["org_type"], name, line)
        entries.append(SchoolEntry(**cells))
    if not entries:
        raise RegistryError(f"В реестре ОО {name} нет ни одной организации: под строкой "
                            "заголовков должна быть хотя бы одна строка.")
    return entries


def registry_municipality(entries: list[SchoolEntry]) -> str:
    """The municipality code the registry gives (column «код муниципалитета»), or ''."""
    codes = sorted({e.municipality for e in entries if e.municipality})
    if len(codes) > 1:
        raise RegistryError(
            f"В реестре ОО разные коды муниципалитета ({', '.join(codes)}): один реестр — "
            "один муниципалитет. Исправьте столбец «код муниципалитета».")
    return codes[0] if codes else ""


def _org_type(text: str, name: str, line: int) -> str:
    """The type as the dictionary spells it (ОО, СПО, ДО), whatever the case."""
    allowed = dictionary_values("org_types")
    for value in allowed:
        if normalize_header(value) == normalize_header(text):
            return value
    raise RegistryError(
        f"Реестр ОО {name}, строка {line}: тип «{text}» не из списка ({', '.join(allowed)}).")


# ------------------------------------------------------------------------------- fetched


@dataclass
class Fetched:
    """What a source hands to consolidation for one school."""

    entry: SchoolEntry
    #: Sheet name -> raw sheet, as read; None when the school could not be read.
    sheets: dict[str, RawSheet] | None
    error: WorkbookError | None
    #: File path or spreadsheet URL, for the collection log.
    origin: str
    #: SHA-256 of the file bytes (folder) or of a canonical JSON of the values (Google).
    sha256: str | None
    fetched_at: datetime
    #: 1 + the number of retries it took.
    attempts: int = 1
    #: The name findings and reports carry (the file name, or the spreadsheet URL).
    source: str = ""

    @property
    def ok(self) -> bool:
        return self.sheets is not None

    @property
    def workbook(self) -> SchoolWorkbook | None:
        """The school alone, typed (a batch of one); consolidation batches `sheets` instead."""
        if self.sheets is None:
            return None
        return SchoolWorkbook.from_raw(self.sheets, source=self.source)


def _now() -> datetime:
    return datetime.now(UTC)


def _unexpected(exc: Exception, source: str) -> WorkbookError:
    """A last-resort error: a bug must not stop the run, but it must be visible in the log."""
    log.error("unexpected error while reading %s", source, exc_info=exc)
    return WorkbookError(
        f"Книгу не удалось прочитать из-за внутренней ошибки программы "
        f"({type(exc).__name__}). Сообщите разработчикам; остальные ОО обработаны.",
        source=source)


# ------------------------------------------------------------------------------- folder


class FolderSource:
    """School files in a folder; registry sources are paths relative to ``root``.

    A `confined` source reads nothing outside ``root`` (the server's workspace, whose
    registry staff upload): «../» or an absolute path leaves the school «не представлен»."""

    def __init__(self, root: Path, *, confined: bool = False) -> None:
        self.root = Path(root)
        self.confined = confined

    def path(self, entry: SchoolEntry) -> Path:
        return self.root / entry.source

    def _outside(self, path: Path) -> bool:
        return self.confined and not path.resolve().is_relative_to(self.root.resolve())

    def unread(self, entry: SchoolEntry) -> Fetched:
        """The file's SHA-256 and origin without reading its sheets (for a re-sync that
        reuses stored results of unchanged files)."""
        path = self.path(entry)
        digest = None
        if entry.source.strip() and not self._outside(path) and path.is_file():
            with path.open("rb") as fh:
                digest = hashlib.file_digest(fh, "sha256").hexdigest()
        return Fetched(entry, None, None, origin=str(path), sha256=digest, fetched_at=_now(),
                       source=path.name)

    def fetch(self, entry: SchoolEntry) -> Fetched:
        path = self.path(entry)
        digest: str | None = None
        sheets: dict[str, RawSheet] | None = None
        error: WorkbookError | None = None
        try:
            if not entry.source.strip():
                raise WorkbookNotFoundError(
                    f"В реестре не указан файл книги ОО {entry.code} (столбец "
                    f"«{REGISTRY_HEADER[3]}»).", source=entry.code)
            if self._outside(path):
                raise WorkbookNotFoundError(
                    f"Файл книги ОО {entry.code} указан вне папки сбора ({entry.source}): "
                    "сервер читает книги только из папки сбора.", source=entry.code)
            if path.is_file():
                with path.open("rb") as fh:
                    digest = hashlib.file_digest(fh, "sha256").hexdigest()
            sheets = load_sheets(path)
        except Exception as exc:  # noqa: BLE001 (one bad school never stops the run)
            error = corrupt(exc, path.name)  # a reading failure: «файл повреждён»
        return Fetched(entry, sheets, error, origin=str(path), sha256=digest,
                       fetched_at=_now(), source=path.name)


# ------------------------------------------------------------------------------- Google

SCOPES = ("https://www.googleapis.com/auth/spreadsheets.readonly",
          "https://www.googleapis.com/auth/drive.metadata.readonly")
#: Drive v3 files.list: when each spreadsheet last changed, for an incremental re-sync.
DRIVE_FILES = "https://www.googleapis.com/drive/v3/files"
DRIVE_QUERY = {"q": "mimeType='application/vnd.google-apps.spreadsheet' and trashed=false",
               "fields": "nextPageToken,files(id,modifiedTime)", "pageSize": "1000",
               "supportsAllDrives": "true", "includeItemsFromAllDrives": "true"}
#: Environment variable with the path of the service-account JSON key.
KEY_ENV = "NASTAVNIK_GOOGLE_KEY"
NO_KEY_MESSAGE = (
    "Источник — таблица Google, но ключ сервисного аккаунта не задан. Укажите путь к JSON-ключу "
    f"в параметре --google-key или в переменной окружения {KEY_ENV} (ключ создаётся в Google "
    "Cloud Console: IAM и администрирование → Сервисные аккаунты → Ключи → Добавить ключ → "
    "JSON) и откройте каждой таблице доступ «Читатель» для адреса этого аккаунта.")
#: spreadsheets.get field mask: per cell the effective value (numbers and booleans typed,
#: text exactly as typed, dates as serial numbers) and the number format type, which alone
#: tells a date from a number. The same read quota as one values:batchGet.
GRID_FIELDS = ("sheets(properties(title),data(startRow,startColumn,"
               "rowData(values(effectiveValue,effectiveFormat(numberFormat(type))))))")
#: Number format types whose numbers are dates or times (serial days since 1899-12-30).
DATE_TYPES = frozenset({"DATE", "DATE_TIME", "TIME"})
GOOGLE_EPOCH = datetime(1899, 12, 30)
#: ErrorValue.type -> the text the values API shows for a formula error.
ERROR_TEXT = {"ERROR": "#ERROR!", "NULL_VALUE": "#NULL!", "DIVIDE_BY_ZERO": "#DIV/0!",
              "VALUE": "#VALUE!", "REF": "#REF!", "NAME": "#NAME?", "NUM": "#NUM!",
              "N_A": "#N/A", "LOADING": "Loading..."}
#: Sheets one spreadsheet is read for (the data sheets and Инструкция for the version).
READ_SHEETS: tuple[C.Sheet, ...] = (C.INSTRUCTIONS, *C.DATA_SHEETS)
#: Retried HTTP statuses: quota (429), timeouts (408) and server errors (5xx).
RETRY_STATUSES = frozenset({408, 429})
#: Longest Retry-After honoured, in seconds.
MAX_RETRY_AFTER = 600.0
DEFAULT_TIMEOUT = (10.0, 120.0)  # (connect, read) seconds

_URL_ID = re.compile(r"^https?://docs\.google\.com/spreadsheets/(?:u/\d+/)?d/([A-Za-z0-9_-]+)")
_BARE_ID = re.compile(r"^[A-Za-z0-9_-]{25,}$")
_FILE_SUFFIXES = (".xlsx", ".xlsm", ".ods")


def is_google_source(source: str) -> bool:
    """True for a spreadsheet URL or a bare spreadsheet ID; False for a file path."""
    s = (source or "").strip()
    if s.lower().endswith(_FILE_SUFFIXES):
        return False
    return bool(_URL_ID.match(s) or _BARE_ID.match(s))


def spreadsheet_id(source: str) -> str:
    """The spreadsheet ID of a URL or bare ID (ValueError for anything else)."""
    s = (source or "").strip()
    m = _URL_ID.match(s)
    if m:
        return m.group(1)
    if is_google_source(s):
        return s
    raise ValueError(f"not a Google spreadsheet ID or URL: {source!r}")


def spreadsheet_url(sid: str) -> str:
    return f"https://docs.google.com/spreadsheets/d/{sid}/edit"


class LoopbackAdapter(requests.adapters.HTTPAdapter):
    """Send every https://<google host>/path to ``base_url``/path.

    An endpoint override for a staging server or a local fake Sheets API: gspread and
    google-auth stay unmodified, only the transport is redirected. The original host goes in
    an ``X-Orig-Host`` header.
    """

    # google-auth deep-copies the auth Request for its background Regional Access Boundary
    # lookup; HTTPAdapter pickles only the names in __attrs__, so base_url must be listed.
    __attrs__ = requests.adapters.HTTPAdapter.__attrs__ + ["base_url"]

    def __init__(self, base_url: str, **kw: Any) -> None:
        self.base_url = base_url.rstrip("/")
        super().__init__(**kw)

    def send(self, request, **kw):  # noqa: ANN001, ANN201 (requests' signature)
        u = urlsplit(request.url)
        request.headers["X-Orig-Host"] = u.netloc
        request.url = self.base_url + request.url[len(f"{u.scheme}://{u.netloc}"):]
        kw["proxies"] = {}  # never through an environment proxy
        return super().send(request, **kw)


def connect(credentials: Any, endpoint: str | None = None,
            timeout: float | tuple[float, float] | None = DEFAULT_TIMEOUT) -> gspread.Client:
    """A stock gspread client; with ``endpoint``, every Google request goes there instead."""
    auth_session = requests.Session()
    if endpoint:
        auth_session.trust_env = False
        auth_session.mount("https://", LoopbackAdapter(endpoint))
    # google-auth's own traffic (token, Regional Access Boundary) uses auth_session.
    session = AuthorizedSession(credentials, auth_request=Request(auth_session))
    if endpoint:
        session.trust_env = False
        session.mount("https://", LoopbackAdapter(endpoint))
    client = gspread.Client(auth=credentials, session=session)
    client.set_timeout(timeout)
    return client


class _Exhausted(Exception):
    """Every attempt of one request failed with a retryable error."""

    def __init__(self, reason: str, status: int | None) -> None:
        super().__init__(reason)
        self.reason, self.status = reason, status


class _Read:
    """Per-school read state: how many retries it took."""

    def __init__(self) -> None:
        self.retries = 0


class GoogleSheetsSource:
    """School workbooks kept as Google spreadsheets, read with a service account.

    Quota (developers.google.com/sheets/api/limits): 300 read requests per minute per
    project and 60 per minute per user per project; a service account is one user, so one
    sync can read at most 60 spreadsheets a minute at one request each. ``min_interval=1.0``
    keeps a run under that; retries back off exponentially and honour ``Retry-After``.
    """

    def __init__(self, client: gspread.Client, *, max_attempts: int = 5,
                 base_delay: float = 1.0, max_delay: float = 60.0,
                 sleep: Callable[[float], None] = time.sleep, min_interval: float = 0.0,
                 jitter: float = 0.5, clock: Callable[[], float] = time.monotonic,
                 rng: random.Random | None = None, account_email: str | None = None) -> None:
        if max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        self.client = client
        self.max_attempts = max_attempts
        self.base_delay, self.max_delay = base_delay, max_delay
        self.sleep, self.clock = sleep, clock
        self.min_interval = min_interval
        self.jitter = jitter
        self.rng = rng or random.Random()
        self.account_email = account_email
        self._last_request: float | None = None

    @classmethod
    def from_service_account(cls, key_file: Path | None = None, *, endpoint: str | None = None,
                             timeout: float | tuple[float, float] | None = DEFAULT_TIMEOUT,
                             **kw: Any) -> GoogleSheetsSource:
        """A source reading with the service-account key ``key_file`` (or $NASTAVNIK_GOOGLE_KEY).

        ``endpoint`` None talks to Google; a base URL sends all traffic there instead.
        Raises SourceError with a Russian message for a missing or invalid key.
        """
        raw = key_file or os.environ.get(KEY_ENV)
        if not raw:
            raise SourceError(NO_KEY_MESSAGE)
        path = Path(raw)
        try:
            info = json.loads(path.read_text(encoding="utf-8-sig"))
        except FileNotFoundError as exc:
            raise SourceError(f"Файл ключа сервисного аккаунта Google не найден: {path}") from exc
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise SourceError(
                f"Файл {path.name} не является JSON-ключом сервисного аккаунта Google. "
                "Скачайте ключ в формате JSON в Google Cloud Console.") from exc
        if not isinstance(info, dict) or info.get("type") != "service_account":
            raise SourceError(
                f"Файл {path.name} — не ключ сервисного аккаунта (нужен JSON с "
                "\"type\": \"service_account\"). Создайте ключ сервисного аккаунта в Google "
                "Cloud Console: IAM и администрирование → Сервисные аккаунты → Ключи.")
        try:
            creds = service_account.Credentials.from_service_account_info(info, scopes=SCOPES)
        except (ValueError, KeyError, TypeError) as exc:
            raise SourceError(
                f"Ключ сервисного аккаунта {path.name} повреждён или неполон ({exc}). "
                "Скачайте новый JSON-ключ в Google Cloud Console.") from exc
        kw.setdefault("account_email", info.get("client_email"))
        return cls(connect(creds, endpoint, timeout), **kw)

    # -- fetch --------------------------------------------------------------------------
    def fetch(self, entry: SchoolEntry) -> Fetched:
        """Read one school's spreadsheet; errors go into Fetched.error, never raised."""
        try:
            sid = spreadsheet_id(entry.source)
        except ValueError:
            err = SourceError(f"«{entry.source}» — не ссылка на таблицу Google и не её "
                              "идентификатор.", source=entry.code)
            return Fetched(entry, None, err, entry.source, None, _now())
        origin = spreadsheet_url(sid)
        state = _Read()
        values: dict[str, list] | None = None
        sheets: dict[str, RawSheet] | None = None
        error: WorkbookError | None = None
        try:
            values = self._read_values(sid, state)
            raw = {k: RawSheet.from_rows(v) for k, v in values.items()}
            check_sheets(raw, origin)
            sheets = raw
        except WorkbookError as exc:
            exc.source = exc.source or origin
            error = exc
        except _Exhausted as exc:
            error = self._unavailable(exc, origin, state)
        except gspread.exceptions.APIError as exc:
            error = self._api_error(exc, sid, origin)
        except auth_exceptions.RefreshError as exc:
            error = SourceError(
                "Google не принял ключ сервисного аккаунта: ключ отозван, удалён или "
                f"неверен, либо на компьютере неверное время ({exc.args[0] if exc.args else exc}"
                "). Создайте новый ключ и проверьте часы.", source=origin)
        except Exception as exc:  # one bad school never stops the run
            error = _unexpected(exc, origin)
        digest = _values_digest(values) if values is not None else None
        return Fetched(entry, sheets, error, origin=origin, sha256=digest, fetched_at=_now(),
                       attempts=1 + state.retries, source=origin)

    def modified_times(self) -> dict[str, str]:
        """Spreadsheet ID -> Drive's modifiedTime, for every spreadsheet this account reads.

        A few files.list requests for the whole registry (Drive's quota, not the Sheets
        quota), so that a re-sync fetches only the spreadsheets that changed. Empty when Drive
        cannot tell: then every spreadsheet is fetched, as without it.
        """
        out: dict[str, str] = {}
        params = dict(DRIVE_QUERY)
        state = _Read()
        try:
            while True:
                resp = self._call(lambda p=dict(params): self.client.http_client.request(
                    "get", DRIVE_FILES, params=p), state)
                data = resp.json()
                out.update({f["id"]: f["modifiedTime"] for f in data.get("files", [])
                            if f.get("id") and f.get("modifiedTime")})
                if not data.get("nextPageToken"):
                    return out
                params["pageToken"] = data["nextPageToken"]
        except Exception as exc:  # noqa: BLE001 (an optimisation must never stop the run)
            log.warning("Drive files.list failed (%s); every spreadsheet is fetched",
                        type(exc).__name__)
            return {}

    def _read_values(self, sid: str, state: _Read) -> dict[str, list]:
        """Sheet title -> rows: one spreadsheets.get, or metadata + get if a sheet is missing."""
        titles = [s.name for s in READ_SHEETS]
        try:
            return self._grid_get(sid, titles, state)
        except gspread.exceptions.APIError as exc:
            if not _is_range_error(exc):
                raise
        # A sheet is missing or renamed (case, dashes): list the titles and read those
        # the contract knows, matched as SchoolWorkbook matches them.
        meta = self._call(lambda: self.client.http_client.fetch_sheet_metadata(
            sid, params={"includeGridData": "false", "fields": "sheets.properties.title"}),
            state)
        wanted = {normalize_header(t) for t in titles}
        present = [s["properties"]["title"] for s in meta.get("sheets", [])
                   if normalize_header(s["properties"]["title"]) in wanted]
        if not present:
            return {}
        return self._grid_get(sid, present, state)

    def _grid_get(self, sid: str, titles: list[str], state: _Read) -> dict[str, list]:
        """The cells of these sheets (one spreadsheets.get), as rows of Python values."""
        params = {"ranges": [gspread.utils.absolute_range_name(t) for t in titles],
                  "fields": GRID_FIELDS}
        resp = self._call(lambda: self.client.http_client.spreadsheets_get(
            sid, params=dict(params)), state)
        # The answer is a Spreadsheet: its sheets in the spreadsheet's order, matched back
        # to the requested titles by name.
        wanted = {normalize_header(t) for t in titles}
        out: dict[str, list] = {}
        for sheet in resp.get("sheets", []):
            title = sheet.get("properties", {}).get("title")
            if isinstance(title, str) and normalize_header(title) in wanted:
                wanted.discard(normalize_header(title))
                out[title] = grid_rows(sheet.get("data", []))
        if wanted:
            raise SourceUnavailableError(
                f"Google вернул неполный ответ: {len(out)} листов из {len(out) + len(wanted)} "
                "запрошенных. Запустите сбор ещё раз.")
        return out

    # -- retry and pacing ---------------------------------------------------------------
    def _call(self, request: Callable[[], Any], state: _Read) -> Any:
        """Send one API request with pacing and retries; raise _Exhausted after the last."""
        for attempt in range(1, self.max_attempts + 1):
            self._pace()
            retry_after: float | None = None
            try:
                return request()
            except gspread.exceptions.APIError as exc:
                status = exc.response.status_code
                if status not in RETRY_STATUSES and status < 500:
                    raise
                retry_after = _retry_after(exc.response)
                reason, last_status = f"HTTP {status}", status
            except auth_exceptions.RefreshError as exc:
                if not getattr(exc, "retryable", False):
                    raise
                reason, last_status = f"token: {exc}", None
            except (requests.ConnectionError, requests.Timeout,
                    auth_exceptions.TransportError) as exc:
                reason, last_status = type(exc).__name__, None
            if attempt == self.max_attempts:
                raise _Exhausted(reason, last_status)
            delay = self._delay(attempt, retry_after)
            log.info("Google Sheets: %s, retry %d/%d in %.1f s", reason, attempt,
                     self.max_attempts - 1, delay)
            state.retries += 1
            self.sleep(delay)
        raise AssertionError("unreachable")

    def _delay(self, attempt: int, retry_after: float | None) -> float:
        """Seconds before retry number ``attempt``: Retry-After if given, else exponential."""
        if retry_after is not None:
            return min(max(retry_after, 0.0), MAX_RETRY_AFTER)
        delay = min(self.max_delay, self.base_delay * 2 ** (attempt - 1))
        return delay * (1 - self.jitter * self.rng.random())

    def _pace(self) -> None:
        """Keep at least ``min_interval`` seconds between the starts of two requests."""
        if self.min_interval > 0 and self._last_request is not None:
            wait = self._last_request + self.min_interval - self.clock()
            if wait > 0:
                self.sleep(wait)
        self._last_request = self.clock()

    # -- errors -------------------------------------------------------------------------
    def _api_error(self, exc: gspread.exceptions.APIError, sid: str,
                   origin: str) -> WorkbookError:
        status = exc.response.status_code
        message = str(exc.error.get("message", "")) if isinstance(exc.error, dict) else ""
        if status == 404:
            return WorkbookNotFoundError(
                f"Таблица Google не найдена: проверьте ссылку или идентификатор в реестре "
                f"({sid}).", source=origin)
        if status == 403:
            if "has not been used" in message or "SERVICE_DISABLED" in str(exc.error):
                return SourceError(
                    "В проекте Google Cloud сервисного аккаунта не включён Google Sheets API: "
                    "включите его (API и сервисы → Библиотека → Google Sheets API).",
                    source=origin)
            account = self.account_email or "сервисного аккаунта"
            return SheetAccessDeniedError(
                f"Нет доступа к таблице: откройте доступ сервисному аккаунту {account} "
                "(«Настройки доступа» → добавить этот адрес с ролью «Читатель»).",
                source=origin)
        if status == 401:
            return SourceError(
                "Google не принял ключ сервисного аккаунта (HTTP 401). Проверьте ключ и "
                "повторите.", source=origin)
        return SourceUnavailableError(
            f"Google отклонил запрос к таблице (HTTP {status}: {message}).", source=origin)

    def _unavailable(self, exc: _Exhausted, origin: str, state: _Read) -> WorkbookError:
        tries = state.retries + 1
        if exc.status == 429:
            why = ("квота запросов Google исчерпана. Запустите сбор позже или задайте паузу "
                   "между запросами (квота — 60 чтений в минуту на сервисный аккаунт)")
        else:
            why = f"последняя ошибка: {exc.reason}. Запустите сбор ещё раз позже"
        return SourceUnavailableError(
            f"Google Таблицы не ответили после {tries} попыток: {why}.", source=origin)


def _is_range_error(exc: gspread.exceptions.APIError) -> bool:
    """The 400 the API answers when a requested sheet does not exist."""
    message = exc.error.get("message", "") if isinstance(exc.error, dict) else ""
    return exc.response.status_code == 400 and "Unable to parse range" in str(message)


def _retry_after(response: requests.Response) -> float | None:
    """Seconds of a Retry-After header (delta-seconds or an HTTP date), None if absent."""
    value = response.headers.get("Retry-After")
    if value is None:
        return None
    value = value.strip()
    try:
        return float(value)
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def grid_rows(data: list[dict]) -> list[list[Any]]:
    """Rows of Python values from a sheet's GridData, as the values API would give them:
    interior blanks "", trailing blank cells and rows left out; dates as datetime/time."""
    rows: list[list[Any]] = []
    for grid in data:
        top, left = grid.get("startRow", 0), grid.get("startColumn", 0)  # 0 is omitted
        for i, row_data in enumerate(grid.get("rowData", [])):
            # cells holding only a format (a formatted empty column) are blanks
            cells = [cell_value(c) if "effectiveValue" in c else ""
                     for c in row_data.get("values", ())]
            if not any(v != "" for v in cells):
                continue
            while len(rows) <= top + i:
                rows.append([])
            row = rows[top + i]
            row.extend([""] * (left + len(cells) - len(row)))
            row[left:left + len(cells)] = cells
    for row in rows:
        while row and row[-1] == "":
            row.pop()
    while rows and not rows[-1]:
        rows.pop()
    return rows


def cell_value(cell: dict) -> Any:
    """One CellData as a Python value: a number formatted as a date or time becomes a
    datetime (a time of day: a time), as openpyxl reads the cell from an .xlsx."""
    value = cell.get("effectiveValue") or {}
    if "numberValue" in value:
        number = value["numberValue"]
        kind = ((cell.get("effectiveFormat") or {}).get("numberFormat") or {}).get("type")
        return from_serial(number, kind) if kind in DATE_TYPES else number
    if "stringValue" in value:
        return value["stringValue"]
    if "boolValue" in value:
        return value["boolValue"]
    if "errorValue" in value:
        return ERROR_TEXT.get(value["errorValue"].get("type", ""), "#ERROR!")
    return ""


def from_serial(serial: float, kind: str) -> datetime | dtime | float:
    """A Sheets serial (days since 1899-12-30, time as the fraction) as a datetime, to the
    millisecond; a TIME below one day as a time. Out of datetime's range: the number."""
    try:
        moment = GOOGLE_EPOCH + timedelta(milliseconds=round(serial * 86_400_000))
    except (OverflowError, ValueError):
        return serial
    if kind == "TIME" and 0 <= serial < 1:
        return moment.time()
    return moment


def _values_digest(values: dict[str, list]) -> str:
    canonical = json.dumps(values, ensure_ascii=False, sort_keys=True, separators=(",", ":"),
                           allow_nan=False, default=_tagged)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def _tagged(value: Any) -> Any:
    """Dates and times in the canonical JSON, apart from text that looks the same."""
    if isinstance(value, datetime | dtime):
        return {f"${type(value).__name__}": value.isoformat()}
    raise TypeError(f"not JSON serializable: {type(value).__name__}")


# ------------------------------------------------------------------------------- dispatch

Source = FolderSource | GoogleSheetsSource


def make_source(entry: SchoolEntry, *, source_dir: Path | None,
                google: GoogleSheetsSource | None) -> Source:
    """The source that reads ``entry``: Google for a spreadsheet ID/URL, else the folder.

    Relative paths resolve against ``source_dir`` (the current folder when None). A Google
    entry without a configured GoogleSheetsSource raises SourceError (fetch_all reports it).
    """
    if is_google_source(entry.source):
        if google is None:
            raise SourceError(NO_KEY_MESSAGE, source=entry.code)
        return google
    return FolderSource(source_dir if source_dir is not None else Path("."))


def fetch_all(entries: Iterable[SchoolEntry], source_dir: Path | None,
              google: GoogleSheetsSource | None,
              progress: Callable[[SchoolEntry], Any] | None = None) -> Iterator[Fetched]:
    """Fetch every entry in order; progress(entry) is called before each school."""
    folder = FolderSource(source_dir if source_dir is not None else Path("."))
    for entry in entries:
        if progress is not None:
            progress(entry)
        try:
            source = make_source(entry, source_dir=source_dir, google=google)
        except SourceError as exc:
            yield Fetched(entry, None, exc, origin=entry.source, sha256=None, fetched_at=_now())
            continue
        if isinstance(source, FolderSource):
            source = folder
        yield source.fetch(entry)
