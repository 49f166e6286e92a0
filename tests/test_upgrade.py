"""Template versions: 1.0 books read through the declared steps, `nastavnik upgrade-book`,
and the sync's transition window.

The 1.0 books are real ones (tests/data/v1_0, written by the 1.0 builder) and today's demo
books with the 1.1 steps undone (tests/old_books.py, checked against the frozen one).
"""

from __future__ import annotations

import datetime as dt
import re
import shutil
import zipfile
from pathlib import Path
from urllib.parse import unquote

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openpyxl import load_workbook
from openpyxl.comments import Comment

from addin.migrate import migrate
from addin.model import SchoolWorkbook
from addin.raw import RawSheet
from addin.rules.version import OLD_VERSION
from addin.upgrade import upgrade_book
from addin.validate import validate_path
from addin.web.access import add_school_code, add_staff
from sync.service import SyncOptions, run_sync
from sync.version_window import window_of
from tests.cli import run
from tests.old_books import V1_0, added_blank, cells, downgrade, lost_or_changed
from tests.web_bench import csrf_of, start_server, upload
from workbook_templates import contract as C
from workbook_templates import versions as V
from workbook_templates.demo import generate_municipality, write_municipality
from workbook_templates.xlsm import build_school_xlsm

FROZEN_SCHOOL = V1_0 / "demo-ОО-004.xlsx"


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    root = write_municipality(generate_municipality(), tmp_path_factory.mktemp("demo"))
    return root


@pytest.fixture(scope="module")
def old_demo(demo, tmp_path_factory):
    """Every demo school's book as a 1.0 book."""
    out = tmp_path_factory.mktemp("old")
    books = {}
    for path in sorted((demo / "schools").glob("*.xlsx")):
        try:
            SchoolWorkbook.from_path(path)
        except Exception:  # the demo's corrupt and unknown-version files
            continue
        books[path.stem] = downgrade(path, out / path.name)
    return books


def _findings(path: Path) -> set[tuple]:
    return {(f.code, f.sheet, f.row, f.column, f.value) for f in validate_path(path).findings
            if f.code != OLD_VERSION}


def _upgrade_and_compare(old: Path, tmp: Path, suffix: str = ".xlsx") -> Path:
    new = tmp / f"{old.stem}-new{suffix}"
    upgrade_book(old, new)
    got = cells(new)
    assert lost_or_changed(cells(old), got) == []
    assert added_blank(got) == []
    assert SchoolWorkbook.from_path(new).version == C.TEMPLATE_VERSION
    assert _findings(new) == _findings(old)
    again = tmp / f"{old.stem}-again{suffix}"
    upgrade_book(new, again)
    assert cells(again) == got  # upgrading again changes nothing
    return new


# -- the history ------------------------------------------------------------------------------
def test_history_ends_at_the_contract_version() -> None:
    assert V.VERSIONS == C.KNOWN_VERSIONS
    assert V.HISTORY[-1].version == C.TEMPLATE_VERSION
    added = [s.header for _, s in V.steps_between("1.0") if isinstance(s, V.AddColumn)]
    assert added == [c.header for c in C.MONITORING.columns[-4:]]


def test_downgraded_demo_school_is_the_frozen_1_0_book(demo, old_demo) -> None:
    """Undoing the 1.1 steps on today's demo gives the cells the 1.0 builder wrote."""
    assert cells(old_demo["ОО-004"]) == cells(FROZEN_SCHOOL)


def test_old_book_is_read_through_the_steps_with_a_warning() -> None:
    wb = SchoolWorkbook.from_path(FROZEN_SCHOOL)
    assert wb.version == "1.0" and not wb.missing_columns
    assert {"comfort", "wish_to_continue"} <= set(wb.table("monitoring").columns)
    found = [f for f in validate_path(FROZEN_SCHOOL).findings if f.code == OLD_VERSION]
    assert len(found) == 1 and "книга старой версии шаблона — обновите её" in \
        found[0].message_ru.lower()


