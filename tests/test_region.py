"""The region: demo municipalities synced at the same moment into one real PostgreSQL server
by the real `nastavnik sync`, and `nastavnik region` built from that database alone."""

from __future__ import annotations

import dataclasses
import math
import subprocess
from collections import Counter
from datetime import datetime
from fractions import Fraction
from pathlib import Path

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from addin.indicators import BY_KEY
from sync import master as M
from sync import region as R
from sync.figures import ORG_TYPES, TOTAL
from sync.store import PERIOD_TABLES, Store, runs
from tests.cli import NASTAVNIK, run
from tests.pg import fresh_database

NOV, OCT = "2026-11", "2026-10"
#: code -> (demo seed, period synced, how the code is given)
MUNICIPALITIES = {
    "71801000": (101, NOV, "option"),
    "71802000": (202, NOV, "option"),
    "71803000": (303, NOV, "registry"),
    "71804000": (404, OCT, "option"),  # synced October only: missing from November
}
SYNCED_NOV = ["71801000", "71802000", "71803000"]
COUNT_COLUMNS = [*ORG_TYPES, TOTAL]


@dataclasses.dataclass
class Region:
    url: str
    root: Path
    masters: dict[str, Path]
    registries: dict[str, Path]


def db_url(url) -> str:  # noqa: ANN001
    return url.render_as_string(hide_password=False)


def sync_args(region_root: Path, code: str, url: str, period: str) -> list[str]:
    folder = region_root / code
    args = ["sync", "--registry", folder / "registry.csv", "--period", period,
            "--out", folder / "свод.xlsx", "--db", url]
    if MUNICIPALITIES[code][2] == "option":
        args += ["--municipality-code", code]
    return [str(a) for a in args]


@pytest.fixture(scope="module")
def region(pg_server, tmp_path_factory):
    """Four demo municipalities; three sync November at the same moment, one October."""
    root = tmp_path_factory.mktemp("region")
    for code, (seed, period, given) in MUNICIPALITIES.items():
        made = run("demo-data", "--out", root / code, "--schools", 8, "--seed", seed,
                   "--period", period)
        assert made.returncode == 0, made.stderr
        if given == "registry":  # the code as a registry column instead of the option
            registry = root / code / "registry.csv"
            lines = registry.read_text(encoding="utf-8-sig").splitlines()
            registry.write_text("\n".join([lines[0] + ";Код муниципалитета"]
                                          + [f"{line};{code}" for line in lines[1:]]) + "\n",
                                encoding="utf-8-sig")
    with fresh_database(pg_server, "region") as url:
        url = db_url(url)
        procs = {code: subprocess.Popen([str(NASTAVNIK), *sync_args(root, code, url, period)],
                                        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                        stdin=subprocess.DEVNULL, text=True)
                 for code, (_, period, _) in MUNICIPALITIES.items()}
        for code, proc in procs.items():
            out, err = proc.communicate(timeout=600)
            assert proc.returncode == 1, f"{code}: {out}\n{err}"  # demo schools are rejected
        yield Region(url, root, {c: root / c / "свод.xlsx" for c in MUNICIPALITIES},
                     {c: root / c / "registry.csv" for c in MUNICIPALITIES})


def sheet_rows(path: Path, sheet: str, header_row: int = M.HEADER_ROW) -> list[dict]:
    """Rows of a table sheet as {header: value}: title on row 0, headers below it."""
    wb = load_workbook(path, read_only=True)
    try:
        rows = list(wb[sheet].iter_rows(values_only=True))
    finally:
        wb.close()
    header = rows[header_row]
    return [dict(zip(header, r, strict=False)) for r in rows[header_row + 1:] if any(r)]


def region_master(region: Region, tmp_path: Path, *args: object) -> Path:
    out = tmp_path / "РЕГИОН.xlsx"
    res = run("region", "--db", region.url, "--period", NOV, "--out", out, *args)
    assert res.returncode == 0, res.stdout + res.stderr
    return out


def indicator_sums(masters: list[Path]) -> dict[str, list[float]]:
    sums: dict[str, list[float]] = {}
    for path in masters:
        for r in sheet_rows(path, M.SHEET_INDICATORS):
            acc = sums.setdefault(r["Показатель"], [0.0, 0.0])
            acc[0] += r["Числитель"]
            acc[1] += r["Знаменатель"]
    return sums


