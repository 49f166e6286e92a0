"""The button functions on an in-process ``xw.Book(json=...)``: the remote path, which shares
every line after the reader with desktop Excel (``xw.Book.caller()``)."""

from __future__ import annotations

import copy
import re
from datetime import date, datetime

import pytest

from tests.payloads import actions_of, payload_from_values, payload_from_xlsx, sheet_position
from tests.sample import clean_school
from workbook_templates import contract as C
from workbook_templates.build import write_school_workbook

xw = pytest.importorskip("xlwings")

from addin import buttons  # noqa: E402
from addin.indicators import compute_indicators, load_targets  # noqa: E402
from addin.model import SchoolWorkbook  # noqa: E402
from addin.plan.gaps import MET, gap_of  # noqa: E402
from addin.validate import validate_path  # noqa: E402

COLOURS = {"ошибка": "#FFC7CE", "предупреждение": "#FFEB9C", "совет": "#DDEBF7"}


@pytest.fixture(scope="module")
def demo_files(tmp_path_factory):
    """A demo municipality: (clean file, file with planted mistakes, unknown-version file)."""
    from workbook_templates.demo import generate_municipality, write_municipality

    muni = generate_municipality(n_schools=8, seed=7)
    out = write_municipality(muni, tmp_path_factory.mktemp("muni"))
    by = {s.submission if s.submission != "ok" else ("clean" if s.clean else "dirty"): s
          for s in muni.schools}
    return {k: out / "schools" / f"{s.code}.xlsx" for k, s in by.items() if k != "missing"}


@pytest.fixture
def bad_file(tmp_path):
    data = clean_school()
    data["pairs"][0]["mentor_id"] = "Н-099"  # PAIR-001, row 2
    data["mentees"][1]["consent_date"] = None  # CONSENT-001, row 3
    data["mentors"][0]["birth_date"] = "=1+1"  # CELL-002, row 2, a formula-like value
    return write_school_workbook(tmp_path / "bad.xlsx", data)


def run(action, payload, **kw):
    book = xw.Book(json=copy.deepcopy(payload))
    action(book, **kw)
    result = book.json()
    book.close()
    return result


def check_rows(result, payload):
    """The rows the answer writes below the header of «Проверка»."""
    pos = sheet_position(payload, C.CHECK.name)
    writes = [a for a in actions_of(result, "setValues")
              if a["sheet_position"] == pos and a["start_row"] >= 1]
    return [row for a in writes for row in a["values"]]


def plain(v):
    return v[1:] if isinstance(v, str) and v.startswith("'") else v


def key(row):
    return row[1], row[2], row[3], row[4]


def test_findings_equal_validate_path(demo_files):
    path = demo_files["dirty"]
    payload = payload_from_xlsx(path)
    result = run(buttons.validate, payload)
    expected = validate_path(path).findings
    rows = check_rows(result, payload)
    assert len(expected) > 5
    assert [key(r) for r in rows] == [(f.code, f.sheet, f.row or "", f.column or "")
                                      for f in expected]
    assert [plain(r[5]) for r in rows] == [f.value or "" for f in expected]
    assert [r[0] for r in rows] == [f.severity.value for f in expected]  # Google: plain text
    assert [r[6] for r in rows] == [f.message_ru for f in expected]


def test_clean_school_has_no_rows_and_says_so(demo_files):
    payload = payload_from_xlsx(demo_files["clean"])
    result = run(buttons.validate, payload)
    assert check_rows(result, payload) == []
    alert = actions_of(result, "alert")
    assert len(alert) == 1 and "Замечаний нет" in alert[0]["args"][0]
    assert all(a["args"] == [None] for a in actions_of(result, "setRangeColor"))


