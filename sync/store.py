"""History of sync runs: schools, indicators, snapshots and federal figures per municipality
and period, and per-school results for incremental re-syncs.

SQLite by default (a file next to the master workbook, one municipality), PostgreSQL or any other
SQLAlchemy database by URL (a region: every municipality in one database). SQLAlchemy Core only;
portable column types, so one schema serves both. The schema is kept by Alembic migrations
(``sync/migrations``), applied when a store is opened: a store written by an older release is
upgraded in place and keeps every period it holds.

Every row is keyed by the municipality (its code, e.g. ОКТМО; ``''`` for a store of one
municipality without a code, as the first release wrote it), the period and the school. A
``Store`` is opened for one municipality: it writes and reads that municipality's rows only. The
``region_*`` readers see every municipality (``sync.region``).

A period is saved whole in one transaction: a row in ``runs`` (an append-only log of every run),
and this municipality's rows of ``school_periods``, ``indicators``, ``snapshots`` and ``figures``
for the period, deleted and inserted again, so re-running a period replaces it and leaves other
periods and other municipalities alone. The save first upserts the municipality's row of
``municipalities``, which on PostgreSQL locks it until the transaction ends: two runs of one
municipality take turns, runs of different municipalities proceed side by side. The caller can
pass its own connection (``Store.transaction()``) to save the period and write the master
workbook as one unit: if the master write fails, the period is rolled back.

No personal data is stored: people appear only as school-local IDs (``Н-001``, ``У-001``) in
``snapshots``; names and birth dates stay in the school workbooks (and in the results a
re-sync reuses, kept beside the master workbook: ``sync/result_cache.py``).

Times are stored as naive UTC datetimes (SQLite keeps no time zone).
"""

from __future__ import annotations

import importlib
import importlib.util
from collections.abc import Collection, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any

import pandas as pd
from sqlalchemy import (
    Boolean,
    Column,
    Connection,
    DateTime,
    Engine,
    Float,
    Index,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    case,
    create_engine,
    delete,
    func,
    insert,
    inspect,
    select,
    text,
    update,
)
from sqlalchemy.engine import URL, make_url

from sync import rls
from sync.consolidate import Consolidation, Snapshot, python_values
from sync.figures import COLUMNS as FIGURE_COLUMNS
from sync.figures import ORG_TYPES, TOTAL
from sync.joined import join_runs

#: school_code of the municipal rows of ``indicators``.
MUNICIPAL = "*"
#: The municipality code of a store kept for one municipality without a code.
NO_CODE = ""
HISTORY_COLUMNS = ["period", "key", "title", "numerator", "denominator", "value", "target"]
#: figures table column -> store column (``do`` is an SQL keyword).
_FIGURE_DB = {"ОО": "oo", "СПО": "spo", "ДО": "do_", TOTAL: "total"}
assert set(_FIGURE_DB) == {*ORG_TYPES, TOTAL}, "sync.figures changed its columns"
MIGRATIONS = Path(__file__).with_name("migrations")
#: Key of the PostgreSQL advisory lock held while the schema is checked and upgraded.
_MIGRATION_LOCK = 0x6E617374  # "nast"

metadata = MetaData()

municipalities = Table(
    "municipalities", metadata,
    Column("code", String, primary_key=True),
    Column("name", String, nullable=False, server_default=""),
    Column("updated_at", DateTime),
)

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
    Column("municipality", String, nullable=False, server_default=NO_CODE),
    #: Who ran it: the staff login of the workspace, '' for `nastavnik sync` (0005).
    Column("actor", String, nullable=False, server_default=""),
    Index("ix_runs_period", "period"),
    Index("ix_runs_municipality_period", "municipality", "period"),
)

school_periods = Table(
    "school_periods", metadata,
    Column("municipality", String, nullable=False),
    Column("period", String, nullable=False),
    Column("school_code", String, nullable=False),
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
    PrimaryKeyConstraint("municipality", "period", "school_code", name="pk_school_periods"),
    Index("ix_school_periods_period", "period"),
)

indicators = Table(
    "indicators", metadata,
    Column("municipality", String, nullable=False),
    Column("period", String, nullable=False),
    Column("school_code", String, nullable=False),  # MUNICIPAL for the municipality
    Column("key", String, nullable=False),
    Column("position", Integer, nullable=False),  # order of the indicator in the run
    Column("title", String, nullable=False),
    Column("numerator", Float, nullable=False),
    Column("denominator", Float, nullable=False),
    Column("value", Float),
    Column("target", Float),
    Column("target_is_default", Boolean, nullable=False),
    PrimaryKeyConstraint("municipality", "period", "school_code", "key", name="pk_indicators"),
    Index("ix_indicators_period_school", "period", "school_code"),
)

