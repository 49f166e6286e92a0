"""The history store on real databases: a SQLite file always, PostgreSQL where a throwaway
server can be started here (initdb/pg_ctl and a Python driver; skipped with the reason
otherwise, or failed when REQUIRE_POSTGRES is set)."""

from __future__ import annotations

import dataclasses
import importlib.util
import re
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import pandas as pd
import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine, func, inspect, select, text
from sqlalchemy.engine import URL

from addin.indicators import INDICATORS
from sync.consolidate import consolidate, snapshots, vanished
from sync.figures import federal_figures
from sync.sources.folder import FolderSource
from sync.sources.registry import read_registry
from sync.store import (
    HEAD_REVISION,
    ITEM_SEPARATOR,
    MIGRATIONS,
    MUNICIPAL,
    PERIOD_TABLES,
    Store,
    head_revision,
    municipalities,
    normalize_url,
    runs,
)
from sync.store import indicators as ind
from sync.store import metadata as store_metadata
from tests import legacy_store
from workbook_templates.demo import generate_municipality, write_municipality

NOV, DEC = "2026-11", "2026-12"
STARTED = datetime(2026, 11, 25, 9, 30, tzinfo=UTC)


# ----------------------------------------------------------------------------- data
@dataclasses.dataclass
class Periods:
    nov: object
    dec: object
    figures_nov: pd.DataFrame
    figures_dec: pd.DataFrame
    org_types: dict[str, str]


@pytest.fixture(scope="module")
def periods(tmp_path_factory) -> Periods:
    """One demo municipality consolidated for November and (same files) for December."""
    out = write_municipality(generate_municipality(), tmp_path_factory.mktemp("muni"))
    entries = read_registry(out / "registry.csv")
    src = FolderSource(out)
    fetched = [src.fetch(e) for e in entries]
    org_types = {e.code: e.org_type for e in entries}
    nov, dec = consolidate(fetched, NOV), consolidate(fetched, DEC)
    return Periods(nov, dec, federal_figures(nov.participants, nov.pairs, org_types),
                   federal_figures(dec.participants, dec.pairs, org_types), org_types)


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request, tmp_path):
    """An empty store: a SQLite file beside a master workbook, or a fresh PostgreSQL database
    (the server of tests/pg.py)."""
    if request.param == "sqlite":
        s = Store.for_master(tmp_path / "Свод МНЦ.xlsx")
    else:
        s = Store(request.getfixturevalue("pg_database"))
    yield s
    s.close()


# ----------------------------------------------------------------------------- helpers
def row_counts(store: Store) -> dict[tuple[str, str], int]:
    """(table, period) -> rows, and ('runs', '') -> runs."""
    out = {}
    with store.engine.connect() as conn:
        for t in PERIOD_TABLES:
            for period, n in conn.execute(select(t.c.period, func.count()).group_by(t.c.period)):
                out[(t.name, period)] = n
        out[("runs", "")] = conn.scalar(select(func.count()).select_from(runs))
    return out


def period_rows(store: Store, period: str) -> dict[str, list[tuple]]:
    """Every row of a period in every per-period table, sorted, for before/after equality."""
    out = {}
    with store.engine.connect() as conn:
        for t in PERIOD_TABLES:
            rows = conn.execute(select(t).where(t.c.period == period)).all()
            out[t.name] = sorted((tuple(r) for r in rows), key=repr)
    return out


def save(store: Store, cons, figures, **kw) -> int:
    return store.save_period(cons, figures, run_started=STARTED, registry="registry.csv", **kw)


def expected_snapshots(cons) -> dict:
    return snapshots(cons)


