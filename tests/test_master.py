"""The municipal master workbook: real files written by sync.master and read back with openpyxl.

Expected figures are computed independently of sync.consolidate: counts straight from the
school files with openpyxl, municipal indicators as sums over the accepted schools' own
``compute_indicators``.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import zipfile
from datetime import date, datetime
from pathlib import Path

import pandas as pd
import pytest
from openpyxl import load_workbook

from addin.indicators import INDICATORS, compute_indicators
from addin.model import SchoolWorkbook
from sync import master as M
from sync.consolidate import consolidate
from sync.figures import federal_figures
from sync.master import MasterLockedError, master_lock, write_master
from sync.pseudonym import (
    KEY_ENV,
    PseudonymKeyError,
    load_or_create_key,
    pseudonym,
)
from sync.sources.folder import FolderSource
from sync.sources.registry import read_registry
from workbook_templates import contract as C
from workbook_templates.demo import generate_municipality, write_municipality

KEY = bytes(range(32))
OTHER_KEY = bytes(range(1, 33))
PSEUDONYM_RE = re.compile(r"^P-[A-Z2-7]{12}$")
FIRST_DATA = M.HEADER_ROW + 2  # openpyxl rows are 1-based


# ----------------------------------------------------------------------------- fixtures
@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> Path:
    return write_municipality(generate_municipality(n_schools=8),
                              tmp_path_factory.mktemp("muni"))


@pytest.fixture(scope="module")
def manifest(demo) -> dict:
    return json.loads((demo / "planted_mistakes.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def cons(demo):
    entries = read_registry(demo / "registry.csv")
    source = FolderSource(demo)
    return consolidate([source.fetch(e) for e in entries], "2026-11")


@pytest.fixture(scope="module")
def history(cons) -> pd.DataFrame:
    rows = []
    for period, shift in (("2026-10", -5.0), (cons.period, 0.0)):
        for v in cons.municipal:
            rows.append({"period": period, "key": v.key, "title": v.title,
                         "numerator": v.numerator, "denominator": v.denominator,
                         "value": None if v.value is None else v.value + shift,
                         "target": v.target})
    return pd.DataFrame(rows)


@pytest.fixture(scope="module")
def plain(cons, history, tmp_path_factory) -> Path:
    return write_master(cons, tmp_path_factory.mktemp("plain") / "свод.xlsx", history=history)


@pytest.fixture(scope="module")
def pseudo(cons, history, tmp_path_factory) -> Path:
    return write_master(cons, tmp_path_factory.mktemp("pseudo") / "свод.xlsx", history=history,
                        pseudonymize_key=KEY)


# ----------------------------------------------------------------------------- helpers
def records(path: Path, sheet: str) -> list[dict]:
    """Rows of a master sheet as {header: value}."""
    ws = load_workbook(path, read_only=True)[sheet]
    rows = list(ws.iter_rows(min_row=M.HEADER_ROW + 1, values_only=True))
    header = rows[0]
    return [dict(zip(header, r, strict=False)) for r in rows[1:] if any(v is not None for v in r)]


def source_rows(path: Path, sheet: C.Sheet) -> list[dict]:
    """Rows of a school file's table sheet as {column key: value}, read with openpyxl."""
    ws = load_workbook(path, read_only=True, data_only=True)[sheet.name]
    rows = list(ws.iter_rows(min_row=C.HEADER_ROW, values_only=True))
    by_header = {c.header: c.key for c in sheet.columns}
    keys = [by_header.get(h) for h in rows[0]]
    out = []
    for r in rows[1:]:
        rec = {k: v for k, v in zip(keys, r, strict=False) if k}
        if rec.get("id"):
            out.append(rec)
    return out


def school_file(demo: Path, code: str) -> Path:
    return demo / "schools" / f"{code}.xlsx"


def clean_codes(manifest: dict) -> list[str]:
    return [s["code"] for s in manifest["schools"] if s["clean"]]


def submission(manifest: dict, kind: str) -> str:
    return next(s["code"] for s in manifest["schools"] if s["submission"] == kind)


def all_cells(path: Path):
    for ws in load_workbook(path):
        for row in ws.iter_rows():
            for cell in row:
                if cell.value is not None:
                    yield ws.title, cell