def figure_sums(masters: list[Path]) -> dict[str, list[int]]:
    sums: dict[str, list[int]] = {}
    for path in masters:
        for r in sheet_rows(path, M.SHEET_FIGURES):
            acc = sums.setdefault(r["Показатель"], [0] * len(COUNT_COLUMNS))
            for i, col in enumerate(COUNT_COLUMNS):
                acc[i] += r[col]
    return sums


# ----------------------------------------------------------------------------- tests
def test_concurrent_syncs_all_land_with_the_same_school_codes(region: Region):
    for code, (_, period, _) in MUNICIPALITIES.items():
        with Store(region.url, code) as store:
            assert store.periods() == [period]
            schools = store.schools(period)
            assert list(schools["school_code"]) == [f"ОО-{i:03d}" for i in range(1, 9)]
            master = sheet_rows(region.masters[code], M.SHEET_SUMMARY)
            assert list(schools["status"]) == [r["Статус"] for r in master]


def test_region_equals_the_sum_of_the_municipal_masters(region: Region, tmp_path):
    out = region_master(region, tmp_path, "--name", "Тестовая область")
    masters = [region.masters[c] for c in SYNCED_NOV]

    # region indicators: sums of the municipalities' numerators and denominators
    expected = indicator_sums(masters)
    got = {r["Показатель"]: r for r in sheet_rows(out, R.SHEET_INDICATORS)}
    assert set(got) == set(expected) and len(got) == len(BY_KEY)
    by_title = {d.title: d for d in BY_KEY.values()}
    for title, (num, den) in expected.items():
        row = got[title]
        assert (row["Числитель"], row["Знаменатель"]) == (num, den), title
        want = round(num / den * by_title[title].scale, 1) if den else None
        assert row["Значение, %"] == want, title

    # participant counts of the federal table, figure by figure
    figures = {r["Показатель"]: [r[c] for c in COUNT_COLUMNS]
               for r in sheet_rows(out, R.SHEET_FIGURES)}
    assert figures == figure_sums(masters)
    assert figures["Наставники"][-1] > 0

    # each municipality's row equals its own master
    per = [r for r in sheet_rows(out, R.SHEET_BY_MUNICIPALITY)]
    for code in SYNCED_NOV:
        mine = {r["Показатель"]: r for r in per if r["Код МО"] == code}
        for r in sheet_rows(region.masters[code], M.SHEET_INDICATORS):
            row = mine[r["Показатель"]]
            assert (row["Числитель"], row["Знаменатель"], row["Значение, %"]) == (
                r["Числитель"], r["Знаменатель"], r["Значение, %"])
    assert {r["Код МО"] for r in per} == set(SYNCED_NOV)


def test_regional_master_says_what_is_missing_to_each_target(region: Region, tmp_path):
    """«До цели» as in the municipal master: a column of «Показатели региона» and a sheet with
    the region first, then every municipality that synced the period."""
    out = region_master(region, tmp_path, "--name", "Тестовая область")
    by_title = {d.title: d for d in BY_KEY.values()}
    indicators = sheet_rows(out, R.SHEET_INDICATORS)
    gaps = sheet_rows(out, R.SHEET_GAPS)
    region_rows = {r["Показатель"]: r for r in gaps if r["Код МО"] == R.GAP_REGION}
    assert {r["Муниципалитет"] for r in region_rows.values()} == {"Тестовая область"}
    short = 0
    for row in indicators:
        gap = region_rows.get(row["Показатель"])
        if row["Цель, %"] is None:
            assert gap is None and row["До цели"] is None
            continue
        num, den, target = row["Числитель"], row["Знаменатель"], row["Цель, %"]
        scale = by_title[row["Показатель"]].scale
        assert (gap["Числитель"], gap["Знаменатель"], gap["Цель, %"]) == (num, den, target)
        if row["Цель достигнута"] == "да":
            assert gap["Не хватает (человек, документов)"] == 0
            assert "достигнута" in row["До цели"] == gap["Что нужно"]
        elif den and scale == 100:  # a count: the smallest x with (num + x) / den >= target
            want = math.ceil(Fraction(str(target)) * Fraction(str(den)) / 100
                             - Fraction(str(num)))
            assert want > 0 and gap["Не хватает (человек, документов)"] == want
            assert f"не хватает {want} " in row["До цели"] == gap["Что нужно"]
            short += 1
    assert short, "the demo region misses some target"
    # each municipality's rows are its own master's «До цели» for the municipality
    for code in SYNCED_NOV:
        mine = [(r["Показатель"], r["Не хватает (человек, документов)"], r["Что нужно"])
                for r in gaps if r["Код МО"] == code]
        master = [(r["Показатель"], r["Не хватает (человек, документов)"], r["Что нужно"])
                  for r in sheet_rows(region.masters[code], M.SHEET_GAPS)
                  if r["Код ОО"] == M.GAP_MUNICIPALITY]
        assert mine == master and mine, code
    assert {r["Код МО"] for r in gaps} == {R.GAP_REGION, *SYNCED_NOV}


