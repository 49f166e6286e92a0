"""A throwaway PostgreSQL server for tests and benchmarks: initdb and pg_ctl on a temporary
directory, trust authentication on 127.0.0.1, stopped and removed at the end.

``postgres_server()`` raises ``PostgresUnavailable`` (with the reason) where no server can be
started here; the pytest fixtures in conftest.py turn that into a skip, or a failure when
REQUIRE_POSTGRES is set.
"""

from __future__ import annotations

import glob
import importlib.util
import os
import pwd
import re
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import URL


class PostgresUnavailable(Exception):
    """No PostgreSQL server can be started on this machine; the message says why."""


def _pg_bindir() -> Path | None:
    exe = shutil.which("pg_ctl")
    if exe and (Path(exe).resolve().parent / "initdb").exists():
        return Path(exe).resolve().parent
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"),
                   key=lambda p: int(re.sub(r"\D", "", p.split("/")[4]) or 0))
    return Path(found[-1]).parent if found else None


def pg_driver() -> str | None:
    """The SQLAlchemy driver name of an installed PostgreSQL driver."""
    for module, driver in (("psycopg", "postgresql+psycopg"), ("pg8000", "postgresql+pg8000")):
        if importlib.util.find_spec(module) is not None:
            return driver
    return None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _has_user(name: str) -> bool:
    try:
        pwd.getpwnam(name)
    except KeyError:
        return False
    return True


@contextmanager
def postgres_server() -> Iterator[URL]:
    """URL of a throwaway PostgreSQL server on 127.0.0.1 (trust auth), stopped at the end."""
    bindir = _pg_bindir()
    if bindir is None:
        raise PostgresUnavailable("no initdb/pg_ctl on PATH or in /usr/lib/postgresql/*/bin "
                                  "(apt-get install postgresql)")
    driver = pg_driver()
    if driver is None:
        raise PostgresUnavailable("no PostgreSQL driver for SQLAlchemy "
                                  "(pip install 'psycopg[binary]')")
    prefix: list[str] = []
    base = Path(tempfile.mkdtemp(prefix="nastavnik-pg-", dir="/tmp"))
    if os.geteuid() == 0:  # the server refuses to run as root
        user = next((u for u in ("postgres", "nobody") if _has_user(u)), None)
        if user is None or shutil.which("runuser") is None:
            shutil.rmtree(base, ignore_errors=True)
            raise PostgresUnavailable("running as root with no 'postgres'/'nobody' user or "
                                      "no runuser")
        entry = pwd.getpwnam(user)
        os.chown(base, entry.pw_uid, entry.pw_gid)
        prefix = ["runuser", "-u", user, "--"]
    data, log, port = base / "data", base / "server.log", _free_port()

    def run(*cmd: str, timeout: int = 120) -> subprocess.CompletedProcess:
        return subprocess.run([*prefix, *cmd], capture_output=True, text=True, timeout=timeout,
                              stdin=subprocess.DEVNULL)

    t0 = time.monotonic()
    proc = run(str(bindir / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust",
               "-E", "UTF8", "--no-locale", "--no-sync")
    if proc.returncode != 0:
        shutil.rmtree(base, ignore_errors=True)
        raise PostgresUnavailable(f"initdb failed (rc={proc.returncode}): "
                                  f"{proc.stderr.strip()[-500:]}")
    options = (f"-k {base} -p {port} -c listen_addresses=127.0.0.1 -c fsync=off "
               "-c full_page_writes=off -c synchronous_commit=off")
    proc = run(str(bindir / "pg_ctl"), "-D", str(data), "-l", str(log), "-o", options,
               "-w", "-t", "60", "start")
    if proc.returncode != 0:
        tail = log.read_text(errors="replace")[-800:] if log.exists() else proc.stderr
        shutil.rmtree(base, ignore_errors=True)
        raise PostgresUnavailable(f"pg_ctl start failed (rc={proc.returncode}): "
                                  f"{tail.strip()}")
    url = URL.create(driver, username="postgres", host="127.0.0.1", port=port,
                     database="postgres")
    print(f"PostgreSQL ({bindir}) started in {time.monotonic() - t0:.1f} s on port {port}")
    _CONTROL[port] = (lambda: run(str(bindir / "pg_ctl"), "-D", str(data), "-m", "fast", "-w",
                                  "stop", timeout=60),
                      lambda: run(str(bindir / "pg_ctl"), "-D", str(data), "-l", str(log),
                                  "-o", options, "-w", "-t", "60", "start"))
    try:
        yield url
    finally:
        _CONTROL.pop(port, None)
        run(str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop",
            timeout=60)
        shutil.rmtree(base, ignore_errors=True)


#: port -> (stop, start) of each server postgres_server() runs.
_CONTROL: dict = {}


def stop_server(url: URL) -> None:
    """Stop a server of postgres_server() (its data kept): «the regional database is down»."""
    proc = _CONTROL[url.port][0]()
    assert proc.returncode == 0, proc.stderr


def start_server(url: URL) -> None:
    """Start a server stopped by stop_server() again, on the same port."""
    proc = _CONTROL[url.port][1]()
    assert proc.returncode == 0, proc.stderr


@contextmanager
def fresh_database(server: URL, prefix: str = "t") -> Iterator[URL]:
    """A new empty database on ``server``, dropped (connections and all) at the end."""
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    admin = create_engine(server, isolation_level="AUTOCOMMIT", pool_pre_ping=True)
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        yield server.set(database=name)
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
    finally:
        admin.dispose()
