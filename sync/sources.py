"""Where school workbooks come from: the registry of schools, a folder of files, Google Sheets.

A *source* turns one registry entry into a ``Fetched``: the school's raw sheets (checked to be
our workbook of a known version; consolidation types many schools at once) or a typed
``WorkbookError`` saying why there are none. A source never raises for one bad school, so
one school never stops a municipal run.

* ``FolderSource`` reads .xlsx/.xlsm/.ods files with fastexcel (``addin.model.load_sheets``).
* ``GoogleSheetsSource`` (``sync.google_source``, imported only when a registry names a
  spreadsheet: gspread and google-auth cost a tenth of a second to import) reads a Google
  spreadsheet with stock gspread: ONE
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
import hashlib
import io
import logging
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from addin.errors import WorkbookError, WorkbookNotFoundError, corrupt
from addin.model import RawSheet, SchoolWorkbook, load_sheets, normalize_header
from workbook_templates.contract import REGISTRY_HEADER, dictionary_values

if TYPE_CHECKING:
    from sync.google_source import GoogleSheetsSource

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


def utc_now() -> datetime:
    return datetime.now(UTC)


def unexpected_error(exc: Exception, source: str) -> WorkbookError:
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
        return Fetched(entry, None, None, origin=str(path), sha256=digest, fetched_at=utc_now(),
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
                       fetched_at=utc_now(), source=path.name)


# ------------------------------------------------------------------------------- Google

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


# ------------------------------------------------------------------------------- dispatch

def make_source(entry: SchoolEntry, *, source_dir: Path | None,
                google: GoogleSheetsSource | None
                ) -> FolderSource | GoogleSheetsSource:
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
            yield Fetched(entry, None, exc, origin=entry.source, sha256=None, fetched_at=utc_now())
            continue
        if isinstance(source, FolderSource):
            source = folder
        yield source.fetch(entry)
