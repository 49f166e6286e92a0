"""The municipal centre's workspace through the REAL `nastavnik serve`: staff accounts, the
period board of the demo municipality, returns for revision, «Собрать свод» as a background
job whose master equals `nastavnik sync`, feedback to schools, roles on every route, a restart
in the middle of a job.

The collection folder is the demo municipality (`write_municipality` writes the same layout as
the page: schools/<code>.xlsx and registry.csv), served with an access file of staff and
schools; browsers are headless Chromium driven by playwright (see test_web_page.py).
"""

from __future__ import annotations

import hashlib
import os
import re
import signal
import subprocess
import threading
import time
from pathlib import Path

import httpx
import pytest
from openpyxl import load_workbook

from addin.model import SchoolWorkbook
from addin.validate import validate_workbook
from addin.web.access import REGION, STAFF, AccessCodes, add_school_code, add_staff
from tests.cli import run
from tests.web_bench import (
    NASTAVNIK,
    Server,
    csrf_of,
    free_port,
    make_big_workbook,
    start_server,
    upload,
)
from workbook_templates import contract as C
from workbook_templates.demo import DemoMunicipality, generate_municipality, write_municipality

REPO = Path(__file__).resolve().parents[1]
DOCS_BOARD = REPO / "docs" / "img" / "board.png"
STAFF_LOGIN, STAFF_SECRET = "metodist1", "staff-secret-001"
OTHER_STAFF, OTHER_STAFF_SECRET = "metodist2", "staff-secret-002"
SCHOOLS = {"ОО-001": "school-one-001", "ОО-002": "school-two-002", "ОО-004": "school-four-004"}
PERIOD = "2026-11"
FETCHED_AT = re.compile(r"\d\d\.\d\d\.\d{4} \d\d:\d\d:\d\d")
ROW_RE = re.compile(r'data-code="([^"]+)" data-status="([^"]+)" data-errors="([^"]*)"')
#: Every staff route with a sample path: GET and POST (POSTs carry a valid CSRF token).
STAFF_GETS = ["/staff", "/staff/board.xlsx", "/staff/school/ОО-001",
              "/staff/school/ОО-001/file", "/staff/registry", "/staff/sync",
              "/staff/sync/1/progress", "/staff/runs/1/master"]
STAFF_POSTS = ["/staff/school/ОО-001/return", "/staff/registry", "/staff/sync",
               "/staff/runs/1/deliver"]
#: A regional centre's login on this municipal server: refused every staff route.
REGION_LOGIN, REGION_SECRET = "rnc1", "region-secret-001"


# -- fixtures -------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def muni() -> DemoMunicipality:
    return generate_municipality()


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory, muni: DemoMunicipality):
    """(server, collect folder, access file): the demo municipality as a collection folder."""
    base = tmp_path_factory.mktemp("workspace")
    collect = write_municipality(muni, base / "сдача")
    codes = base / "коды.txt"
    add_staff(codes, STAFF_LOGIN, STAFF_SECRET)
    add_staff(codes, OTHER_STAFF, OTHER_STAFF_SECRET)
    add_staff(codes, REGION_LOGIN, REGION_SECRET, REGION)
    for school, secret in SCHOOLS.items():
        add_school_code(codes, school, secret)
    server = start_server("--collect-dir", collect, "--access-file", codes, "--registry",
                          collect / "registry.csv", "--period", PERIOD,
                          log_path=base / "serve.log")
    yield server, collect, codes
    server.stop()


def client(server: Server) -> httpx.Client:
    return httpx.Client(base_url=server.url, follow_redirects=True, timeout=120)


def login(c: httpx.Client, name: str, secret: str) -> httpx.Response:
    token = csrf_of(c.get("/login").text)
    return c.post("/login", data={"csrf": token, "school": name, "code": secret})


def board_rows(html: str) -> dict[str, tuple[str, str]]:
    return {code: (status, errors) for code, status, errors in ROW_RE.findall(html)}


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def wait_job(c: httpx.Client, job: int, timeout: float = 300) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        state = c.get(f"/staff/sync/{job}/progress").json()
        if state["state"] != "running":
            return state
        time.sleep(0.3)
    raise AssertionError(f"sync job {job} still running after {timeout} s")


