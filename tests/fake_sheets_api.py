"""A small fake of the Google Sheets API v4 over real HTTP on 127.0.0.1 (stdlib http.server).

The subset a read-only sync needs (shapes from ../shared/notes/gspread-fake-sheets.md):

* ``POST /token`` — the OAuth JWT-bearer grant of a service account; with ``public_key`` the
  RS256 assertion is verified and API calls must carry a token it issued.
* ``GET /v4/spreadsheets/{id}`` — spreadsheets.get: metadata, and grid data when
  ``includeGridData=true`` or a ``fields`` mask asks for ``sheets.data`` (a mask wins over
  ``includeGridData``, as in the API). ``ranges`` limits the answer to those sheets (whole
  sheets only; an unknown sheet answers the range error). Cells carry ``effectiveValue``
  (numberValue | stringValue | boolValue | errorValue; dates as serial numbers),
  ``userEnteredValue``, ``formattedValue`` and ``effectiveFormat`` (``numberFormat.type``
  DATE, DATE_TIME, TIME, TEXT, NUMBER, PERCENT …). An empty cell is ``{}``, or only its
  format when formatted (a column format of an .xlsx covers the empty rows below the data);
  trailing empty cells and rows are left out, zero ``startRow``/``startColumn`` are omitted
  (proto3 JSON). The ``fields`` mask is applied to every answer of this route.
* ``GET /v4/spreadsheets/{id}/values:batchGet`` — whole-sheet ranges, ``valueRenderOption``,
  ``dateTimeRenderOption``, ``majorDimension``; an unknown sheet answers
  ``400 INVALID_ARGUMENT "Unable to parse range: <range>"`` as the real API does.
* ``GET /v4/spreadsheets/{id}/values/{range}`` — one range.
* ``GET …/allowedLocations`` — google-auth's Regional Access Boundary lookup.

Everything else answers a JSON 404. Every request is recorded (method, original host, path,
query, status) so tests can count calls; ``fail_next`` injects 429/5xx/403 answers.

Usage::

    with FakeSheets(public_key=key.public_key()) as fake:
        fake.add_from_xlsx("1AbC…", path)
        ... LoopbackAdapter(fake.url) ...
        fake.calls("grid", "1AbC…")  # spreadsheets.get with grid data
"""

from __future__ import annotations

import base64
import itertools
import json
import threading
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from datetime import time as dtime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from openpyxl.utils import get_column_letter

EPOCH = datetime(1899, 12, 30)
TOKEN_AUDIENCE = "https://oauth2.googleapis.com/token"
#: Hosts a well-behaved client may reach (through the loopback adapter, or the fake directly).
ALLOWED_HOSTS = frozenset({"sheets.googleapis.com", "oauth2.googleapis.com",
                           "iamcredentials.googleapis.com",
                           "www.googleapis.com"})  # Drive v3 files.list

_ERRORS = {
    400: ("INVALID_ARGUMENT", "Request contains an invalid argument."),
    401: ("UNAUTHENTICATED", "Request is missing required authentication credential. "
          "Expected OAuth 2 access token, login cookie or other valid authentication "
          "credential."),
    403: ("PERMISSION_DENIED", "The caller does not have permission"),
    404: ("NOT_FOUND", "Requested entity was not found."),
    408: ("DEADLINE_EXCEEDED", "Request timed out."),
    429: ("RESOURCE_EXHAUSTED", "Quota exceeded for quota metric 'Read requests' and limit "
          "'Read requests per minute per user' of service 'sheets.googleapis.com' for "
          "consumer 'project_number:0'."),
    500: ("INTERNAL", "Internal error encountered."),
    502: ("UNAVAILABLE", "Bad gateway."),
    503: ("UNAVAILABLE", "The service is currently unavailable."),
}


@dataclass(frozen=True)
class Recorded:
    """One request the fake received."""

    method: str
    host: str  # X-Orig-Host (the Google host the client meant) or the Host header
    path: str
    query: dict[str, list[str]]
    status: int
    kind: str  # token | metadata | grid | batchGet | values | allowedLocations | other
    spreadsheet_id: str | None


