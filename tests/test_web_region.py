"""The region in the browser, over a REAL PostgreSQL started by this module: two municipal
servers (two collection folders) feed one regional database through «Собрать свод», each
confined to its rows by `nastavnik region grant`; a regional server shows the board,
drills down, builds the regional master from the page; roles on every route; the regional
database stops during a municipal sync and the retry delivers once.
"""

from __future__ import annotations

import os
import re
import threading
import time
from pathlib import Path

import httpx
import pytest
from openpyxl import load_workbook
from sqlalchemy import create_engine, text
from sqlalchemy.exc import DBAPIError

from addin.web.access import REGION, add_school_code, add_staff
from tests.cli import run
from tests.pg import PostgresUnavailable, fresh_database, postgres_server, start_server, stop_server
from tests.test_web_workspace import STAFF_GETS, STAFF_POSTS, client, login
from tests.web_bench import Server, csrf_of
from tests.web_bench import start_server as start_web
from workbook_templates.demo import generate_municipality, write_municipality

PERIOD = "2026-11"
A, B, C = "71801000", "71802000", "71803000"
NAMES = {A: "Город Альфа", B: "Район Бета", C: "Округ Гамма"}
ROLES = {A: "mnc_a", B: "mnc_b"}
STAFF, STAFF_SECRET = "metodist1", "staff-secret-001"
RNC, RNC_SECRET = "rnc1", "region-secret-001"
SCHOOL, SCHOOL_SECRET = "ОО-001", "school-one-001"
REGION_GETS = ["/region", "/region/board.xlsx", f"/region/m/{A}", "/region/sync",
               "/region/sync/1/progress", "/region/runs/1/master"]
REGION_POSTS = ["/region/sync"]
#: The invented municipalities the servers serve (filled by `sites`).
MUNIS: dict = {}
ROW_RE = re.compile(r'class="region-row" data-code="([^"]+)" data-synced="(yes|no)"')


@pytest.fixture(scope="module")
def pg():
    """A PostgreSQL server of this module's own: a test stops and starts it."""
    try:
        with postgres_server() as url:
            yield url
    except PostgresUnavailable as exc:
        if os.environ.get("REQUIRE_POSTGRES"):
            pytest.fail(f"PostgreSQL is required (REQUIRE_POSTGRES) but {exc}")
        pytest.skip(str(exc))