#: One row per school and kind of item: a city's period is 6,000 rows, not 375,000 (written
#: and read back each month). The primary key leads with (municipality, period), so it is also
#: the index of a run.
snapshots = Table(
    "snapshots", metadata,
    Column("municipality", String, nullable=False),
    Column("period", String, nullable=False),
    Column("school_code", String, nullable=False),
    Column("kind", String, nullable=False),  # pair, mentor, mentee (participant: before roles)
    #: The IDs, one per line (an ID holds no line break: cells are read with their whitespace
    #: collapsed); sorted as this version writes them, in any order as 0004 grouped them.
    Column("items", Text, nullable=False),
    PrimaryKeyConstraint("municipality", "period", "school_code", "kind", name="pk_snapshots"),
)

figures_table = Table(
    "figures", metadata,
    Column("municipality", String, nullable=False),
    Column("period", String, nullable=False),
    Column("row_key", String, nullable=False),
    Column("position", Integer, nullable=False),  # row order of the federal table
    Column("section", String, nullable=False),
    Column("label", String, nullable=False),
    Column("oo", Integer, nullable=False),
    Column("spo", Integer, nullable=False),
    Column("do_", Integer, nullable=False),
    Column("total", Integer, nullable=False),
    PrimaryKeyConstraint("municipality", "period", "row_key", name="pk_figures"),
    Index("ix_figures_period", "period"),
)

PERIOD_TABLES = (school_periods, indicators, snapshots, figures_table)

#: Which PostgreSQL role may touch which municipality's rows (`nastavnik region grant`, 0005):
#: the row-level-security policies of every table with rows read it (see sync/rls.py).
role_municipalities = Table(
    "role_municipalities", metadata,
    Column("role", String, primary_key=True),
    Column("municipality_code", String, nullable=False, server_default=NO_CODE),
    Column("regional", Boolean, nullable=False, server_default="0"),
)


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


# -- the schema ------------------------------------------------------------------------------
#: The newest revision of the migrations shipped with this release (`head_revision`; a test
#: keeps the two equal): a store already at it opens without importing Alembic, which costs
#: a quarter of a second of every run.
HEAD_REVISION = "0005"
_VERSION_TABLE = "alembic_version"


def _alembic_config(conn: Connection | None = None) -> Any:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    if conn is not None:
        cfg.attributes["connection"] = conn
    return cfg


@cache
def head_revision() -> str:
    """The newest revision of the migrations in MIGRATIONS (read by Alembic)."""
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(_alembic_config()).get_current_head()
    assert head is not None, f"no migrations in {MIGRATIONS}"
    return head


#: The revision whose tables the first release created without Alembic.
FIRST_RELEASE = "0001"


def migrate(engine: Engine) -> None:
    """Bring the database's schema to HEAD_REVISION; every stored row is kept.

    An empty database gets every table (`_create_at_head`); a store written before
    migrations existed (its tables, no ``alembic_version``) is stamped as the first
    release's revision and upgraded.
    On PostgreSQL an advisory lock makes concurrent openers take turns: the first upgrades,
    the others find the schema current.
    """
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(select(func.pg_advisory_xact_lock(_MIGRATION_LOCK)))
        schema = inspect(conn)
        current = (conn.scalar(text(f"SELECT version_num FROM {_VERSION_TABLE}"))
                   if schema.has_table(_VERSION_TABLE) else None)
        if current == HEAD_REVISION:
            return
        if current is None and not schema.get_table_names():
            _create_at_head(conn)
            return
        from alembic import command

        cfg = _alembic_config(conn)
        if current is None and schema.has_table(runs.name):
            command.stamp(cfg, FIRST_RELEASE)
        command.upgrade(cfg, "head")
        if conn.dialect.name == "postgresql":
            rls.protect(conn)  # the policies follow every table a migration added


def _create_at_head(conn: Connection) -> None:
    """An empty database gets the tables of the code, stamped at HEAD_REVISION (Alembic's
    «create_all, then stamp»: a first sync saves importing Alembic and replaying every
    migration; a test keeps the migrations' schema equal to this one)."""
    metadata.create_all(conn)
    version = Table(_VERSION_TABLE, MetaData(), Column("version_num", String(32), nullable=False),
                    PrimaryKeyConstraint("version_num", name=f"{_VERSION_TABLE}_pkc"))
    version.create(conn)
    conn.execute(insert(version).values(version_num=HEAD_REVISION))
    if conn.dialect.name == "postgresql":
        rls.install(conn)


