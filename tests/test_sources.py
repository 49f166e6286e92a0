"""Sources of school workbooks: the registry, a folder of files, Google Sheets.

The Google tests use unmodified gspread and google-auth over real HTTP against the fake
Sheets API of tests/fake_sheets_api.py (no mocks): a service-account key generated here,
a real RS256 JWT-bearer token grant, every request redirected to 127.0.0.1.
"""

from __future__ import annotations

import csv
import hashlib
import json
import socket
from datetime import UTC, date, datetime, time
from pathlib import Path

import pandas as pd
import pytest
from openpyxl import Workbook, load_workbook

from addin import errors
from addin.model import SchoolWorkbook
from addin.validate import validate_workbook
from sync.sources.base import (
    KEY_ENV,
    SchoolEntry,
    SheetAccessDeniedError,
    SourceError,
    SourceUnavailableError,
    is_google_source,
    spreadsheet_id,
)
from sync.sources.fetch import fetch_all, make_source
from sync.sources.folder import FolderSource
from sync.sources.google import GRID_FIELDS, SCOPES, GoogleSheetsSource
from sync.sources.registry import RegistryError, read_registry
from tests.fake_sheets_api import FakeSheets, parse_range, render
from tests.sample import clean_school
from workbook_templates import contract as C
from workbook_templates.build import write_school_workbook
from workbook_templates.demo import (
    REGISTRY_HEADER,
    DemoMunicipality,
    generate_municipality,
    write_municipality,
)

EMAIL = "sync@nastavnik-test.iam.gserviceaccount.com"
ERROR_FOR = {"missing": errors.WorkbookNotFoundError, "corrupt": errors.CorruptWorkbookError,
             "unknown_version": errors.UnknownVersionError}


def sid_for(code: str) -> str:
    """A spreadsheet ID shaped like Google's (44 characters)."""
    return "1" + hashlib.sha256(code.encode()).hexdigest()[:43]


def assert_same_workbook(a: SchoolWorkbook, b: SchoolWorkbook) -> None:
    assert a.version == b.version
    assert a.school == b.school
    assert a.missing_sheets == b.missing_sheets
    assert a.missing_columns == b.missing_columns
    assert a.extra_columns == b.extra_columns
    assert a.tables.keys() == b.tables.keys()
    for key in a.tables:
        pd.testing.assert_frame_equal(a.tables[key], b.tables[key], check_dtype=False,
                                      obj=f"table {key}")


# ----------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def muni() -> DemoMunicipality:
    return generate_municipality(n_schools=8)


@pytest.fixture(scope="module")
def demo_dir(muni, tmp_path_factory) -> Path:
    return write_municipality(muni, tmp_path_factory.mktemp("muni"))


@pytest.fixture(scope="module")
def rsa_key():
    from cryptography.hazmat.primitives.asymmetric import rsa

    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _key_info(private_key, token_uri: str = "https://oauth2.googleapis.com/token") -> dict:
    from cryptography.hazmat.primitives import serialization

    pem = private_key.private_bytes(serialization.Encoding.PEM,
                                    serialization.PrivateFormat.PKCS8,
                                    serialization.NoEncryption()).decode()
    return {"type": "service_account", "project_id": "nastavnik-test",
            "private_key_id": "0" * 40, "private_key": pem, "client_email": EMAIL,
            "client_id": "1", "token_uri": token_uri}


@pytest.fixture(scope="module")
def key_file(rsa_key, tmp_path_factory) -> Path:
    # The real token_uri: the loopback adapter must carry the token request to the fake too.
    path = tmp_path_factory.mktemp("key") / "service-account.json"
    path.write_text(json.dumps(_key_info(rsa_key)), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def fake_server(rsa_key, muni, demo_dir):
    """The fake with every readable demo school (missing and corrupt ones are absent)."""
    with FakeSheets(public_key=rsa_key.public_key()) as fake:
        for school in muni.schools:
            if school.submission in ("ok", "unknown_version"):
                fake.add_from_xlsx(sid_for(school.code), demo_dir / f"schools/{school.code}.xlsx",
                                   title=school.name)
        yield fake


@pytest.fixture
def fake(fake_server):
    fake_server.clear_failures()
    fake_server.reset_log()
    yield fake_server
    assert not fake_server.foreign_hosts(), "a request meant for another host reached the fake"
    assert not fake_server.internal_errors, fake_server.internal_errors
    fake_server.clear_failures()


class Sleeper:
    """Records delays instead of sleeping; advances a fake clock."""

    def __init__(self) -> None:
        self.delays: list[float] = []
        self.now = 1000.0

    def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)
        self.now += seconds

    def clock(self) -> float:
        return self.now


