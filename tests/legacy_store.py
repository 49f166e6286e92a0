"""FROZEN COPY of sync/store.py as released before migrations (commit ed25488): the tests
write a store with it exactly as that release did (``metadata.create_all``, no municipality,
no ``alembic_version``) and check that today's ``Store`` migrates it keeping every period.
Do not edit; it is the old release, not code of this one.

History of sync runs: schools, indicators, snapshots and federal figures per period.

SQLite by default (a file next to the master workbook), PostgreSQL or any other SQLAlchemy
database by URL. SQLAlchemy Core only; portable column types, so one schema serves both.

A period is saved whole in one transaction: a row in ``runs`` (an append-only log of every run),
and this period's rows of ``school_periods``, ``indicators``, ``snapshots`` and ``figures``,
deleted and inserted again, so re-running a period replaces it and leaves other periods alone.
The caller can pass its own connection (``Store.transaction()``) to save the period and write
the master workbook as one unit: if the master write fails, the period is rolled back.

No personal data is stored: people appear only as school-local IDs (``Н-001``, ``У-001``) in
``snapshots``; names and birth dates stay in the school workbooks.

Times are stored as naive UTC datetimes (SQLite keeps no time zone).
"""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd
from sqlalchemy import (
    Boolean,
    Column,
    Connection,
    DateTime,
    Float,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    create_engine,
    delete,
    func,
    insert,
    select,
)
from sqlalchemy.engine import URL, make_url

from sync.consolidate import Consolidation, Snapshot
from sync.consolidate import snapshots as snapshots_of
from sync.figures import COLUMNS as FIGURE_COLUMNS
from sync.figures import ORG_TYPES, TOTAL

#: school_code of the municipal rows of ``indicators``.
MUNICIPAL = "*"
HISTORY_COLUMNS = ["period", "key", "title", "numerator", "denominator", "value", "target"]
#: figures table column -> store column (``do`` is an SQL keyword).
_FIGURE_DB = {"ОО": "oo", "СПО": "spo", "ДО": "do_", TOTAL: "total"}
assert set(_FIGURE_DB) == {*ORG_TYPES, TOTAL}, "sync.figures changed its columns"

metadata = MetaData()

runs = Table(
    "runs", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("period", String, nullable=False),
    Column("started_at", DateTime, nullable=False),
    Column("finished_at", DateTime, nullable=False),
    Column("registry", String, nullable=False),
    Column("schools", Integer, nullable=False),
    Column("accepted", Integer, nullable=False),
    Column("rejected", Integer, nullable=False),  # every school not accepted, whatever the status
    Index("ix_runs_period", "period"),
)

school_periods = Table(
    "school_periods", metadata,
    Column("period", String, primary_key=True),
    Column("school_code", String, primary_key=True),
    Column("name", String),
    Column("org_type", String),
    Column("status", String, nullable=False),
    Column("reason", String),
    Column("origin", String),
    Column("sha256", String),
    Column("fetched_at", DateTime),
    Column("errors", Integer),
    Column("warnings", Integer),
    Column("mentors", Integer),
    Column("mentees", Integer),
    Column("pairs", Integer),
    Column("active_pairs", Integer),
)

indicators = Table(
    "indicators", metadata,
    Column("period", String, primary_key=True),
    Column("school_code", String, primary_key=True),  # MUNICIPAL for the municipality
    Column("key", String, primary_key=True),
    Column("position", Integer, nullable=False),  # order of the indicator in the run
    Column("title", String, nullable=False),
    Column("numerator", Float, nullable=False),
    Column("denominator", Float, nullable=False),
    Column("value", Float),
    Column("target", Float),
    Column("target_is_default", Boolean, nullable=False),
)

#: The primary key leads with ``period``, so it is also the index by period.
snapshots = Table(
    "snapshots", metadata,
    Column("period", String, primary_key=True),
    Column("school_code", String, primary_key=True),
    Column("kind", String, primary_key=True),  # 'pair' | 'participant'
    Column("item_id", String, primary_key=True),
)

figures_table = Table(
    "figures", metadata,
    Column("period", String, primary_key=True),
    Column("row_key", String, primary_key=True),
    Column("position", Integer, nullable=False),  # row order of the federal table
    Column("section", String, nullable=False),
    Column("label", String, nullable=False),
    Column("oo", Integer, nullable=False),
    Column("spo", Integer, nullable=False),
    Column("do_", Integer, nullable=False),
    Column("total", Integer, nullable=False),
)

PERIOD_TABLES = (school_periods, indicators, snapshots, figures_table)