class Store:
    """The history database of one municipality (a SQLite file, or its rows in a regional
    database given by URL); the ``region_*`` readers see every municipality."""

    def __init__(self, url: str | URL, municipality: str = NO_CODE):
        self.url = normalize_url(url)
        self.municipality = municipality_code(municipality)
        # a regional server outlives restarts of its database: test pooled connections
        remote = self.url.get_backend_name() != "sqlite"
        self.engine = create_engine(self.url, pool_pre_ping=remote)
        migrate(self.engine)

    @classmethod
    def for_master(cls, master: Path, url: str | None = None,
                   municipality: str = NO_CODE) -> Store:
        """The store given by ``url``, else a SQLite file next to the master workbook."""
        if url:
            return cls(url, municipality)
        path = Path(master).resolve().with_suffix(".history.sqlite")
        return cls(URL.create("sqlite", database=str(path)), municipality)

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return (f"Store({self.url.render_as_string(hide_password=True)!r}, "
                f"municipality={self.municipality!r})")

    # -- writing ------------------------------------------------------------------------
    @contextmanager
    def transaction(self) -> Iterator[Connection]:
        """One transaction: committed when the block ends, rolled back if it raises."""
        with self.engine.begin() as conn:
            yield conn

    def save_period(self, cons: Consolidation, figures: pd.DataFrame, *, run_started: datetime,
                    registry: str, conn: Connection | None = None,
                    unchanged: Collection[str] = (), actor: str = "") -> int:
        """Record one run and replace this municipality's rows of the period; returns the run id.

        With ``conn`` (from ``transaction()``) the caller commits or rolls back; without it
        the save is its own transaction. ``unchanged``: schools whose items this period's
        latest run (`last_run`) stored exactly as ``cons`` has them; their rows are kept.
        """
        if conn is None:
            with self.transaction() as own:
                return self.save_period(cons, figures, run_started=run_started,
                                        registry=registry, conn=own, unchanged=unchanged,
                                        actor=actor)
        muni, period = self.municipality, cons.period
        _claim(conn, muni, cons.municipality)  # first: the lock that serializes this municipality
        accepted = len(cons.accepted)
        run_id = conn.execute(insert(runs).values(
            municipality=muni, period=period, started_at=_utc(run_started),
            finished_at=_utc(datetime.now(UTC)), registry=str(registry),
            schools=len(cons.schools), accepted=accepted,
            rejected=len(cons.schools) - accepted, actor=actor)).inserted_primary_key[0]
        for table in PERIOD_TABLES:
            if table is not snapshots:
                conn.execute(delete(table).where(table.c.municipality == muni,
                                                 table.c.period == period))
        _replace_snapshots(conn, muni, cons, unchanged)
        for table, rows in ((school_periods, _school_rows(cons)),
                            (indicators, _indicator_rows(cons)),
                            (figures_table, _figure_rows(period, figures))):
            if isinstance(rows, pd.DataFrame):
                _insert_many(conn, table, rows.assign(municipality=muni))
            elif rows:
                _insert_many(conn, table, [{"municipality": muni, **r} for r in rows])
        return int(run_id)

    def receive_period(self, sent: SentPeriod) -> bool:
        """Store a period another store of this municipality saved (the workspace delivers
        its local history to the region): the run and the period's rows, in one transaction.
        False, and nothing written, when this run (or a later one of the period) is already
        here: a delivery repeated after a failure never stores the period twice."""
        r = runs.c
        with self.transaction() as conn:
            _claim(conn, self.municipality, sent.name)  # the municipality's lock, as a save
            later = conn.scalar(select(func.count()).select_from(runs).where(
                self._mine(runs), r.period == sent.period,
                r.started_at >= sent.run["started_at"]))
            if later:
                return False
            conn.execute(insert(runs).values(
                {**{k: v for k, v in sent.run.items() if k != "id"},
                 "municipality": self.municipality}))
            for table in PERIOD_TABLES:
                conn.execute(delete(table).where(self._mine(table),
                                                 table.c.period == sent.period))
                rows = [{**row, "municipality": self.municipality}
                        for row in sent.tables.get(table.name, [])]
                if rows:
                    _insert_many(conn, table, rows)
        return True

    def sent_period(self, period: str) -> SentPeriod | None:
        """This municipality's latest run of a period and its rows (for `receive_period`)."""
        r = runs.c
        with self.engine.connect() as conn:
            run = conn.execute(select(runs).where(self._mine(runs), r.period == period)
                               .order_by(r.id.desc()).limit(1)).mappings().first()
            if run is None:
                return None
            name = conn.scalar(select(municipalities.c.name).where(
                municipalities.c.code == self.municipality)) or ""
            tables = {t.name: [dict(row) for row in conn.execute(select(t).where(
                self._mine(t), t.c.period == period)).mappings()] for t in PERIOD_TABLES}
        return SentPeriod(period, name, dict(run), tables)

    # -- reading (this municipality) -----------------------------------------------------
    def last_run(self, period: str) -> str | None:
        """The `run_token` of the latest saved run of a period."""
        r = runs.c
        with self.engine.connect() as conn:
            found = conn.execute(select(r.id, r.started_at).where(
                self._mine(runs), r.period == period).order_by(r.id.desc()).limit(1)).first()
        return None if found is None else run_token(*found)

    def _mine(self, table: Table) -> Any:
        return table.c.municipality == self.municipality

    def periods(self) -> list[str]:
        """Every period that has a saved run, oldest first."""
        with self.engine.connect() as conn:
            return list(conn.scalars(
                select(runs.c.period).where(self._mine(runs)).distinct()
                .order_by(runs.c.period)))

    def latest_period_of_year(self, year: int) -> str | None:
        """The last saved period of a calendar year (the federal form takes its data there)."""
        lo, hi = f"{year:04d}-", f"{year + 1:04d}-"
        with self.engine.connect() as conn:
            return conn.scalar(select(func.max(runs.c.period)).where(
                self._mine(runs), runs.c.period >= lo, runs.c.period < hi))

    def previous_period(self, period: str) -> str | None:
        """The latest saved period strictly before ``period``."""
        with self.engine.connect() as conn:
            return conn.scalar(select(func.max(runs.c.period))
                               .where(self._mine(runs), runs.c.period < period))

    def previous_snapshots(self, period: str) -> dict[str, Snapshot]:
        """What the latest period before ``period`` remembered of every school."""
        before = self.previous_period(period)
        if before is None:
            return {}
        sp, sn = school_periods.c, snapshots.c
        with self.engine.connect() as conn:
            out = {code: Snapshot(status=status) for code, status in conn.execute(
                select(sp.school_code, sp.status)
                .where(self._mine(school_periods), sp.period == before))}
            for code, kind, items in conn.execute(
                    select(sn.school_code, sn.kind, sn["items"])
                    .where(self._mine(snapshots), sn.period == before)):
                snap = out.setdefault(code, Snapshot(status=""))
                ids = items.split(ITEM_SEPARATOR)
                if kind in _ROLE_OF_KIND:
                    snap.people.update((_ROLE_OF_KIND[kind], i) for i in ids)
                    snap.participants.update(ids)
                else:
                    (snap.open_pairs if kind == "pair" else snap.participants).update(ids)
        return out

    def history(self, until: str | None = None) -> pd.DataFrame:
        """Municipal indicators of every saved period (up to ``until``), by period."""
        c = indicators.c
        query = (select(c.period, c.key, c.title, c.numerator, c.denominator, c.value, c.target)
                 .where(self._mine(indicators), c.school_code == MUNICIPAL)
                 .order_by(c.period, c.position))
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
        return self._figures(self._mine(figures_table), figures_table.c.period == period)

    def _figures(self, *where: Any) -> pd.DataFrame:
        c = figures_table.c
        query = (select(c.row_key, c.section, c.label, c.oo, c.spo, c.do_, c.total)
                 .where(*where).order_by(c.position))
        with self.engine.connect() as conn:
            rows = [tuple(r) for r in conn.execute(query)]
        frame = pd.DataFrame(rows, columns=FIGURE_COLUMNS)
        for col in _FIGURE_DB:
            frame[col] = frame[col].astype("int64")
        return frame

    def schools(self, period: str) -> pd.DataFrame:
        """The per-school rows of a period (status, counts, where the file came from)."""
        return self._frame(select(school_periods).where(
            self._mine(school_periods), school_periods.c.period == period)
            .order_by(school_periods.c.school_code))

    def run_log(self) -> pd.DataFrame:
        """The log of every saved run of this municipality, oldest first."""
        return self._frame(select(runs).where(self._mine(runs)).order_by(runs.c.id))

    def _frame(self, query: Any) -> pd.DataFrame:
        with self.engine.connect() as conn:
            result = conn.execute(query)
            return pd.DataFrame([tuple(r) for r in result], columns=list(result.keys()))

    # -- reading (the region) ------------------------------------------------------------
    def region_municipalities(self) -> pd.DataFrame:
        """Every municipality that ever saved a run: code, name, first and last period."""
        m, r = municipalities.c, runs.c
        return self._frame(
            select(m.code, m.name, func.min(r.period).label("first_period"),
                   func.max(r.period).label("last_period"))
            .join_from(municipalities, runs, r.municipality == m.code)
            .group_by(m.code, m.name).order_by(m.code))

    def region_runs(self, period: str) -> pd.DataFrame:
        """The latest run of each municipality that synced ``period``."""
        r = runs.c
        latest = (select(func.max(r.id)).where(r.period == period)
                  .group_by(r.municipality).scalar_subquery())
        return self._frame(select(runs).where(r.id.in_(latest)).order_by(r.municipality))

    def region_history(self, until: str | None = None) -> pd.DataFrame:
        """Municipal indicator rows of every municipality and period (up to ``until``)."""
        c = indicators.c
        query = (select(c.municipality, *[c[k] for k in HISTORY_COLUMNS])
                 .where(c.school_code == MUNICIPAL).order_by(c.period, c.municipality,
                                                             c.position))
        if until is not None:
            query = query.where(c.period <= until)
        frame = self._frame(query)
        for col in ("numerator", "denominator", "value", "target"):
            frame[col] = frame[col].astype(float)
        return frame

    def region_schools(self, period: str) -> pd.DataFrame:
        """Every municipality's per-school rows of a period."""
        c = school_periods.c
        return self._frame(select(school_periods).where(c.period == period)
                           .order_by(c.municipality, c.school_code))

    def region_latest_of_year(self, year: int) -> dict[str, str]:
        """municipality -> its last saved period of a calendar year."""
        r = runs.c
        lo, hi = f"{year:04d}-", f"{year + 1:04d}-"
        query = (select(r.municipality, func.max(r.period))
                 .where(r.period >= lo, r.period < hi).group_by(r.municipality))
        with self.engine.connect() as conn:
            return dict(conn.execute(query).all())

    def municipality_figures(self, municipality: str, period: str) -> pd.DataFrame:
        """The federal table one municipality saved for a period (empty if none)."""
        c = figures_table.c
        return self._figures(c.municipality == municipality, c.period == period)