@pytest.fixture
def sleeper() -> Sleeper:
    return Sleeper()


@pytest.fixture
def google(fake, key_file, sleeper) -> GoogleSheetsSource:
    return GoogleSheetsSource.from_service_account(
        key_file, endpoint=fake.url, max_attempts=4, base_delay=0.01, jitter=0.0,
        sleep=sleeper, clock=sleeper.clock)


def google_entries(muni: DemoMunicipality) -> list[SchoolEntry]:
    return [SchoolEntry(s.code, s.name, s.org_type, sid_for(s.code)) for s in muni.schools]


# ----------------------------------------------------------------------------- registry


def test_registry_of_the_demo(muni, demo_dir):
    entries = read_registry(demo_dir / "registry.csv")
    assert [(e.code, e.name, e.org_type) for e in entries] == [
        (s.code, s.name, s.org_type) for s in muni.schools]
    assert all((demo_dir / e.source).parent == demo_dir / "schools" for e in entries)


def test_registry_csv_comma_any_case_any_order_extra_columns(tmp_path):
    path = tmp_path / "r.csv"
    path.write_text(
        "Источник,КОД ОО,Примечание,Наименование,Тип\n"
        "a/1.xlsx,ОО-001,первая,\"МБОУ «СОШ № 1», корпус 2\",ОО\n"
        "\n"
        f"{sid_for('x')},ОО-002,,Колледж,СПО\n", encoding="utf-8")
    entries = read_registry(path)
    assert entries == [SchoolEntry("ОО-001", "МБОУ «СОШ № 1», корпус 2", "ОО", "a/1.xlsx"),
                       SchoolEntry("ОО-002", "Колледж", "СПО", sid_for("x"))]


def test_registry_csv_from_russian_excel_cp1251(tmp_path):
    path = tmp_path / "r.csv"
    path.write_bytes(";".join(REGISTRY_HEADER).encode("cp1251") + b"\r\n"
                     + "ОО-001;Школа;ОО;школа.xlsx\r\n".encode("cp1251"))
    assert read_registry(path) == [SchoolEntry("ОО-001", "Школа", "ОО", "школа.xlsx")]


def test_registry_xlsx(tmp_path):
    wb = Workbook()
    ws = wb.active
    ws.append([h.upper() for h in REGISTRY_HEADER])
    ws.append([101, "МБОУ «СОШ № 101»", "ОО", "schools/101.xlsx"])
    ws.append([None, None, None, None])
    url = f"https://docs.google.com/spreadsheets/d/{sid_for('g')}/edit#gid=0"
    ws.append(["ОО-102", "Гимназия", "ОО", url])
    wb.save(tmp_path / "r.xlsx")
    entries = read_registry(tmp_path / "r.xlsx")
    assert [e.code for e in entries] == ["101", "ОО-102"]
    assert entries[0].source == "schools/101.xlsx"
    assert is_google_source(entries[1].source)


@pytest.mark.parametrize(("text", "words"), [
    ("код ОО;наименование;тип\nОО-1;Школа;ОО\n", ["нет столбца «источник»"]),
    ("код ОО;наименование;тип;источник\nОО-1;Школа;ОО;a.xlsx\nОО-2;Лицей;ОО;b.xlsx\n"
     "оо-1;Гимназия;ОО;c.xlsx\n", ["строка 4", "«оо-1»", "строке 2"]),
    ("код ОО;наименование;тип;источник\nОО-1;Школа;ОО;a.xlsx\n;Лицей;ОО;b.xlsx\n",
     ["строка 3", "не указан код ОО"]),
    ("", ["пуст"]),
    ("код ОО;наименование;тип;источник\n", ["нет ни одной"]),
])
def test_registry_errors_name_the_row(tmp_path, text, words):
    path = tmp_path / "r.csv"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(RegistryError) as info:
        read_registry(path)
    for word in words:
        assert word in info.value.message_ru