def chart_xml(path: Path) -> dict[str, str]:
    with zipfile.ZipFile(path) as z:
        return {n: z.read(n).decode("utf-8") for n in z.namelist()
                if re.fullmatch(r"xl/charts/chart\d+\.xml", n)}


def range_rows(ref: str) -> int:
    rows = [int(n) for n in re.findall(r"\$[A-Z]+\$(\d+)", ref)]
    assert rows, ref
    return rows[-1] - rows[0] + 1


def trend_refs(path: Path) -> list[str]:
    """Value ranges of the trend chart's series."""
    charts = [x for x in chart_xml(path).values() if M.CHART_TREND + "<" in x]
    assert len(charts) == 1
    return re.findall(r"<c:val><c:numRef><c:f>([^<]+)</c:f>", charts[0])


# ----------------------------------------------------------------------------- Свод по ОО
def test_sheets_in_order(plain):
    assert load_workbook(plain, read_only=True).sheetnames == list(M.SHEETS)


def test_summary_has_every_registry_school_with_its_status(plain, demo, manifest):
    rows = records(plain, M.SHEET_SUMMARY)
    registry = read_registry(demo / "registry.csv")
    assert [r["Код ОО"] for r in rows] == [e.code for e in registry]
    status = {r["Код ОО"]: r["Статус"] for r in rows}
    assert status[submission(manifest, "missing")] == "не представлен"
    assert status[submission(manifest, "corrupt")] == "файл повреждён"
    assert status[submission(manifest, "unknown_version")] == "неизвестная версия шаблона"
    for code in clean_codes(manifest):
        assert status[code] == "принят"
    missing = next(r for r in rows if r["Код ОО"] == submission(manifest, "missing"))
    assert missing["Наставников"] is None and missing["Причина"]


def test_summary_counts_equal_the_source_files(plain, demo):
    for row in records(plain, M.SHEET_SUMMARY):
        path = school_file(demo, row["Код ОО"])
        if row["Наставников"] is None:
            continue
        assert row["Наставников"] == len(source_rows(path, C.MENTORS)), row["Код ОО"]
        assert row["Наставляемых"] == len(source_rows(path, C.MENTEES)), row["Код ОО"]


def test_summary_colours_and_layout(plain, manifest):
    ws = load_workbook(plain)[M.SHEET_SUMMARY]
    headers = [c.value for c in ws[M.HEADER_ROW + 1]]
    status_col = headers.index(M.SUMMARY_HEADERS["status"]) + 1
    fills = {ws.cell(r, 1).value: ws.cell(r, status_col).fill.fgColor.rgb
             for r in range(FIRST_DATA, ws.max_row + 1)}
    assert fills[clean_codes(manifest)[0]].endswith(M.GREEN[1:])
    assert fills[submission(manifest, "missing")].endswith(M.GREY[1:])
    assert fills[submission(manifest, "corrupt")].endswith(M.RED[1:])
    assert ws.freeze_panes == f"C{FIRST_DATA}"
    assert ws.auto_filter.ref.startswith(f"A{M.HEADER_ROW + 1}:")
    value_col = headers.index(M.INDICATOR_VALUE_HEADER.format(title=INDICATORS[0].title)) + 1
    met_col = value_col + 1
    for r in range(FIRST_DATA, ws.max_row + 1):
        mark, fill = ws.cell(r, met_col).value, ws.cell(r, value_col).fill.fgColor.rgb
        if mark == C.YES:
            assert fill.endswith(M.GREEN[1:])
        elif mark == C.NO:
            assert fill.endswith(M.RED[1:])