@dataclass
class SentPeriod:
    """One municipality's saved period as rows: its latest run and the period's tables."""

    period: str
    name: str
    run: dict[str, Any]
    tables: dict[str, list[dict[str, Any]]]


def municipality_code(code: str | None) -> str:
    """A municipality code as stored: surrounding spaces dropped, None as no code."""
    return " ".join(str(code or "").split())


def _claim(conn: Connection, code: str, name: str) -> None:
    """Upsert the municipality's row, keeping a known name when this run has none.

    On PostgreSQL the row stays locked until the transaction ends, so two runs of one
    municipality take turns (the second then replaces what the first saved).
    """
    now = _utc(datetime.now(UTC))
    if conn.dialect.name in ("postgresql", "sqlite"):
        dialect = importlib.import_module(f"sqlalchemy.dialects.{conn.dialect.name}")
        stmt = dialect.insert(municipalities).values(code=code, name=name or "", updated_at=now)
        keep = case((stmt.excluded.name != "", stmt.excluded.name),
                    else_=municipalities.c.name)
        conn.execute(stmt.on_conflict_do_update(
            index_elements=[municipalities.c.code],
            set_={"name": keep, "updated_at": stmt.excluded.updated_at}))
        return
    values = {"updated_at": now, **({"name": name} if name else {})}
    done = conn.execute(update(municipalities).where(municipalities.c.code == code)
                        .values(**values))
    if not done.rowcount:
        conn.execute(insert(municipalities).values(code=code, name=name or "", updated_at=now))


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