def test_registry_missing_or_unreadable_file(tmp_path):
    with pytest.raises(RegistryError, match="не найден"):
        read_registry(tmp_path / "нет.csv")
    (tmp_path / "r.xlsx").write_bytes(b"PK\x03\x04 broken")
    with pytest.raises(RegistryError, match="не читается"):
        read_registry(tmp_path / "r.xlsx")
    (tmp_path / "r.txt").write_text("x")
    with pytest.raises(RegistryError, match=".csv или .xlsx"):
        read_registry(tmp_path / "r.txt")


def test_google_source_recognition():
    sid = "1BxiMVs0XRA5nFMdKvBdBZjgmUUqptlbs74OgvE2upms"
    assert is_google_source(sid)
    url = f"https://docs.google.com/spreadsheets/d/{sid}/edit#gid=0"
    assert is_google_source(url) and spreadsheet_id(url) == sid
    assert spreadsheet_id(f"https://docs.google.com/spreadsheets/u/1/d/{sid}/") == sid
    assert spreadsheet_id(f"  {sid} ") == sid
    for path in ("schools/ОО-001.xlsx", "ОО-001.xlsx", "a" * 30 + ".xlsx", "short_id",
                 "C:\\Школы\\1.xlsm", "", "https://example.org/spreadsheets/d/" + sid):
        assert not is_google_source(path), path
    with pytest.raises(ValueError):
        spreadsheet_id("schools/1.xlsx")


# ----------------------------------------------------------------------------- folder


def test_folder_source_on_the_demo(muni, demo_dir):
    entries = read_registry(demo_dir / "registry.csv")
    seen = []
    fetched = list(fetch_all(entries, demo_dir, None, progress=seen.append))
    assert seen == entries
    assert len(fetched) == len(muni.schools)
    for f, school in zip(fetched, muni.schools, strict=True):
        assert f.entry.code == school.code
        assert f.origin == str(demo_dir / f"schools/{school.code}.xlsx")
        assert f.fetched_at.tzinfo is UTC and f.attempts == 1
        if school.submission == "ok":
            assert f.error is None and f.ok
            assert f.workbook.school_code == school.code
            assert f.sha256 == hashlib.sha256(Path(f.origin).read_bytes()).hexdigest()
        else:
            assert f.workbook is None
            assert type(f.error) is ERROR_FOR[school.submission], school.submission
            assert f.error.message_ru
            assert (f.sha256 is None) == (school.submission == "missing")


def test_folder_source_never_raises(tmp_path):
    (tmp_path / "word.xlsx").write_bytes(b"not a workbook at all")
    source = FolderSource(tmp_path)
    f = source.fetch(SchoolEntry("ОО-1", "Школа", "ОО", "word.xlsx"))
    assert isinstance(f.error, errors.NotAWorkbookError) and f.sha256
    f = source.fetch(SchoolEntry("ОО-2", "Школа", "ОО", ""))
    assert isinstance(f.error, errors.WorkbookNotFoundError)
    assert "не указан" in f.error.message_ru


def test_google_entries_without_a_key_are_reported_not_raised(demo_dir):
    entries = [SchoolEntry("ОО-001", "Школа", "ОО", "schools/ОО-001.xlsx"),
               SchoolEntry("ОО-900", "Гимназия", "ОО", sid_for("ОО-900"))]
    ok, google = fetch_all(entries, demo_dir, None)
    assert ok.ok
    assert isinstance(google.error, SourceError) and google.workbook is None
    assert KEY_ENV in google.error.message_ru and "--google-key" in google.error.message_ru
    with pytest.raises(SourceError):
        make_source(entries[1], source_dir=demo_dir, google=None)
    assert isinstance(make_source(entries[0], source_dir=demo_dir, google=None), FolderSource)


# ----------------------------------------------------------------------------- Google: equality