# ----------------------------------------------------------------------------- indicators
def test_municipal_indicators_are_sums_of_the_accepted_schools(plain, demo, manifest, cons):
    sums = {d.key: [0.0, 0.0] for d in INDICATORS}
    for code in clean_codes(manifest):
        wb = SchoolWorkbook.from_path(school_file(demo, code))
        for v in compute_indicators(wb, cons.reference_date):
            sums[v.key][0] += v.numerator
            sums[v.key][1] += v.denominator
    rows = records(plain, M.SHEET_INDICATORS)
    assert [r["Показатель"] for r in rows] == [d.title for d in INDICATORS]
    for d, row in zip(INDICATORS, rows, strict=True):
        num, den = sums[d.key]
        assert row["Числитель"] == pytest.approx(num), d.key
        assert row["Знаменатель"] == pytest.approx(den), d.key
        expected = round(num / den * d.scale, 1) if den else None
        assert row["Значение, %"] == pytest.approx(expected) if den else row["Значение, %"] is None
    for v, row in zip(cons.municipal, rows, strict=True):
        assert row["Цель, %"] == v.target
        assert (row["Примечание"] or "") == v.note
        if v.target_is_default:
            assert "цель по умолчанию" in row["Примечание"]


def test_participant_figures_equal_federal_figures(plain, cons):
    expected = federal_figures(cons.participants, cons.pairs,
                               {s.entry.code: s.entry.org_type for s in cons.schools})
    rows = records(plain, M.SHEET_FIGURES)
    got = [tuple(r.values()) for r in rows]
    want = [tuple(r) for r in expected[list(M.FIGURE_HEADERS)].itertuples(index=False)]
    assert got == want
    assert list(rows[0]) == list(M.FIGURE_HEADERS.values())


# ----------------------------------------------------------------------------- people
def test_participants_are_exactly_the_accepted_schools(plain, demo, manifest):
    rows = records(plain, M.SHEET_PARTICIPANTS)
    expected, births = set(), {}
    for code in clean_codes(manifest):
        for sheet in (C.MENTORS, C.MENTEES):
            for rec in source_rows(school_file(demo, code), sheet):
                expected.add((code, rec["id"]))
                births[(code, rec["id"])] = rec["birth_date"]
    got = {(r["Код ОО"], r["ID участника"]) for r in rows}
    assert got == expected and len(rows) == len(expected)
    for r in rows:  # birth dates are real dates, equal to the source
        assert isinstance(r["Дата рождения"], datetime)
        source = births[(r["Код ОО"], r["ID участника"])]
        source = source.date() if isinstance(source, datetime) else source
        assert r["Дата рождения"].date() == source
    ws = load_workbook(plain)[M.SHEET_PARTICIPANTS]
    headers = [c.value for c in ws[M.HEADER_ROW + 1]]
    birth = ws.cell(FIRST_DATA, headers.index("Дата рождения") + 1)
    assert birth.number_format == M.DATE_FORMAT


def source_names(demo: Path, manifest: dict) -> tuple[set[str], set[date]]:
    names, births = set(), set()
    for s in manifest["schools"]:
        if s["submission"] in ("missing", "corrupt"):
            continue
        for sheet in (C.MENTORS, C.MENTEES):
            for rec in source_rows(school_file(demo, s["code"]), sheet):
                if rec.get("full_name"):
                    names.add(str(rec["full_name"]).strip())
                if isinstance(rec.get("birth_date"), datetime):
                    births.add(rec["birth_date"].date())
    return names, births


def test_pseudonymized_master_holds_no_name_and_no_birth_date(pseudo, plain, demo, manifest):
    names, births = source_names(demo, manifest)
    assert len(names) > 50 and births
    texts_plain = " | ".join(str(c.value) for _, c in all_cells(plain))
    assert any(n in texts_plain for n in names)  # the scan finds names when they are there
    birth_texts = {d.strftime("%d.%m.%Y") for d in births} | {d.isoformat() for d in births}
    for sheet, cell in all_cells(pseudo):
        value = cell.value
        if isinstance(value, str):
            assert not any(n in value for n in names), (sheet, cell.coordinate, value)
            assert not any(b in value for b in birth_texts), (sheet, cell.coordinate, value)
        if isinstance(value, datetime):
            assert value.date() not in births, (sheet, cell.coordinate)
    rows = records(pseudo, M.SHEET_PARTICIPANTS)
    assert "ФИО" not in rows[0] and "Дата рождения" not in rows[0]
    assert all(PSEUDONYM_RE.match(r[M.PSEUDONYM_HEADER]) for r in rows)
    assert "Значение" not in records(pseudo, M.SHEET_FINDINGS)[0]


