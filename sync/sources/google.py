"""Google Sheets as a source of school workbooks (see ``sync.sources`` for the others).

``GoogleSheetsSource`` reads a Google spreadsheet with stock gspread: ONE ``spreadsheets.get``
request per spreadsheet for every contract sheet, asking (by a field mask) only for each cell's
effective value and number format type. A number whose format is a date or time becomes a
Python datetime (time) as openpyxl gives it from an .xlsx; everything else arrives as the
values API gives it. It retries 429/5xx/connection errors with exponential backoff and paces
its requests to respect the API quota. ``endpoint`` redirects all Google traffic to another
base URL (a staging server, or the fake Sheets API of the tests) through ``LoopbackAdapter``.

A module of its own: gspread and google-auth are imported only by a run whose registry names
a spreadsheet.
"""

from __future__ import annotations

import email.utils
import hashlib
import json
import logging
import os
import random
import time
from collections.abc import Callable
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

from addin.errors import WorkbookError, WorkbookNotFoundError
from addin.model import RawSheet, check_sheets, normalize_header
from sync.sources.base import (
    KEY_ENV,
    NO_KEY_MESSAGE,
    Fetched,
    SchoolEntry,
    SheetAccessDeniedError,
    SourceError,
    SourceUnavailableError,
    spreadsheet_id,
    spreadsheet_url,
    unexpected_error,
    utc_now,
)
from workbook_templates import contract as C

log = logging.getLogger(__name__)

SCOPES = ("https://www.googleapis.com/auth/spreadsheets.readonly",
          "https://www.googleapis.com/auth/drive.metadata.readonly")
#: Drive v3 files.list: when each spreadsheet last changed, for an incremental re-sync.
DRIVE_FILES = "https://www.googleapis.com/drive/v3/files"
DRIVE_QUERY = {"q": "mimeType='application/vnd.google-apps.spreadsheet' and trashed=false",
               "fields": "nextPageToken,files(id,modifiedTime)", "pageSize": "1000",
               "supportsAllDrives": "true", "includeItemsFromAllDrives": "true"}
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
            return Fetched(entry, None, err, entry.source, None, utc_now())
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
            error = unexpected_error(exc, origin)
        digest = _values_digest(values) if values is not None else None
        return Fetched(entry, sheets, error, origin=origin, sha256=digest, fetched_at=utc_now(),
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