def test_offending_cells_get_the_colour_of_their_worst_finding(demo_files):
    path = demo_files["dirty"]
    payload = payload_from_xlsx(path)
    result = run(buttons.validate, payload)
    colour = {}  # (sheet position, row0, col0) -> colour of the last action covering it
    for a in actions_of(result, "setRangeColor"):
        for r in range(a["start_row"], a["start_row"] + a["row_count"]):
            for c in range(a["start_column"], a["start_column"] + a["column_count"]):
                colour[a["sheet_position"], r, c] = a["args"][0]
    rank = {"ошибка": 0, "предупреждение": 1, "совет": 2}
    worst = {}
    for f in validate_path(path).findings:
        if f.row is None:
            continue
        pos = sheet_position(payload, f.sheet)
        if f.sheet == C.SCHOOL.name:
            col = 1
        else:
            header = payload["sheets"][pos]["values"][0]
            col = header.index(f.column) if f.column in header else 0
        cell = (pos, f.row - 1, col)
        if cell not in worst or rank[f.severity.value] < rank[worst[cell]]:
            worst[cell] = f.severity.value
    assert worst
    for cell, sev in worst.items():
        assert colour.get(cell) == COLOURS[sev], cell
    # The severity column of «Проверка» is coloured too.
    check = sheet_position(payload, C.CHECK.name)
    assert {colour[check, r, 0] for r in range(1, len(check_rows(result, payload)) + 1)} <= set(
        COLOURS.values())


def test_fills_are_capped_errors_first(demo_files, monkeypatch):
    payload = payload_from_xlsx(demo_files["dirty"])
    monkeypatch.setattr(buttons, "MAX_FILL_ACTIONS", 2)
    result = run(buttons.validate, payload)
    check = sheet_position(payload, C.CHECK.name)
    fills = [a for a in actions_of(result, "setRangeColor")
             if a["args"] != [None] and a["sheet_position"] != check]
    assert [a["args"][0] for a in fills] == [COLOURS["ошибка"]] * 2
    assert "цветом выделена только часть" in actions_of(result, "alert")[0]["args"][0]


def test_old_highlights_are_cleared_below_the_header_only(demo_files):
    payload = payload_from_xlsx(demo_files["dirty"])
    result = run(buttons.validate, payload)
    clears = [a for a in actions_of(result, "setRangeColor") if a["args"] == [None]]
    cleared = {a["sheet_position"] for a in clears}
    for sheet in C.DATA_SHEETS:
        assert sheet_position(payload, sheet.name) in cleared
    for a in clears:
        assert a["start_row"] >= 1  # never the header row
        values = payload["sheets"][a["sheet_position"]]["values"]
        assert a["start_row"] + a["row_count"] <= len(values)  # bounded to the used range
        assert a["start_column"] + a["column_count"] <= len(values[0])
    form = [a for a in clears if a["sheet_position"] == sheet_position(payload, C.SCHOOL.name)]
    assert [(a["start_column"], a["column_count"]) for a in form] == [(1, 1)]  # column B
    # The colours of this check come after the clearing.
    funcs = [a["func"] + ("-clear" if a["args"] == [None] else "") for a in result["actions"]]
    last_clear = max(i for i, f in enumerate(funcs) if f == "setRangeColor-clear")
    first_colour = funcs.index("setRangeColor")
    assert last_clear < first_colour


def test_recheck_after_fixing_clears_the_old_rows(bad_file, tmp_path):
    payload = payload_from_xlsx(bad_file)
    first = run(buttons.validate, payload)
    old_rows = check_rows(first, payload)
    assert len(old_rows) >= 3
    # The book as the user sees it now: fixed data, the old «Проверка» rows still there.
    fixed = payload_from_xlsx(write_school_workbook(tmp_path / "fixed.xlsx", clean_school()))
    check = sheet_position(fixed, C.CHECK.name)
    header = fixed["sheets"][check]["values"][0]
    fixed["sheets"][check]["values"] = [header] + [[plain(v) for v in r] for r in old_rows]
    second = run(buttons.validate, fixed)
    clears = [a for a in actions_of(second, "rangeClear") if a["sheet_position"] == check]
    assert [(a["start_row"], a["row_count"]) for a in clears] == [(1, len(old_rows))]
    assert check_rows(second, fixed) == []
    assert all(a["args"] == [None] for a in actions_of(second, "setRangeColor"))