def test_pseudonyms_are_stable_per_key(pseudo, cons, tmp_path):
    first = [r[M.PSEUDONYM_HEADER] for r in records(pseudo, M.SHEET_PARTICIPANTS)]
    again = write_master(cons, tmp_path / "again.xlsx", pseudonymize_key=KEY)
    other = write_master(cons, tmp_path / "other.xlsx", pseudonymize_key=OTHER_KEY)
    assert [r[M.PSEUDONYM_HEADER] for r in records(again, M.SHEET_PARTICIPANTS)] == first
    different = [r[M.PSEUDONYM_HEADER] for r in records(other, M.SHEET_PARTICIPANTS)]
    assert not set(different) & set(first)
    p = cons.participants.iloc[0]
    assert first[0] == pseudonym(p["school_code"], p["person_id"], KEY)


def test_pairs_are_pseudonymized_consistently(pseudo, cons):
    people = {r[M.PSEUDONYM_HEADER] for r in records(pseudo, M.SHEET_PARTICIPANTS)}
    pairs = records(pseudo, M.SHEET_PAIRS)
    assert len(pairs) == len(cons.pairs)
    for r in pairs:
        assert r["Наставник"] in people
        for mentee in r["Наставляемые"].split(", "):
            assert PSEUDONYM_RE.match(mentee) and mentee in people


def test_pseudonym_format_and_inputs():
    a = pseudonym("ОО-001", "Н-001", KEY)
    assert PSEUDONYM_RE.match(a)
    assert a == pseudonym("ОО-001", "Н-001", KEY)
    assert a != pseudonym("ОО-002", "Н-001", KEY) != pseudonym("ОО-001", "Н-002", KEY)
    assert a != pseudonym("ОО-001", "Н-001", OTHER_KEY)
    # the separator keeps ("ab", "c") and ("a", "bc") apart
    assert pseudonym("ab", "c", KEY) != pseudonym("a", "bc", KEY)


def test_key_is_created_once_with_mode_0600(tmp_path, monkeypatch):
    monkeypatch.delenv(KEY_ENV, raising=False)
    path = tmp_path / "store" / "master.pseudonym.key"
    key = load_or_create_key(path)
    assert len(key) == 32
    if os.name == "posix":
        assert path.stat().st_mode & 0o777 == 0o600
    assert load_or_create_key(path) == key
    monkeypatch.setenv(KEY_ENV, OTHER_KEY.hex())
    assert load_or_create_key(path) == OTHER_KEY
    monkeypatch.setenv(KEY_ENV, "не ключ")
    with pytest.raises(PseudonymKeyError, match="Ключ псевдонимизации"):
        load_or_create_key(path)
    monkeypatch.delenv(KEY_ENV)
    path.write_text("abc\n", encoding="ascii")
    with pytest.raises(PseudonymKeyError, match="резервной копии"):
        load_or_create_key(path)


# ----------------------------------------------------------------------------- other sheets
def test_roadmap_findings_and_log(plain, cons, demo):
    roadmap = records(plain, M.SHEET_ROADMAP)
    assert len(roadmap) == len(cons.roadmap)
    assert sum(bool(r["Просрочено"]) for r in roadmap) == int(cons.roadmap["overdue"].sum())
    findings = records(plain, M.SHEET_FINDINGS)
    assert len(findings) == len(cons.findings) + len(cons.cross)
    log = records(plain, M.SHEET_LOG)
    for row, s in zip(log, cons.schools, strict=True):
        assert row["Код ОО"] == s.code and row["Статус"] == s.status.value
        assert row["Попыток"] == s.fetched.attempts
        path = school_file(demo, s.code)
        if path.exists():
            assert row["SHA-256"] == hashlib.sha256(path.read_bytes()).hexdigest()
        else:
            assert row["SHA-256"] is None
        datetime.strptime(row["Время получения"], M.TIME_FORMAT)