def sheet_values(path: Path) -> dict[str, list[tuple]]:
    """Every sheet's values; the collection log's fetch time (differs per run) left out."""
    book = load_workbook(path, read_only=True)
    out = {}
    for ws in book.worksheets:
        rows = [tuple(r) for r in ws.iter_rows(values_only=True)]
        if ws.title == "Журнал сбора":  # when each file was read
            rows = [tuple("время" if isinstance(v, str) and FETCHED_AT.fullmatch(v) else v
                          for v in r) for r in rows]
        out[ws.title] = rows
    return out


# -- accounts -------------------------------------------------------------------------------------
def test_add_staff_command_hashes_like_school_codes(tmp_path: Path) -> None:
    f = tmp_path / "коды.txt"
    proc = run("serve", "add-staff", "--access-file", f, "--login", "metodist9")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    shown = re.search(r"[A-Z2-9]{4}-[A-Z2-9]{4}-[A-Z2-9]{4}", proc.stdout).group(0)
    line = f.read_text(encoding="utf-8").strip()
    assert re.fullmatch(r"staff:metodist9:n=16384,r=8,p=1:[0-9a-f]{32}:[0-9a-f]{64}", line)
    assert shown not in line
    account = AccessCodes(f).login("metodist9", shown)
    assert account is not None and account.role == STAFF
    assert not AccessCodes(f).verify("metodist9", shown)  # not a school
    add_school_code(f, "ОО-001", "school-code-1")
    proc = run("serve", "add-staff", "--access-file", f, "--login", "ОО-001", "--code", "x" * 8)
    assert proc.returncode != 0 and "не должны совпадать" in proc.stdout + proc.stderr
    proc = run("serve", "add-staff", "--access-file", f, "--login", "Иванова И.И.")
    assert proc.returncode != 0 and "не подходит" in proc.stdout + proc.stderr
    assert "Traceback" not in proc.stdout + proc.stderr


# -- roles on every route -------------------------------------------------------------------------
def test_every_staff_route_is_listed_here(tmp_path: Path) -> None:
    """A new staff route must join STAFF_GETS/STAFF_POSTS (and so the refusal tests)."""
    from addin.web import region_delivery, staff
    from addin.web.app import make_page
    from addin.web.config import ServerConfig

    page = make_page(ServerConfig(collect_dir=tmp_path))
    staff_paths = {r.path for area in (staff, region_delivery)
                   for r in area.make_router(page).routes if r.path.startswith("/staff")}
    assert staff_paths == {
        "/staff", "/staff/board.xlsx", "/staff/school/{code}", "/staff/school/{code}/file",
        "/staff/school/{code}/return", "/staff/registry", "/staff/sync",
        "/staff/sync/{job_id}/progress", "/staff/runs/{job_id}/{what}",
        "/staff/runs/{job_id}/deliver"}


def test_staff_routes_refused_to_schools_and_visitors(site) -> None:
    server, collect, _ = site
    with client(server) as anon, client(server) as school:
        for path in STAFF_GETS:
            r = anon.get(path, follow_redirects=False)
            assert r.status_code == 303 and r.headers["location"] == "/login", path
        token = csrf_of(anon.get("/login").text)
        for path in STAFF_POSTS:
            r = anon.post(path, data={"csrf": token, "comment": "x", "period": PERIOD},
                          follow_redirects=False)
            assert r.status_code == 303 and r.headers["location"] == "/login", path
        assert login(school, "ОО-002", SCHOOLS["ОО-002"]).status_code == 200
        token = csrf_of(school.get("/").text)
        for path in STAFF_GETS:
            r = school.get(path)
            assert r.status_code == 403 and "только для сотрудников" in r.text, path
        for path in STAFF_POSTS:
            r = school.post(path, data={"csrf": token, "comment": "x", "period": PERIOD})
            assert r.status_code == 403, path
        # The school's own page shows only itself.
        home = school.get("/").text
        assert 'id="my-status"' in home and "ОО-001" not in home
    with client(server) as region:  # the region reads its own board, never a municipality's
        login(region, REGION_LOGIN, REGION_SECRET)
        token = csrf_of(region.get("/").text)
        for path in STAFF_GETS:
            r = region.get(path)
            assert r.status_code == 403 and "только для сотрудников" in r.text, path
        for path in STAFF_POSTS:
            r = region.post(path, data={"csrf": token, "comment": "x", "period": PERIOD})
            assert r.status_code == 403, path
    assert "workspace" in {p.name for p in collect.iterdir()}
    assert not list((collect / "workspace").glob("runs/*"))  # nothing was started