@dataclass
class _Failure:
    status: int
    times: int | None  # None = forever
    retry_after: float | str | None


@dataclass
class FakeSheet:
    """One sheet: rows of Python cell values and, cell by cell, the number format type
    (None: automatic); formats may reach past the values (formatted empty cells)."""

    name: str
    rows: list[list[Any]]
    hidden: bool = False
    formats: list[list[str | None]] = field(default_factory=list)


@dataclass
class Book:
    """One fake spreadsheet: title, sheets, and Drive's modifiedTime (RFC 3339, changed by
    every `add` of the spreadsheet)."""

    title: str
    sheets: list[FakeSheet] = field(default_factory=list)
    modified: str = ""


# ------------------------------------------------------------------------------- rendering


def serial(value: date | datetime | dtime) -> int | float:
    """Days since 1899-12-30 (time = fraction), as SERIAL_NUMBER renders a date cell."""
    if isinstance(value, datetime):
        days = (value - EPOCH).total_seconds() / 86400
    elif isinstance(value, date):
        days = (value - EPOCH.date()).days
    else:
        days = (value.hour * 3600 + value.minute * 60 + value.second) / 86400
    return _json_number(days)


def _json_number(x: float | int) -> int | float:
    """The API writes whole numbers without a fraction (7, not 7.0)."""
    if isinstance(x, float) and x.is_integer():
        return int(x)
    return x


def render(value: Any, value_option: str, date_option: str) -> Any:
    """One cell as the API renders it (None -> "")."""
    if value is None:
        return ""
    if isinstance(value, (date, dtime)):
        if value_option == "FORMATTED_VALUE" or date_option == "FORMATTED_STRING":
            if isinstance(value, dtime):
                return value.strftime("%H:%M:%S")
            if isinstance(value, datetime) and (value.hour or value.minute or value.second):
                return value.strftime("%d.%m.%Y %H:%M:%S")
            return value.strftime("%d.%m.%Y")  # ru_RU short date
        return serial(value)
    if isinstance(value, bool):
        return ("TRUE" if value else "FALSE") if value_option == "FORMATTED_VALUE" else value
    if isinstance(value, (int, float)):
        if value_option == "FORMATTED_VALUE":
            return str(_json_number(value)).replace(".", ",")  # ru_RU decimal comma
        return _json_number(value)
    return str(value)


#: Number format type -> a pattern as Sheets shows it in a ru_RU spreadsheet.
PATTERNS = {"DATE": "dd.MM.yyyy", "DATE_TIME": "dd.MM.yyyy H:mm:ss", "TIME": "H:mm:ss",
            "TEXT": "@", "NUMBER": "#,##0.00", "PERCENT": "0.00%", "CURRENCY": "#,##0.00 [$₽]",
            "SCIENTIFIC": "0.00E+00"}
#: What every cell's effectiveFormat carries besides the number format (a mask drops it).
_DEFAULT_FORMAT = {"backgroundColor": {"red": 1, "green": 1, "blue": 1},
                   "verticalAlignment": "BOTTOM", "wrapStrategy": "OVERFLOW_CELL",
                   "textFormat": {"fontFamily": "Arial", "fontSize": 10}}


def format_of(value: Any) -> str | None:
    """The number format type Sheets gives a typed value (None: automatic)."""
    if isinstance(value, datetime):
        return "DATE_TIME" if value.time() != dtime() else "DATE"
    if isinstance(value, date):
        return "DATE"
    if isinstance(value, dtime):
        return "TIME"
    return None


def format_of_excel(number_format: str | None, value: Any) -> str | None:
    """The type Sheets gives an .xlsx cell's number format when the file is converted."""
    from openpyxl.styles.numbers import is_datetime

    fmt = (number_format or "General").strip()
    kind = is_datetime(fmt)
    if kind:
        return {"date": "DATE", "datetime": "DATE_TIME", "time": "TIME"}[kind]
    if fmt == "@":
        return "TEXT"
    if fmt == "General":
        return format_of(value)
    if "%" in fmt:
        return "PERCENT"
    if "E+" in fmt.upper():
        return "SCIENTIFIC"
    return "NUMBER"