def _table(header: list, *rows: list) -> RawSheet:
    return RawSheet.from_rows([header, *[list(r) for r in rows]])


def test_every_kind_of_step_on_raw_sheets() -> None:
    sheets = {
        "Наставники": _table(["ID", "ФИО полностью", "Тел", "Кат"],
                             ["Н-1", "Иванова Анна", "1", "педагог"],
                             ["Н-2", "Петров", None, "Педагог"]),
        "Старый лист": _table(["ID", "Заметка"], ["Н-2", "важно"], ["Н-9", "сирота"]),
        "Сведения об ОО": RawSheet.from_rows([["Поле", "Значение"], ["Код", "ОО-1"],
                                              ["Город", "Озёрск"], ["Район", "Северный"]]),
    }
    steps = [
        V.RenameSheet("Старый лист", "Заметки"),
        V.RenameColumn("Наставники", "Тел", "Телефон"),
        V.AddColumn("Наставники", "Стаж", default=0),
        V.SplitColumn("Наставники", "ФИО полностью", ("Фамилия", "Имя")),
        V.RenameValue("Наставники", "Кат", "педагог", "учитель"),
        V.MoveColumn("Заметки", "Заметка", "Наставники", "ID", "ID"),
        V.MergeColumns("Сведения об ОО", ("Город", "Район"), "Адрес", ", "),
        V.RenameColumn("Сведения об ОО", "Код", "Код ОО"),
    ]
    out = migrate(sheets, "1.0", steps=steps)
    rows = out.sheets["Наставники"].rows()
    assert rows[0] == ["ID", "Фамилия", "Имя", "Телефон", "Кат", "Стаж", "Заметка"]
    assert rows[1] == ["Н-1", "Иванова", "Анна", "1", "учитель", 0, None]
    assert rows[2] == ["Н-2", "Петров", None, None, "учитель", 0, "важно"]
    assert rows[3] == ["Н-9", None, None, None, None, None, "сирота"]  # kept in a new row
    assert out.sheets["Заметки"].rows() == [["ID"], ["Н-2"], ["Н-9"]]
    form = out.sheets["Сведения об ОО"].rows()
    assert form[1] == ["Код ОО", "ОО-1"] and form[2] == [None, None]  # rows keep numbers
    assert ["Адрес", "Озёрск, Северный"] in form
    assert len(out.notes) == len(steps)
    # a step that finds nothing is skipped and said so, never raised
    again = migrate(out.sheets, "1.0", steps=steps[1:2])
    assert "пропущен" in again.notes[0]


# -- upgrade-book -----------------------------------------------------------------------------
def test_frozen_1_0_school_upgrades_with_nothing_lost(tmp_path) -> None:
    _upgrade_and_compare(FROZEN_SCHOOL, tmp_path)


@pytest.fixture(scope="module")
def upgraded_demo(old_demo, tmp_path_factory) -> dict[str, Path]:
    """Every old demo book upgraded, each checked cell by cell on the way."""
    out = tmp_path_factory.mktemp("upgraded")
    return {stem: _upgrade_and_compare(path, out) for stem, path in old_demo.items()}


def test_every_demo_school_upgrades_with_nothing_lost(old_demo, upgraded_demo) -> None:
    assert len(upgraded_demo) == len(old_demo) >= 8


