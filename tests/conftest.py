"""Shared fixtures: LibreOffice headless converter, the seeds folder, built templates, a
throwaway PostgreSQL server (tests/pg.py), headless Chromium (Debian's, driven by Playwright)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.pg import PostgresUnavailable, fresh_database, postgres_server

# The xlwings remote engine needs a licence key; educational and public institutions may use
# the noncommercial one. Set before any test imports xlwings.
os.environ.setdefault("XLWINGS_LICENSE_KEY", "noncommercial")

REPO = Path(__file__).resolve().parents[1]
SEEDS = REPO.parent / "shared" / "seeds"

# LibreOffice does not recalculate xlsx files with cached values by default; this profile
# setting makes it recalculate on load, so tests can use it as a formula oracle.
_RECALC_XCU = """<?xml version="1.0" encoding="UTF-8"?>
<oor:items xmlns:oor="http://openoffice.org/2001/registry" xmlns:xs="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
<item oor:path="/org.openoffice.Office.Calc/Formula/Load"><prop oor:name="OOXMLRecalcMode" oor:op="fuse"><value>0</value></prop></item>
<item oor:path="/org.openoffice.Office.Calc/Formula/Load"><prop oor:name="ODFRecalcMode" oor:op="fuse"><value>0</value></prop></item>
</oor:items>
"""


@pytest.fixture(scope="session")
def seeds_dir() -> Path:
    """The real roadmaps of ../shared/seeds; skipped where a clone has no ../shared."""
    if not SEEDS.is_dir():
        pytest.skip(f"no seed roadmaps at {SEEDS} (a user's clone has no ../shared)")
    return SEEDS


@pytest.fixture(scope="session")
def soffice(tmp_path_factory):
    """convert(src, fmt) -> path of the file LibreOffice headless wrote."""
    exe = os.environ.get("SOFFICE") or shutil.which("soffice") or shutil.which("libreoffice")
    if exe is None:
        if os.environ.get("REQUIRE_SOFFICE") or os.environ.get("CI"):
            pytest.fail("LibreOffice (soffice) is required here but was not found on PATH")
        pytest.skip("LibreOffice (soffice) not installed; apt-get install libreoffice-calc-nogui")
    profile = tmp_path_factory.mktemp("lo_profile")
    (profile / "user").mkdir()
    (profile / "user" / "registrymodifications.xcu").write_text(_RECALC_XCU, encoding="utf-8")
    env = dict(os.environ, HOME=str(profile))

    def convert(src: Path, fmt: str = "xlsx") -> Path:
        src = Path(src)
        outdir = tmp_path_factory.mktemp("lo_out")  # never the input's directory
        cmd = [exe, f"-env:UserInstallation={profile.as_uri()}", "--headless", "--norestore",
               "--convert-to", fmt, "--outdir", str(outdir), str(src)]
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=180, env=env)
        out = outdir / f"{src.stem}.{fmt.split(':')[0]}"
        if not out.exists():  # soffice can exit 0 on failure
            raise AssertionError(f"soffice produced no {out.name} (rc={proc.returncode})\n"
                                 f"{proc.stdout}\n{proc.stderr}")
        return out

    return convert


@pytest.fixture(scope="module")
def browser():
    """Debian's headless Chromium under Playwright (no browser download); failed in CI and
    with REQUIRE_CHROMIUM where it is missing, else skipped."""
    from tests.web_bench import CHROMIUM, CHROMIUM_ARGS

    if not CHROMIUM.exists():
        if os.environ.get("CI") or os.environ.get("REQUIRE_CHROMIUM"):
            pytest.fail(f"{CHROMIUM} is required in CI (apt-get install -y chromium)")
        pytest.skip(f"headless Chromium not installed ({CHROMIUM} absent; "
                    "apt-get install -y chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture(scope="session")
def pg_server():
    """URL of a throwaway PostgreSQL server; skipped where none can be started here (failed
    when REQUIRE_POSTGRES is set)."""
    try:
        with postgres_server() as url:
            yield url
    except PostgresUnavailable as exc:
        if os.environ.get("REQUIRE_POSTGRES"):
            pytest.fail(f"PostgreSQL is required (REQUIRE_POSTGRES) but {exc}")
        pytest.skip(str(exc))


@pytest.fixture
def pg_database(pg_server):
    """URL of a new empty database on the test server, dropped after the test."""
    with fresh_database(pg_server) as url:
        yield url