def test_region_lists_statuses_missing_municipalities_and_dynamics(region: Region, tmp_path):
    out = region_master(region, tmp_path)
    munis = {r["Код МО"]: r for r in sheet_rows(out, R.SHEET_MUNICIPALITIES)}
    assert set(munis) == set(MUNICIPALITIES)
    for code in SYNCED_NOV:
        statuses = Counter(r["Статус"] for r in sheet_rows(region.masters[code],
                                                           M.SHEET_SUMMARY))
        row = munis[code]
        assert row["Сбор за период"] == "да"
        accepted = statuses["принят"] + statuses["принят с предупреждениями"]
        assert (row["Принято ОО"], row["Не принято ОО"]) == (accepted, 8 - accepted)
        assert {s: row[f"ОО: {s}"] for s in R.STATUSES} == {s: statuses[s] for s in R.STATUSES}
        assert row["Муниципалитет"]  # the name the schools' workbooks give
    assert munis["71804000"]["Сбор за период"] == "нет"
    assert munis["71804000"]["Принято ОО"] is None

    missing = sheet_rows(out, R.SHEET_MISSING)
    assert [(r["Код МО"], r["Последний период сбора"]) for r in missing] == [("71804000", OCT)]
    schools = sheet_rows(out, R.SHEET_SCHOOLS)
    assert Counter(r["Код МО"] for r in schools) == dict.fromkeys(SYNCED_NOV, 8)

    dynamics = sheet_rows(out, R.SHEET_DYNAMICS)
    assert [(r["Период"], r["Муниципалитетов сдали"]) for r in dynamics] == [(OCT, 1), (NOV, 3)]
    october = {r["Показатель"]: r["Значение, %"]
               for r in sheet_rows(region.masters["71804000"], M.SHEET_INDICATORS)}
    title = BY_KEY["teachers_covered"].title
    assert dynamics[0][R.VALUE_HEADER.format(title=title)] == october[title]

    charts = [n for n in _zip_names(out) if n.startswith("xl/charts/chart")]
    assert len(charts) == 1 + len(M.MAIN_INDICATORS)


def _zip_names(path: Path) -> list[str]:
    import zipfile

    with zipfile.ZipFile(path) as z:
        return z.namelist()


def test_regional_targets(region: Region, tmp_path):
    targets = tmp_path / "цели региона.toml"
    targets.write_text('[indicators.teachers_covered]\ntargets = { "2025" = 1.5 }\n'
                       '[indicators.mentees_10_19]\ntargets = { "2026" = 99.5 }\n',
                       encoding="utf-8")
    out = region_master(region, tmp_path, "--targets", targets)
    rows = {r["Показатель"]: r for r in sheet_rows(out, R.SHEET_INDICATORS)}
    covered, mentees = rows[BY_KEY["teachers_covered"].title], rows[BY_KEY["mentees_10_19"].title]
    assert (covered["Цель, %"], covered["Цель достигнута"]) == (1.5, "да")
    assert (mentees["Цель, %"], mentees["Цель достигнута"]) == (99.5, "нет")
    assert "по умолчанию" not in (covered["Примечание"] or "")
    per = [r for r in sheet_rows(out, R.SHEET_BY_MUNICIPALITY)
           if r["Показатель"] == BY_KEY["teachers_covered"].title]
    assert len(per) == 3 and {r["Цель, %"] for r in per} == {1.5}


def test_regional_master_holds_no_names_or_birth_dates(region: Region, tmp_path):
    out = region_master(region, tmp_path)
    names, births = set(), set()
    for code in SYNCED_NOV:
        for r in sheet_rows(region.masters[code], M.SHEET_PARTICIPANTS):
            names.add(r["ФИО"])
            births.add(r["Дата рождения"])
    names.discard(None)
    assert names and births
    wb = load_workbook(out, read_only=True)
    cells = {v for ws in wb.worksheets for row in ws.iter_rows(values_only=True) for v in row}
    wb.close()
    assert not names & cells
    assert not any(isinstance(v, datetime) for v in cells)  # no date cell at all