def test_google_equals_folder_with_one_request_per_spreadsheet(muni, demo_dir, fake, google):
    entries = google_entries(muni)
    # one school is registered by its URL rather than its bare ID
    url = f"https://docs.google.com/spreadsheets/d/{entries[1].source}/edit#gid=0"
    entries[1] = SchoolEntry(entries[1].code, entries[1].name, entries[1].org_type, url)
    fetched = list(fetch_all(entries, demo_dir, google))
    folder = FolderSource(demo_dir)
    for f, school in zip(fetched, muni.schools, strict=True):
        sid = sid_for(school.code)
        assert f.origin == f"https://docs.google.com/spreadsheets/d/{sid}/edit"
        assert f.attempts == 1
        if school.submission == "ok":
            assert f.error is None, f.error
            file_wb = folder.fetch(SchoolEntry(school.code, school.name, school.org_type,
                                               f"schools/{school.code}.xlsx")).workbook
            assert_same_workbook(f.workbook, file_wb)
            assert f.sha256 and len(f.sha256) == 64
        elif school.submission == "unknown_version":
            assert type(f.error) is errors.UnknownVersionError
        else:  # missing and corrupt files were never uploaded
            assert type(f.error) is errors.WorkbookNotFoundError
            assert "не найдена" in f.error.message_ru
        assert len(fake.calls("grid", sid)) == 1
        assert len(fake.calls(spreadsheet_id=sid)) == 1  # no metadata request either
    # one token for the whole run, with the read-only scope, signed by the key
    assert len(fake.calls("token")) == 1
    claims = fake.token_claims[-1]
    assert claims["iss"] == EMAIL and claims["scope"] == " ".join(SCOPES)
    get = fake.calls("grid")[0]
    assert get.host == "sheets.googleapis.com"
    assert get.path == f"/v4/spreadsheets/{get.spreadsheet_id}"  # spreadsheets.get
    assert get.query["fields"] == [GRID_FIELDS]
    assert [parse_range(r)[0] for r in get.query["ranges"]] == [
        C.INSTRUCTIONS.name, *(s.name for s in C.DATA_SHEETS)]
    assert not fake.calls("batchGet")


def test_hash_is_stable_and_follows_the_values(muni, fake, google):
    entry = google_entries(muni)[0]
    first, second = google.fetch(entry), google.fetch(entry)
    assert first.sha256 == second.sha256
    other = google.fetch(google_entries(muni)[1])
    assert other.sha256 != first.sha256



def _fetch_served(fake, google, path: Path, name: str, **served: object):  # noqa: ANN001, ANN202
    """The workbook at `path` served by the fake API as spreadsheet `name`, fetched back."""
    sid = sid_for(name)
    fake.add_from_xlsx(sid, path, **served)
    try:
        return google.fetch(SchoolEntry("ОО-901", "Школа", "ОО", sid))
    finally:
        fake.remove(sid)

def test_text_ids_and_date_looking_strings_come_back_unchanged(tmp_path, fake, google):
    data = clean_school()
    tricky = {"item_no": "1.10", "deadline_text": "01.09.2026", "result": "=СУММ(A1:A2)",
              "evidence": "+7 (900) 000-00-00", "indicator": "0012", "responsible": "2026-11"}
    data["roadmap"][0].update(tricky)
    data["mentors"][0]["position"] = "10.11"
    data["pairs"][0]["order_ref"] = "12.10.2025"
    data["mentors"][0]["experience_years"] = 12.5
    path = write_school_workbook(tmp_path / "tricky.xlsx", data)
    f = _fetch_served(fake, google, path, "tricky")
    assert f.error is None, f.error
    assert_same_workbook(f.workbook, SchoolWorkbook.from_path(path))
    road = f.workbook.tables["roadmap"].iloc[0]
    for key, value in tricky.items():
        assert road[key] == value, key
    assert f.workbook.tables["mentors"]["position"].iloc[0] == "10.11"
    assert f.workbook.tables["pairs"]["order_ref"].iloc[0] == "12.10.2025"
    assert f.workbook.tables["mentors"]["id"].tolist() == ["Н-001", "Н-002", "Н-003"]
    assert f.workbook.tables["mentors"]["birth_date"].iloc[0] == pd.Timestamp(1980, 1, 10)
    assert f.workbook.tables["mentors"]["experience_years"].iloc[0] == 12.5
    assert f.workbook.school["period"] == "2026-11"


def _put(book, sheet: C.Sheet, key: str, record: int, value) -> None:
    """Type ``value`` into column ``key`` of data row ``record`` (0-based) of a table sheet,
    or into the value cell of field ``key`` of a form sheet, as a user would."""
    ws = book[sheet.name]
    header = next(c.header for c in sheet.columns if c.key == key)
    if sheet is C.SCHOOL:
        row = next(r for r in ws.iter_rows() if r[0].value == header)
        row[1].value = value
        return
    titles = [c.value for c in ws[C.HEADER_ROW]]
    ws.cell(row=C.FIRST_DATA_ROW + record, column=titles.index(header) + 1).value = value