def normalize_url(url: str | URL) -> URL:
    """A SQLAlchemy URL, with a PostgreSQL driver that is actually installed.

    ``postgresql://`` (and ``postgres://``) mean psycopg2 to SQLAlchemy; where only psycopg 3
    or pg8000 is installed, the URL is pointed at that driver instead.
    """
    u = make_url(str(url)) if isinstance(url, str) else url
    if u.drivername in ("postgresql", "postgres"):
        for module, driver in (("psycopg2", "postgresql+psycopg2"),
                               ("psycopg", "postgresql+psycopg"),
                               ("pg8000", "postgresql+pg8000")):
            if importlib.util.find_spec(module) is not None:
                return u.set(drivername=driver)
        return u.set(drivername="postgresql")
    return u


def _utc(moment: datetime | None) -> datetime | None:
    """Naive UTC (what both SQLite and a plain PostgreSQL timestamp hold)."""
    if moment is None:
        return None
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC).replace(tzinfo=None)
    return moment


def _int(v: Any) -> int | None:
    return None if v is None else int(v)


def _float(v: Any) -> float | None:
    if v is None:
        return None
    f = float(v)
    return None if f != f else f  # NaN -> NULL


class Store:
    """The history database of one master workbook (or of a region, by URL)."""

    def __init__(self, url: str | URL):
        self.url = normalize_url(url)
        self.engine = create_engine(self.url)
        metadata.create_all(self.engine)

    @classmethod
    def for_master(cls, master: Path, url: str | None = None) -> Store:
        """The store given by ``url``, else a SQLite file next to the master workbook."""
        if url:
            return cls(url)
        path = Path(master).resolve().with_suffix(".history.sqlite")
        return cls(URL.create("sqlite", database=str(path)))

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Store({self.url.render_as_string(hide_password=True)!r})"

    # -- writing ------------------------------------------------------------------------
    @contextmanager
    def transaction(self) -> Iterator[Connection]:
        """One transaction: committed when the block ends, rolled back if it raises."""
        with self.engine.begin() as conn:
            yield conn

    def save_period(self, cons: Consolidation, figures: pd.DataFrame, *, run_started: datetime,
                    registry: str, conn: Connection | None = None) -> int:
        """Record one run and replace the period's rows; returns the run id.

        With ``conn`` (from ``transaction()``) the caller commits or rolls back; without it
        the save is its own transaction.
        """
        if conn is None:
            with self.transaction() as own:
                return self.save_period(cons, figures, run_started=run_started,
                                        registry=registry, conn=own)
        period = cons.period
        accepted = len(cons.accepted)
        run_id = conn.execute(insert(runs).values(
            period=period, started_at=_utc(run_started),
            finished_at=_utc(datetime.now(UTC)), registry=str(registry),
            schools=len(cons.schools), accepted=accepted,
            rejected=len(cons.schools) - accepted)).inserted_primary_key[0]
        for table in PERIOD_TABLES:
            conn.execute(delete(table).where(table.c.period == period))
        rows = _school_rows(cons)
        if rows:
            conn.execute(insert(school_periods), rows)
        rows = _indicator_rows(cons)
        if rows:
            conn.execute(insert(indicators), rows)
        rows = _snapshot_rows(cons)
        if rows:
            conn.execute(insert(snapshots), rows)
        rows = _figure_rows(period, figures)
        if rows:
            conn.execute(insert(figures_table), rows)
        return int(run_id)

    # -- reading ------------------------------------------------------------------------
    def periods(self) -> list[str]:
        """Every period that has a saved run, oldest first."""
        with self.engine.connect() as conn:
            return list(conn.scalars(
                select(runs.c.period).distinct().order_by(runs.c.period)))

    def latest_period_of_year(self, year: int) -> str | None:
        """The last saved period of a calendar year (the federal form takes its data there)."""
        lo, hi = f"{year:04d}-", f"{year + 1:04d}-"
        with self.engine.connect() as conn:
            return conn.scalar(select(func.max(runs.c.period))
                               .where(runs.c.period >= lo, runs.c.period < hi))

    def previous_period(self, period: str) -> str | None:
        """The latest saved period strictly before ``period``."""
        with self.engine.connect() as conn:
            return conn.scalar(select(func.max(runs.c.period)).where(runs.c.period < period))

    def previous_snapshots(self, period: str) -> dict[str, Snapshot]:
        """What the latest period before ``period`` remembered of every school."""
        before = self.previous_period(period)
        if before is None:
            return {}
        with self.engine.connect() as conn:
            out = {code: Snapshot(status=status) for code, status in conn.execute(
                select(school_periods.c.school_code, school_periods.c.status)
                .where(school_periods.c.period == before))}
            for code, kind, item in conn.execute(
                    select(snapshots.c.school_code, snapshots.c.kind, snapshots.c.item_id)
                    .where(snapshots.c.period == before)):
                snap = out.setdefault(code, Snapshot(status=""))
                (snap.open_pairs if kind == "pair" else snap.participants).add(item)
        return out

    def history(self, until: str | None = None) -> pd.DataFrame:
        """Municipal indicators of every saved period (up to ``until``), by period."""
        c = indicators.c
        query = (select(c.period, c.key, c.title, c.numerator, c.denominator, c.value, c.target)
                 .where(c.school_code == MUNICIPAL).order_by(c.period, c.position))
        if until is not None:
            query = query.where(c.period <= until)
        with self.engine.connect() as conn:
            rows = [tuple(r) for r in conn.execute(query)]
        frame = pd.DataFrame(rows, columns=HISTORY_COLUMNS)
        for col in ("numerator", "denominator", "value", "target"):
            frame[col] = frame[col].astype(float)
        return frame

    def figures(self, period: str) -> pd.DataFrame:
        """The federal table saved for a period (empty if none), as sync.figures builds it."""
        c = figures_table.c
        query = (select(c.row_key, c.section, c.label, c.oo, c.spo, c.do_, c.total)
                 .where(c.period == period).order_by(c.position))
        with self.engine.connect() as conn:
            rows = [tuple(r) for r in conn.execute(query)]
        frame = pd.DataFrame(rows, columns=FIGURE_COLUMNS)
        for col in _FIGURE_DB:
            frame[col] = frame[col].astype("int64")
        return frame

    def schools(self, period: str) -> pd.DataFrame:
        """The per-school rows of a period (status, counts, where the file came from)."""
        with self.engine.connect() as conn:
            result = conn.execute(select(school_periods)
                                  .where(school_periods.c.period == period)
                                  .order_by(school_periods.c.school_code))
            return pd.DataFrame([tuple(r) for r in result], columns=list(result.keys()))

    def run_log(self) -> pd.DataFrame:
        """The log of every saved run, oldest first."""
        with self.engine.connect() as conn:
            result = conn.execute(select(runs).order_by(runs.c.id))
            return pd.DataFrame([tuple(r) for r in result], columns=list(result.keys()))


