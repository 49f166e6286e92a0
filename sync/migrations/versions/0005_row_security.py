"""Row-level security by municipality, and who ran each sync.

``role_municipalities`` maps a PostgreSQL role to the one municipality whose rows it may read
and write (or marks it regional: read everything, write nothing); on PostgreSQL every table
with municipal rows gets the policies of ``sync.rls`` (``nastavnik region grant`` adds roles).
``runs.actor`` keeps the staff login of a run started from the workspace.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from sync import rls

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table("role_municipalities",
                    sa.Column("role", sa.String, primary_key=True),
                    sa.Column("municipality_code", sa.String, nullable=False,
                              server_default=""),
                    sa.Column("regional", sa.Boolean, nullable=False, server_default="0"))
    with op.batch_alter_table("runs") as batch:
        batch.add_column(sa.Column("actor", sa.String, nullable=False, server_default=""))
    if op.get_bind().dialect.name == "postgresql":
        rls.install(op.get_bind())


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        rls.uninstall(op.get_bind())
    with op.batch_alter_table("runs") as batch:
        batch.drop_column("actor")
    op.drop_table("role_municipalities")
