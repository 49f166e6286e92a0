"""Drop ``school_results``: the results a re-sync reuses hold names, so they live in a file
beside the master workbook (``sync/result_cache.py``), never in the history store.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_table("school_results")


def downgrade() -> None:
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