#: Error texts (as the values API and openpyxl show them) -> ErrorValue.type.
ERROR_TYPES = {"#ERROR!": "ERROR", "#NULL!": "NULL_VALUE", "#DIV/0!": "DIVIDE_BY_ZERO",
               "#VALUE!": "VALUE", "#REF!": "REF", "#NAME?": "NAME", "#NUM!": "NUM",
               "#N/A": "N_A"}


def extended_value(value: Any) -> dict | None:
    """An ExtendedValue of a stored cell (None for an empty cell); an error text such as
    «#DIV/0!» (a formula's cached error in an .xlsx) is an errorValue."""
    if value is None or value == "":
        return None
    if isinstance(value, str) and value in ERROR_TYPES:
        return {"errorValue": {"type": ERROR_TYPES[value], "message": f"{value} (fake)"}}
    if isinstance(value, bool):
        return {"boolValue": value}
    if isinstance(value, (date, dtime)):
        return {"numberValue": serial(value)}
    if isinstance(value, (int, float)):
        return {"numberValue": _json_number(value)}
    return {"stringValue": str(value)}


def cell_data(value: Any, kind: str | None) -> dict:
    """One CellData as spreadsheets.get gives it before a field mask: {} for an empty cell
    without a format."""
    out: dict[str, Any] = {}
    typed = extended_value(value)
    number_format = {"type": kind, "pattern": PATTERNS.get(kind, "")} if kind else None
    if typed is not None:
        out["userEnteredValue"] = typed
        out["effectiveValue"] = typed
        out["formattedValue"] = render(value, "FORMATTED_VALUE", "FORMATTED_STRING")
    if number_format is not None:
        out["userEnteredFormat"] = {"numberFormat": number_format}
    if typed is not None or number_format is not None:
        effective = dict(_DEFAULT_FORMAT)
        if number_format is not None:
            effective["numberFormat"] = number_format
        out["effectiveFormat"] = effective
    return out


def grid_data(sheet: FakeSheet) -> dict:
    """The GridData of a whole sheet: rowData from row 1, trailing empty cells and rows
    left out, an empty row in between as {}; startRow/startColumn 0 are omitted."""
    height = max(len(sheet.rows), len(sheet.formats))
    row_data: list[dict] = []
    for r in range(height):
        values = sheet.rows[r] if r < len(sheet.rows) else []
        kinds = sheet.formats[r] if r < len(sheet.formats) else []
        width = max(len(values), len(kinds))
        cells = [cell_data(values[c] if c < len(values) else None,
                           kinds[c] if c < len(kinds) else None) for c in range(width)]
        while cells and not cells[-1]:
            cells.pop()
        row_data.append({"values": cells} if cells else {})
    while row_data and not row_data[-1]:
        row_data.pop()
    out: dict[str, Any] = {}
    if row_data:
        out["rowData"] = row_data
        out["rowMetadata"] = [{"pixelSize": 21} for _ in row_data]
    return out


def parse_fields(mask: str) -> dict[str, Any]:
    """A field mask ('a.b,c(d,e(f))', snake_case or camelCase) as a tree: name -> subtree,
    None for "the whole value"."""
    tree: dict[str, Any] = {}
    pos = _parse_mask(mask.replace(" ", ""), 0, tree)
    if pos != len(mask.replace(" ", "")):
        raise ValueError(f"bad field mask at {pos}: {mask!r}")
    return tree