def test_values_stay_text_never_formulas(bad_file):
    payload = payload_from_xlsx(bad_file)
    rows = check_rows(run(buttons.validate, payload), payload)
    cell = [r for r in rows if r[1] == "CELL-002"]
    assert cell and cell[0][5] == "'=1+1"
    for r in rows:
        for v in r[1:]:
            assert not (isinstance(v, str) and v[:1] in "=+-@"), r


def test_excel_clients_get_hyperlink_formulas_google_gets_links_macro(bad_file):
    payload = payload_from_xlsx(bad_file)
    google = run(buttons.validate, payload)
    macro = actions_of(google, "runMacro")
    assert len(macro) == 1 and macro[0]["args"][0] == buttons.GOOGLE_LINKS_MACRO
    links = macro[0]["args"][1]
    rows = check_rows(google, payload)
    by_row = {link[0]: link for link in links}
    pair = next(i for i, r in enumerate(rows, 2) if r[1] == "PAIR-001")
    mentor_col = "ABCDEFGHIJKLM"[C.PAIRS.columns.index(C.PAIRS.column("mentor_id"))]
    assert by_row[pair][1:] == [C.PAIRS.name, f"{mentor_col}2"]
    # The alert comes before the links: a missing script function cannot hide the message.
    funcs = [a["func"] for a in google["actions"]]
    assert funcs.index("alert") < funcs.index("runMacro")

    office = dict(payload, client="Microsoft Office Scripts")
    excel_rows = check_rows(run(buttons.validate, office), office)
    first = excel_rows[[r[1] for r in excel_rows].index("PAIR-001")][0]
    assert first == (f'=HYPERLINK("#\'{C.PAIRS.name}\'!{mentor_col}2","ошибка")')
    assert not actions_of(run(buttons.validate, office), "runMacro")


def test_indicators_sheet_has_compute_indicators_values(demo_files):
    path = demo_files["dirty"]
    payload = payload_from_xlsx(path)
    result = run(buttons.indicators, payload)
    pos = sheet_position(payload, C.INDICATORS.name)
    rows = [row for a in actions_of(result, "setValues")
            if a["sheet_position"] == pos and a["start_row"] == 1 for row in a["values"]]
    expected = compute_indicators(SchoolWorkbook.from_path(path), None, load_targets())
    assert len(rows) == len(expected)
    for row, v in zip(rows, expected, strict=True):
        met = "—" if v.met is None else ("да" if v.met else "нет")
        assert row[:3] == [v.title, v.numerator, v.denominator]
        assert row[3] == ("" if v.value is None else v.value)
        assert row[4] == ("" if v.target is None else v.target)
        gap = gap_of(v)
        plan = gap.text_ru if gap is not None and gap.status != MET else ""
        assert row[5] == met and row[6] == "; ".join(t for t in (v.note, plan) if t)
    assert [a["args"][0] for a in actions_of(result, "activateSheet")] == [pos]
    assert "Показатели рассчитаны" in actions_of(result, "alert")[0]["args"][0]


def test_not_our_workbook_only_alerts():
    payload = payload_from_values({"Лист1": [["Фамилия", "Имя"], ["Иванов", "Иван"]]})
    for action in (buttons.validate, buttons.indicators):
        result = run(action, payload)
        assert [a["func"] for a in result["actions"]] == ["alert"]
        assert "нет ни одного листа книги наставничества" in result["actions"][0]["args"][0]


def test_unknown_version_only_alerts(demo_files):
    payload = payload_from_xlsx(demo_files["unknown_version"])
    result = run(buttons.validate, payload)
    assert [a["func"] for a in result["actions"]] == ["alert"]
    assert "Версия шаблона" in result["actions"][0]["args"][0]


