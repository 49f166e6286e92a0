"""The history store on real databases: a SQLite file always, PostgreSQL where a throwaway
server can be started here (initdb/pg_ctl and a Python driver; skipped with the reason
otherwise, or failed when REQUIRE_POSTGRES is set)."""

from __future__ import annotations

import dataclasses
import glob
import importlib.util
import os
import pwd
import re
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import URL

from addin.indicators import INDICATORS
from sync.consolidate import consolidate, snapshot_of, vanished
from sync.figures import federal_figures
from sync.sources import FolderSource, read_registry
from sync.store import MUNICIPAL, PERIOD_TABLES, Store, normalize_url, runs
from sync.store import indicators as ind
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


# ----------------------------------------------------------------------------- PostgreSQL
def _pg_bindir() -> Path | None:
    exe = shutil.which("pg_ctl")
    if exe and (Path(exe).resolve().parent / "initdb").exists():
        return Path(exe).resolve().parent
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"),
                   key=lambda p: int(re.sub(r"\D", "", p.split("/")[4]) or 0))
    return Path(found[-1]).parent if found else None


def _pg_driver() -> str | None:
    for module, driver in (("psycopg", "postgresql+psycopg"), ("pg8000", "postgresql+pg8000")):
        if importlib.util.find_spec(module) is not None:
            return driver
    return None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def pg_server():
    """URL of a throwaway PostgreSQL server on 127.0.0.1 (trust auth), stopped at the end."""
    required = bool(os.environ.get("REQUIRE_POSTGRES"))

    def unavailable(reason: str):
        if required:
            pytest.fail(f"PostgreSQL is required (REQUIRE_POSTGRES) but {reason}")
        pytest.skip(reason)

    bindir = _pg_bindir()
    if bindir is None:
        unavailable("no initdb/pg_ctl on PATH or in /usr/lib/postgresql/*/bin "
                    "(apt-get install postgresql)")
    driver = _pg_driver()
    if driver is None:
        unavailable("no PostgreSQL driver for SQLAlchemy (pip install 'psycopg[binary]')")
    prefix: list[str] = []
    base = Path(tempfile.mkdtemp(prefix="nastavnik-pg-", dir="/tmp"))
    if os.geteuid() == 0:  # the server refuses to run as root
        user = next((u for u in ("postgres", "nobody") if _has_user(u)), None)
        if user is None or shutil.which("runuser") is None:
            shutil.rmtree(base, ignore_errors=True)
            unavailable("running as root with no 'postgres'/'nobody' user or no runuser")
        entry = pwd.getpwnam(user)
        os.chown(base, entry.pw_uid, entry.pw_gid)
        prefix = ["runuser", "-u", user, "--"]
    data, log, port = base / "data", base / "server.log", _free_port()

    def run(*cmd: str, timeout: int = 120) -> subprocess.CompletedProcess:
        return subprocess.run([*prefix, *cmd], capture_output=True, text=True, timeout=timeout,
                              stdin=subprocess.DEVNULL)

    t0 = time.monotonic()
    proc = run(str(bindir / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust",
               "-E", "UTF8", "--no-locale", "--no-sync")
    if proc.returncode != 0:
        shutil.rmtree(base, ignore_errors=True)
        unavailable(f"initdb failed (rc={proc.returncode}): {proc.stderr.strip()[-500:]}")
    options = (f"-k {base} -p {port} -c listen_addresses=127.0.0.1 -c fsync=off "
               "-c full_page_writes=off -c synchronous_commit=off")
    proc = run(str(bindir / "pg_ctl"), "-D", str(data), "-l", str(log), "-o", options,
               "-w", "-t", "60", "start")
    if proc.returncode != 0:
        tail = log.read_text(errors="replace")[-800:] if log.exists() else proc.stderr
        shutil.rmtree(base, ignore_errors=True)
        unavailable(f"pg_ctl start failed (rc={proc.returncode}): {tail.strip()}")
    url = URL.create(driver, username="postgres", host="127.0.0.1", port=port,
                     database="postgres")
    print(f"PostgreSQL ({bindir}) started in {time.monotonic() - t0:.1f} s on port {port}")
    try:
        yield url
    finally:
        run(str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop",
            timeout=60)
        shutil.rmtree(base, ignore_errors=True)


def _has_user(name: str) -> bool:
    try:
        pwd.getpwnam(name)
    except KeyError:
        return False
    return True


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request, tmp_path):
    """An empty store: a SQLite file beside a master workbook, or a fresh PostgreSQL database."""
    if request.param == "sqlite":
        s = Store.for_master(tmp_path / "Свод МНЦ.xlsx")
        yield s
        s.close()
        return
    server: URL = request.getfixturevalue("pg_server")
    name = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    s = Store(server.set(database=name))
    yield s
    s.close()
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
    admin.dispose()


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
    return {s.code: snapshot_of(s) for s in cons.schools}


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
                cells |= {str(v) for v in row}
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
    assert vanished(periods.dec.schools, prev) == []

    save(store, periods.dec, periods.figures_dec)
    assert store.previous_snapshots("2027-01") == expected_snapshots(periods.dec)
    assert store.previous_snapshots(DEC) == expected_snapshots(periods.nov)


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