def _parse_mask(text: str, pos: int, tree: dict[str, Any]) -> int:
    while pos < len(text):
        node = tree
        while True:  # a dotted path
            end = pos
            while end < len(text) and (text[end].isalnum() or text[end] == "_"):
                end += 1
            if end == pos:
                raise ValueError(f"bad field mask at {pos}: {text!r}")
            name = _camel(text[pos:end])
            pos = end
            if pos < len(text) and text[pos] == ".":
                node = _child(node, name)
                pos += 1
                continue
            if pos < len(text) and text[pos] == "(":
                pos = _parse_mask(text, pos + 1, _child(node, name))
                if pos >= len(text) or text[pos] != ")":
                    raise ValueError(f"unbalanced field mask: {text!r}")
                pos += 1
            else:
                node[name] = None
            break
        if pos < len(text) and text[pos] == ",":
            pos += 1
            continue
        return pos
    return pos


def _child(node: dict[str, Any], name: str) -> dict[str, Any]:
    if name not in node:
        node[name] = {}
    elif node[name] is None:  # already the whole value: a narrower path adds nothing
        return {}
    return node[name]


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(p[:1].upper() + p[1:] for p in rest)


def apply_fields(value: Any, tree: dict[str, Any] | None) -> Any:
    """``value`` cut to a field-mask tree; messages left empty are dropped, list items kept
    (an empty cell stays {} in its row, where its position matters)."""
    if tree is None:
        return value
    if isinstance(value, list):
        return [apply_fields(v, tree) for v in value]
    if not isinstance(value, dict):
        return value
    out = {}
    for name, sub in tree.items():
        if name in value:
            kept = apply_fields(value[name], sub)
            if kept != {}:
                out[name] = kept
    return out


def wants_grid(query: dict[str, list[str]]) -> bool:
    """Whether spreadsheets.get returns grid data: a fields mask decides when given (it must
    name sheets.data), else includeGridData=true."""
    mask = query.get("fields", [""])[0]
    if mask:
        sheets = parse_fields(mask).get("sheets", {})
        return sheets is None or "data" in sheets
    return query.get("includeGridData", ["false"])[0].lower() == "true"


def trim(rows: Sequence[Sequence[Any]]) -> list[list[Any]]:
    """Drop trailing empty cells of each row and trailing empty rows, as the API does."""
    out = []
    for row in rows:
        row = list(row)
        while row and row[-1] == "":
            row.pop()
        out.append(row)
    while out and not out[-1]:
        out.pop()
    return out


def parse_range(text: str) -> tuple[str, str | None]:
    """(sheet title, A1 part or None) of 'Title'!A1:B2, 'Title' or Title."""
    if text.startswith("'"):
        i, title = 1, []
        while i < len(text):
            if text[i] == "'":
                if text[i + 1:i + 2] == "'":
                    title.append("'")
                    i += 2
                    continue
                break
            title.append(text[i])
            i += 1
        rest = text[i + 1:]
        return "".join(title), (rest[1:] if rest.startswith("!") else (rest or None))
    if "!" in text:
        title, a1 = text.split("!", 1)
        return title, a1
    return text, None