def _snapshot_rows(cons: Consolidation, only: Collection[str] | None = None) -> pd.DataFrame:
    """What `snapshots` remembers of every school (or of the `only` ones), built over all
    schools at once (a large city has hundreds of thousands of participants)."""
    people, pairs = cons.rows["participants"], cons.rows["pairs"]
    if only is not None:
        people = people[people["school_code"].isin(list(only))]
        pairs = pairs[pairs["school_code"].isin(list(only))]
    people = people[people["person_id"].notna()]
    pairs = pairs[pairs["end_date"].isna() & pairs["pair_id"].notna()]
    items = pd.concat([
        pd.DataFrame({"school_code": pairs["school_code"].to_numpy(dtype=object),
                      "kind": "pair", "item_id": pairs["pair_id"].astype(str).to_numpy()}),
        pd.DataFrame({"school_code": people["school_code"].to_numpy(dtype=object),
                      "kind": people["role"].map(_KIND_OF_ROLE).to_numpy(dtype=object),
                      "item_id": people["person_id"].astype(str).to_numpy()})],
        ignore_index=True)
    items = items.drop_duplicates().sort_values(["school_code", "kind", "item_id"])
    school, kind = items["school_code"].to_numpy(object), items["kind"].to_numpy(object)
    starts, joined = join_runs(items["item_id"].to_numpy(object), school, kind,
                               sep=ITEM_SEPARATOR)
    return pd.DataFrame({"period": cons.period, "school_code": school[starts],
                         "kind": kind[starts], "items": joined.to_numpy(zero_copy_only=False)})