def test_extra_columns_sheets_fields_and_comments_survive(tmp_path) -> None:
    old = tmp_path / "своё.xlsx"
    wb = load_workbook(FROZEN_SCHOOL)
    ws = wb[C.MENTORS.name]
    at = ws.max_column + 2  # a gap: the school's column is not next to the template's
    ws.cell(row=1, column=at, value="Телефон").comment = Comment("спросить у завуча", "я")
    ws.cell(row=3, column=at, value="=1+1")  # a formula stays a formula
    ws.cell(row=4, column=at, value="+7 900")
    ws.cell(row=2, column=1).comment = Comment("проверить ID", "я")
    form = wb[C.SCHOOL.name]
    form.cell(row=form.max_row + 1, column=1, value="Сайт")
    form.cell(row=form.max_row, column=2, value="school.example")
    mon = wb[C.MONITORING.name]
    mon.cell(row=1, column=mon.max_column + 1, value="Класс")
    mon.cell(row=2, column=mon.max_column, value="7А")
    wb.create_sheet("Мои заметки")["B3"] = "не забыть"
    wb.save(old)
    new = _upgrade_and_compare(old, tmp_path)
    got = load_workbook(new)
    header = [c.value for c in got[C.MENTORS.name][1]]
    at_new = header.index("Телефон") + 1
    assert at_new == len(C.MENTORS.columns) + 1  # at the end of its sheet
    assert got[C.MENTORS.name].cell(row=3, column=at_new).data_type == "f"
    assert got[C.MENTORS.name].cell(row=1, column=at_new).comment.text == "спросить у завуча"
    assert got[C.MENTORS.name].cell(row=2, column=1).comment.text == "проверить ID"
    mon_header = [c.value for c in got[C.MONITORING.name][1]]
    assert mon_header.index("Класс") == len(C.MONITORING.columns)  # after the new columns
    assert got["Мои заметки"]["B3"].value == "не забыть"
    assert SchoolWorkbook.from_path(new).extra_columns["mentors"] == ["Телефон"]


def test_xlsm_gets_the_current_buttons_and_vba(tmp_path) -> None:
    new = tmp_path / "new.xlsm"
    upgrade_book(V1_0 / "school.xlsm", new)
    fresh = zipfile.ZipFile(build_school_xlsm(tmp_path / "fresh.xlsm"))
    got = zipfile.ZipFile(new)
    assert set(fresh.namelist()) <= set(got.namelist())
    for part in ("xl/vbaProject.bin", "xl/drawings/vmlDrawingNastavnikButtons.vml"):
        assert got.read(part) == fresh.read(part)
    assert SchoolWorkbook.from_path(new).version == C.TEMPLATE_VERSION


def test_books_saved_by_libreoffice_upgrade_and_the_result_opens_there(soffice,
                                                                         tmp_path) -> None:
    for fmt in ("xlsx", "ods"):
        saved = soffice(FROZEN_SCHOOL, fmt)
        new = tmp_path / f"lo-{fmt}.xlsx"
        upgrade_book(saved, new)
        assert _findings(new) == _findings(saved)
        if fmt == "xlsx":
            assert lost_or_changed(cells(saved), cells(new)) == []
    reopened = soffice(new, "xlsx")
    assert SchoolWorkbook.from_path(reopened).version == C.TEMPLATE_VERSION
    assert _findings(reopened) == _findings(new)


def test_cli_upgrade_book_and_its_refusals(tmp_path) -> None:
    out = tmp_path / "new.xlsx"
    res = run("upgrade-book", FROZEN_SCHOOL, "--out", out)
    assert res.returncode == 0, res.stderr
    assert "1.0 → 1.1" in res.stdout and "добавлен столбец «Хочет продолжить» (пустой)" in \
        res.stdout
    assert out.exists()
    newer = tmp_path / "newer.xlsx"
    wb = load_workbook(FROZEN_SCHOOL)
    for row in wb[C.INSTRUCTIONS.name].iter_rows(max_col=2):
        if row[0].value == C.VERSION_LABEL:
            row[1].value = "2.0"
    wb.save(newer)
    res = run("upgrade-book", newer, "--out", tmp_path / "x.xlsx")
    assert res.returncode == 2 and "обновите программу" in res.stderr
    assert not (tmp_path / "x.xlsx").exists()
    res = run("upgrade-book", FROZEN_SCHOOL, "--out", tmp_path / "x.ods")
    assert res.returncode == 2 and ".xlsx или .xlsm" in res.stderr
    assert "Traceback" not in res.stderr