def _b64url(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


# ------------------------------------------------------------------------------- the fake


class FakeSheets:
    """The fake server. ``with FakeSheets() as fake:`` starts it on a free loopback port."""

    def __init__(self, *, public_key: Any = None) -> None:
        self.books: dict[str, Book] = {}
        self.log: list[Recorded] = []
        self.tokens: set[str] = set()
        self.token_claims: list[dict] = []
        #: Exceptions raised inside the fake (a bug in it, not an injected fault).
        self.internal_errors: list[BaseException] = []
        self.public_key = public_key
        self.require_auth = public_key is not None
        self._failures: dict[str, list[_Failure]] = {}
        self._lock = threading.Lock()
        self._counter = itertools.count(1)
        self._clock = 0  # Drive's clock, milliseconds
        self._thread: threading.Thread | None = None
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    # -- lifecycle ------------------------------------------------------------------------
    def start(self) -> FakeSheets:
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True,
                                        name="fake-sheets-api")
        self._thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> FakeSheets:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- content --------------------------------------------------------------------------
    def add(self, spreadsheet_id: str, sheets: Mapping[str, list[list[Any]]]
            | Iterable[tuple[str, list[list[Any]]]], *, title: str = "",
            hidden: Iterable[str] = (),
            formats: Mapping[str, list[list[str | None]]] | None = None) -> None:
        """A spreadsheet from sheet title -> rows of Python values (str, int, float, bool,
        date/datetime/time, None). ``formats`` gives a sheet's number format types cell by
        cell; without it each cell gets the type Sheets gives its value (a date: DATE)."""
        items = sheets.items() if isinstance(sheets, Mapping) else sheets
        hidden = set(hidden)
        book = Book(title or spreadsheet_id, modified=self._next_time())
        for name, rows in items:
            rows = [list(r) for r in rows]
            kinds = (formats or {}).get(name)
            if kinds is None:
                kinds = [[format_of(v) for v in r] for r in rows]
            book.sheets.append(FakeSheet(name, rows, name in hidden, [list(k) for k in kinds]))
        with self._lock:
            self.books[spreadsheet_id] = book

    def add_from_xlsx(self, spreadsheet_id: str, path: str | Path, *, title: str = "",
                      formatted_rows: int | None = 20) -> None:
        """A spreadsheet holding the values of an .xlsx file (as if uploaded to Drive and
        converted): cached values of formulas, hidden sheets stay hidden, number formats
        kept. A column's format covers ``formatted_rows`` empty rows below the data (None:
        every row of the grid, as Sheets spreads it; slower to serve)."""
        from openpyxl import load_workbook

        wb = load_workbook(path, data_only=True)
        sheets, hidden, formats = [], [], {}
        for ws in wb.worksheets:
            cells = list(ws.iter_rows())
            rows = [[c.value for c in r] for r in cells]
            sheets.append((ws.title, rows))
            height = _grid(rows)["rowCount"]
            if formatted_rows is not None:
                height = min(height, len(rows) + formatted_rows)
            formats[ws.title] = _excel_formats(ws, cells, height)
            if ws.sheet_state != "visible":
                hidden.append(ws.title)
        wb.close()
        self.add(spreadsheet_id, sheets, title=title or Path(path).stem, hidden=hidden,
                 formats=formats)

    def _next_time(self) -> str:
        """A modifiedTime later than any before (Drive's clock, in whole milliseconds)."""
        with self._lock:
            self._clock = max(self._clock + 1, int(time.time() * 1000))
            moment = datetime.fromtimestamp(self._clock / 1000, tz=UTC)
        return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{self._clock % 1000:03d}Z"

    def remove(self, spreadsheet_id: str) -> None:
        with self._lock:
            self.books.pop(spreadsheet_id, None)

    # -- fault injection ------------------------------------------------------------------
    def fail_next(self, spreadsheet_id: str, status: int = 429, times: int | None = 1,
                  retry_after: float | str | None = None) -> None:
        """The next ``times`` API requests for this spreadsheet (metadata or values) answer
        ``status`` (None = every request from now on), with Retry-After if given.
        ``spreadsheet_id="*"`` matches every spreadsheet."""
        with self._lock:
            self._failures.setdefault(spreadsheet_id, []).append(
                _Failure(status, times, retry_after))

    def clear_failures(self) -> None:
        with self._lock:
            self._failures.clear()

    def _take_failure(self, spreadsheet_id: str) -> _Failure | None:
        with self._lock:
            for key in (spreadsheet_id, "*"):
                queue = self._failures.get(key)
                if not queue:
                    continue
                failure = queue[0]
                if failure.times is not None:
                    failure.times -= 1
                    if failure.times <= 0:
                        queue.pop(0)
                return failure
        return None

    # -- inspection -----------------------------------------------------------------------
    def calls(self, kind: str | None = None, spreadsheet_id: str | None = None) -> list[Recorded]:
        """Recorded requests, optionally of one kind and/or one spreadsheet."""
        with self._lock:
            log = list(self.log)
        return [r for r in log if (kind is None or r.kind == kind)
                and (spreadsheet_id is None or r.spreadsheet_id == spreadsheet_id)]

    def reset_log(self) -> None:
        with self._lock:
            self.log.clear()

    def foreign_hosts(self) -> set[str]:
        """Hosts other than the Google ones a reader may reach (should be empty)."""
        return {r.host for r in self.calls()
                if r.host not in ALLOWED_HOSTS and not r.host.startswith("127.0.0.1")}

    def _record(self, rec: Recorded) -> None:
        with self._lock:
            self.log.append(rec)

    # -- token ----------------------------------------------------------------------------
    def _grant(self, form: dict[str, list[str]]) -> tuple[int, dict]:
        grant = form.get("grant_type", [""])[0]
        assertion = form.get("assertion", [""])[0]
        if grant != "urn:ietf:params:oauth:grant-type:jwt-bearer" or assertion.count(".") != 2:
            return 400, {"error": "unsupported_grant_type",
                         "error_description": "Invalid grant_type or assertion."}
        head, body, sig = assertion.split(".")
        try:
            claims = json.loads(_b64url(body))
        except ValueError:
            return 400, {"error": "invalid_grant", "error_description": "Invalid JWT."}
        if self.public_key is not None:
            from cryptography.exceptions import InvalidSignature
            from cryptography.hazmat.primitives import hashes
            from cryptography.hazmat.primitives.asymmetric import padding

            try:
                self.public_key.verify(_b64url(sig), f"{head}.{body}".encode(),
                                       padding.PKCS1v15(), hashes.SHA256())
            except (InvalidSignature, ValueError):
                return 400, {"error": "invalid_grant",
                             "error_description": "Invalid JWT Signature."}
        now = time.time()
        if claims.get("aud") != TOKEN_AUDIENCE or not claims.get("iss") \
                or not claims.get("exp", 0) > now - 60:
            return 400, {"error": "invalid_grant", "error_description": "Invalid JWT claims."}
        token = f"fake-token-{next(self._counter)}"
        with self._lock:
            self.tokens.add(token)
            self.token_claims.append(claims)
        return 200, {"access_token": token, "expires_in": 3600, "token_type": "Bearer"}

    def _authorized(self, header: str | None) -> bool:
        if not self.require_auth:
            return True
        if not header or not header.startswith("Bearer "):
            return False
        with self._lock:
            return header[len("Bearer "):] in self.tokens

    # -- API ------------------------------------------------------------------------------
    def _drive_list(self, query: dict[str, list[str]]) -> dict:
        """Drive v3 files.list of the spreadsheets: id and modifiedTime, paged by pageSize."""
        size = int(query.get("pageSize", ["100"])[0])
        start = int(query.get("pageToken", ["0"])[0])
        with self._lock:
            ids = sorted(self.books)
            files = [{"id": sid, "modifiedTime": self.books[sid].modified}
                     for sid in ids[start:start + size]]
        out: dict[str, Any] = {"files": files}
        if start + size < len(ids):
            out["nextPageToken"] = str(start + size)
        return out

    def _spreadsheet(self, sid: str, book: Book, query: dict[str, list[str]]
                     ) -> tuple[int, dict, dict[str, str]]:
        """spreadsheets.get: the sheets of ``ranges`` (all without), grid data if asked,
        cut to the ``fields`` mask."""
        requested = query.get("ranges", [])
        chosen: set[int] = set()
        for text in requested:
            title, a1 = parse_range(text)
            index = next((i for i, s in enumerate(book.sheets) if s.name == title), None)
            if index is None or a1:  # sub-ranges are not faked: loud rather than wrong
                return _error(400, f"Unable to parse range: {text}")
            chosen.add(index)
        try:
            grid = wants_grid(query)
            mask = query.get("fields", [""])[0]
            tree = parse_fields(mask) if mask else None
        except ValueError as exc:
            return _error(400, f"Invalid field selection: {exc}")
        body = self._metadata(sid, book, chosen if requested else None, grid)
        return 200, apply_fields(body, tree), {}

    def _metadata(self, sid: str, book: Book, chosen: set[int] | None = None,
                  grid: bool = False) -> dict:
        sheets = []
        for index, sheet in enumerate(book.sheets):
            if chosen is not None and index not in chosen:
                continue
            props = {"sheetId": index, "title": sheet.name, "index": index,
                     "sheetType": "GRID", "gridProperties": _grid(sheet.rows)}
            if sheet.hidden:
                props["hidden"] = True
            entry: dict[str, Any] = {"properties": props}
            if grid:
                entry["data"] = [grid_data(sheet)]
            sheets.append(entry)
        return {"spreadsheetId": sid,
                "properties": {"title": book.title, "locale": "ru_RU",
                               "autoRecalc": "ON_CHANGE", "timeZone": "Europe/Moscow"},
                "sheets": sheets,
                "spreadsheetUrl": f"https://docs.google.com/spreadsheets/d/{sid}/edit"}

    def _value_range(self, book: Book, requested: str, query: dict[str, list[str]]
                     ) -> dict | None:
        title, a1 = parse_range(requested)
        found = next(((s.name, s.rows) for s in book.sheets if s.name == title), None)
        if found is None or a1:  # sub-ranges are not faked: loud rather than wrong
            return None
        name, rows = found
        value_option = query.get("valueRenderOption", ["FORMATTED_VALUE"])[0]
        date_option = query.get("dateTimeRenderOption", ["SERIAL_NUMBER"])[0]
        values = trim([[render(v, value_option, date_option) for v in r] for r in rows])
        major = query.get("majorDimension", ["ROWS"])[0]
        if major == "COLUMNS" and values:
            width = max(len(r) for r in values)
            padded = [r + [""] * (width - len(r)) for r in values]
            values = trim([list(c) for c in zip(*padded, strict=True)])
        grid = _grid(rows)
        quoted = "'" + name.replace("'", "''") + "'"
        out = {"range": f"{quoted}!A1:{get_column_letter(grid['columnCount'])}"
                        f"{grid['rowCount']}", "majorDimension": major}
        if values:
            out["values"] = values
        return out

    def handle(self, method: str, path: str, query: dict[str, list[str]],
               headers: Mapping[str, str], body: bytes) -> tuple[int, dict, dict[str, str]]:
        """Route one request: (status, JSON body, extra headers)."""
        if method == "POST" and path == "/token":
            status, payload = self._grant(parse_qs(body.decode()))
            return status, payload, {}
        if method == "GET" and path.endswith("/allowedLocations"):
            return 200, {"locations": [], "encodedLocations": "0x0"}, {}
        if method == "GET" and path == "/drive/v3/files":
            if not self._authorized(headers.get("Authorization")):
                return _error(401, headers={"WWW-Authenticate": "Bearer"})
            return 200, self._drive_list(query), {}
        if method != "GET" or not path.startswith("/v4/spreadsheets/"):
            return _error(404, f"fake: no route for {method} {path}")
        if not self._authorized(headers.get("Authorization")):
            return _error(401, headers={"WWW-Authenticate": "Bearer"})
        rest = path[len("/v4/spreadsheets/"):]
        sid, _, tail = rest.partition("/")
        sid = unquote(sid)
        failure = self._take_failure(sid)
        if failure is not None:
            extra = {} if failure.retry_after is None else {"Retry-After": str(failure.retry_after)}
            return _error(failure.status, headers=extra)
        with self._lock:
            book = self.books.get(sid)
        if book is None:
            return _error(404)
        if tail == "":
            return self._spreadsheet(sid, book, query)
        if tail == "values:batchGet":
            ranges = query.get("ranges", [])
            if not ranges:
                return _error(400, "Must specify at least one range.")
            value_ranges = []
            for requested in ranges:
                vr = self._value_range(book, requested, query)
                if vr is None:
                    return _error(400, f"Unable to parse range: {requested}")
                value_ranges.append(vr)
            return 200, {"spreadsheetId": sid, "valueRanges": value_ranges}, {}
        if tail.startswith("values/"):
            requested = unquote(tail[len("values/"):])
            vr = self._value_range(book, requested, query)
            if vr is None:
                return _error(400, f"Unable to parse range: {requested}")
            return 200, vr, {}
        return _error(404, f"fake: no route for {method} {path}")