#: Between the IDs of one snapshot row.
ITEM_SEPARATOR = "\n"


#: Schools per DELETE of their snapshot rows (well under any driver's parameter limit).
_DELETE_CHUNK = 500


def _replace_snapshots(conn: Connection, muni: str, cons: Consolidation,
                       unchanged: Collection[str]) -> None:
    """Make the period's snapshot rows those of `cons`. The rows of `unchanged` schools are
    already stored as `cons` has them and stay: a re-sync after 20 of 2,000 schools
    resubmitted rewrote 300,000 rows to change a few thousand."""
    sn = snapshots.c
    mine = (sn.municipality == muni, sn.period == cons.period)
    rewrite = None
    if not unchanged:
        conn.execute(delete(snapshots).where(*mine))
    else:
        stored = set(conn.scalars(select(sn.school_code).where(*mine).distinct()))
        rewrite = sorted((stored | {s.code for s in cons.schools}) - set(unchanged))
        for k in range(0, len(rewrite), _DELETE_CHUNK):
            conn.execute(delete(snapshots).where(
                *mine, sn.school_code.in_(rewrite[k:k + _DELETE_CHUNK])))
    _insert_many(conn, snapshots, _snapshot_rows(cons, rewrite).assign(municipality=muni))


def run_token(run_id: int, started_at: datetime) -> str:
    """What identifies a saved run (its id alone may be reused after a rollback)."""
    return f"{run_id}@{_utc(started_at).isoformat()}"


def _insert_many(conn: Connection, table: Table,
                 rows: list[dict[str, Any]] | pd.DataFrame) -> None:
    """Insert many rows through the driver's executemany: SQLAlchemy's per-row parameter
    processing costs seconds for a city's hundreds of thousands of snapshot rows. A frame of
    text columns goes in as it is."""
    style = conn.dialect.paramstyle
    if isinstance(rows, pd.DataFrame):
        if rows.empty:
            return
        if style not in ("qmark", "format", "pyformat"):
            rows = rows.to_dict("records")
        else:
            columns = list(rows.columns)
            # plain Python values: iterating Arrow-backed text cell by cell costs seconds
            values = [python_values(rows[c]) for c in columns]
            conn.exec_driver_sql(_insert_sql(conn, table, columns, style),
                                 list(zip(*values, strict=True)))
            return
    if style not in ("qmark", "format", "pyformat"):
        conn.execute(insert(table), rows)
        return
    columns = list(rows[0])
    sql = _insert_sql(conn, table, columns, style)
    types = {c.name: c.type for c in table.columns}
    processors = [types[c].bind_processor(conn.dialect) for c in columns]
    conn.exec_driver_sql(sql, [tuple(v if p is None else p(v) for v, p in zip(
        (r[c] for c in columns), processors, strict=True)) for r in rows])


#: Snapshot kinds of people by role (stores before roles were kept wrote «participant»).
_KIND_OF_ROLE = {"наставник": "mentor", "наставляемый": "mentee"}
_ROLE_OF_KIND = {v: k for k, v in _KIND_OF_ROLE.items()}


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


def _insert_sql(conn: Connection, table: Table, columns: list[str], style: str) -> str:
    quote = conn.dialect.identifier_preparer.quote
    mark = "?" if style == "qmark" else "%s"
    return (f"INSERT INTO {quote(table.name)} ({', '.join(quote(c) for c in columns)}) "
            f"VALUES ({', '.join([mark] * len(columns))})")