def all_staff_routes(tmp_path: Path) -> list[tuple[str, str]]:
    """(method, path) of every /staff route of every page area the app includes, with sample
    values for the path's parameters: a new area's staff route is tried without a list."""
    from fastapi.routing import APIRoute

    from addin.web import app as web_app
    from addin.web.config import ServerConfig

    page = web_app.make_page(ServerConfig(collect_dir=tmp_path))
    areas = [getattr(web_app, name) for name in dir(web_app)
             if hasattr(getattr(web_app, name), "make_router")
             and getattr(web_app, name).__name__.startswith("addin.web.")]
    samples = {"code": "ОО-001", "job_id": "1", "what": "master"}
    found = set()
    for area in areas:
        if area.__name__ == "addin.web.remote":
            continue  # /xlwings: the buttons' token, not a login
        for route in area.make_router(page).routes:
            if isinstance(route, APIRoute) and route.path.startswith("/staff"):
                path = re.sub(r"\{(\w+)\}", lambda m: samples.get(m.group(1), "1"),
                              route.path)
                found |= {(method, path) for method in route.methods if method != "HEAD"}
    return sorted(found)


def test_every_staff_route_of_every_area_refuses_visitors_schools_and_the_region(
        site, tmp_path: Path) -> None:
    routes = all_staff_routes(tmp_path)
    listed = {("GET", p) for p in STAFF_GETS} | {("POST", p) for p in STAFF_POSTS}
    assert listed < set(routes)  # the staff area's own list, and the other areas' beside it
    server, _, _ = site
    data = {"comment": "x", "period": PERIOD}
    with client(server) as anon:
        token = csrf_of(anon.get("/login").text)
        for method, path in routes:
            r = anon.request(method, path, follow_redirects=False,
                             data={"csrf": token, **data} if method == "POST" else None)
            assert r.status_code == 303 and r.headers["location"] == "/login", (method, path)
    for who, secret in (("ОО-002", SCHOOLS["ОО-002"]), (REGION_LOGIN, REGION_SECRET)):
        with client(server) as c:
            login(c, who, secret)
            token = csrf_of(c.get("/").text)
            for method, path in routes:
                r = c.request(method, path,
                              data={"csrf": token, **data} if method == "POST" else None)
                assert r.status_code == 403, (who, method, path, r.status_code)


def test_staff_posts_need_csrf(site) -> None:
    server, _, _ = site
    with client(server) as c:
        login(c, STAFF_LOGIN, STAFF_SECRET)
        for path in STAFF_POSTS:
            r = c.post(path, data={"comment": "x", "period": PERIOD})
            assert r.status_code == 403 and "защитного кода" in r.text, path
            r = c.post(path, data={"csrf": "0" * 64, "comment": "x", "period": PERIOD})
            assert r.status_code == 403, path
        events = c.get("/staff/school/ОО-001").text
        assert 'data-kind="returned"' not in events