def _excel_formats(ws: Any, cells: list[tuple[Any, ...]], height: int
                   ) -> list[list[str | None]]:
    """Number format types of a converted .xlsx sheet, cell by cell: a cell's own format, or
    its column's (the template formats whole columns), which Sheets spreads over every row
    of the grid: empty cells keep it, as formatted empty cells of a real spreadsheet do."""
    from openpyxl.utils import column_index_from_string

    columns: dict[int, str | None] = {}
    for letter, dim in ws.column_dimensions.items():
        kind = format_of_excel(dim.number_format, None)
        if kind is not None:
            first = dim.min or column_index_from_string(letter)
            for index in range(first, (dim.max or first) + 1):
                columns[index - 1] = kind
    width = max([len(r) for r in cells] + [i + 1 for i in columns])
    out = []
    for r in range(height if columns else len(cells)):
        row = cells[r] if r < len(cells) else ()
        kinds = [None] * width
        for c in range(width):
            own = row[c] if c < len(row) else None
            if own is not None and (own.value is not None or own.number_format != "General"):
                kinds[c] = format_of_excel(own.number_format, own.value)
            else:
                kinds[c] = columns.get(c)
        out.append(kinds)
    return out


def _grid(rows: list[list[Any]]) -> dict[str, int]:
    width = max((len(r) for r in rows), default=0)
    return {"rowCount": max(1000, len(rows)), "columnCount": max(26, width)}


