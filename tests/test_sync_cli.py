"""`nastavnik sync` and `nastavnik federal-form` end to end: the real CLI on a generated
municipality, the master checked sheet by sheet against the inputs read independently."""

from __future__ import annotations

import hashlib
import os
import re
import signal
import sqlite3
import subprocess
import time
import zipfile
from pathlib import Path

import pytest
from openpyxl import load_workbook

from sync import master as M
from tests.cli import NASTAVNIK, run
from workbook_templates import contract as C
from workbook_templates.demo import generate_municipality, write_municipality


def _rows(path: Path, sheet: str) -> list[dict]:
    ws = load_workbook(path, read_only=True)[sheet]
    rows = list(ws.iter_rows(values_only=True))
    header_at = next(i for i, r in enumerate(rows) if r and r[0] in ("Код ОО", "Показатель",
                                                                       "Раздел"))
    header = rows[header_at]
    return [dict(zip(header, r, strict=False)) for r in rows[header_at + 1:] if any(r)]


@pytest.fixture(scope="module")
def muni(tmp_path_factory):
    m = generate_municipality()
    root = write_municipality(m, tmp_path_factory.mktemp("muni"))
    return m, root


@pytest.fixture(scope="module")
def first_sync(muni, tmp_path_factory):
    m, root = muni
    out = tmp_path_factory.mktemp("out") / "свод.xlsx"
    res = run("sync", "--registry", root / "registry.csv", "--period", "2026-11", "--out", out)
    return m, root, out, res


def _count_rows(xlsx: Path, sheet: str) -> int:
    ws = load_workbook(xlsx, read_only=True)[sheet]
    rows = ws.iter_rows(min_row=2, values_only=True)
    return sum(1 for r in rows if any(v is not None for v in r))


def test_statuses_and_exit_code(first_sync):
    m, _, out, res = first_sync
    assert res.returncode == 1, res.stdout + res.stderr  # some schools rejected
    assert "Сводная книга" in res.stdout
    summary = {r["Код ОО"]: r["Статус"] for r in _rows(out, M.SHEET_SUMMARY)}
    expected = {"missing": "не представлен", "corrupt": "файл повреждён",
                "unknown_version": "неизвестная версия шаблона"}
    for s in m.schools:
        if s.submission in expected:
            assert summary[s.code] == expected[s.submission], s.code
        elif s.clean:
            assert summary[s.code] == "принят", s.code
        else:
            assert summary[s.code] == "отклонён", s.code


def test_every_accepted_row_is_in_the_master(first_sync):
    m, root, out, _ = first_sync
    accepted = [s.code for s in m.schools if s.clean]
    expected = 0
    for code in accepted:
        path = root / "schools" / f"{code}.xlsx"
        for sheet in (C.MENTORS.name, C.MENTEES.name):
            expected += _count_rows(path, sheet)
    participants = _rows(out, M.SHEET_PARTICIPANTS)
    assert len(participants) == expected
    assert {p["Код ОО"] for p in participants} == set(accepted)


def test_municipal_indicators_are_sums(first_sync):
    m, root, out, _ = first_sync
    accepted = [s.code for s in m.schools if s.clean]
    # consents: participants with a consent date over all participants, counted independently
    with_consent = total = 0
    for code in accepted:
        wb = load_workbook(root / "schools" / f"{code}.xlsx", read_only=True)
        for sheet in (C.MENTORS, C.MENTEES):
            ws = wb[sheet.name]
            header = [c.value for c in next(ws.iter_rows(max_row=1))]
            i = header.index(sheet.column("consent_date").header)
            for r in ws.iter_rows(min_row=2, values_only=True):
                if any(v is not None for v in r):
                    total += 1
                    with_consent += r[i] is not None
    rows = {r["Показатель"]: r for r in _rows(out, M.SHEET_INDICATORS)}
    consents = rows["Участники с согласием на обработку персональных данных"]
    assert (consents["Числитель"], consents["Знаменатель"]) == (with_consent, total)
    # students 10-19 denominator: the sum of the forms of accepted schools
    students = 0
    for code in accepted:
        ws = load_workbook(root / "schools" / f"{code}.xlsx", read_only=True)[C.SCHOOL.name]
        for r in ws.iter_rows(values_only=True):
            if r[0] == C.SCHOOL.column("students_10_19").header:
                students += r[1]
    mentees = rows["Доля обучающихся 10–19 лет — наставляемых"]
    assert mentees["Знаменатель"] == students


def test_second_period_trend_and_idempotent_rerun(first_sync, tmp_path):
    _, root, out, _ = first_sync
    res = run("sync", "--registry", root / "registry.csv", "--period", "2026-12", "--out", out)
    assert res.returncode == 1
    assert 2 in _chart_series_lengths(out), "the trend chart needs a point per period"
    db = out.with_suffix(".history.sqlite")
    before = _table_counts(db)
    assert run("sync", "--registry", root / "registry.csv", "--period", "2026-12",
               "--out", out).returncode == 1
    assert _table_counts(db) == {**before, "runs": before["runs"] + 1}


def _chart_series_lengths(xlsx: Path) -> set[int]:
    """Number of points of every chart series, from the cell ranges the series refer to."""
    lengths = set()
    with zipfile.ZipFile(xlsx) as z:
        for name in z.namelist():
            if name.startswith("xl/charts/chart"):
                for a, b in re.findall(r"<c:val>.*?\$(\d+):\$[A-Z]+\$(\d+)</c:f>",
                                       z.read(name).decode(), flags=re.S):
                    lengths.add(int(b) - int(a) + 1)
    return lengths


def _table_counts(db: Path) -> dict[str, int]:
    con = sqlite3.connect(db)
    try:
        names = [r[0] for r in con.execute("select name from sqlite_master where type='table'")]
        return {n: con.execute(f'select count(*) from "{n}"').fetchone()[0] for n in names}
    finally:
        con.close()