def test_overdue_roadmap_items_are_flagged(cons, tmp_path):
    roadmap = cons.roadmap.copy()
    roadmap["overdue"] = False
    roadmap.loc[1, "overdue"] = True
    out = write_master(dataclasses.replace(cons, roadmap=roadmap), tmp_path / "m.xlsx")
    ws = load_workbook(out)[M.SHEET_ROADMAP]
    headers = [c.value for c in ws[M.HEADER_ROW + 1]]
    flag = headers.index(M.ROADMAP_HEADERS["overdue"]) + 1
    flags = [ws.cell(r, flag).value for r in range(FIRST_DATA, ws.max_row + 1)]
    assert flags[1] == M.OVERDUE and flags.count(None) == len(flags) - 1
    assert ws.cell(FIRST_DATA + 1, flag).fill.fgColor.rgb.endswith(M.RED[1:])


def test_cross_findings_are_listed(cons, tmp_path):
    from sync.consolidate import CrossFinding

    extra = CrossFinding("X-003", "предупреждение", "ОО-001", "Организация пропала.")
    out = write_master(dataclasses.replace(cons, cross=[*cons.cross, extra]),
                       tmp_path / "m.xlsx")
    last = records(out, M.SHEET_FINDINGS)[-1]
    assert (last["Код"], last["Код ОО"], last["Замечание"]) == ("X-003", "ОО-001",
                                                                 "Организация пропала.")


# ----------------------------------------------------------------------------- injection
INJECTED = ['=HYPERLINK("http://x")', "+1", "-2", "@SUM(A1)"]


def test_formula_like_text_stays_text(cons, tmp_path):
    people = cons.participants.copy()
    people.loc[0, "full_name"] = INJECTED[0]
    people.loc[1, "group"] = INJECTED[1]
    roadmap = cons.roadmap.copy()
    roadmap.loc[0, "activity"] = INJECTED[2]
    roadmap.loc[1, "deadline_text"] = INJECTED[3]
    out = write_master(dataclasses.replace(cons, participants=people, roadmap=roadmap),
                       tmp_path / "m.xlsx")
    found = {}
    for _, cell in all_cells(out):
        if cell.value in INJECTED:
            found[cell.value] = cell.data_type
    assert found == dict.fromkeys(INJECTED, "s")
    with zipfile.ZipFile(out) as z:
        for name in z.namelist():
            if name.startswith("xl/worksheets/"):
                assert "<f>" not in z.read(name).decode("utf-8"), name


AWKWARD = ["a & b < c > d", "  отступ с пробелами ", "звонок\x07", "я" * 40_000, ""]


def test_awkward_text_reads_back_as_written(cons, tmp_path):
    """Markup characters, spaces at the ends, a character XML cannot carry, text past a
    cell's limit and an empty text: each cell reads back as the school wrote it (as much
    of it as a cell holds), and nothing else on the sheet moves."""
    roadmap = cons.roadmap.copy()
    for i, text in enumerate(AWKWARD):
        roadmap.loc[i, "activity"] = text
    out = write_master(dataclasses.replace(cons, roadmap=roadmap), tmp_path / "m.xlsx")
    rows = records(out, M.SHEET_ROADMAP)
    assert [r["Мероприятие"] for r in rows[:5]] == [
        "a & b < c > d", "  отступ с пробелами ", "звонок", "я" * 32767, None]
    assert [r["Код ОО"] for r in rows] == list(roadmap["school_code"])


def test_master_opens_in_libreoffice(plain, soffice):
    """LibreOffice reads every table of the master as openpyxl does (rows, numbers, dates)."""
    back = soffice(plain)
    for sheet in (M.SHEET_SUMMARY, M.SHEET_GAPS, M.SHEET_ROADMAP, M.SHEET_PARTICIPANTS,
                  M.SHEET_LOG):
        assert records(back, sheet) == records(plain, sheet), sheet
    book = load_workbook(back)
    birth = book[M.SHEET_PARTICIPANTS].cell(M.HEADER_ROW + 2, 5)
    assert birth.number_format.replace("\\", "").lower() == M.DATE_FORMAT
    fills = {c.fill.fgColor.rgb[-6:] for c in book[M.SHEET_LOG]["F"][M.HEADER_ROW + 1:]}
    assert M.GREEN[1:] in fills and M.GREY[1:] in fills