# ----------------------------------------------------------------------------- tests
def test_save_and_read_back(store: Store, periods: Periods):
    cons, figures = periods.nov, periods.figures_nov
    run_id = save(store, cons, figures)
    assert isinstance(run_id, int)
    assert store.periods() == [NOV]

    hist = store.history()
    assert list(hist.columns) == ["period", "key", "title", "numerator", "denominator",
                                  "value", "target"]
    assert list(hist["key"]) == [d.key for d in INDICATORS]
    for (_, row), v in zip(hist.iterrows(), cons.municipal, strict=True):
        assert (row["period"], row["key"], row["title"]) == (NOV, v.key, v.title)
        assert (row["numerator"], row["denominator"]) == (v.numerator, v.denominator)
        assert (pd.isna(row["value"]) and v.value is None) or row["value"] == v.value
        assert (pd.isna(row["target"]) and v.target is None) or row["target"] == v.target

    got = store.figures(NOV)
    pd.testing.assert_frame_equal(got, figures.astype({c: object for c in
                                                       ("row_key", "section", "label")}),
                                  check_dtype=False)
    assert got["Всего"].sum() > 0
    assert store.figures(DEC).empty

    schools = store.schools(NOV).set_index("school_code")
    assert len(schools) == len(cons.schools)
    for s in cons.schools:
        row = schools.loc[s.code]
        assert row["status"] == s.status.value
        assert row["org_type"] == s.entry.org_type
        assert (row["sha256"] if pd.notna(row["sha256"]) else None) == s.fetched.sha256
        if s.report is not None:
            assert row["errors"] == s.report.errors and row["pairs"] == s.counts["pairs"]
            assert row["active_pairs"] == s.counts["active_pairs"]
        else:
            assert pd.isna(row["errors"]) and pd.isna(row["mentors"])
    log = store.run_log()
    assert list(log["id"]) == [run_id]
    first = log.iloc[0]
    assert (first["schools"], first["accepted"], first["rejected"]) == (
        len(cons.schools), len(cons.accepted), len(cons.schools) - len(cons.accepted))
    assert pd.Timestamp(first["started_at"]) == pd.Timestamp(STARTED).tz_localize(None)

    # per-school indicators too, and the municipal row is the sum of numerators
    with store.engine.connect() as conn:
        by_school = conn.execute(select(ind.c.school_code, ind.c.key, ind.c.numerator)).all()
    codes = {c for c, _, _ in by_school}
    assert MUNICIPAL in codes and {s.code for s in cons.accepted} <= codes
    accepted = {s.code for s in cons.accepted}
    key = INDICATORS[0].key
    assert sum(n for c, k, n in by_school if c in accepted and k == key) == next(
        n for c, k, n in by_school if c == MUNICIPAL and k == key)


def test_no_personal_data_in_store(store: Store, periods: Periods):
    """Names and birth dates stay in the school workbooks: the store holds IDs only."""
    save(store, periods.nov, periods.figures_nov)
    names = set(periods.nov.participants["full_name"].dropna().astype(str))
    assert names
    cells = set()
    with store.engine.connect() as conn:
        for t in (*PERIOD_TABLES, runs):
            for row in conn.execute(select(t)):
                cells |= {line for v in row for line in str(v).splitlines()}  # snapshots
    assert not names & cells
    assert any(re.fullmatch(r"[НУ]-\d{3}", c) for c in cells)  # the school-local IDs are there


def test_second_period_and_resave_is_idempotent(store: Store, periods: Periods):
    save(store, periods.nov, periods.figures_nov)
    save(store, periods.dec, periods.figures_dec)
    assert store.periods() == [NOV, DEC]
    hist = store.history()
    assert list(hist["period"].unique()) == [NOV, DEC]
    assert len(hist) == 2 * len(INDICATORS)
    assert list(store.history(until=NOV)["period"].unique()) == [NOV]
    before = row_counts(store)
    dec_before = period_rows(store, DEC)

    # November again, with one indicator and one figure changed (a school fixed its file)
    first = periods.nov.municipal[0]
    changed = dataclasses.replace(
        periods.nov, municipal=[dataclasses.replace(first, value=99.9),
                                *periods.nov.municipal[1:]])
    figures = periods.figures_nov.copy()
    figures.loc[0, "ОО"] += 5
    save(store, changed, figures)

    after = row_counts(store)
    assert after[("runs", "")] == before[("runs", "")] + 1  # runs is the log of every run
    assert {k: v for k, v in after.items() if k[0] != "runs"} == {
        k: v for k, v in before.items() if k[0] != "runs"}
    assert period_rows(store, DEC) == dec_before
    hist = store.history()
    nov_first = hist[(hist["period"] == NOV) & (hist["key"] == first.key)]
    assert list(nov_first["value"]) == [99.9]
    assert store.figures(NOV).loc[0, "ОО"] == periods.figures_nov.loc[0, "ОО"] + 5
    assert store.periods() == [NOV, DEC]