# -- the board ------------------------------------------------------------------------------------
def test_board_shows_each_demo_school_with_the_right_status(site, muni, tmp_path) -> None:
    server, collect, _ = site
    with client(server) as c:
        r = login(c, STAFF_LOGIN, STAFF_SECRET)
        assert str(r.url).endswith("/staff") and "Сдача книг за 2026-11" in r.text
        rows = board_rows(r.text)
        assert set(rows) == {s.code for s in muni.schools}
        for s in muni.schools:
            status, errors = rows[s.code]
            if s.submission == "missing":
                assert (status, errors) == ("не сдано", ""), s.code
                continue
            assert status == "сдано", s.code
            if s.submission in ("corrupt", "unknown_version"):
                continue
            report = validate_workbook(SchoolWorkbook.from_path(collect / "schools" /
                                                                f"{s.code}.xlsx"))
            assert int(errors) == report.errors, s.code
        assert "просрочено на" in r.text and 'id="deadline">25.11.2026' in r.text
        # Filters.
        missing = board_rows(c.get(f"/staff?period={PERIOD}&filter=missing").text)
        assert set(missing) == {s.code for s in muni.schools if s.submission == "missing"}
        with_errors = board_rows(c.get(f"/staff?period={PERIOD}&filter=errors").text)
        assert {s.code for s in muni.schools if s.clean}.isdisjoint(with_errors)
        assert {s.code for s in muni.schools if s.submission in ("corrupt", "unknown_version")} \
            <= set(with_errors)
        # The list as a workbook.
        r = c.get(f"/staff/board.xlsx?period={PERIOD}")
        assert r.status_code == 200 and "attachment" in r.headers["content-disposition"]
        out = tmp_path / "board.xlsx"
        out.write_bytes(r.content)
        ws = load_workbook(out).active
        got = {row[0]: row[3] for row in ws.iter_rows(min_row=2, values_only=True)}
        assert got == {code: status for code, (status, _) in rows.items()}
        shas = {row[0]: row[5] for row in ws.iter_rows(min_row=2, values_only=True)}
        assert shas["ОО-001"] == sha256(collect / "schools" / "ОО-001.xlsx")
        # A school's submission, as the school saw it.
        detail = c.get("/staff/school/ОО-004").text
        report = validate_workbook(SchoolWorkbook.from_path(collect / "schools" / "ОО-004.xlsx"))
        assert detail.count('class="finding ') == len(report.findings)
    log = server.log()
    for s in muni.schools:  # no names in the log
        assert str(s.data["school"]["curator"]) not in log


def test_registry_upload_is_checked_and_a_bad_one_keeps_the_old(site, tmp_path) -> None:
    server, collect, _ = site
    with client(server) as c:
        login(c, STAFF_LOGIN, STAFF_SECRET)
        token = csrf_of(c.get("/staff/registry").text)
        bad = "код ОО;наименование;тип\nОО-001;Школа;ОО\n".encode()
        r = c.post("/staff/registry", data={"csrf": token},
                   files={"file": ("реестр.csv", bad)})
        assert r.status_code == 400 and "нет столбца «источник»" in r.text
        r = c.post("/staff/registry", data={"csrf": token},
                   files={"file": ("реестр.txt", b"x")})
        assert r.status_code == 400 and ".csv или .xlsx" in r.text
        assert not list((collect / "workspace").glob("registry.*"))
        rows = board_rows(c.get("/staff").text)
        assert len(rows) == 12  # the registry given to serve is still used


# -- the whole loop in the browser ----------------------------------------------------------------
def fixed_copy(source: Path, out: Path) -> Path:
    """The school's fix: the curator's cell retyped (another invented person)."""
    book = load_workbook(source)
    ws = book[C.SCHOOL.name]
    for row in ws.iter_rows(min_col=1, max_col=2):
        if row[0].value == "Куратор (ФИО)":
            row[1].value = "Петрова Анна Сергеевна"
    book.save(out)
    return out