# ----------------------------------------------------------------------------- charts
def test_charts_exist_with_targets(plain):
    charts = chart_xml(plain)
    assert len(charts) == 1 + len(M.MAIN_INDICATORS)
    for key in ("teachers_covered", "mentees_10_19"):
        title = M.CHART_BY_SCHOOL.format(title=M.BY_KEY[key].title)
        chart = next(x for x in charts.values() if title in x)
        assert "<c:barChart>" in chart and "<c:lineChart>" in chart
        assert f"<c:v>{M.CHART_TARGET}</c:v>" in chart or M.CHART_TARGET in chart
        refs = re.findall(r"<c:val><c:numRef><c:f>([^<]+)</c:f>", chart)
        assert len(refs) == 2 and all(range_rows(r) == 8 for r in refs)  # 8 schools
    ws = load_workbook(plain)[M.SHEET_CHARTS]
    assert len(ws._charts) == len(charts)


def test_trend_chart_has_one_point_per_period(plain, cons, tmp_path):
    refs = trend_refs(plain)
    assert len(refs) == len(M.MAIN_INDICATORS)
    assert all(range_rows(r) == 2 for r in refs)
    single = write_master(cons, tmp_path / "one.xlsx")
    assert all(range_rows(r) == 1 for r in trend_refs(single))
    rows = list(load_workbook(plain, read_only=True)[M.SHEET_CHARTS].iter_rows(
        min_row=3, max_row=4, values_only=True))
    assert [r[0] for r in rows] == ["2026-10", cons.period]
    current = {v.key: v.value for v in cons.municipal}
    assert rows[1][1] == pytest.approx(current[M.MAIN_INDICATORS[0]])


# ----------------------------------------------------------------------------- atomicity
class Unprintable:
    def __str__(self) -> str:
        raise RuntimeError("cannot render")


def test_failed_write_leaves_the_old_master(cons, tmp_path, monkeypatch):
    out = tmp_path / "свод.xlsx"
    write_master(cons, out)
    before = out.read_bytes()
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    findings = cons.findings.copy()
    findings["value"] = findings["value"].astype(object)
    findings.loc[len(findings) - 1, "value"] = Unprintable()
    with pytest.raises(RuntimeError, match="cannot render"):
        write_master(dataclasses.replace(cons, findings=findings), out)
    assert out.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["scratch", "свод.xlsx"]
    assert list(scratch.iterdir()) == []


def test_failure_after_the_file_is_written_leaves_the_old_master(cons, tmp_path, monkeypatch):
    out = tmp_path / "свод.xlsx"
    write_master(cons, out)
    before = out.read_bytes()

    def disk_full(path: Path) -> None:
        assert path.stat().st_size > 0  # the new workbook was complete
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(M, "_sync_file", disk_full)
    with pytest.raises(OSError, match="No space"):
        write_master(cons, out)
    assert out.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["свод.xlsx"]


# ----------------------------------------------------------------------------- the lock
def test_lock_stops_a_second_run(tmp_path):
    out = tmp_path / "свод.xlsx"
    with master_lock(out) as lock:
        assert lock == out.with_suffix(".lock") and lock.exists()
        assert lock.read_text(encoding="utf-8").split()[0] == str(os.getpid())
        with pytest.raises(MasterLockedError) as info:
            with master_lock(out):
                pass
        message = info.value.message_ru
        assert "уже формируется" in message and str(os.getpid()) in message
        assert str(lock) in message
        assert lock.exists()  # the failed attempt did not remove the holder's lock
    assert not lock.exists()


def dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_stale_lock_is_taken_over(tmp_path):
    out = tmp_path / "свод.xlsx"
    lock = out.with_suffix(".lock")
    lock.write_text(f"{dead_pid()}\n{socket.gethostname()}\n2026-11-01T10:00:00+03:00\n",
                    encoding="utf-8")
    with master_lock(out):
        assert lock.read_text(encoding="utf-8").split()[0] == str(os.getpid())
    assert not lock.exists()


def test_lock_of_another_computer_is_respected(tmp_path):
    out = tmp_path / "свод.xlsx"
    lock = out.with_suffix(".lock")
    lock.write_text(f"{dead_pid()}\nдругой-компьютер\n2026-11-01T10:00:00+03:00\n",
                    encoding="utf-8")
    with pytest.raises(MasterLockedError, match="другой-компьютер"):
        with master_lock(out):
            pass
    assert lock.exists()