def test_previous_snapshots(store: Store, periods: Periods):
    assert store.previous_snapshots(DEC) == {}
    save(store, periods.nov, periods.figures_nov)
    assert store.previous_snapshots(NOV) == {}  # strictly before
    prev = store.previous_snapshots(DEC)
    assert prev == expected_snapshots(periods.nov)
    assert any(s.open_pairs for s in prev.values())
    assert any(not s.participants for s in prev.values())  # schools without a workbook
    # the same files a month later: nothing vanished
    assert vanished(periods.dec.schools, prev, periods.dec.rows) == []

    save(store, periods.dec, periods.figures_dec)
    assert store.previous_snapshots("2027-01") == expected_snapshots(periods.dec)
    assert store.previous_snapshots(DEC) == expected_snapshots(periods.nov)


def test_resaving_a_period_keeps_exactly_the_new_items(store: Store, periods: Periods):
    """A re-sync rewrites only the schools whose items changed; what the store remembers is
    still exactly the new consolidation: a person gone, a person added, a school's rows gone,
    and the other schools untouched."""
    save(store, periods.nov, periods.figures_nov)
    people, pairs = periods.nov.rows["participants"], periods.nov.rows["pairs"]
    a, b, c = list(dict.fromkeys(people.dropna(subset=["person_id"])["school_code"]))[:3]
    gone = people[people["school_code"] == a].dropna(subset=["person_id"]).index[:1]
    added = people[people["school_code"] == b].dropna(subset=["person_id"]).iloc[:1]
    people = pd.concat([people.drop(index=gone), added.assign(person_id="НОВЫЙ-001")],
                       ignore_index=True)
    changed = dataclasses.replace(periods.nov, rows={
        **periods.nov.rows, "participants": people[people["school_code"] != c],
        "pairs": pairs[pairs["school_code"] != c]})
    save(store, changed, periods.figures_nov)
    after = store.previous_snapshots(DEC)
    assert after == expected_snapshots(changed) != expected_snapshots(periods.nov)
    before = expected_snapshots(periods.nov)
    assert {k for k in after if after[k] != before[k]} == {a, b, c}


def test_failed_transaction_leaves_the_store_as_it_was(store: Store, periods: Periods):
    save(store, periods.nov, periods.figures_nov)
    counts, nov_rows = row_counts(store), period_rows(store, NOV)

    class MasterWriteFailed(RuntimeError):
        pass

    with pytest.raises(MasterWriteFailed), store.transaction() as conn:
        save(store, periods.dec, periods.figures_dec, conn=conn)
        figures = periods.figures_nov.copy()
        figures["Всего"] = 0
        save(store, periods.nov, figures, conn=conn)  # replaces November inside the transaction
        seen = conn.scalar(select(func.count()).select_from(runs))
        assert seen == counts[("runs", "")] + 2
        raise MasterWriteFailed("the master workbook could not be written")

    assert row_counts(store) == counts
    assert period_rows(store, NOV) == nov_rows
    assert store.periods() == [NOV]
    assert store.figures(DEC).empty


def test_latest_period_of_year(store: Store, periods: Periods):
    assert store.latest_period_of_year(2026) is None
    save(store, periods.nov, periods.figures_nov)
    save(store, dataclasses.replace(periods.dec, period="2027-01"), periods.figures_dec)
    save(store, periods.dec, periods.figures_dec)
    assert store.periods() == [NOV, DEC, "2027-01"]
    assert store.latest_period_of_year(2026) == DEC
    assert store.latest_period_of_year(2027) == "2027-01"
    assert store.latest_period_of_year(2025) is None
    assert list(store.history(until=DEC)["period"].unique()) == [NOV, DEC]


def test_store_persists_across_reopening(store: Store, periods: Periods):
    save(store, periods.nov, periods.figures_nov)
    store.close()
    again = Store(store.url)  # create_all on existing tables is a no-op
    try:
        assert again.periods() == [NOV]
        assert len(again.history()) == len(INDICATORS)
    finally:
        again.close()


