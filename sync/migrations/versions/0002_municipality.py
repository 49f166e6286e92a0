"""Municipality in every key, the municipalities table, and per-school results for re-syncs.

Every stored period is kept: rows written before this revision belong to the municipality
with the empty code ``''`` (a single-municipality store, as the first release wrote it).
Primary keys change, which SQLite cannot alter in place, so each keyed table is rebuilt:
created under a new name, filled from the old one, the old dropped, the new renamed.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

#: The code of rows written before municipalities were kept.
LEGACY = ""


def _school_periods() -> list[sa.Column]:
    return [
        sa.Column("school_code", sa.String, nullable=False),
        sa.Column("name", sa.String),
        sa.Column("org_type", sa.String),
        sa.Column("status", sa.String, nullable=False),
        sa.Column("reason", sa.String),
        sa.Column("origin", sa.String),
        sa.Column("sha256", sa.String),
        sa.Column("fetched_at", sa.DateTime),
        sa.Column("errors", sa.Integer),
        sa.Column("warnings", sa.Integer),
        sa.Column("mentors", sa.Integer),
        sa.Column("mentees", sa.Integer),
        sa.Column("pairs", sa.Integer),
        sa.Column("active_pairs", sa.Integer),
    ]


def _indicators() -> list[sa.Column]:
    return [
        sa.Column("school_code", sa.String, nullable=False),
        sa.Column("key", sa.String, nullable=False),
        sa.Column("position", sa.Integer, nullable=False),
        sa.Column("title", sa.String, nullable=False),
        sa.Column("numerator", sa.Float, nullable=False),
        sa.Column("denominator", sa.Float, nullable=False),
        sa.Column("value", sa.Float),
        sa.Column("target", sa.Float),
        sa.Column("target_is_default", sa.Boolean, nullable=False),
    ]


def _snapshots() -> list[sa.Column]:
    return [
        sa.Column("school_code", sa.String, nullable=False),
        sa.Column("kind", sa.String, nullable=False),
        sa.Column("item_id", sa.String, nullable=False),
    ]


def _figures() -> list[sa.Column]:
    return [
        sa.Column("row_key", sa.String, nullable=False),
        sa.Column("position", sa.Integer, nullable=False),
        sa.Column("section", sa.String, nullable=False),
        sa.Column("label", sa.String, nullable=False),
        sa.Column("oo", sa.Integer, nullable=False),
        sa.Column("spo", sa.Integer, nullable=False),
        sa.Column("do_", sa.Integer, nullable=False),
        sa.Column("total", sa.Integer, nullable=False),
    ]


#: table -> (columns after municipality and period, the rest of the primary key)
KEYED = {
    "school_periods": (_school_periods, ["school_code"]),
    "indicators": (_indicators, ["school_code", "key"]),
    "snapshots": (_snapshots, ["school_code", "kind", "item_id"]),
    "figures": (_figures, ["row_key"]),
}


def _rebuild(name: str, columns: list[sa.Column], key: list[str], *, with_municipality: bool,
             where_legacy: bool) -> None:
    """Replace table ``name`` by one with ``columns`` and primary key ``key``, rows copied."""
    new = f"{name}__new"
    op.create_table(new, *columns, sa.PrimaryKeyConstraint(*key, name=f"pk_{name}"))
    names = [c.name for c in columns if c.name != "municipality"]
    old = sa.table(name, *(sa.column(n) for n in names),
                   *([sa.column("municipality")] if where_legacy else []))
    target = sa.table(new, *(sa.column(c.name) for c in columns))
    select = sa.select(*([sa.literal(LEGACY)] if with_municipality else []),
                       *(old.c[n] for n in names))
    if where_legacy:
        select = select.where(old.c.municipality == LEGACY)
    into = (["municipality"] if with_municipality else []) + names
    op.execute(sa.insert(target).from_select(into, select))
    op.drop_table(name)
    op.rename_table(new, name)


def upgrade() -> None:
    op.create_table(
        "municipalities",
        sa.Column("code", sa.String, primary_key=True),
        sa.Column("name", sa.String, nullable=False, server_default=""),
        sa.Column("updated_at", sa.DateTime),
    )
    op.add_column("runs", sa.Column("municipality", sa.String, nullable=False,
                                    server_default=LEGACY))
    op.create_index("ix_runs_municipality_period", "runs", ["municipality", "period"])
    for name, (columns, rest) in KEYED.items():
        _rebuild(name, [sa.Column("municipality", sa.String, nullable=False),
                        sa.Column("period", sa.String, nullable=False), *columns()],
                 ["municipality", "period", *rest], with_municipality=True,
                 where_legacy=False)
    op.create_index("ix_school_periods_period", "school_periods", ["period"])
    op.create_index("ix_indicators_period_school", "indicators", ["period", "school_code"])
    op.create_index("ix_figures_period", "figures", ["period"])
    op.execute(sa.text("INSERT INTO municipalities (code, name) SELECT DISTINCT municipality, '' "
                       "FROM runs"))
    op.create_table(
        "school_results",
        sa.Column("municipality", sa.String, nullable=False),
        sa.Column("period", sa.String, nullable=False),
        sa.Column("school_code", sa.String, nullable=False),
        sa.Column("sha256", sa.String, nullable=False),
        sa.Column("engine_version", sa.String, nullable=False),
        sa.Column("payload", sa.LargeBinary, nullable=False),
        sa.Column("saved_at", sa.DateTime, nullable=False),
        sa.PrimaryKeyConstraint("municipality", "period", "school_code",
                                name="pk_school_results"),
    )


def downgrade() -> None:
    """Back to one municipality: only the rows of the legacy code ``''`` are kept."""
    op.drop_table("school_results")
    op.drop_index("ix_figures_period", "figures")
    op.drop_index("ix_indicators_period_school", "indicators")
    op.drop_index("ix_school_periods_period", "school_periods")
    for name, (columns, rest) in KEYED.items():
        _rebuild(name, [sa.Column("period", sa.String, nullable=False), *columns()],
                 ["period", *rest], with_municipality=False, where_legacy=True)
    op.execute(sa.text("DELETE FROM runs WHERE municipality <> ''"))
    op.drop_index("ix_runs_municipality_period", "runs")
    with op.batch_alter_table("runs") as batch:
        batch.drop_column("municipality")
    op.drop_table("municipalities")
