"""Row-level security of a regional PostgreSQL store: each municipal role reads and writes only
its own municipality's rows, the regional role reads everything and writes nothing.

``role_municipalities`` says which role is which (``nastavnik region grant`` fills it). The
function ``nastavnik_protect()`` (installed by migration 0005) walks every table of the schema
that holds rows of a municipality (a ``municipality`` column, or ``municipalities.code``),
enables row-level security on it, (re)creates its two policies and grants each known role what
it may do. ``sync.store.migrate`` calls it after every upgrade, so a table a later migration
adds is protected the moment it exists.

The owner of the tables (who runs the migrations and ``region grant``) is not bound by the
policies (PostgreSQL exempts a table's owner unless FORCE is set); superusers never are.
Nothing here imports the rest of ``sync`` (``sync.store`` imports this module).
"""

from __future__ import annotations

from sqlalchemy import Connection, text

#: The one municipality of the current role ('' none); evaluated once per statement.
_OWN = ("(SELECT m.municipality_code FROM role_municipalities m WHERE m.role = current_user "
        "AND NOT m.regional)")
_REGIONAL = ("EXISTS (SELECT 1 FROM role_municipalities m WHERE m.role = current_user "
             "AND m.regional)")

PROTECT_FUNCTION = f"""
CREATE OR REPLACE FUNCTION nastavnik_protect() RETURNS void LANGUAGE plpgsql AS $body$
DECLARE
    t record;
    r record;
BEGIN
    ALTER TABLE role_municipalities ENABLE ROW LEVEL SECURITY;
    DROP POLICY IF EXISTS nastavnik_self ON role_municipalities;
    CREATE POLICY nastavnik_self ON role_municipalities FOR SELECT
        USING (role = current_user);
    FOR t IN
        SELECT c.table_name, c.column_name
        FROM information_schema.columns c
        JOIN information_schema.tables tb
          ON tb.table_schema = c.table_schema AND tb.table_name = c.table_name
        WHERE c.table_schema = current_schema() AND tb.table_type = 'BASE TABLE'
          AND (c.column_name = 'municipality'
               OR (c.table_name = 'municipalities' AND c.column_name = 'code'))
    LOOP
        EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t.table_name);
        EXECUTE format('DROP POLICY IF EXISTS nastavnik_own ON %I', t.table_name);
        EXECUTE format('CREATE POLICY nastavnik_own ON %I USING (%I = {_OWN}) '
                       'WITH CHECK (%I = {_OWN})', t.table_name, t.column_name,
                       t.column_name);
        EXECUTE format('DROP POLICY IF EXISTS nastavnik_region ON %I', t.table_name);
        EXECUTE format('CREATE POLICY nastavnik_region ON %I FOR SELECT USING ({_REGIONAL})',
                       t.table_name);
        FOR r IN SELECT m.role, m.regional FROM role_municipalities m
                 JOIN pg_roles p ON p.rolname = m.role LOOP
            IF r.regional THEN
                EXECUTE format('GRANT SELECT ON %I TO %I', t.table_name, r.role);
                EXECUTE format('REVOKE INSERT, UPDATE, DELETE, TRUNCATE ON %I FROM %I',
                               t.table_name, r.role);
            ELSE
                EXECUTE format('GRANT SELECT, INSERT, UPDATE, DELETE ON %I TO %I',
                               t.table_name, r.role);
                EXECUTE format('REVOKE TRUNCATE ON %I FROM %I', t.table_name, r.role);
            END IF;
        END LOOP;
    END LOOP;
    FOR r IN SELECT m.role, m.regional FROM role_municipalities m
             JOIN pg_roles p ON p.rolname = m.role LOOP
        EXECUTE format('GRANT SELECT ON alembic_version, role_municipalities TO %I', r.role);
        IF NOT r.regional THEN
            EXECUTE format('GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA %I TO %I',
                           current_schema(), r.role);
        END IF;
    END LOOP;
END
$body$
"""


def install(conn: Connection) -> None:
    """Create ``nastavnik_protect()`` and apply it (migration 0005, and a new store)."""
    conn.execute(text(PROTECT_FUNCTION))
    protect(conn)


def protect(conn: Connection) -> None:
    """Policies and grants on every table with municipal rows (after each upgrade)."""
    if conn.scalar(text("SELECT to_regproc('nastavnik_protect') IS NOT NULL")):
        conn.execute(text("SELECT nastavnik_protect()"))


def uninstall(conn: Connection) -> None:
    """What 0005 adds to a PostgreSQL store, removed (its downgrade)."""
    tables = conn.execute(text(
        "SELECT tablename FROM pg_policies WHERE schemaname = current_schema() "
        "AND policyname IN ('nastavnik_own', 'nastavnik_region', 'nastavnik_self')")).scalars()
    for table in sorted(set(tables)):
        for policy in ("nastavnik_own", "nastavnik_region", "nastavnik_self"):
            conn.execute(text(f'DROP POLICY IF EXISTS {policy} ON "{table}"'))
        conn.execute(text(f'ALTER TABLE "{table}" DISABLE ROW LEVEL SECURITY'))
    conn.execute(text("DROP FUNCTION IF EXISTS nastavnik_protect()"))