# -- rows of one period -------------------------------------------------------------------
def _school_rows(cons: Consolidation) -> list[dict[str, Any]]:
    rows = []
    for s in cons.schools:
        f, counts = s.fetched, s.counts
        rows.append({
            "period": cons.period, "school_code": s.code, "name": s.entry.name,
            "org_type": s.entry.org_type, "status": s.status.value, "reason": s.reason,
            "origin": f.origin, "sha256": f.sha256, "fetched_at": _utc(f.fetched_at),
            "errors": _int(s.report.errors) if s.report is not None else None,
            "warnings": _int(s.report.warnings) if s.report is not None else None,
            **{k: _int(counts.get(k)) for k in ("mentors", "mentees", "pairs", "active_pairs")},
        })
    return rows


def _indicator_rows(cons: Consolidation) -> list[dict[str, Any]]:
    rows = []
    groups = [(s.code, s.indicators) for s in cons.schools] + [(MUNICIPAL, cons.municipal)]
    for code, values in groups:
        for position, v in enumerate(values):
            rows.append({
                "period": cons.period, "school_code": code, "key": v.key, "position": position,
                "title": v.title, "numerator": float(v.numerator),
                "denominator": float(v.denominator), "value": _float(v.value),
                "target": _float(v.target), "target_is_default": bool(v.target_is_default)})
    return rows


def _snapshot_rows(cons: Consolidation) -> list[dict[str, Any]]:
    rows = []
    snaps = snapshots_of(cons)
    for s in cons.schools:
        snap = snaps[s.code]
        for kind, items in (("pair", snap.open_pairs), ("participant", snap.participants)):
            rows.extend({"period": cons.period, "school_code": s.code, "kind": kind,
                         "item_id": str(item)} for item in sorted(items, key=str))
    return rows


def _figure_rows(period: str, figures: pd.DataFrame) -> list[dict[str, Any]]:
    missing = [c for c in FIGURE_COLUMNS if c not in figures.columns]
    if missing:
        raise ValueError(f"figures table lacks columns {missing}")
    rows = []
    for position, rec in enumerate(figures[FIGURE_COLUMNS].itertuples(index=False)):
        row = dict(zip(FIGURE_COLUMNS, rec, strict=True))
        rows.append({"period": period, "row_key": str(row["row_key"]), "position": position,
                     "section": str(row["section"]), "label": str(row["label"]),
                     **{db: int(row[col]) for col, db in _FIGURE_DB.items()}})
    return rows
