"""Alembic environment of the history store.

``Store`` runs the migrations itself (``sync.store.migrate``) and hands its open connection
in ``config.attributes["connection"]``, so the upgrade shares the caller's transaction (and,
on PostgreSQL, its advisory lock). Without one, the URL of ``sqlalchemy.url`` is used.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine

config = context.config


def _run(connection) -> None:  # noqa: ANN001 (a SQLAlchemy Connection)
    context.configure(connection=connection, target_metadata=None)
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():  # `alembic upgrade head --sql`: the SQL for a database admin
    context.configure(url=config.get_main_option("sqlalchemy.url"), literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()
elif (shared := config.attributes.get("connection")) is not None:
    _run(shared)
else:
    engine = create_engine(config.get_main_option("sqlalchemy.url"))
    try:
        with engine.begin() as conn:
            _run(conn)
    finally:
        engine.dispose()