def _findings(wb: SchoolWorkbook) -> list[tuple]:
    report = validate_workbook(wb, date(2026, 11, 30))
    return sorted((f.code, f.sheet, f.row, f.column, str(f.value), f.message_ru)
                  for f in report.findings)


def test_a_date_in_a_text_column_arrives_as_the_file_gives_it(tmp_path, fake, google):
    """Issue #16: a date typed into a text column of a Google Sheet arrives as the .xlsx of the
    same cells gives it («01.09.2026»), not as its serial number (46266); dates in date columns
    and the form stay right, with one request per spreadsheet."""
    path = write_school_workbook(tmp_path / "dates.xlsx", clean_school())
    book = load_workbook(path)
    _put(book, C.MENTEES, "group", 0, date(2026, 9, 1))  # a class typed as «1.9»
    _put(book, C.MENTORS, "position", 1, datetime(2026, 9, 1, 10, 30))
    _put(book, C.PAIRS, "order_ref", 1, date(2025, 10, 12))
    _put(book, C.ROADMAP, "evidence", 1, date(2026, 10, 5))
    _put(book, C.SCHOOL, "period", 0, date(2026, 11, 1))  # «2026-11» turned into a date
    book.save(path)
    # formats down all 1000 rows
    f = _fetch_served(fake, google, path, "dates", formatted_rows=None)
    assert f.error is None, f.error
    from_file = SchoolWorkbook.from_path(path)
    assert_same_workbook(f.workbook, from_file)
    assert _findings(f.workbook) == _findings(from_file)
    tables = f.workbook.tables
    assert tables["mentees"]["group"].iloc[0] == "01.09.2026"
    assert tables["mentors"]["position"].iloc[1] == "01.09.2026"
    assert tables["pairs"]["order_ref"].iloc[1] == "12.10.2025"
    assert tables["roadmap"]["evidence"].iloc[1] == "05.10.2026"
    assert f.workbook.school["period"] == "2026-11"
    # dates in date columns are still dates
    assert tables["mentors"]["birth_date"].iloc[0] == pd.Timestamp(1980, 1, 10)
    assert tables["pairs"]["start_date"].iloc[0] == pd.Timestamp(2026, 9, 15)
    assert len(fake.calls(spreadsheet_id=sid_for("dates"))) == 1


def test_times_and_formula_errors_arrive_as_openpyxl_reads_them(tmp_path, fake, google):
    """A time typed into a text column reads «10:30» (a time, as every reader gives it), a
    date with a time of day in a date column is that day, a formula error is its text."""
    path = write_school_workbook(tmp_path / "times.xlsx", clean_school())
    book = load_workbook(path)
    _put(book, C.MENTEES, "group", 2, time(10, 30))
    _put(book, C.MENTORS, "birth_date", 1, datetime(2009, 3, 1, 15, 0))
    _put(book, C.MENTORS, "position", 0, "#DIV/0!")  # what openpyxl caches of =1/0
    book.save(path)
    f = _fetch_served(fake, google, path, "times")
    assert f.error is None, f.error
    assert_same_workbook(f.workbook, SchoolWorkbook.from_openpyxl(load_workbook(
        path, data_only=True)))
    tables = f.workbook.tables
    assert tables["mentees"]["group"].iloc[2] == "10:30"
    assert tables["mentors"]["birth_date"].iloc[1] == pd.Timestamp(2009, 3, 1)
    assert tables["mentors"]["position"].iloc[0] == "#DIV/0!"


def test_missing_or_renamed_sheet_falls_back_to_metadata(tmp_path, fake, google):
    path = write_school_workbook(tmp_path / "school.xlsx", clean_school())
    book = load_workbook(path)
    del book[C.MONITORING.name]
    mentors = book[C.MENTORS.name]
    mentors.title = "tmp"  # openpyxl renames a case-only change to «наставники1»
    mentors.title = C.MENTORS.name.lower()  # sheets are matched by name, case does not matter
    book.save(path)
    f = _fetch_served(fake, google, path, "fallback")
    assert f.error is None, f.error
    assert f.workbook.missing_sheets == ["monitoring"]
    assert len(f.workbook.tables["mentors"]) == 3
    assert_same_workbook(f.workbook, SchoolWorkbook.from_path(path))
    calls = fake.calls(spreadsheet_id=sid_for("fallback"))
    assert [r.kind for r in calls] == ["grid", "metadata", "grid"]
    assert f.attempts == 1