def test_unreadable_old_lock_is_taken_over(tmp_path):
    out = tmp_path / "свод.xlsx"
    lock = out.with_suffix(".lock")
    lock.write_text("", encoding="utf-8")
    os.utime(lock, (0, 0))
    with master_lock(out):
        pass
    assert not lock.exists()


def test_no_accepted_school_and_mixed_values(cons, tmp_path):
    """Empty tables, and a findings column of mixed Python and NumPy values."""
    import numpy as np

    from sync.consolidate import FINDING_COLUMNS, PAIR_COLUMNS, PARTICIPANT_COLUMNS, ROADMAP_COLUMNS

    missing = [s for s in cons.schools if not s.status.accepted]
    findings = pd.DataFrame([
        ["ОО-005", "ошибка", "CELL-001", "Пары", np.int64(3), "Этап", v, "текст", ""]
        for v in (np.int64(7), np.float64(1.5), np.bool_(True), date(2026, 1, 2), None,
                  float("nan"), "=1+1")], columns=FINDING_COLUMNS)
    empty = dataclasses.replace(
        cons, schools=missing, participants=pd.DataFrame(columns=PARTICIPANT_COLUMNS),
        pairs=pd.DataFrame(columns=PAIR_COLUMNS), roadmap=pd.DataFrame(columns=ROADMAP_COLUMNS),
        findings=findings)
    out = write_master(empty, tmp_path / "m.xlsx")
    assert records(out, M.SHEET_PARTICIPANTS) == []
    assert len(records(out, M.SHEET_SUMMARY)) == len(missing)
    values = [r["Значение"] for r in records(out, M.SHEET_FINDINGS)]
    assert values == [7, 1.5, C.YES, datetime(2026, 1, 2), None, None, "=1+1"]
    assert all(r["Строка"] == 3 for r in records(out, M.SHEET_FINDINGS))


def test_a_long_row_sheet_goes_whole_to_a_csv_beside_the_master(cons, tmp_path, monkeypatch):
    """A large city's participants: the sheet says where the list is; the CSV holds every row,
    text that looks like a formula stays text, and the aggregates stay in the master."""
    import csv

    cons = dataclasses.replace(cons, participants=cons.participants.copy())
    rows = len(cons.participants)
    monkeypatch.setattr(M, "MASTER_ROW_LIMIT", rows - 1)
    cons.participants.loc[0, "group"] = "=1+1"
    # pandas' own text type too (Arrow-backed «str»), not only Python objects
    cons.participants["organization"] = cons.participants["organization"].astype("str")
    cons.participants.loc[0, "organization"] = "@SUM(A1)"
    out = M.write_master(cons, tmp_path / "свод.xlsx")
    sidecar = tmp_path / f"свод.{M.SHEET_PARTICIPANTS}.csv"
    with sidecar.open(encoding="utf-8-sig", newline="") as fh:
        listed = list(csv.reader(fh, delimiter=";"))
    assert len(listed) == rows + 1 and listed[0][0] == M.PARTICIPANT_HEADERS["school_code"]
    assert "'=1+1" in listed[1] and "'@SUM(A1)" in listed[1]
    # as the sheet shows them: да/нет, ages without «.0» (a Russian Excel reads «16.0» as text)
    head = listed[0]
    consent = head.index(M.PARTICIPANT_HEADERS["consent"])
    age = head.index(M.PARTICIPANT_HEADERS["age"])
    assert {r[consent] for r in listed[1:]} <= {C.YES, C.NO}
    assert all(r[age].isdigit() or r[age] == "" for r in listed[1:]) and listed[1][age]
    born = head.index(M.PARTICIPANT_HEADERS["birth_date"])
    assert all(re.fullmatch(r"\d\d\.\d\d\.\d{4}", r[born]) for r in listed[1:] if r[born])
    assert any(r[born] for r in listed[1:])
    book = load_workbook(out, read_only=True)
    note = [r[0] for r in book[M.SHEET_PARTICIPANTS].iter_rows(values_only=True) if r[0]]
    assert any(sidecar.name in str(v) and str(rows) in str(v) for v in note)
    assert book[M.SHEET_PAIRS].max_row > 2  # short sheets stay whole
    assert not list(tmp_path.glob(".~*"))