def test_missing_check_sheet_is_added_at_the_end_with_its_header(bad_file):
    payload = payload_from_xlsx(bad_file)
    payload["sheets"] = [s for s in payload["sheets"] if s["name"] != C.CHECK.name]
    result = run(buttons.validate, payload)
    added = actions_of(result, "addSheet")
    assert [a["args"] for a in added] == [[len(payload["sheets"]), C.CHECK.name]]
    new = len(payload["sheets"])
    header = [a["values"] for a in actions_of(result, "setValues")
              if a["sheet_position"] == new and a["start_row"] == 0]
    assert header == [[[c.header for c in C.CHECK.columns]]]
    assert any(a["sheet_position"] == new and a["start_row"] == 1
               for a in actions_of(result, "setValues"))


def test_excluded_sheets_are_fine(bad_file):
    """xlwings.js sends [[]] for sheets excluded by Code.gs (Справочники)."""
    payload = payload_from_xlsx(bad_file)
    for s in payload["sheets"]:
        if s["name"] == C.DICTIONARY_SHEET.name:
            s["values"] = [[]]
    assert key(check_rows(run(buttons.validate, payload), payload)[0])


@pytest.mark.parametrize(("raw", "expected"), [
    ("2026-09-15T00:00:00.000Z", date(2026, 9, 15)),
    ("2026-09-14T21:00:00.000Z", date(2026, 9, 15)),  # Moscow midnight seen in UTC
    ("2026-09-15T02:30:00.000Z", date(2026, 9, 15)),
    ("2026-09-15T12:00:00.000Z", datetime(2026, 9, 15, 12)),  # a real time is kept
    (datetime(2026, 9, 15), date(2026, 9, 15)),
    ("15.09.2026", "15.09.2026"), ("2026-11", "2026-11"), ("", None), (None, None), (6, 6),
    ("2026-09-15T00:00:00+03:00", date(2026, 9, 15)), ("2026-09-15T00:00:00", date(2026, 9, 15)),
])
def test_cell_value(raw, expected):
    assert buttons.cell_value(raw) == expected


@pytest.mark.parametrize(("raw", "expected"), [
    ("=1+1", "'=1+1"), ("+7 900", "'+7 900"), ("-5", "'-5"), ("@x", "'@x"),
    ("15.09.2026", "'15.09.2026"), ("1.10", "'1.10"), ("'quoted", "''quoted"),
    ("Н-001", "Н-001"), ("Текст", "Текст"), ("", ""), (None, None), (5, 5),
])
def test_as_text(raw, expected):
    assert buttons.as_text(raw) == expected


def test_dates_from_the_client_match_the_file_reader(bad_file):
    payload = payload_from_xlsx(bad_file)
    book = xw.Book(json=copy.deepcopy(payload))
    wb = buttons.read_workbook(book)
    book.close()
    ref = SchoolWorkbook.from_path(bad_file)
    for key_ in ref.tables:
        assert wb.tables[key_].equals(ref.tables[key_]), key_
    assert wb.school == ref.school


# ------------------------------------------------------------------------- school.xlsm build
@pytest.fixture(scope="module")
def school_xlsm(tmp_path_factory):
    from workbook_templates.xlsm import build_school_xlsm

    return build_school_xlsm(tmp_path_factory.mktemp("xlsm") / "school.xlsm")