def _error(status: int, message: str | None = None, *, headers: dict[str, str] | None = None
           ) -> tuple[int, dict, dict[str, str]]:
    """(status, the API's JSON error body, extra headers)."""
    name, default = _ERRORS.get(status, ("UNKNOWN", "Unknown error."))
    body = {"error": {"code": status, "message": message or default, "status": name}}
    return status, body, headers or {}


def _kind(method: str, path: str, query: dict[str, list[str]]) -> tuple[str, str | None]:
    if path == "/token":
        return "token", None
    if path.endswith("/allowedLocations"):
        return "allowedLocations", None
    if path == "/drive/v3/files":
        return "driveList", None
    if path.startswith("/v4/spreadsheets/"):
        sid, _, tail = path[len("/v4/spreadsheets/"):].partition("/")
        sid = unquote(sid)
        if tail == "":
            try:
                return ("grid" if wants_grid(query) else "metadata"), sid
            except ValueError:
                return "metadata", sid
        if tail == "values:batchGet":
            return "batchGet", sid
        if tail.startswith("values/"):
            return "values", sid
        return "other", sid
    return "other", None


def _handler_for(fake: FakeSheets) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        server_version = "FakeSheets/1"

        def _serve(self) -> None:
            split = urlsplit(self.path)
            query = parse_qs(split.query, keep_blank_values=True)
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            try:
                status, payload, extra = fake.handle(self.command, split.path, query,
                                                     self.headers, body)
            except Exception as exc:  # a bug in the fake: answer 500 and keep it for the test
                fake.internal_errors.append(exc)
                status, payload, extra = 500, {"error": {"code": 500, "message": repr(exc),
                                                         "status": "INTERNAL"}}, {}
            kind, sid = _kind(self.command, split.path, query)
            host = self.headers.get("X-Orig-Host") or self.headers.get("Host", "")
            fake._record(Recorded(self.command, host, split.path, query, status, kind, sid))
            data = json.dumps(payload, ensure_ascii=False).encode("utf-8")
            self.send_response(status)
            self.send_header("Content-Type", "application/json; charset=UTF-8")
            self.send_header("Content-Length", str(len(data)))
            for name, value in extra.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = _serve

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 (stdlib name)
            pass

    return Handler
