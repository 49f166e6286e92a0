"""`nastavnik sync` over Google Sheets: unmodified gspread talks HTTP to the fake Sheets API on
127.0.0.1, survives an injected 429 and 500, and the master equals the folder run's."""

from __future__ import annotations

import json
from datetime import date

import pytest
from openpyxl import load_workbook

from sync import master as M
from tests.cli import run
from tests.fake_sheets_api import FakeSheets
from tests.test_sources import _key_info, _put, sid_for
from workbook_templates import contract as C
from workbook_templates.contract import REGISTRY_HEADER
from workbook_templates.demo import generate_municipality, write_municipality

#: Columns that legitimately differ between the two runs (where the data came from).
SOURCE_DEPENDENT = {"Источник", "SHA-256", "Время получения", "Попыток"}
#: The master's column of a participant's class (mentees) or position (mentors).
GROUP = "Класс, группа или должность"


def _sheet(path, name):
    rows = list(load_workbook(path, read_only=True)[name].iter_rows(values_only=True))
    header_at = next(i for i, r in enumerate(rows) if r and r[0] == "Код ОО")
    header = rows[header_at]
    return [dict(zip(header, r, strict=False)) for r in rows[header_at + 1:] if any(r)]


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    from cryptography.hazmat.primitives.asymmetric import rsa

    tmp = tmp_path_factory.mktemp("google")
    muni = generate_municipality(n_schools=8)
    root = write_municipality(muni, tmp / "muni")
    served = [s for s in muni.schools if s.submission in ("ok", "unknown_version")]
    # a class and a position typed as dates (Sheets and Excel both turn «1.9» into a date)
    dated = root / "schools" / f"{served[2].code}.xlsx"  # an accepted school
    book = load_workbook(dated)
    _put(book, C.MENTEES, "group", 0, date(2026, 9, 1))
    _put(book, C.MENTORS, "position", 0, date(2026, 10, 12))
    book.save(dated)
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    key_file = tmp / "key.json"
    key_file.write_text(json.dumps(_key_info(key)), encoding="utf-8")
    registry = tmp / "google.csv"
    lines = [";".join(REGISTRY_HEADER)] + [
        f"{s.code};{s.name};{s.org_type};https://docs.google.com/spreadsheets/d/"
        f"{sid_for(s.code)}/edit" for s in served]
    registry.write_text("\n".join(lines) + "\n", encoding="utf-8-sig")
    folder_registry = tmp / "folder.csv"
    folder_registry.write_text("\n".join([lines[0]] + [
        f"{s.code};{s.name};{s.org_type};muni/schools/{s.code}.xlsx" for s in served]) + "\n",
        encoding="utf-8-sig")
    with FakeSheets(public_key=key.public_key()) as fake:
        for s in served:
            fake.add_from_xlsx(sid_for(s.code), root / "schools" / f"{s.code}.xlsx",
                               title=s.name)
        fake.fail_next(sid_for(served[0].code), status=429, retry_after=0)
        fake.fail_next(sid_for(served[1].code), status=500)
        google = run("sync", "--registry", registry, "--period", "2026-11",
                     "--out", tmp / "google.xlsx", "--google-key", key_file,
                     "--google-endpoint", fake.url)
        reads = len(fake.calls("grid"))
        assert not fake.calls("batchGet")
        # the month goes on: one school edits its spreadsheet, the centre syncs again
        fake.reset_log()
        fake.add_from_xlsx(sid_for(served[2].code), root / "schools" / f"{served[2].code}.xlsx",
                           title=served[2].name)
        again = run("sync", "--registry", registry, "--period", "2026-11",
                    "--out", tmp / "google.xlsx", "--google-key", key_file,
                    "--google-endpoint", fake.url)
        resync = {"reread": {c.spreadsheet_id for c in fake.calls("grid")},
                  "listings": len(fake.calls("driveList")), "run": again}
        assert not fake.foreign_hosts()
    folder = run("sync", "--registry", folder_registry, "--period", "2026-11",
                 "--out", tmp / "folder.xlsx")
    return google, folder, tmp, served, reads, resync


def test_a_resync_fetches_only_the_spreadsheet_that_changed(runs):
    """Drive's modifiedTime (one files.list) tells which spreadsheets changed since the last
    run of the period: only that one is fetched again, sparing the Sheets quota."""
    google, _, _, served, _, resync = runs
    assert resync["listings"] >= 1
    assert resync["reread"] == {sid_for(served[2].code)}
    assert resync["run"].returncode == google.returncode
    assert f"(не перечитывались): {len(served) - 1} из {len(served)}" in resync["run"].stdout


def test_google_run_survives_429_and_500(runs):
    google, _, tmp, served, reads, _ = runs
    assert google.returncode in (0, 1), google.stdout + google.stderr
    log = {r["Код ОО"]: r for r in _sheet(tmp / "google.xlsx", M.SHEET_LOG)}
    assert log[served[0].code]["Попыток"] == 2
    assert log[served[1].code]["Попыток"] == 2
    # one spreadsheets.get per spreadsheet (a read request of the quota, as one
    # values:batchGet was), plus the two answered with an error
    assert reads == len(served) + 2


@pytest.mark.parametrize("sheet", [M.SHEET_SUMMARY, M.SHEET_PARTICIPANTS, M.SHEET_PAIRS,
                                   M.SHEET_ROADMAP, M.SHEET_FINDINGS])
def test_master_equals_folder_run(runs, sheet):
    google, folder, tmp, _, _, _ = runs
    assert folder.returncode == google.returncode

    def rows(name):
        return sorted((tuple((k, v) for k, v in r.items() if k not in SOURCE_DEPENDENT)
                       for r in _sheet(tmp / name, sheet)), key=repr)

    assert rows("google.xlsx") == rows("folder.xlsx")


def test_figures_equal(runs):
    _, _, tmp, _, _, _ = runs

    def figures(name):
        ws = load_workbook(tmp / name, read_only=True)[M.SHEET_FIGURES]
        return [r for r in ws.iter_rows(min_row=2, values_only=True)]

    assert figures("google.xlsx") == figures("folder.xlsx")


def test_dates_typed_into_text_columns_read_as_from_the_file(runs):
    """Issue #16: the class and the position typed as dates read «ДД.ММ.ГГГГ» in the master
    of the Google run, as in the folder run, never as serial numbers."""
    _, _, tmp, served, _, _ = runs
    code = served[2].code

    def groups(name):
        return {r[GROUP] for r in _sheet(tmp / name, M.SHEET_PARTICIPANTS)
                if r["Код ОО"] == code}

    assert {"01.09.2026", "12.10.2026"} <= groups("google.xlsx")
    assert groups("google.xlsx") == groups("folder.xlsx")
    assert not any(str(v).isdigit() for v in groups("google.xlsx"))