def test_school_xlsm_has_the_vba_project_and_the_buttons(school_xlsm):
    import zipfile

    from openpyxl import load_workbook

    from workbook_templates import vba_project, xlsm

    wb = load_workbook(school_xlsm, keep_vba=True)
    assert wb.sheetnames[:len(C.SHEETS)] == [s.name for s in C.SHEETS]
    assert wb[xlsm.CONF_SHEET].sheet_state == "hidden"
    with zipfile.ZipFile(school_xlsm) as zf:
        names = set(zf.namelist())
        types = zf.read("[Content_Types].xml").decode()
        vml = zf.read(xlsm.BUTTONS_VML).decode()
        vba = zf.read("xl/vbaProject.bin")
        first_sheet = zf.read("xl/worksheets/sheet1.xml").decode()
        rels = zf.read("xl/worksheets/_rels/sheet1.xml.rels").decode()
        workbook = zf.read("xl/workbook.xml").decode()
    assert "xl/vbaProject.bin" in names
    assert xlsm.CT_MACRO_WORKBOOK in types and xlsm.CT_VBA in types
    assert 'codeName="ThisWorkbook"' in workbook
    assert "<legacyDrawing" in first_sheet and "vmlDrawingNastavnikButtons.vml" in rels
    assert vml.count('ObjectType="Button"') == 2
    for caption, macro in xlsm.BUTTONS:
        assert caption in vml and f"<x:FmlaMacro>[0]!{macro}</x:FmlaMacro>" in vml
    modules = vba_project.vba_module_sources(vba)
    assert "Sub CheckBook()" in modules["Nastavnik"]
    assert 'b.main_validate()' in modules["Nastavnik"]
    assert "Sub ShowIndicators()" in modules["Nastavnik"]
    assert 'b.main_indicators()' in modules["Nastavnik"]
    assert "Function RunPython" in modules["xlwings"]
    assert modules["xlwings"].encode("cp1252") == xlsm._crlf(
        (xlsm._xlwings_dir() / "xlwings.bas").read_bytes())
    assert "Dictionary" in modules and "ThisWorkbook" in modules
    assert {f"Sheet{i}" for i in range(1, len(wb.sheetnames) + 1)} <= set(modules)


def test_school_xlsm_is_a_readable_template_and_byte_stable(school_xlsm, tmp_path):
    from workbook_templates.xlsm import build_school_xlsm

    report = validate_path(school_xlsm)
    assert report.file_error is None
    again = build_school_xlsm(tmp_path / "again.xlsm")
    assert again.read_bytes() == school_xlsm.read_bytes()