def test_resync_of_one_municipality_changes_only_its_rows(region: Region, tmp_path):
    other = {c: _rows_of(region, c) for c in MUNICIPALITIES if c != "71802000"}
    with Store(region.url, "71802000") as store:
        runs_before = len(store.run_log())
        before = store.schools(NOV).set_index("school_code")["status"]
    school = region.root / "71802000" / "schools" / "ОО-001.xlsx"
    moved = school.with_suffix(".bak")
    school.rename(moved)  # the school withdrew its file
    try:
        res = run(*sync_args(region.root, "71802000", region.url, NOV))
    finally:
        moved.rename(school)
    assert res.returncode == 1, res.stderr
    assert {c: _rows_of(region, c) for c in other} == other
    with Store(region.url, "71802000") as store:
        after = store.schools(NOV).set_index("school_code")["status"]
        assert len(store.run_log()) == runs_before + 1
    assert after["ОО-001"] == "не представлен" != before["ОО-001"]
    assert after.drop("ОО-001").equals(before.drop("ОО-001"))
    # put it back as it was for the other tests of this module
    assert run(*sync_args(region.root, "71802000", region.url, NOV)).returncode == 1


def _rows_of(region: Region, code: str) -> dict[str, list]:
    with Store(region.url, code) as store, store.engine.connect() as conn:
        out = {t.name: sorted(map(tuple, conn.execute(select(t).where(t.c.municipality == code))),
                              key=repr) for t in PERIOD_TABLES}
        out["runs"] = sorted(map(tuple, conn.execute(select(runs).where(
            runs.c.municipality == code))), key=repr)
        return out


def test_regional_federal_form_sums_each_municipalitys_last_period(region: Region, tmp_path):
    form = tmp_path / "форма региона.xlsx"
    res = run("region", "--db", region.url, "--year", 2026, "--out", form,
              "--name", "Тестовая область")
    assert res.returncode == 0, res.stdout + res.stderr
    assert "муниципалитетов: 4" in res.stdout
    want = figure_sums([region.masters[c] for c in MUNICIPALITIES])
    wb = load_workbook(form, read_only=True)
    rows = list(wb.worksheets[0].iter_rows(values_only=True))
    wb.close()
    header = next(i for i, r in enumerate(rows) if r and r[0] == "Раздел")
    got = {r[1]: list(r[2:6]) for r in rows[header + 1:] if r and r[1]}
    assert got == want
    assert any("Тестовая область" in str(v) for r in rows[:header] for v in r if v)


def test_the_official_form_through_a_mapping(region: Region, tmp_path):
    from openpyxl import Workbook

    template = tmp_path / "бланк.xlsx"
    wb = Workbook()
    wb.active.title = "Форма"
    wb.save(template)
    mapping = tmp_path / "соответствие.toml"
    mapping.write_text('[form]\nsheet = "Форма"\n[meta]\nyear = "B1"\nmunicipality = "B2"\n'
                       '[cells]\n"role:наставник.Всего" = "C5"\n', encoding="utf-8")
    out = tmp_path / "заполнено.xlsx"
    res = run("region", "--db", region.url, "--year", 2026, "--out", out, "--template",
              template, "--mapping", mapping, "--name", "Тестовая область")
    assert res.returncode == 0, res.stdout + res.stderr
    ws = load_workbook(out)["Форма"]
    want = figure_sums([region.masters[c] for c in MUNICIPALITIES])["Наставники"][-1]
    assert (ws["B1"].value, ws["B2"].value, ws["C5"].value) == (2026, "Тестовая область", want)


@pytest.mark.parametrize("args, fragment", [
    (["--period", "2027-03"], "нет ни одного сбора за период 2027-03"),
    (["--year", "2031"], "нет сборов за 2031 год"),
])
def test_no_data_is_a_russian_error(region: Region, tmp_path, args, fragment):
    out = tmp_path / "x.xlsx"
    res = run("region", "--db", region.url, *args, "--out", out)
    assert res.returncode == 2
    assert fragment in " ".join(res.stderr.split()) and "Traceback" not in res.stderr
    assert not out.exists()


def test_usage_and_connection_errors(tmp_path, pg_server):
    out = tmp_path / "x.xlsx"
    both = run("region", "--db", "sqlite:///x.sqlite", "--period", NOV, "--year", 2026,
               "--out", out)
    assert both.returncode == 2 and "одно из двух" in both.stderr
    dead = pg_server.set(port=1, database="nope").render_as_string(hide_password=False)
    res = run("region", "--db", dead, "--period", NOV, "--out", out)
    assert res.returncode == 2 and "База истории недоступна" in res.stderr
    assert "Traceback" not in res.stderr