def test_a_spreadsheet_that_is_not_ours(fake, google):
    sid = sid_for("foreign")
    fake.add(sid, {"Лист1": [["Бюджет", 2026], ["Итого", 100]]})
    try:
        f = google.fetch(SchoolEntry("ОО-1", "Школа", "ОО", sid))
    finally:
        fake.remove(sid)
    assert isinstance(f.error, errors.NotOurWorkbookError)


# ----------------------------------------------------------------------------- Google: faults


def test_429_with_retry_after_is_retried(muni, fake, google, sleeper):
    entry = google_entries(muni)[0]
    fake.fail_next(entry.source, status=429, retry_after=0)
    f = google.fetch(entry)
    assert f.error is None and f.attempts == 2
    assert sleeper.delays == [0.0]
    assert [r.status for r in fake.calls("grid", entry.source)] == [429, 200]


def test_5xx_backs_off_exponentially(muni, fake, google, sleeper):
    entry = google_entries(muni)[0]
    fake.fail_next(entry.source, status=500, times=1)
    fake.fail_next(entry.source, status=503, times=1)
    f = google.fetch(entry)
    assert f.error is None and f.attempts == 3
    assert sleeper.delays == pytest.approx([0.01, 0.02])


def test_jitter_stays_within_half_the_delay(muni, fake, key_file, sleeper):
    source = GoogleSheetsSource.from_service_account(
        key_file, endpoint=fake.url, max_attempts=5, base_delay=1.0, max_delay=3.0,
        sleep=sleeper, clock=sleeper.clock)
    entry = google_entries(muni)[0]
    fake.fail_next(entry.source, status=502, times=4)
    f = source.fetch(entry)
    assert f.error is None and f.attempts == 5
    for delay, full in zip(sleeper.delays, (1.0, 2.0, 3.0, 3.0), strict=True):
        assert full / 2 <= delay <= full


def test_a_school_failing_forever_does_not_stop_the_others(muni, demo_dir, fake, google,
                                                           sleeper):
    entries = google_entries(muni)[:4]
    broken = entries[2].source
    fake.fail_next(broken, status=500, times=None)
    fetched = list(fetch_all(entries, demo_dir, google))
    assert [f.ok for f in fetched] == [True, True, False, True]
    bad = fetched[2]
    assert type(bad.error) is SourceUnavailableError
    assert bad.error.code == "source-unavailable" and bad.error.status_ru == "источник недоступен"
    assert bad.attempts == google.max_attempts == 4
    assert "4 попыток" in bad.error.message_ru and "HTTP 500" in bad.error.message_ru
    assert len(fake.calls("grid", broken)) == 4
    assert sleeper.delays == pytest.approx([0.01, 0.02, 0.04])


def test_quota_exhausted_says_so(muni, fake, google):
    entry = google_entries(muni)[0]
    fake.fail_next(entry.source, status=429, times=None, retry_after="0")
    f = google.fetch(entry)
    assert isinstance(f.error, SourceUnavailableError) and "квота" in f.error.message_ru


def test_403_asks_to_share_with_the_service_account(muni, fake, google, sleeper):
    entry = google_entries(muni)[0]
    fake.fail_next(entry.source, status=403, times=None)
    f = google.fetch(entry)
    assert isinstance(f.error, SheetAccessDeniedError)
    assert isinstance(f.error, errors.WorkbookNotFoundError)
    assert "нет доступа к таблице" in f.error.message_ru.lower()
    assert "откройте доступ сервисному аккаунту" in f.error.message_ru
    assert EMAIL in f.error.message_ru
    assert f.attempts == 1 and sleeper.delays == []


def test_404_says_the_table_is_not_found(fake, google, sleeper):
    f = google.fetch(SchoolEntry("ОО-1", "Школа", "ОО", sid_for("nobody")))
    assert type(f.error) is errors.WorkbookNotFoundError
    assert "таблица google не найдена" in f.error.message_ru.lower()
    assert f.attempts == 1 and sleeper.delays == [] and f.sha256 is None


def test_requests_are_paced(muni, fake, key_file, sleeper):
    source = GoogleSheetsSource.from_service_account(
        key_file, endpoint=fake.url, min_interval=1.0, sleep=sleeper, clock=sleeper.clock)
    for entry in google_entries(muni)[:3]:
        assert source.fetch(entry).ok
        sleeper.now += 0.25  # the time work between two requests takes
    assert sleeper.delays == pytest.approx([0.75, 0.75])