def test_for_master_puts_sqlite_next_to_the_master(tmp_path):
    master = tmp_path / "папка с пробелами" / "Свод 2026.xlsx"
    master.parent.mkdir()
    with Store.for_master(master) as s:
        assert s.periods() == []
        assert s.url.get_backend_name() == "sqlite"
    assert (master.parent / "Свод 2026.history.sqlite").is_file()
    other = tmp_path / "elsewhere.sqlite"
    with Store.for_master(master, f"sqlite:///{other}") as s:
        assert s.periods() == []
    assert other.is_file()


def test_plain_postgresql_url_gets_an_installed_driver():
    url = normalize_url("postgresql://user:pw@127.0.0.1:5432/nastavnik")
    assert url.drivername.startswith("postgresql")
    installed = [m for m in ("psycopg2", "psycopg", "pg8000")
                 if importlib.util.find_spec(m) is not None]
    if installed:
        assert url.drivername == f"postgresql+{installed[0]}"
    assert normalize_url("postgres://u@h/db").drivername.startswith("postgresql")
    assert normalize_url("sqlite:///x.sqlite").drivername == "sqlite"


# ----------------------------------------------------------------------------- municipalities
def in_municipality(store: Store, code: str) -> Store:
    """Another handle on the same database, for municipality ``code``."""
    return Store(store.url, code)


def all_rows(store: Store) -> dict[str, list[tuple]]:
    """Every row of every keyed table, sorted (all municipalities)."""
    with store.engine.connect() as conn:
        return {t.name: sorted((tuple(r) for r in conn.execute(select(t))), key=repr)
                for t in (*PERIOD_TABLES, municipalities)}


def municipality_rows(store: Store, code: str) -> dict[str, list[tuple]]:
    with store.engine.connect() as conn:
        return {t.name: sorted((tuple(r) for r in conn.execute(
            select(t).where(t.c.municipality == code))), key=repr) for t in PERIOD_TABLES}


def test_two_municipalities_share_school_codes_and_keep_their_rows(store: Store,
                                                                   periods: Periods):
    a, b = in_municipality(store, "71800000"), in_municipality(store, "71900000")
    try:
        save(a, periods.nov, periods.figures_nov)
        save(b, periods.nov, periods.figures_nov)  # the same school codes, another municipality
        save(b, periods.dec, periods.figures_dec)
        assert a.periods() == [NOV] and b.periods() == [NOV, DEC]
        assert store.periods() == []  # the store of no code sees neither
        assert len(a.schools(NOV)) == len(b.schools(NOV)) == len(periods.nov.schools)
        assert list(a.history()["period"].unique()) == [NOV]
        assert a.previous_snapshots(DEC) == expected_snapshots(periods.nov)
        names = store.region_municipalities().set_index("code")
        assert list(names.index) == ["71800000", "71900000"]
        assert set(names["name"]) == {periods.nov.municipality}
        assert names.loc["71900000", "last_period"] == DEC

        a_rows = municipality_rows(store, "71800000")
        figures = periods.figures_dec.copy()
        figures["Всего"] += 1
        save(b, periods.dec, figures)  # b re-runs December: a is untouched
        save(b, periods.nov, periods.figures_nov)
        assert municipality_rows(store, "71800000") == a_rows
        assert (b.figures(DEC)["Всего"] == periods.figures_dec["Всего"] + 1).all()
        assert store.region_runs(DEC)["municipality"].tolist() == ["71900000"]
        assert store.region_latest_of_year(2026) == {"71800000": NOV, "71900000": DEC}
    finally:
        a.close()
        b.close()


def test_a_run_without_a_name_keeps_the_known_name(store: Store, periods: Periods):
    a = in_municipality(store, " 71800000 ")
    try:
        assert a.municipality == "71800000"
        save(a, periods.nov, periods.figures_nov)
        save(a, dataclasses.replace(periods.dec, municipality=""), periods.figures_dec)
        assert store.region_municipalities()["name"].tolist() == [periods.nov.municipality]
    finally:
        a.close()


def test_concurrent_runs_of_two_municipalities_both_land(pg_database, periods: Periods):
    """Both transactions are open at the same moment (a barrier inside them); neither waits
    for the other, and both commit intact."""
    stores = [Store(pg_database, code) for code in ("71800000", "71900000")]
    barrier = threading.Barrier(2, timeout=30)

    def run(s: Store) -> None:
        with s.transaction() as conn:
            save(s, periods.nov, periods.figures_nov, conn=conn)
            barrier.wait()  # BrokenBarrierError if one run blocked the other

    try:
        with ThreadPoolExecutor(2) as pool:
            for f in [pool.submit(run, s) for s in stores]:
                f.result()
        for s in stores:
            assert s.periods() == [NOV]
            assert len(s.schools(NOV)) == len(periods.nov.schools)
            pd.testing.assert_frame_equal(s.history(), stores[0].history())
        assert len(stores[0].region_runs(NOV)) == 2
    finally:
        for s in stores:
            s.close()


