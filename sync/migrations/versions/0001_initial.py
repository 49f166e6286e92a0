"""The store as the first release wrote it (``metadata.create_all``): keyed by period and school.

A store created before migrations existed has these tables and no ``alembic_version``;
``sync.store.migrate`` stamps it with this revision and upgrades from here.

Revision ID: 0001
Revises:
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "runs",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("period", sa.String, nullable=False),
        sa.Column("started_at", sa.DateTime, nullable=False),
        sa.Column("finished_at", sa.DateTime, nullable=False),
        sa.Column("registry", sa.String, nullable=False),
        sa.Column("schools", sa.Integer, nullable=False),
        sa.Column("accepted", sa.Integer, nullable=False),
        sa.Column("rejected", sa.Integer, nullable=False),
    )
    op.create_index("ix_runs_period", "runs", ["period"])
    op.create_table(
        "school_periods",
        sa.Column("period", sa.String, primary_key=True),
        sa.Column("school_code", sa.String, primary_key=True),
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
    )
    op.create_table(
        "indicators",
        sa.Column("period", sa.String, primary_key=True),
        sa.Column("school_code", sa.String, primary_key=True),
        sa.Column("key", sa.String, primary_key=True),
        sa.Column("position", sa.Integer, nullable=False),
        sa.Column("title", sa.String, nullable=False),
        sa.Column("numerator", sa.Float, nullable=False),
        sa.Column("denominator", sa.Float, nullable=False),
        sa.Column("value", sa.Float),
        sa.Column("target", sa.Float),
        sa.Column("target_is_default", sa.Boolean, nullable=False),
    )
    op.create_table(
        "snapshots",
        sa.Column("period", sa.String, primary_key=True),
        sa.Column("school_code", sa.String, primary_key=True),
        sa.Column("kind", sa.String, primary_key=True),
        sa.Column("item_id", sa.String, primary_key=True),
    )
    op.create_table(
        "figures",
        sa.Column("period", sa.String, primary_key=True),
        sa.Column("row_key", sa.String, primary_key=True),
        sa.Column("position", sa.Integer, nullable=False),
        sa.Column("section", sa.String, nullable=False),
        sa.Column("label", sa.String, nullable=False),
        sa.Column("oo", sa.Integer, nullable=False),
        sa.Column("spo", sa.Integer, nullable=False),
        sa.Column("do_", sa.Integer, nullable=False),
        sa.Column("total", sa.Integer, nullable=False),
    )


def downgrade() -> None:
    for table in ("figures", "snapshots", "indicators", "school_periods", "runs"):
        op.drop_table(table)