def test_expired_token_is_refreshed(muni, fake, google):
    entry = google_entries(muni)[0]
    assert google.fetch(entry).ok
    fake.tokens.clear()  # the server forgets the token: 401, then google-auth refreshes
    f = google.fetch(entry)
    assert f.ok and f.attempts == 1
    assert [r.kind for r in fake.calls()][-3:] == ["grid", "token", "grid"]


def test_unreachable_endpoint_is_retried_then_reported(key_file, sleeper):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed once the block ends: connection refused
    source = GoogleSheetsSource.from_service_account(
        key_file, endpoint=f"http://127.0.0.1:{port}", max_attempts=3, base_delay=0.01,
        jitter=0.0, sleep=sleeper, clock=sleeper.clock)
    f = source.fetch(SchoolEntry("ОО-1", "Школа", "ОО", sid_for("x")))
    assert isinstance(f.error, SourceUnavailableError) and f.attempts == 3
    assert sleeper.delays == pytest.approx([0.01, 0.02])


def test_a_key_google_rejects(fake, tmp_path, muni):
    from cryptography.hazmat.primitives.asymmetric import rsa

    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    path = tmp_path / "other.json"
    path.write_text(json.dumps(_key_info(other)), encoding="utf-8")
    source = GoogleSheetsSource.from_service_account(path, endpoint=fake.url,
                                                     sleep=lambda s: None)
    f = source.fetch(google_entries(muni)[0])
    assert isinstance(f.error, SourceError) and "ключ" in f.error.message_ru


# ----------------------------------------------------------------------------- key file


def test_key_from_the_environment(monkeypatch, key_file, fake, muni):
    monkeypatch.setenv(KEY_ENV, str(key_file))
    source = GoogleSheetsSource.from_service_account(endpoint=fake.url)
    assert source.account_email == EMAIL
    assert source.fetch(google_entries(muni)[0]).ok


@pytest.mark.parametrize(("content", "words"), [
    (None, "не найден"),
    ("{not json", "не является JSON"),
    ('{"type": "authorized_user"}', "не ключ сервисного аккаунта"),
    ('{"type": "service_account", "client_email": "a@b"}', "повреждён"),
])
def test_bad_key_files(tmp_path, monkeypatch, content, words):
    path = tmp_path / "key.json"
    if content is not None:
        path.write_text(content, encoding="utf-8")
    with pytest.raises(SourceError) as info:
        GoogleSheetsSource.from_service_account(path)
    assert words in info.value.message_ru


def test_no_key_at_all(monkeypatch):
    monkeypatch.delenv(KEY_ENV, raising=False)
    with pytest.raises(SourceError) as info:
        GoogleSheetsSource.from_service_account()
    assert KEY_ENV in info.value.message_ru


# ----------------------------------------------------------------------------- the fake itself


def test_fake_renders_like_the_api():
    assert render(date(2022, 5, 20), "UNFORMATTED_VALUE", "SERIAL_NUMBER") == 44701
    assert render(datetime(2022, 5, 20, 12), "UNFORMATTED_VALUE", "SERIAL_NUMBER") == 44701.5
    assert render(date(2022, 5, 20), "UNFORMATTED_VALUE", "FORMATTED_STRING") == "20.05.2022"
    assert render(7.0, "UNFORMATTED_VALUE", "SERIAL_NUMBER") == 7
    assert render(12.5, "FORMATTED_VALUE", "SERIAL_NUMBER") == "12,5"
    assert render(True, "UNFORMATTED_VALUE", "SERIAL_NUMBER") is True
    assert render(None, "UNFORMATTED_VALUE", "SERIAL_NUMBER") == ""
    assert parse_range("'Мониторинг 20.12'") == ("Мониторинг 20.12", None)
    assert parse_range("'It''s'!A1:B2") == ("It's", "A1:B2")


def test_fake_trims_and_omits_like_the_api():
    import requests

    with FakeSheets() as fake:  # no public key: no token needed
        _check_fake_shapes(fake, requests)