def test_federal_form_equals_master(first_sync, tmp_path):
    _, root, out, _ = first_sync
    form = tmp_path / "форма.xlsx"
    res = run("federal-form", "--year", "2026", "--master", out, "--out", form)
    assert res.returncode == 0, res.stdout + res.stderr
    master = {r["Показатель"]: r["Всего"] for r in _rows(out, M.SHEET_FIGURES)}
    filled = {r["Показатель"]: r["Всего"] for r in _rows(form, load_workbook(form).sheetnames[0])
              if r.get("Показатель")}
    assert master and filled == master


def test_pseudonymized_master_has_no_names(muni, tmp_path):
    m, root = muni
    out = tmp_path / "свод.xlsx"
    assert run("sync", "--registry", root / "registry.csv", "--period", "2026-11", "--out", out,
               "--pseudonymize").returncode == 1
    names = {row["full_name"] for s in m.schools for key in ("mentors", "mentees")
             for row in s.data[key] if row.get("full_name")}
    wb = load_workbook(out, read_only=True)
    for ws in wb.worksheets:
        for r in ws.iter_rows(values_only=True):
            for v in r:
                assert not (isinstance(v, str) and v in names), (ws.title, v)


def test_lock_stops_a_second_sync(muni, tmp_path):
    _, root = muni
    out = tmp_path / "свод.xlsx"
    lock = out.with_suffix(".lock")
    lock.write_text(f"{os.getpid()}\n", encoding="utf-8")  # this test process is alive
    res = run("sync", "--registry", root / "registry.csv", "--period", "2026-11", "--out", out)
    assert res.returncode == 2
    assert "уже формируется" in res.stderr
    assert not out.exists()


def test_missing_registry_is_a_russian_error(tmp_path):
    res = run("sync", "--registry", tmp_path / "нет.csv", "--period", "2026-11",
              "--out", tmp_path / "свод.xlsx")
    assert res.returncode == 2
    assert "Сбор не выполнен" in res.stderr and "Traceback" not in res.stderr
    bad = run("sync", "--registry", tmp_path / "нет.csv", "--period", "ноябрь",
              "--out", tmp_path / "свод.xlsx")
    assert bad.returncode == 2 and "ГГГГ-ММ" in bad.stderr


def test_a_date_outside_the_period_is_warned_of(muni, tmp_path):
    _, root = muni
    outside = run("sync", "--registry", root / "registry.csv", "--period", "2026-11",
                  "--out", tmp_path / "свод.xlsx", "--reference-date", "15.10.2026")
    assert outside.returncode in (0, 1), outside.stderr
    warning = " ".join(outside.stderr.split())
    assert "дата проверки 15.10.2026 — не в периоде сбора 2026-11" in warning
    inside = run("sync", "--registry", root / "registry.csv", "--period", "2026-11",
                 "--out", tmp_path / "свод.xlsx", "--reference-date", "15.11.2026")
    assert inside.returncode in (0, 1) and "не в периоде" not in inside.stderr


def test_killed_mid_write_keeps_previous_master(muni, tmp_path):
    _, root = muni
    out = tmp_path / "свод.xlsx"
    assert run("sync", "--registry", root / "registry.csv", "--period", "2026-11",
               "--out", out).returncode == 1
    before = hashlib.sha256(out.read_bytes()).hexdigest()
    known = set(os.listdir(tmp_path))
    proc = subprocess.Popen([str(NASTAVNIK), "sync", "--registry", str(root / "registry.csv"),
                             "--period", "2026-12", "--out", str(out)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            stdin=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        new = set(os.listdir(tmp_path)) - known - {out.with_suffix(".lock").name}
        if any(n != out.name for n in new):  # the master's temporary file has appeared
            break
        time.sleep(0.005)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert hashlib.sha256(out.read_bytes()).hexdigest() == before
    # the stale lock of the killed run does not block the next one
    res = run("sync", "--registry", root / "registry.csv", "--period", "2026-12", "--out", out)
    assert res.returncode == 1, res.stderr


def test_a_large_municipality_lists_only_schools_with_a_problem(muni, tmp_path):
    """Past SUMMARY_ALL_SCHOOLS the table shows the schools with a problem (not accepted
    first), not the accepted ones: a city's 2,000 rows would scroll the news away."""
    from sync.cli.collect import SUMMARY_ALL_SCHOOLS

    _, root = muni
    lines = (root / "registry.csv").read_text(encoding="utf-8-sig").splitlines()
    extra = [f"ОО-9{i:02d};Школа без книги {i};ОО;schools/ОО-9{i:02d}.xlsx"
             for i in range(SUMMARY_ALL_SCHOOLS)]
    registry = root / "большой-реестр.csv"
    registry.write_text("\n".join(lines + extra) + "\n", encoding="utf-8-sig")
    res = run("sync", "--registry", registry, "--period", "2026-11",
              "--out", tmp_path / "свод.xlsx")
    assert res.returncode == 1, res.stdout + res.stderr
    table = {line.split("│")[1].strip(): line for line in res.stdout.splitlines()
             if line.count("│") >= 4}
    statuses = {r["Код ОО"]: r["Статус"] for r in _rows(tmp_path / "свод.xlsx", M.SHEET_LOG)}
    clean = [code for code, status in statuses.items() if status == "принят"]
    problems = [code for code, status in statuses.items() if status != "принят"]
    assert clean and not set(clean) & set(table)
    assert set(problems) <= set(table)
    assert f"Показаны организации с замечаниями: {len(problems)} из {len(statuses)}" in res.stdout
    assert f"на листе «{M.SHEET_LOG}»" in res.stdout