def test_return_resubmit_sync_and_feedback_in_the_browser(site, browser, muni, tmp_path) -> None:
    server, collect, _ = site
    staff = browser.new_context(accept_downloads=True, locale="ru-RU",
                                viewport={"width": 1200, "height": 900})
    page = staff.new_page()
    page.set_default_timeout(120_000)
    page.goto(f"{server.url}/")
    page.fill("#school", STAFF_LOGIN)
    page.fill("#code", STAFF_SECRET)
    page.get_by_role("button", name="Войти").click()
    page.wait_for_selector("#board")
    assert page.get_attribute("tr[data-code='ОО-001']", "data-status") == "сдано"
    assert page.get_attribute("tr[data-code='ОО-005']", "data-status") == "не сдано"

    # Staff return ОО-001 with a comment.
    comment = "Уточните куратора на листе «Сведения об ОО» и сдайте снова."
    page.click("tr[data-code='ОО-001'] a")
    page.wait_for_selector("#return-form")
    page.fill("#comment-input", comment)
    page.click("#return-button")
    page.wait_for_selector("#comment")
    assert page.get_attribute("#status", "data-status") == "на доработке"
    assert page.inner_text("#comment") == comment
    page.goto(f"{server.url}/staff?filter=returned")
    assert list(board_rows(page.content())) == ["ОО-001"]

    # The school sees the comment after logging in, fixes and resubmits.
    school_ctx = browser.new_context(locale="ru-RU", viewport={"width": 390, "height": 800})
    school = school_ctx.new_page()
    school.set_default_timeout(120_000)
    school.goto(f"{server.url}/login")
    school.fill("#school", "ОО-001")
    school.fill("#code", SCHOOLS["ОО-001"])
    school.get_by_role("button", name="Войти").click()
    school.wait_for_selector("#my-status")
    assert school.get_attribute("#my-status", "data-status") == "на доработке"
    assert school.inner_text("#my-comment") == comment
    fixed = fixed_copy(collect / "schools" / "ОО-001.xlsx", tmp_path / "ОО-001.xlsx")
    school.set_input_files("input[type=file]", str(fixed))
    school.get_by_role("button", name="Проверить").click()
    school.wait_for_selector("#status")
    school.get_by_role("button", name="Отправить в муниципалитет").click()
    school.wait_for_selector("#receipt-sha256")
    assert school.inner_text("#receipt-sha256") == sha256(fixed)
    school.goto(f"{server.url}/")
    assert school.get_attribute("#my-status", "data-status") == "сдано"

    page.goto(f"{server.url}/staff")
    assert page.get_attribute("tr[data-code='ОО-001']", "data-status") == "сдано"
    page.goto(f"{server.url}/staff/school/ОО-001")
    kinds = page.eval_on_selector_all("#history li", "els => els.map(e => e.dataset.kind)")
    assert kinds[:2] == ["submitted", "returned"]

    # «Собрать свод» with a progress bar; the master equals the CLI's over the same folder.
    page.goto(f"{server.url}/staff/sync")
    page.click("#sync-button")
    page.wait_for_selector("tr.run[data-state='done']", timeout=300_000)
    with page.expect_download() as info:
        page.click("tr.run[data-state='done'] a.master-link")
    web_master = tmp_path / "web-master.xlsx"
    info.value.save_as(web_master)
    with page.expect_download() as info:
        page.click("tr.run[data-state='done'] a.form-link")
    info.value.save_as(tmp_path / "form.xlsx")
    assert load_workbook(tmp_path / "form.xlsx").sheetnames
    cli_out = tmp_path / "cli" / "свод.xlsx"
    cli_out.parent.mkdir()
    proc = run("sync", "--registry", collect / "registry.csv", "--period", PERIOD, "--out",
               cli_out, "--source-dir", collect)
    assert proc.returncode in (0, 1), proc.stdout + proc.stderr
    assert sheet_values(web_master) == sheet_values(cli_out)

    # Statuses after the sync, and the school's feedback.
    page.goto(f"{server.url}/staff")
    if os.environ.get("NASTAVNIK_UPDATE_SCREENSHOT") == "1":  # docs/img/board.png
        page.screenshot(path=str(DOCS_BOARD), full_page=True)
    rows = board_rows(page.content())
    for s in muni.schools:
        if s.clean:
            assert rows[s.code][0] == "принято", s.code
        elif s.submission == "missing":
            assert rows[s.code][0] == "не сдано"
        elif s.submission != "ok" or rows[s.code][1] not in ("", "0"):
            assert rows[s.code][0] == "на доработке", s.code
    page.set_viewport_size({"width": 390, "height": 800})  # the board on a phone: no sideways
    page.goto(f"{server.url}/staff")                          # scrolling, rows as cards
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    assert page.locator("tr[data-code='ОО-001'] td[data-label='Статус']").is_visible()
    school.goto(f"{server.url}/")
    assert school.get_attribute("#my-status", "data-status") == "принято"
    assert school.evaluate("document.documentElement.scrollWidth") <= 390
    assert school.inner_text("#my-sync-status") == "принят"
    # Another school cannot see ОО-001's submission, nor any staff page.
    other = school_ctx.new_page()
    school.click("button:has-text('Выйти')")
    other.goto(f"{server.url}/login")
    other.fill("#school", "ОО-002")
    other.fill("#code", SCHOOLS["ОО-002"])
    other.get_by_role("button", name="Войти").click()
    other.wait_for_selector("#my-status")
    assert "ОО-001" not in other.inner_text("main")
    response = other.goto(f"{server.url}/staff/school/ОО-001")
    assert response.status == 403
    response = other.goto(f"{server.url}/staff/runs/1/master")
    assert response.status == 403
    staff.close()
    school_ctx.close()
    log = server.log()
    assert "Петрова" not in log and comment not in log and "Traceback" not in log
    # The journal: codes, logins, sums and the comment; no names or birth dates.
    journal = b"".join(p.read_bytes() for p in (collect / "workspace").glob("journal.sqlite*"))
    assert comment.encode() in journal and STAFF_LOGIN.encode() in journal
    people = [s.data["school"]["curator"] for s in muni.schools] + ["Петрова"] + [
        m["full_name"] for s in muni.schools for m in s.data["mentees"][:5]]
    assert not [p for p in people if str(p).encode() in journal]
    births = {m["birth_date"].strftime(f) for s in muni.schools for m in s.data["mentees"][:5]
              if m["birth_date"] for f in ("%d.%m.%Y", "%Y-%m-%d")}
    assert births
    assert not [b for b in births if b.encode() in journal]


