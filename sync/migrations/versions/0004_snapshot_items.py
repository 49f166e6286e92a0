"""Snapshots: one row per school and kind, its IDs one per line.

A large city wrote 375,000 snapshot rows a month (one per person and pair) and read them all
back the next month; grouped, it is 6,000 rows. Every stored period is kept: the rows of each
(municipality, period, school, kind) are joined into one, and split again on a downgrade.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-04
"""

from __future__ import annotations

import itertools

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

SEPARATOR = "\n"
KEY = ("municipality", "period", "school_code", "kind")
#: Rows per INSERT on the way down.
CHUNK = 10_000


def _key_columns() -> list[sa.Column]:
    return [sa.Column(name, sa.String, nullable=False) for name in KEY]


def _set_aside(name: str) -> str:
    """Rename table `name` (and, on PostgreSQL, its primary key's index, whose name the new
    table takes) out of the way; return the new name."""
    old = f"{name}__{revision}"
    op.rename_table(name, old)
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"ALTER INDEX pk_{name} RENAME TO pk_{old}")
    return old


def upgrade() -> None:
    old = _set_aside("snapshots")
    op.create_table("snapshots", *_key_columns(), sa.Column("items", sa.Text, nullable=False),
                    sa.PrimaryKeyConstraint(*KEY, name="pk_snapshots"))
    rows = sa.table(old, *(sa.column(n) for n in (*KEY, "item_id")))
    join = (sa.func.string_agg if op.get_bind().dialect.name == "postgresql"
            else sa.func.group_concat)
    grouped = sa.select(*(rows.c[n] for n in KEY),
                        join(rows.c.item_id, sa.literal(SEPARATOR))).group_by(
        *(rows.c[n] for n in KEY))
    target = sa.table("snapshots", *(sa.column(n) for n in (*KEY, "items")))
    op.execute(sa.insert(target).from_select([*KEY, "items"], grouped))
    op.drop_table(old)


def downgrade() -> None:
    old = _set_aside("snapshots")
    op.create_table("snapshots", *_key_columns(), sa.Column("item_id", sa.String, nullable=False),
                    sa.PrimaryKeyConstraint(*KEY, "item_id", name="pk_snapshots"))
    grouped = sa.table(old, *(sa.column(n) for n in (*KEY, "items")))
    target = sa.table("snapshots", *(sa.column(n) for n in (*KEY, "item_id")))
    conn = op.get_bind()
    result = conn.execute(sa.select(*grouped.c)).all()
    rows = ({**dict(zip(KEY, r[:-1], strict=True)), "item_id": item}
            for r in result for item in dict.fromkeys(r[-1].split(SEPARATOR)))
    while chunk := list(itertools.islice(rows, CHUNK)):
        conn.execute(sa.insert(target), chunk)
    op.drop_table(old)