def _check_fake_shapes(fake, requests):
    fake.add("s" * 30, {"A": [["x", None, None], [None, None], ["", "y", ""], [None]],
                        "Пусто": []}, hidden=["Пусто"])
    try:
        r = requests.get(f"{fake.url}/v4/spreadsheets/{'s' * 30}/values:batchGet",
                         params={"ranges": ["'A'", "'Пусто'"],
                                 "valueRenderOption": "UNFORMATTED_VALUE"})
        ranges = r.json()["valueRanges"]
        assert ranges[0]["values"] == [["x"], [], ["", "y"]]
        assert "values" not in ranges[1]
        meta = requests.get(f"{fake.url}/v4/spreadsheets/{'s' * 30}").json()
        assert meta["sheets"][1]["properties"]["hidden"] is True
        bad = requests.get(f"{fake.url}/v4/spreadsheets/{'s' * 30}/values:batchGet",
                           params={"ranges": ["'Нет'"]})
        assert bad.status_code == 400
        assert bad.json()["error"] == {"code": 400, "message": "Unable to parse range: 'Нет'",
                                       "status": "INVALID_ARGUMENT"}
    finally:
        fake.remove("s" * 30)


def test_fake_serves_grid_data_like_the_api():
    """spreadsheets.get: grid data only when the fields mask (or, without a mask,
    includeGridData) asks for it; the mask cuts every answer; blanks as the API leaves them."""
    import requests

    sid = "g" * 30
    with FakeSheets() as fake:
        fake.add(sid, {"Лист": [["x", None, date(2026, 9, 1)], [None, None],
                                ["", 12.5, True, time(10, 30), "#N/A"], [None]],
                       "Другой": [["y"]], "Пусто": []})
        url = f"{fake.url}/v4/spreadsheets/{sid}"
        got = requests.get(url, params={"ranges": ["'Лист'", "'Пусто'"],
                                        "fields": GRID_FIELDS}).json()
        assert got == {"sheets": [
            {"properties": {"title": "Лист"}, "data": [{"rowData": [
                {"values": [{"effectiveValue": {"stringValue": "x"}}, {},
                            {"effectiveValue": {"numberValue": 46266},
                             "effectiveFormat": {"numberFormat": {"type": "DATE"}}}]},
                {},
                {"values": [{}, {"effectiveValue": {"numberValue": 12.5}},
                            {"effectiveValue": {"boolValue": True}},
                            {"effectiveValue": {"numberValue": 0.4375},
                             "effectiveFormat": {"numberFormat": {"type": "TIME"}}},
                            {"effectiveValue": {"errorValue": {"type": "N_A",
                                                               "message": "#N/A (fake)"}}}]},
            ]}]},
            {"properties": {"title": "Пусто"}, "data": [{}]}]}  # startRow 0: omitted
        assert [r.kind for r in fake.calls()] == ["grid"]
        # includeGridData=true without a mask: everything, values formatted too
        full = requests.get(url, params={"includeGridData": "true"}).json()
        assert [s["properties"]["title"] for s in full["sheets"]] == ["Лист", "Другой", "Пусто"]
        cell = full["sheets"][0]["data"][0]["rowData"][0]["values"][2]
        assert cell["formattedValue"] == "01.09.2026"
        assert cell["effectiveFormat"]["numberFormat"] == {"type": "DATE",
                                                           "pattern": "dd.MM.yyyy"}
        # metadata: no grid data, with or without includeGridData once a mask says so
        for params in ({}, {"includeGridData": "false"},
                       {"includeGridData": "true", "fields": "sheets.properties.title"}):
            meta = requests.get(url, params=params).json()
            assert all("data" not in s for s in meta["sheets"]), params
        masked = requests.get(url, params={"fields": "properties.title,sheets.properties("
                                                     "sheet_id,title)"}).json()
        assert masked == {"properties": {"title": sid},
                          "sheets": [{"properties": {"sheetId": i, "title": t}}
                                     for i, t in enumerate(["Лист", "Другой", "Пусто"])]}
        assert [r.kind for r in fake.calls()][1:] == ["grid"] + ["metadata"] * 4
        for params in ({"ranges": ["'Нет'"]}, {"ranges": ["'Лист'!A1:B2"]},
                       {"fields": "sheets(properties"}):
            assert requests.get(url, params=params).status_code == 400, params
        assert not fake.internal_errors


def test_registry_written_by_the_demo_is_what_we_read(demo_dir):
    with (demo_dir / "registry.csv").open(encoding="utf-8-sig", newline="") as fh:
        header = next(csv.reader(fh, delimiter=";"))
    assert tuple(header) == REGISTRY_HEADER
