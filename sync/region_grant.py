"""`nastavnik region grant`: a PostgreSQL role's rights on the regional history, with the
row-level-security policies of ``sync.rls`` that confine a municipal role to its own rows.

Run under the owner of the tables. The schema is brought up to date first (so the policies
exist), the role is recorded in ``role_municipalities`` and ``nastavnik_protect()`` grants it
what it may do on every table that holds rows: SELECT, INSERT, UPDATE, DELETE for a municipal
role (the policies keep it to its municipality), SELECT for the regional one.
"""

from __future__ import annotations

from sqlalchemy import select, text
from sqlalchemy.exc import SQLAlchemyError

from sync import rls
from sync.store import Store, municipality_code, normalize_url, role_municipalities

NOT_POSTGRES_RU = ("Права по муниципалитетам задаются только в базе PostgreSQL (региональная "
                   "база); база SQLite одного муниципалитета в них не нуждается.")
NO_ROLE_RU = ("Учётной записи «{role}» нет на сервере PostgreSQL. Создайте её (например, "
              "CREATE ROLE {role} LOGIN PASSWORD '…';) и повторите.")
NOT_OWNER_RU = ("Права даёт владелец таблиц истории: учётная запись «{user}» им не является "
                "({why}). Выполните команду под владельцем базы.")


class GrantError(Exception):
    """The grant cannot be made (Russian message)."""

    def __init__(self, message_ru: str) -> None:
        super().__init__(message_ru)
        self.message_ru = message_ru


def grant(db_url: str, role: str, *, municipality: str | None = None,
          regional: bool = False) -> str:
    """Record `role` as municipal (its `municipality`) or regional and apply the grants and
    policies; return the Russian line to print."""
    from sync.cli_errors import db_reason

    url = normalize_url(db_url)
    if not url.drivername.startswith("postgresql"):
        raise GrantError(NOT_POSTGRES_RU)
    code = municipality_code(municipality)
    shown = url.render_as_string(hide_password=True)
    try:
        with Store(url) as store, store.transaction() as conn:
            if not conn.scalar(text("SELECT 1 FROM pg_roles WHERE rolname = :r"), {"r": role}):
                raise GrantError(NO_ROLE_RU.format(role=role))
            owner = conn.scalar(text("SELECT pg_get_userbyid(relowner) FROM pg_class "
                                     "WHERE relname = 'runs' AND relkind = 'r'"))
            is_super = conn.scalar(text("SELECT rolsuper FROM pg_roles "
                                        "WHERE rolname = current_user"))
            user = conn.scalar(text("SELECT current_user"))
            if owner != user and not is_super:
                raise GrantError(NOT_OWNER_RU.format(user=user, why=f"владелец — {owner}"))
            _record(conn, role, code, regional)
            rls.protect(conn)
    except GrantError:
        raise
    except (SQLAlchemyError, ImportError) as exc:
        raise GrantError("База истории недоступна: " + db_reason(exc, shown)) from None
    if regional:
        return (f"Роль {role}: чтение строк всех муниципалитетов, без записи (политики строк "
                "на всех таблицах истории).")
    return (f"Роль {role}: чтение и запись только строк муниципалитета «{code}» (политики "
            "строк на всех таблицах истории).")


def _record(conn, role: str, code: str, regional: bool) -> None:  # noqa: ANN001
    t = role_municipalities
    if conn.scalar(select(t.c.role).where(t.c.role == role)) is None:
        conn.execute(t.insert().values(role=role, municipality_code=code, regional=regional))
    else:
        conn.execute(t.update().where(t.c.role == role)
                     .values(municipality_code=code, regional=regional))
