"""What every source shares: the registry entry, ``Fetched``, the sources' errors, and the
parsing of Google spreadsheet IDs (no Google library is imported for it)."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import UTC, datetime

from addin.errors import WorkbookError, WorkbookNotFoundError
from addin.model import RawSheet, SchoolWorkbook

log = logging.getLogger("sync.sources")


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
    #: Addresses from the optional column «Эл. почта» (letters to the organisation).
    emails: tuple[str, ...] = ()
    #: Why the column «Эл. почта» of this row was not used ('' when it was, or is empty).
    email_problem: str = ""


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
    #: The version the source vouches for (a WebDAV ETag): a re-sync keeps the result while
    #: the listing shows the same; None where the file's SHA-256 or Drive decides.
    version: str | None = None

    @property
    def ok(self) -> bool:
        return self.sheets is not None

    @property
    def workbook(self) -> SchoolWorkbook | None:
        """The school alone, typed (a batch of one); consolidation batches `sheets` instead."""
        if self.sheets is None:
            return None
        return SchoolWorkbook.from_raw(self.sheets, source=self.source)


def utc_now() -> datetime:
    return datetime.now(UTC)


def unexpected_error(exc: Exception, source: str) -> WorkbookError:
    """A last-resort error: a bug must not stop the run, but it must be visible in the log."""
    log.error("unexpected error while reading %s", source, exc_info=exc)
    return WorkbookError(
        f"Книгу не удалось прочитать из-за внутренней ошибки программы "
        f"({type(exc).__name__}). Сообщите разработчикам; остальные ОО обработаны.",
        source=source)

#: Environment variable with the path of the service-account JSON key.
KEY_ENV = "NASTAVNIK_GOOGLE_KEY"
NO_KEY_MESSAGE = (
    "Источник — таблица Google, но ключ сервисного аккаунта не задан. Укажите путь к JSON-ключу "
    f"в параметре --google-key или в переменной окружения {KEY_ENV} (ключ создаётся в Google "
    "Cloud Console: IAM и администрирование → Сервисные аккаунты → Ключи → Добавить ключ → "
    "JSON) и откройте каждой таблице доступ «Читатель» для адреса этого аккаунта.")

_URL_ID = re.compile(r"^https?://docs\.google\.com/spreadsheets/(?:u/\d+/)?d/([A-Za-z0-9_-]+)")
_BARE_ID = re.compile(r"^[A-Za-z0-9_-]{25,}$")
_FILE_SUFFIXES = (".xlsx", ".xlsm", ".ods")


def is_google_source(source: str) -> bool:
    """True for a spreadsheet URL or a bare spreadsheet ID; False for a file path."""
    s = (source or "").strip()
    if s.lower().endswith(_FILE_SUFFIXES):
        return False
    return bool(_URL_ID.match(s) or _BARE_ID.match(s))


def is_web_address(source: str) -> bool:
    """An http(s) address (a WebDAV file when it is not a Google spreadsheet)."""
    return (source or "").strip().lower().startswith(("http://", "https://"))


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