# -- the sync's window ------------------------------------------------------------------------
def _mixed(demo: Path, books: dict[str, Path], tmp: Path, name: str) -> Path:
    """The demo municipality with every other school's book replaced by one of `books`."""
    root = tmp / name
    shutil.copytree(demo, root)
    for i, (stem, book) in enumerate(sorted(books.items())):
        if i % 2 == 0:
            shutil.copy(book, root / "schools" / f"{stem}.xlsx")
    return root


def test_sync_of_mixed_versions_inside_the_window_equals_all_upgraded(
        demo, old_demo, upgraded_demo, tmp_path) -> None:
    figures = {}
    for upgraded, books in ((False, old_demo), (True, upgraded_demo)):
        root = _mixed(demo, books, tmp_path, str(upgraded))
        result = run_sync(SyncOptions(registry=root / "registry.csv", period="2026-11",
                                      out=root / "свод.xlsx", source_dir=root))
        cons = result.consolidation
        figures[upgraded] = ([(v.key, v.numerator, v.denominator) for v in cons.municipal],
                             {s.code: s.status.accepted for s in cons.schools},
                             len(cons.participants), len(cons.pairs))
    assert figures[False] == figures[True]


def test_outside_the_window_old_books_are_rejected_with_the_way_out(demo, old_demo,
                                                                    tmp_path) -> None:
    root = _mixed(demo, old_demo, tmp_path, "mixed")
    res = run("sync", "--registry", root / "registry.csv", "--period", "2026-11", "--out",
              root / "свод.xlsx", "--old-versions-until", "2026-10")
    assert res.returncode == 1, res.stderr
    assert "старые версии шаблона принимались до периода 2026-10" in res.stdout + res.stderr \
        or "upgrade-book" in res.stdout
    wb = load_workbook(root / "свод.xlsx", read_only=True)
    text = " ".join(str(v) for ws in wb.worksheets for r in ws.iter_rows(values_only=True)
                    for v in r if v)
    assert "Обновите книгу до версии 1.1" in text
    assert window_of("1.1", None).accepts("1.0", "2026-11") is False
    assert window_of(None, "2026-11").accepts("1.0", "2026-11") is True
    res = run("sync", "--registry", root / "registry.csv", "--period", "2026-11", "--out",
              root / "свод2.xlsx", "--accept-versions", "0.7")
    assert res.returncode == 2 and "неизвестная версия шаблона «0.7»" in res.stderr


# -- generated 1.0 books ----------------------------------------------------------------------
_VALUE = st.one_of(
    st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), min_size=1,
            max_size=12).filter(lambda s: s.strip() and not s.startswith("=")),
    st.integers(-10**6, 10**6), st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False),
    st.dates(dt.date(1950, 1, 1), dt.date(2030, 12, 31)).map(
        lambda d: dt.datetime(d.year, d.month, d.day)))
_TABLES = [s.name for s in C.DATA_SHEETS if s.kind is C.SheetKind.TABLE]
_OWN_SHEET = "Своё"
#: (sheet, first column, last column): tables anywhere, the form's values, a sheet of the
#: school's own.
_PLACES = [(t, 1, 16) for t in _TABLES] + [(C.SCHOOL.name, 2, 2), (_OWN_SHEET, 1, 5)]


@st.composite
def _cells(draw) -> tuple[str, int, int, object, str | None]:
    sheet, first, last = draw(st.sampled_from(_PLACES))
    comment = draw(st.one_of(st.none(), st.text("абв эюя", min_size=1, max_size=5)))
    return (sheet, draw(st.integers(2, 40)), draw(st.integers(first, last)), draw(_VALUE),
            comment)