def test_double_press_starts_one_job(site) -> None:
    server, collect, _ = site
    with client(server) as a, client(server) as b:
        login(a, STAFF_LOGIN, STAFF_SECRET)
        login(b, OTHER_STAFF, OTHER_STAFF_SECRET)
        forms = []
        for c in (a, a, b):
            html = c.get("/staff/sync").text
            after = re.search(r'name="after" value="(\d+)"', html).group(1)
            forms.append((c, {"csrf": csrf_of(html), "after": after, "period": PERIOD}))
        answers: list[str] = []

        def press(c: httpx.Client, data: dict) -> None:
            r = c.post("/staff/sync", data=data, follow_redirects=False)
            answers.append(r.headers.get("location", str(r.status_code)))

        threads = [threading.Thread(target=press, args=f) for f in forms]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        jobs = {re.search(r"#run-(\d+)$", x).group(1) for x in answers}
        assert len(jobs) == 1, answers
        job = int(jobs.pop())
        assert wait_job(a, job)["state"] == "done"
        # The same form pressed again after the run: joins that run, starts nothing.
        press(*forms[0])
        assert answers[-1].endswith(f"#run-{job}")
        html = a.get("/staff/sync").text
        assert len(re.findall(r'<tr id="run-\d+"', html)) == job
    assert server.log().count(f"sync job {job} started") == 1


def test_replacing_a_code_ends_the_open_sessions(site) -> None:
    server, _, codes = site
    with client(server) as school, client(server) as staff:
        login(school, "ОО-004", SCHOOLS["ОО-004"])
        login(staff, OTHER_STAFF, OTHER_STAFF_SECRET)
        assert 'id="check-form"' in school.get("/").text
        assert staff.get("/staff").status_code == 200
        add_school_code(codes, "ОО-004", "new-code-0004")
        add_staff(codes, OTHER_STAFF, "new-code-staff-2")
        assert str(school.get("/").url).endswith("/login")
        assert str(staff.get("/staff").url).endswith("/login")
        assert staff.get("/staff", follow_redirects=False).status_code == 303
        r = login(school, "ОО-004", "new-code-0004")
        assert 'id="check-form"' in r.text