def test_vba_project_streams_follow_the_specs(school_xlsm):
    import struct
    import zipfile

    from workbook_templates import vba_project

    vba = zipfile.ZipFile(school_xlsm).read("xl/vbaProject.bin")
    streams = vba_project.cfb_read(vba)
    assert streams["VBA/_VBA_PROJECT"] == bytes.fromhex("CC61FFFF000100")
    project = streams["PROJECT"].decode("cp1252")
    assert "Module=Nastavnik" in project and "Class=Dictionary" in project
    for key_, value in (("CMG", bytes(4)), ("DPB", bytes(1)), ("GC", b"\xff")):
        hex_ = re.search(rf'^{key_}="([0-9A-F]+)"', project, re.M).group(1)
        assert vba_project.decrypt(hex_) == value
    # The directory is a valid red-black tree in [MS-CFB] order under every storage.
    sector = 512
    dir_start = struct.unpack_from("<I", vba, 48)[0]
    fat = list(struct.unpack_from("<128I", vba, sector * (1 + struct.unpack_from(
        "<I", vba, 76)[0])))
    raw, k = b"", dir_start
    while k < 0xFFFFFFFA:
        raw += vba[sector * (1 + k):sector * (2 + k)]
        k = fat[k]
    entries = [struct.unpack_from("<HBBIII", raw, 128 * i + 64) + (
        raw[128 * i:128 * i + 64],) for i in range(len(raw) // 128)]

    def name(i):
        return entries[i][6][:entries[i][0] - 2].decode("utf-16-le")

    def check(i):  # -> (black height, sorted names)
        if i == 0xFFFFFFFF:
            return 1, []
        _len, _kind, colour, left, right, _child, _ = entries[i]
        if colour == 0:  # red: children black
            assert all(c == 0xFFFFFFFF or entries[c][2] == 1 for c in (left, right))
        hl, nl = check(left)
        hr, nr = check(right)
        assert hl == hr
        return hl + colour, [*nl, name(i), *nr]

    for i, e in enumerate(entries):
        if e[1] in (1, 5) and e[5] != 0xFFFFFFFF:
            assert entries[e[5]][2] == 1  # the root of each tree is black
            _h, names = check(e[5])
            assert names == sorted(names, key=lambda n: (len(n), n.upper())), name(i)


@pytest.mark.parametrize("size", [0, 1, 3, 4095, 4096, 4097, 8192, 10000])
def test_compression_round_trip(size):
    import random

    from workbook_templates import vba_project

    rng = random.Random(size)
    text = bytes(rng.choice(b"Sub End If Then RunPython ()\r\n") for _ in range(size))
    noise = bytes(rng.randrange(256) for _ in range(size))
    assert vba_project.decompress(vba_project.compress(text)) == text
    if size % 4096 == 0:  # incompressible chunks are stored raw, which only a full one can be
        assert vba_project.decompress(vba_project.compress(noise)) == noise


def test_libreoffice_reads_the_vba_project_and_the_buttons(school_xlsm, soffice):
    """An independent reader of [MS-CFB], [MS-OVBA] and the VML form controls."""
    import zipfile

    ods = zipfile.ZipFile(soffice(school_xlsm, "ods"))
    names = set(ods.namelist())
    for module in ("Nastavnik", "xlwings", "Dictionary", "ThisWorkbook"):
        assert f"Basic/VBAProject/{module}.xml" in names
    ours = ods.read("Basic/VBAProject/Nastavnik.xml").decode()
    assert "Public Sub CheckBook()" in ours and "main_indicators()" in ours
    assert 'script:moduleType="class"' in ods.read("Basic/VBAProject/Dictionary.xml").decode()
    content = ods.read("content.xml").decode()
    assert 'form:label="Проверить"' in content and 'form:label="Показатели"' in content
    assert "VBAProject.Nastavnik.CheckBook" in content
    assert "VBAProject.Nastavnik.ShowIndicators" in content


def test_apps_script_files(tmp_path):
    import json

    from workbook_templates.xlsm import write_appsscript

    paths = write_appsscript(tmp_path, "https://nastavnik.example.ru/xlwings/")
    code, gs, manifest = (p.read_text(encoding="utf-8") for p in paths)
    assert 'const NASTAVNIK_DEFAULT_URL = "https://nastavnik.example.ru/xlwings";' in code
    assert "ВАШ-СЕРВЕР/xlwings\"" not in code
    for func in ("nastavnikCheck", "nastavnikIndicators", "nastavnikSettings"):
        assert f'"{func}"' in code and f"function {func}()" in code
    assert f"function {buttons.GOOGLE_LINKS_MACRO}(workbook, links)" in code
    assert f'const version = "{xw.__version__}";' in gs and "function runPython(" in gs
    assert "getEmail" not in gs and "function hello()" not in gs
    scopes = json.loads(manifest)["oauthScopes"]
    assert {s.rsplit("/", 1)[1] for s in scopes} == {
        "spreadsheets.currentonly", "script.external_request", "script.container.ui"}


def test_desktop_decoding_gives_the_same_workbook(bad_file, monkeypatch):
    """Desktop Excel reads through xlwings' converted values (datetimes, None): same tables."""
    cells = buttons._cells
    monkeypatch.setattr(buttons, "_cells", lambda rng, remote: cells(rng, False))
    book = xw.Book(json=payload_from_xlsx(bad_file))
    wb = buttons.read_workbook(book)
    book.close()
    ref = SchoolWorkbook.from_path(bad_file)
    for key_ in ref.tables:
        assert wb.tables[key_].equals(ref.tables[key_]), key_
    assert wb.school == ref.school


def test_a_huge_value_is_shown_cut_on_the_check_sheet(tmp_path):
    """A 40,000-character cell: «Проверка» shows its first 200 characters and «…»."""
    data = clean_school()
    data["mentors"][0]["birth_date"] = "я" * 40_000  # CELL-002 on a giant text
    payload = payload_from_xlsx(write_school_workbook(tmp_path / "huge.xlsx", data))
    rows = check_rows(run(buttons.validate, payload), payload)
    shown = [plain(r[5]) for r in rows if r[1] == "CELL-002"]
    assert shown and len(shown[0]) == 200 and shown[0].endswith("…")