@settings(max_examples=8, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(_cells(), min_size=1, max_size=25))
def test_upgrade_never_raises_nor_drops_a_cell(tmp_path, cells_to_set) -> None:
    old = tmp_path / "gen.xlsx"
    wb = load_workbook(V1_0 / "school.xlsx")
    wb.create_sheet(_OWN_SHEET)
    notes = {}
    for sheet, row, col, value, comment in cells_to_set:
        cell = wb[sheet].cell(row=row, column=col, value=value)
        if comment:
            cell.comment = Comment(comment, "куратор")
            notes[(sheet, row, col)] = comment
    wb.save(old)
    new = tmp_path / "gen-new.xlsx"
    upgrade_book(old, new)
    assert lost_or_changed(cells(old), cells(new)) == []
    got = load_workbook(new)
    kept = sum(1 for ws in got.worksheets for row in ws.iter_rows() for c in row
               if c.comment is not None and c.comment.text in notes.values()
               and c.comment.author == "куратор")
    assert kept == len(notes)  # every curator's comment is on a cell of the new book


# -- the page ---------------------------------------------------------------------------------
def test_page_window_and_board_version(demo, old_demo, tmp_path, soffice) -> None:
    """With old versions accepted until 2026-10, a school's 1.0 book of 2026-11 cannot be
    submitted: the reason and «Обновить книгу» are shown, and the upgraded book can be; the
    board shows every book's version."""
    clean = next(code for code, path in sorted(old_demo.items())
                 if validate_path(path).errors == 0)
    collect = tmp_path / "сдача"
    shutil.copytree(demo, collect)
    shutil.copy(old_demo[clean], collect / "schools" / f"{clean}.xlsx")
    codes = tmp_path / "коды.txt"
    add_staff(codes, "metodist", "staff-secret-001")
    add_school_code(codes, clean, "school-secret-001")
    server = start_server("--collect-dir", collect, "--access-file", codes, "--registry",
                          collect / "registry.csv", "--period", "2026-11",
                          "--old-versions-until", "2026-10", log_path=tmp_path / "serve.log")
    try:
        with httpx.Client(base_url=server.url, follow_redirects=True, timeout=120) as c:
            _login(c, clean, "school-secret-001")
            r = upload(c, old_demo[clean])
            assert 'id="submit-button"' not in r.text
            assert "принимались до периода 2026-10" in r.text
            assert f"Обновить книгу до версии {C.TEMPLATE_VERSION}" in r.text
            assert "книга старой версии шаблона — обновите её" in r.text.lower()
            got = c.get(f"{r.url}/upgraded")
            assert got.status_code == 200
            assert f"-{C.TEMPLATE_VERSION}.xlsx" in unquote(got.headers["content-disposition"])
            new = tmp_path / "from-page.xlsx"
            new.write_bytes(got.content)
            assert lost_or_changed(cells(old_demo[clean]), cells(new)) == []
            again = upload(c, new)  # the upgraded book: no upgrade offered, it can be sent
            assert "Обновить книгу до версии" not in again.text
            assert 'id="submit-button"' in again.text
            ods = upload(c, soffice(old_demo[clean], "ods"))  # an old .ods: kept to upgrade
            assert 'id="submit-button"' not in ods.text and 'id="upgrade-book"' in ods.text
            from_ods = tmp_path / "from-ods.xlsx"
            from_ods.write_bytes(c.get(f"{ods.url}/upgraded").content)
            assert SchoolWorkbook.from_path(from_ods).version == C.TEMPLATE_VERSION
        with httpx.Client(base_url=server.url, follow_redirects=True, timeout=120) as c:
            board = _login(c, "metodist", "staff-secret-001").text
            versions = dict(re.findall(r'data-code="([^"]+)"[^>]*data-version="([^"]*)"',
                                       board))
            assert versions[clean] == "1.0"
            assert {v for k, v in versions.items() if k != clean and v} == {C.TEMPLATE_VERSION}
            assert "Версия шаблона" in board
    finally:
        server.stop()


def _login(c: httpx.Client, name: str, secret: str) -> httpx.Response:
    token = csrf_of(c.get("/login").text)
    return c.post("/login", data={"csrf": token, "school": name, "code": secret})