def test_concurrent_runs_of_one_municipality_take_turns(pg_database, periods: Periods):
    """The second run of a municipality waits for the first, then replaces its period."""
    first, second = Store(pg_database, "71800000"), Store(pg_database, "71800000")
    figures = periods.figures_nov.copy()
    figures["Всего"] += 7
    inside, release = threading.Event(), threading.Event()

    def run_first() -> None:
        with first.transaction() as conn:
            save(first, periods.nov, periods.figures_nov, conn=conn)
            inside.set()
            assert release.wait(30)

    try:
        with ThreadPoolExecutor(2) as pool:
            one = pool.submit(run_first)
            assert inside.wait(30)
            two = pool.submit(save, second, periods.nov, figures)
            time.sleep(0.5)
            assert not two.done(), "the second run must wait for the first one's transaction"
            release.set()
            one.result()
            two.result()
        assert (second.figures(NOV)["Всего"] == periods.figures_nov["Всего"] + 7).all()
        assert len(second.schools(NOV)) == len(periods.nov.schools)
        assert len(second.run_log()) == 2
    finally:
        first.close()
        second.close()


# ----------------------------------------------------------------------------- migrations
def schema_diff(store: Store) -> list:
    """What differs between the database and sync.store's tables (empty when equal)."""
    with store.engine.connect() as conn:
        return compare_metadata(MigrationContext.configure(conn), store_metadata)


def test_the_release_knows_its_newest_migration():
    """A store at HEAD_REVISION opens without Alembic: it must be the migrations' head."""
    assert HEAD_REVISION == head_revision()


def test_a_new_store_has_the_schema_of_the_code(store: Store):
    assert schema_diff(store) == []
    with store.engine.connect() as conn:
        assert MigrationContext.configure(conn).get_current_revision() == head_revision()


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_url(request, tmp_path):
    if request.param == "sqlite":
        return URL.create("sqlite", database=str(tmp_path / "старая история.sqlite"))
    return request.getfixturevalue("pg_database")


def test_the_migrations_from_nothing_give_the_schema_of_a_new_store(empty_url):
    """A new store is created from the code's tables, not by the migrations: replaying
    them on an empty database must give the same schema, at the same revision."""
    engine = create_engine(empty_url)
    try:
        with engine.begin() as conn:
            command.upgrade(_alembic(conn), "head")
            assert compare_metadata(MigrationContext.configure(conn), store_metadata) == []
            assert MigrationContext.configure(conn).get_current_revision() == HEAD_REVISION
    finally:
        engine.dispose()
    with Store(empty_url) as store:  # the replayed store opens as it is
        assert schema_diff(store) == [] and store.periods() == []