@pytest.fixture(scope="module")
def db(pg):
    """The regional database: its owner's URL, and the roles of two centres and the region,
    granted by the real `nastavnik region grant`."""
    with fresh_database(pg, "region") as owner:
        admin = create_engine(owner, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            for role in (*ROLES.values(), "rnc"):
                conn.execute(text(f"CREATE ROLE {role} LOGIN"))
        admin.dispose()
        url = owner.render_as_string(hide_password=False)
        for code, role in ROLES.items():
            proc = run("region", "grant", "--db", url, "--municipality", code, "--role", role)
            assert proc.returncode == 0, proc.stdout + proc.stderr
            assert "только строк муниципалитета" in proc.stdout
        proc = run("region", "grant", "--db", url, "--regional", "--role", "rnc")
        assert proc.returncode == 0, proc.stdout + proc.stderr
        yield owner


def as_role(owner, role: str) -> str:
    return owner.set(username=role).render_as_string(hide_password=False)


@pytest.fixture(scope="module")
def sites(tmp_path_factory, db):
    """Two municipal servers feeding the regional database, and the regional server."""
    base = tmp_path_factory.mktemp("region")
    servers: dict[str, Server] = {}
    folders: dict[str, Path] = {}
    for seed, code in ((11, A), (12, B)):
        muni = MUNIS[code] = generate_municipality(n_schools=8, seed=seed, period=PERIOD)
        folders[code] = write_municipality(muni, base / code / "сдача")
        codes = base / code / "коды.txt"
        add_staff(codes, STAFF, STAFF_SECRET)
        add_staff(codes, RNC, RNC_SECRET, REGION)  # a regional login on a municipal server
        add_school_code(codes, SCHOOL, SCHOOL_SECRET)
        servers[code] = start_web(
            "--collect-dir", folders[code], "--access-file", codes, "--registry",
            folders[code] / "registry.csv", "--period", PERIOD, "--db", as_role(db, ROLES[code]),
            "--municipality-code", code, "--municipality-name", NAMES[code],
            *(["--pseudonymize"] if code == B else []), log_path=base / code / "serve.log")
    registry = base / "муниципалитеты.csv"
    registry.write_text("код муниципалитета;наименование;контакт\n" + "".join(
        f"{c};{n};metodist@{c}.example\n" for c, n in NAMES.items()), encoding="utf-8")
    codes = base / "коды-региона.txt"
    add_staff(codes, RNC, RNC_SECRET, REGION)
    add_staff(codes, STAFF, STAFF_SECRET)
    add_school_code(codes, SCHOOL, SCHOOL_SECRET)
    servers["region"] = start_web("--region", "--db", as_role(db, "rnc"), "--access-file",
                                  codes, "--registry", registry, "--collect-dir",
                                  base / "рнц", "--period", PERIOD,
                                  log_path=base / "region.log")
    yield servers, folders
    for server in servers.values():
        server.stop()


def sync_from_page(server: Server, *, wait: bool = True) -> tuple[httpx.Client, int]:
    c = client(server)
    login(c, STAFF, STAFF_SECRET)
    page = c.get("/staff/sync").text
    after = re.search(r'name="after" value="(\d+)"', page).group(1)
    r = c.post("/staff/sync", data={"csrf": csrf_of(page), "period": PERIOD, "after": after})
    job = int(re.search(r"#run-(\d+)", str(r.url)).group(1))
    if wait:
        wait_for(c, f"/staff/sync/{job}/progress")
    return c, job


def wait_for(c: httpx.Client, progress: str, timeout: float = 300) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        state = c.get(progress).json()
        if state["state"] != "running":
            assert state["state"] == "done", state
            return state
        time.sleep(0.3)
    raise AssertionError(f"{progress} still running after {timeout} s")


def figures_by_label(path: Path) -> dict[tuple, list[float]]:
    """«Численность участников»: each row's text cells -> its numbers."""
    sheet = load_workbook(path, read_only=True)["Численность участников"]
    out = {}
    for row in sheet.iter_rows(values_only=True):
        numbers = [float(v) for v in row if isinstance(v, int | float)]
        label = tuple(v for v in row if isinstance(v, str))
        if numbers and label:
            out[label] = numbers
    return out


def region_runs(owner, code: str) -> int:
    engine = create_engine(owner)
    with engine.connect() as conn:
        n = conn.scalar(text("SELECT count(*) FROM runs WHERE municipality = :m AND "
                             "period = :p"), {"m": code, "p": PERIOD})
    engine.dispose()
    return int(n)


# -- the loop: two municipalities at once, then the region from the page --------------------------
def test_two_centres_at_once_then_the_regional_master_is_their_sum(sites, db, tmp_path):
    servers, _ = sites
    outcome: dict[str, tuple[httpx.Client, int]] = {}
    threads = [threading.Thread(target=lambda k=k: outcome.__setitem__(k, sync_from_page(
        servers[k]))) for k in (A, B)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(300)
    masters = {}
    for code, (c, job) in outcome.items():
        page = c.get("/staff/sync").text
        row = page[page.index(f'id="run-{job}"'):]
        assert 'data-delivery="delivered"' in row.split("</tr>")[0], code
        masters[code] = tmp_path / f"{code}.xlsx"
        masters[code].write_bytes(c.get(f"/staff/runs/{job}/master").content)
        c.close()
    assert region_runs(db, A) == 1 and region_runs(db, B) == 1

    with client(servers["region"]) as rc:
        login(rc, RNC, RNC_SECRET)
        got = rc.get(f"/region?period={PERIOD}")
        board = got.text
        assert got.status_code == 200 and 'id="region-problem"' not in board, board[:400]
        assert dict(ROW_RE.findall(board)) == {A: "yes", B: "yes", C: "no"}
        assert "Не собрали свод" in board and NAMES[C] in board
        assert f"metodist@{A}.example" in board and STAFF in board  # contact, by whom
        page = rc.get("/region/sync").text
        after = re.search(r'name="after" value="(\d+)"', page).group(1)
        r = rc.post("/region/sync", data={"csrf": csrf_of(page), "period": PERIOD,
                                          "after": after})
        job = int(re.search(r"#run-(\d+)", str(r.url)).group(1))
        assert wait_for(rc, f"/region/sync/{job}/progress")["done"] == 3
        regional = tmp_path / "регион.xlsx"
        got = rc.get(f"/region/runs/{job}/master")
        assert got.status_code == 200
        regional.write_bytes(got.content)
        assert rc.get(f"/region/runs/{job}/form").status_code == 200
    a, b, total = (figures_by_label(p) for p in (masters[A], masters[B], regional))
    assert total and set(total) == set(a) == set(b)
    for label, numbers in total.items():
        assert numbers == [x + y for x, y in zip(a[label], b[label], strict=True)], label
    book = load_workbook(regional, read_only=True)
    assert "До цели" in book.sheetnames
    for code, hidden in ((A, False), (B, True)):  # B's server runs with --pseudonymize
        text_of = " ".join(str(v) for ws in load_workbook(masters[code], read_only=True)
                           for row in ws.iter_rows(values_only=True) for v in row if v)
        names = [p["full_name"] for s in MUNIS[code].schools if s.clean
                 for p in s.data["mentors"]]
        assert names and any(n in text_of for n in names) != hidden, code


def test_the_regional_board_drills_down_and_downloads(sites, tmp_path):
    servers, folders = sites
    with client(servers["region"]) as rc:
        login(rc, RNC, RNC_SECRET)
        page = rc.get(f"/region/m/{A}?period={PERIOD}").text
        codes = re.findall(r'class="org-row" data-code="([^"]+)"', page)
        registry = (folders[A] / "registry.csv").read_text(encoding="utf-8").splitlines()[1:]
        assert sorted(codes) == sorted(line.split(";")[0] for line in registry if line)
        assert "данных участников в базе региона нет" in page
        x = rc.get(f"/region/board.xlsx?period={PERIOD}")
        assert x.status_code == 200
        (tmp_path / "b.xlsx").write_bytes(x.content)
        rows = list(load_workbook(tmp_path / "b.xlsx").active.iter_rows(values_only=True))
        assert [r[0] for r in rows[1:]] == [A, B, C]
        assert rows[3][3] == "не собран" and rows[1][3] == "собран"


# -- the database confines each centre ------------------------------------------------------------
def test_a_centre_cannot_change_another_municipality_rows(sites, db):
    """A's role: B's rows are invisible to its UPDATE and DELETE (nothing changes), and a row
    written as B's, or moved to B, is refused by the database."""
    del sites  # both municipalities have saved the period
    owner = create_engine(db)
    mine = create_engine(as_role(db, ROLES[A]))
    region = create_engine(as_role(db, "rnc"))
    count = "SELECT count(*) FROM school_periods WHERE municipality = :m"
    try:
        with owner.connect() as conn:
            before_b = conn.scalar(text(count), {"m": B})
        assert before_b > 0
        with mine.begin() as conn:
            assert conn.execute(text("UPDATE school_periods SET status = 'x' WHERE "
                                     "municipality = :m"), {"m": B}).rowcount == 0
            assert conn.execute(text("DELETE FROM school_periods WHERE municipality = :m"),
                                {"m": B}).rowcount == 0
            assert conn.execute(text("DELETE FROM runs WHERE municipality = :m"),
                                {"m": B}).rowcount == 0
            seen = set(conn.scalars(text("SELECT DISTINCT municipality FROM school_periods")))
            assert seen == {A}
        for statement in ("UPDATE school_periods SET municipality = :m",
                          "INSERT INTO runs (period, started_at, finished_at, registry, schools,"
                          " accepted, rejected, municipality) VALUES ('2026-10', now(), now(), "
                          "'r', 0, 0, 0, :m)",
                          "UPDATE municipalities SET name = 'x' WHERE code = :m"):
            with mine.begin() as conn:
                try:
                    done = conn.execute(text(statement), {"m": B}).rowcount
                except DBAPIError as exc:
                    assert "row-level security" in str(exc.orig)
                else:
                    assert done == 0, statement
        with pytest.raises(DBAPIError, match="permission denied"), region.begin() as conn:
            conn.execute(text("DELETE FROM school_periods"))
        with region.connect() as conn:
            assert set(conn.scalars(text("SELECT DISTINCT municipality FROM runs"))) == {A, B}
        with owner.connect() as conn:
            assert conn.scalar(text(count), {"m": B}) == before_b
            assert conn.scalar(text("SELECT count(*) FROM school_periods WHERE status = 'x'")) \
                == 0
            policies = set(conn.scalars(text(
                "SELECT tablename FROM pg_policies WHERE policyname = 'nastavnik_own'")))
        assert policies == {"municipalities", "runs", "school_periods", "indicators",
                            "snapshots", "figures"}
    finally:
        for engine in (owner, mine, region):
            engine.dispose()


# -- the region down during a sync: the master stands, the retry delivers once --------------------
def test_region_down_during_a_sync_then_the_retry_delivers_once(sites, db, pg):
    servers, _ = sites
    before = region_runs(db, A)
    stop_server(pg)  # down before the run reaches the region (a re-sync may take 1 s)
    try:
        c, job = sync_from_page(servers[A])
        page = c.get("/staff/sync").text
        row = page[page.index(f'id="run-{job}"'):].split("</tr>")[0]
        assert "в регион не передано" in row and "Передать в регион" in row
        assert "127.0.0.1" in row  # the reason names the server it could not reach
        assert c.get(f"/staff/runs/{job}/master").status_code == 200  # the master stands
        token = csrf_of(page)
        c.post(f"/staff/runs/{job}/deliver", data={"csrf": token})  # still down
        row = c.get("/staff/sync").text
        assert 'data-delivery="pending"' in row
    finally:
        start_server(pg)
    r = c.post(f"/staff/runs/{job}/deliver", data={"csrf": token})
    assert r.status_code == 200
    page = c.get("/staff/sync").text
    row = page[page.index(f'id="run-{job}"'):].split("</tr>")[0]
    assert 'data-delivery="delivered"' in row, row
    assert region_runs(db, A) == before + 1
    c.post(f"/staff/runs/{job}/deliver", data={"csrf": token})  # a second press: no copy
    assert region_runs(db, A) == before + 1
    c.close()


# -- roles on every route -------------------------------------------------------------------------
def test_every_region_route_is_listed_here():
    from addin.web import region_board
    from addin.web.app import make_page
    from addin.web.config import ServerConfig

    router = region_board.make_router(make_page(ServerConfig()))
    assert {r.path for r in router.routes} == {
        "/region", "/region/board.xlsx", "/region/m/{code}", "/region/sync",
        "/region/sync/{job_id}/progress", "/region/runs/{job_id}/{what}"}


def test_every_route_with_every_role(sites):
    """On both kinds of server: a visitor is sent to the login; a school gets 403 on staff
    and regional routes; municipal staff 403 on regional ones; a regional account 403 on
    every staff route (it cannot return a book) and its board only on the regional server."""
    servers, _ = sites
    data = {"comment": "x", "period": PERIOD}
    for kind in (A, "region"):
        server = servers[kind]
        with client(server) as anon:
            for path in STAFF_GETS + REGION_GETS:
                r = anon.get(path, follow_redirects=False)
                assert r.status_code == 303 and r.headers["location"] == "/login", path
            token = csrf_of(anon.get("/login").text)
            for path in STAFF_POSTS + REGION_POSTS:
                r = anon.post(path, data={"csrf": token, **data}, follow_redirects=False)
                assert r.status_code == 303 and r.headers["location"] == "/login", path
        for who, secret in ((SCHOOL, SCHOOL_SECRET), (STAFF, STAFF_SECRET),
                            (RNC, RNC_SECRET)):
            with client(server) as c:
                assert login(c, who, secret).status_code in (200, 404)  # 404: not enabled
                token = csrf_of(c.get("/").text)
                for path in STAFF_GETS + REGION_GETS:
                    r = c.get(path)
                    assert r.status_code in _expected(kind, who, path), (kind, who, path,
                                                                         r.status_code)
                for path in STAFF_POSTS + REGION_POSTS:
                    if _expected(kind, who, path) == {403}:  # refused before anything runs
                        r = c.post(path, data={"csrf": token, **data})
                        assert r.status_code == 403, (kind, who, path, r.status_code)
    with client(servers[A]) as c:  # the school still sees only itself
        login(c, SCHOOL, SCHOOL_SECRET)
        assert 'id="my-status"' in c.get("/").text


def _expected(kind: str, who: str, path: str) -> set[int]:
    regional_route = path.startswith("/region")
    if who == SCHOOL:
        return {403}
    if who == STAFF:
        if regional_route:
            return {403}
        return {404} if kind == "region" else {200, 404, 409}  # 404: no such run/file
    if not regional_route:
        return {403}  # a regional account never reaches a municipal route
    return {200, 404} if kind == "region" else {404}  # no regional board on a municipal server


# -- the browser ----------------------------------------------------------------------------------
def test_regional_board_and_regional_sync_in_chromium(sites, browser):  # noqa: F811
    servers, _ = sites
    server = servers["region"]
    page = browser.new_page()
    try:
        page.goto(f"{server.url}/login")
        page.fill("input[name=school]", RNC)
        page.fill("input[name=code]", RNC_SECRET)
        page.click("button[type=submit]")
        page.wait_for_url(f"{server.url}/region")
        assert page.locator("tr.region-row").count() == 3
        assert page.locator(f'tr.region-row[data-code="{C}"] .chip').inner_text() == "не собран"
        page.click("#region-sync-link")
        page.click("#region-sync-button")
        page.wait_for_selector("tr.run[data-state=done] a.master-link", timeout=120_000)
        with page.expect_download() as got:
            page.locator("tr.run[data-state=done] a.master-link").first.click()
        assert got.value.suggested_filename == f"регион-{PERIOD}.xlsx"
        page.goto(f"{server.url}/region")
        page.click(f'tr.region-row[data-code="{A}"] a')
        assert page.locator("tr.org-row").count() == 8
    finally:
        page.close()


# -- refusals in Russian --------------------------------------------------------------------------
def test_grant_and_serve_refuse_in_russian(db, tmp_path):
    url = db.render_as_string(hide_password=False)
    res = run("region", "grant", "--db", url, "--municipality", A, "--role", "no_such_role")
    assert res.returncode == 2 and "CREATE ROLE no_such_role" in res.stderr
    sqlite = f"sqlite:///{tmp_path / 'h.sqlite'}"
    res = run("region", "grant", "--db", sqlite, "--municipality", A, "--role", "x")
    assert res.returncode == 2 and "Traceback" not in res.stderr
    res = run("region", "grant", "--db", url, "--role", "rnc")
    assert res.returncode == 2 and "одно из двух" in res.stderr
    res = run("serve", "--collect-dir", tmp_path, "--db", url)
    assert res.returncode == 2 and "--municipality-code" in res.stderr
    res = run("serve", "--region")
    assert res.returncode == 2 and "--db" in res.stderr


def test_a_table_a_later_migration_adds_gets_the_policies(db):
    """`migrate` runs nastavnik_protect() after every upgrade: a new table with municipal
    rows is confined as soon as it exists, with the grants of the roles already known."""
    from sync import rls

    owner = create_engine(db)
    mine = create_engine(as_role(db, ROLES[A]))
    try:
        with owner.begin() as conn:
            conn.execute(text("CREATE TABLE later_rows (municipality text NOT NULL, n int)"))
            conn.execute(text("INSERT INTO later_rows VALUES (:b, 1)"), {"b": B})
            rls.protect(conn)  # what sync.store.migrate does after `alembic upgrade`
        with mine.begin() as conn:
            conn.execute(text("INSERT INTO later_rows VALUES (:a, 2)"), {"a": A})
            assert conn.execute(text("SELECT n FROM later_rows")).scalars().all() == [2]
            assert conn.execute(text("DELETE FROM later_rows WHERE municipality = :b"),
                                {"b": B}).rowcount == 0
        with pytest.raises(DBAPIError, match="row-level security"), mine.begin() as conn:
            conn.execute(text("INSERT INTO later_rows VALUES (:b, 3)"), {"b": B})
    finally:
        with owner.begin() as conn:
            conn.execute(text("DROP TABLE later_rows"))
        owner.dispose()
        mine.dispose()