def test_a_registry_with_two_municipality_codes_is_refused(region: Region, tmp_path):
    registry = tmp_path / "реестр.csv"
    lines = region.registries["71803000"].read_text(encoding="utf-8-sig").splitlines()
    lines[-1] = lines[-1].rsplit(";", 1)[0] + ";99999999"
    registry.write_text("\n".join(lines) + "\n", encoding="utf-8-sig")
    res = run("sync", "--registry", registry, "--period", NOV, "--out", tmp_path / "с.xlsx",
              "--source-dir", region.root / "71803000", "--db", region.url)
    assert res.returncode == 2
    assert "разные коды муниципалитета" in " ".join(res.stderr.split())


def test_sqlite_store_of_one_municipality_makes_a_region_of_one(region: Region, tmp_path):
    """The default store (SQLite beside the master, no code) serves `region` as well."""
    out = tmp_path / "свод.xlsx"
    folder = region.root / "71801000"
    res = run("sync", "--registry", folder / "registry.csv", "--period", NOV, "--out", out)
    assert res.returncode == 1, res.stderr
    sqlite = f"sqlite:///{out.with_suffix('.history.sqlite')}"
    master = region_master(dataclasses.replace(region, url=sqlite), tmp_path)
    assert [r["Код МО"] for r in sheet_rows(master, R.SHEET_MUNICIPALITIES)] == [R.NO_CODE_LABEL]
    got = {r["Показатель"]: (r["Числитель"], r["Знаменатель"])
           for r in sheet_rows(master, R.SHEET_INDICATORS)}
    assert got == {k: tuple(v) for k, v in indicator_sums([out]).items()}
    assert not math.isnan(sum(n for n, _ in got.values()))


def test_municipal_and_regional_accounts_with_the_readme_grants(region: Region, tmp_path):
    """A municipal centre syncs under its own login with the README's `region grant` (no DDL
    right), and the region reads everything with SELECT only; a role without a grant is
    refused every row (row-level security), in Russian."""
    from sqlalchemy import create_engine, make_url, text

    admin = create_engine(make_url(region.url), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        for sql in ("CREATE ROLE mnc_71805000 LOGIN", "CREATE ROLE rnc_reader LOGIN",
                    "CREATE ROLE mnc_bare LOGIN",
                    "GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public "
                    "TO mnc_bare", "GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO mnc_bare"):
            conn.execute(text(sql))
    admin.dispose()
    for args in (("--municipality", "71805000", "--role", "mnc_71805000"),
                 ("--regional", "--role", "rnc_reader")):
        res = run("region", "grant", "--db", region.url, *args)
        assert res.returncode == 0, res.stdout + res.stderr
    bare = make_url(region.url).set(username="mnc_bare")
    res = run("sync", "--registry", region.root / "71801000" / "registry.csv", "--period", NOV,
              "--out", tmp_path / "голый.xlsx", "--db", db_url(bare),
              "--municipality-code", "71805000")
    assert res.returncode == 2 and "nastavnik region grant" in " ".join(res.stderr.split())
    as_mnc = make_url(region.url).set(username="mnc_71805000")
    as_rnc = make_url(region.url).set(username="rnc_reader")
    folder = region.root / "71801000"
    res = run("sync", "--registry", folder / "registry.csv", "--period", NOV,
              "--out", tmp_path / "свод.xlsx", "--db", db_url(as_mnc),
              "--municipality-code", "71805000")
    assert res.returncode == 1, res.stdout + res.stderr
    out = tmp_path / "регион.xlsx"
    res = run("region", "--db", db_url(as_rnc), "--period", NOV, "--out", out)
    assert res.returncode == 0, res.stdout + res.stderr
    codes = {r["Код МО"] for r in sheet_rows(out, R.SHEET_BY_MUNICIPALITY)}
    assert codes == {*SYNCED_NOV, "71805000"}
    with Store(region.url, "71805000") as store:  # leave the module's region as it was
        with store.transaction() as conn:
            for t in (*PERIOD_TABLES, runs):
                conn.execute(t.delete().where(t.c.municipality == "71805000"))
            conn.execute(text("DELETE FROM municipalities WHERE code = '71805000'"))