def test_a_store_of_the_previous_release_migrates_keeping_every_period(empty_url,
                                                                         periods: Periods):
    old = legacy_store.Store(empty_url)  # exactly what the previous release wrote
    old.save_period(periods.nov, periods.figures_nov, run_started=STARTED, registry="r.csv")
    old.save_period(periods.dec, periods.figures_dec, run_started=STARTED, registry="r.csv")
    before = {t.name: _rows_of(old.engine, t.name) for t in legacy_store.PERIOD_TABLES}
    runs_before = _rows_of(old.engine, "runs")
    expected = (old.periods(), old.history(), old.figures(NOV), old.figures(DEC),
                old.previous_snapshots(DEC), old.schools(DEC))
    old.close()

    new = Store(empty_url)  # opening migrates
    try:
        assert schema_diff(new) == []
        assert (new.periods(), new.previous_snapshots(DEC)) == (expected[0], expected[4])
        pd.testing.assert_frame_equal(new.history(), expected[1])
        pd.testing.assert_frame_equal(new.figures(NOV), expected[2])
        pd.testing.assert_frame_equal(new.figures(DEC), expected[3])
        pd.testing.assert_frame_equal(new.schools(DEC).drop(columns="municipality"),
                                      expected[5])
        for name, rows in before.items():  # every row, now of the municipality ''
            after = _rows_of(new.engine, name)
            if name == "snapshots":  # one row per school and kind now, its IDs one per line
                after = [(*r[:-1], i) for r in after for i in r[-1].split(ITEM_SEPARATOR)]
            assert [r[0] for r in after] == [""] * len(rows) and rows
            assert sorted((r[1:] for r in after), key=repr) == rows
        assert [r[:-2] for r in _rows_of(new.engine, "runs")] == runs_before
        # the migrated store goes on: a new period, then a code-bearing municipality beside it
        save(new, dataclasses.replace(periods.dec, period="2027-01"), periods.figures_dec)
        assert new.periods() == [NOV, DEC, "2027-01"]
        with in_municipality(new, "71800000") as other:
            save(other, periods.nov, periods.figures_nov)
        assert new.periods() == [NOV, DEC, "2027-01"]
    finally:
        new.close()
    again = Store(empty_url)  # an up-to-date store is left as it is
    try:
        assert again.periods() == [NOV, DEC, "2027-01"]
    finally:
        again.close()


def test_downgrade_returns_to_the_previous_release_schema(tmp_path, periods: Periods):
    url = URL.create("sqlite", database=str(tmp_path / "h.sqlite"))
    with Store(url) as s:
        save(s, periods.nov, periods.figures_nov)
        with in_municipality(s, "71800000") as other:
            save(other, periods.dec, periods.figures_dec)
        figures = s.figures(NOV)
        with s.engine.begin() as conn:
            command.downgrade(_alembic(conn), "0001")
        old = legacy_store.Store(url)
        try:
            assert old.periods() == [NOV]  # the rows of the municipality without a code
            pd.testing.assert_frame_equal(old.figures(NOV), figures)
        finally:
            old.close()


def test_a_store_of_0002_loses_its_results_table_and_keeps_its_periods(tmp_path,
                                                                       periods: Periods):
    """Results a re-sync reuses hold names: 0003 drops the table 0002 kept them in."""
    url = URL.create("sqlite", database=str(tmp_path / "h.sqlite"))
    with Store(url) as s:
        save(s, periods.nov, periods.figures_nov)
        with s.engine.begin() as conn:
            command.downgrade(_alembic(conn), "0002")
            conn.execute(text("INSERT INTO school_results VALUES ('', :p, 'ОО-001', 'a', 'v', "
                              "x'00', '2026-12-01 00:00:00')"), {"p": NOV})
    with Store(url) as s:  # opening migrates
        assert schema_diff(s) == [] and s.periods() == [NOV]
        assert not inspect(s.engine).has_table("school_results")


def test_snapshots_of_0003_are_grouped_and_split_back(empty_url, periods: Periods):
    """0004 keeps a school's IDs of one kind in one row: going down to 0003 gives the rows
    0003 wrote (one per ID), coming back up gives the same snapshots."""
    with Store(empty_url) as s:
        save(s, periods.nov, periods.figures_nov)
        with in_municipality(s, "71800000") as other:
            save(other, periods.nov, periods.figures_nov)
        remembered = s.previous_snapshots(DEC)
        grouped = _rows_of(s.engine, "snapshots")
    engine = create_engine(empty_url)
    try:
        with engine.begin() as conn:
            command.downgrade(_alembic(conn), "0003")
        one_per_id = sorted(((*r[:-1], i) for r in grouped for i in r[-1].split(ITEM_SEPARATOR)),
                            key=repr)
        assert _rows_of(engine, "snapshots") == one_per_id and len(one_per_id) > len(grouped)
    finally:
        engine.dispose()
    with Store(empty_url) as s:  # opening migrates
        assert schema_diff(s) == [] and s.previous_snapshots(DEC) == remembered
        assert remembered == expected_snapshots(periods.nov)


def _alembic(conn) -> Config:
    """Alembic's configuration of the store's migrations, on `conn`."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["connection"] = conn
    return cfg


def _rows_of(engine, table: str) -> list[tuple]:
    with engine.connect() as conn:
        return sorted((tuple(r) for r in conn.execute(text(f'SELECT * FROM "{table}"'))),
                      key=repr)