# -- a restart in the middle of a job -------------------------------------------------------------
def start_in_own_group(args: list, log_path: Path) -> tuple[subprocess.Popen, str]:
    """`nastavnik serve` in a new process group (so the test can kill it with its workers)."""
    port = free_port()
    env = dict(os.environ, PYTHONUNBUFFERED="1", NO_COLOR="1")
    with log_path.open("ab") as log:
        proc = subprocess.Popen([str(NASTAVNIK), "serve", "--port", str(port), *map(str, args)],
                                stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                env=env, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    for _ in range(600):
        try:
            if httpx.get(f"{url}/health", timeout=5).status_code == 200:
                return proc, url
        except httpx.HTTPError:
            time.sleep(0.1)
    os.killpg(proc.pid, signal.SIGKILL)
    raise RuntimeError(log_path.read_text(encoding="utf-8", errors="replace"))


def test_restart_during_a_job_keeps_the_master_and_says_so(tmp_path) -> None:
    collect = write_municipality(generate_municipality(n_schools=8, seed=7), tmp_path / "сдача")
    codes = tmp_path / "коды.txt"
    add_staff(codes, STAFF_LOGIN, STAFF_SECRET)
    args = ["--collect-dir", collect, "--access-file", codes, "--registry",
            collect / "registry.csv", "--period", PERIOD]
    log = tmp_path / "serve.log"
    proc, url = start_in_own_group(args, log)
    try:
        with httpx.Client(base_url=url, follow_redirects=True, timeout=120) as c:
            login(c, STAFF_LOGIN, STAFF_SECRET)
            html = c.get("/staff/sync").text
            c.post("/staff/sync", data={"csrf": csrf_of(html), "after": "0", "period": PERIOD})
            assert wait_job(c, 1)["state"] == "done"
            master = collect / "workspace" / "свод.xlsx"
            before = sha256(master)
            # A slow registry: ten entries reading one big workbook.
            big = make_big_workbook(collect / "schools" / "big.xlsx", participants=3000)
            lines = ["код ОО;наименование;тип;источник"] + [
                f"ОО-{100 + i};Школа {i};ОО;schools/{big.name}" for i in range(10)]
            html = c.get("/staff/registry").text
            r = c.post("/staff/registry", data={"csrf": csrf_of(html)},
                       files={"file": ("реестр.csv", "\n".join(lines).encode())})
            assert "Реестр загружен: организаций 10" in r.text
            html = c.get("/staff/sync").text
            r = c.post("/staff/sync", data={"csrf": csrf_of(html), "after": "1",
                                            "period": PERIOD}, follow_redirects=False)
            assert r.headers["location"].endswith("#run-2")
            assert c.get("/staff/sync/2/progress").json()["state"] == "running"
    finally:
        os.killpg(proc.pid, signal.SIGKILL)  # the server and its sync workers
        proc.wait(timeout=30)
    assert sha256(master) == before
    proc, url = start_in_own_group(args, log)
    try:
        with httpx.Client(base_url=url, follow_redirects=True, timeout=120) as c:
            login(c, STAFF_LOGIN, STAFF_SECRET)
            board = c.get("/staff").text
            assert 'id="job-failed"' in board and "прерван" in board
            runs = c.get("/staff/sync").text
            assert re.search(r'id="run-2" class="run" data-job="2" data-state="failed"', runs)
            assert c.get("/staff/runs/1/master").status_code == 200
            assert c.get("/staff/runs/2/master").status_code == 404
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)
    assert sha256(master) == before
    assert "Traceback" not in log.read_text(encoding="utf-8", errors="replace")


def test_a_school_page_without_login_is_not_served(site) -> None:
    server, _, _ = site
    with client(server) as c:
        assert upload(c, Path(__file__)).url.path == "/login"
