"""Access to the page: access codes, sessions, CSRF, refusals; the collection folder layout.

Unit tests for addin.web.access and addin.web.collect, then the REAL `nastavnik serve` bound to
127.0.0.2 with an access file of two schools, driven by httpx and headless Chromium.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import stat
import time
from pathlib import Path

import httpx
import pytest

from addin.web import collect
from addin.web.access import (
    AccessCodes,
    AccessFileError,
    Sessions,
    add_school_code,
)
from addin.web.config import ServerConfig
from tests.cli import run
from tests.web_bench import CHROMIUM, CHROMIUM_ARGS, csrf_of, free_port, start_server, upload
from workbook_templates.demo import generate_municipality, write_municipality

LINE_RE = re.compile(r"^(?P<code>[^:]+):n=16384,r=8,p=1:(?P<salt>[0-9a-f]{32}):"
                     r"(?P<hash>[0-9a-f]{64})$")
SECRETS = {"ОО-001": "secret-one-001", "ОО-002": "secret-two-002"}


# -- access file ----------------------------------------------------------------------------------
def test_add_school_code_writes_scrypt_line_with_mode_0600(tmp_path: Path) -> None:
    f = tmp_path / "codes.txt"
    shown = add_school_code(f, "ОО-001")
    assert re.fullmatch(r"[A-Z2-9]{4}-[A-Z2-9]{4}-[A-Z2-9]{4}", shown)
    assert stat.S_IMODE(f.stat().st_mode) == 0o600
    m = LINE_RE.match(f.read_text(encoding="utf-8").strip())
    assert m and m["code"] == "ОО-001"
    # The format is plain hashlib.scrypt (anyone can re-implement the check).
    expect = hashlib.scrypt(shown.replace("-", "").encode(), salt=bytes.fromhex(m["salt"]),
                            n=2**14, r=8, p=1, dklen=32)
    assert expect.hex() == m["hash"]
    assert shown not in f.read_text(encoding="utf-8")
    codes = AccessCodes(f)
    assert codes.verify("ОО-001", shown)
    assert codes.verify("ОО-001", shown.lower().replace("-", " "))  # typed loosely
    assert not codes.verify("ОО-001", "WRONG-CODE-0000")
    assert not codes.verify("ОО-002", shown)


def test_add_school_code_replaces_one_line_and_keeps_others(tmp_path: Path) -> None:
    f = tmp_path / "codes.txt"
    first = add_school_code(f, "ОО-001")
    add_school_code(f, "ОО-002", "второй-код-2")
    codes = AccessCodes(f)
    assert codes.verify("ОО-002", "второй-код-2")
    time.sleep(0.01)
    add_school_code(f, "ОО-001", "новый-код-1")
    lines = f.read_text(encoding="utf-8").splitlines()
    assert [line.split(":")[0] for line in lines] == ["ОО-002", "ОО-001"]
    assert codes.verify("ОО-001", "новый-код-1")  # a running server re-reads the file
    assert not codes.verify("ОО-001", first)
    assert codes.verify("ОО-002", "второй-код-2")


@pytest.mark.parametrize("school", ["", "ОО:001", "../ОО-001", "ОО/001", "a" * 80])
def test_add_school_code_refuses_codes_unfit_for_files(tmp_path: Path, school: str) -> None:
    with pytest.raises(AccessFileError) as err:
        add_school_code(tmp_path / "codes.txt", school, "длинный-код")
    assert "Код ОО" in err.value.message_ru


def test_short_access_code_refused(tmp_path: Path) -> None:
    with pytest.raises(AccessFileError, match="короткий"):
        add_school_code(tmp_path / "codes.txt", "ОО-001", "123")


def test_malformed_lines_are_ignored(tmp_path: Path) -> None:
    f = tmp_path / "codes.txt"
    add_school_code(f, "ОО-001", "secret-one")
    with f.open("a", encoding="utf-8") as fh:
        fh.write("# comment\n\nОО-009:broken\nОО-010:n=3,r=8,p=1:00:00\n")
    codes = AccessCodes(f)
    assert codes.schools() == ["ОО-001"]
    assert not codes.verify("ОО-009", "broken")


# -- sessions and CSRF ----------------------------------------------------------------------------
def test_session_cookie_is_signed_and_expires() -> None:
    sessions = Sessions()
    value, session = sessions.issue("ОО-001")
    assert sessions.read(value) == session
    sid, encoded, expires, mac = value.split(".")
    forged_school = "ОО-002".encode().hex()
    for forged in (f"{sid}.{forged_school}.{expires}.{mac}",
                   f"{sid}.{encoded}.{int(expires) + 999}.{mac}",
                   f"{sid}.{encoded}.{expires}.{'0' * 64}", "", "a.b.c", "x" * 600):
        assert sessions.read(forged) is None
    assert Sessions().read(value) is None  # another process key
    old, _ = Sessions(lifetime=-1).issue("ОО-001")
    assert Sessions().read(old) is None
    other_value, other = sessions.issue("ОО-001")
    assert sessions.csrf(session) != sessions.csrf(other)
    assert sessions.csrf_ok(session, sessions.csrf(session))
    assert not sessions.csrf_ok(session, sessions.csrf(other))
    assert not sessions.csrf_ok(session, "")
    assert not sessions.csrf_ok(None, sessions.csrf(session))


@pytest.mark.filterwarnings("ignore:Using `httpx` with `starlette.testclient`")
def test_cookie_is_secure_over_https(tmp_path: Path) -> None:
    from fastapi.testclient import TestClient

    from addin.web.app import create_app

    app = create_app(ServerConfig(collect_dir=tmp_path))
    with TestClient(app, base_url="https://127.0.0.1") as client:
        cookie = client.get("/").headers["set-cookie"].lower()
    assert "secure" in cookie and "httponly" in cookie and "samesite=strict" in cookie
    with TestClient(app, base_url="http://127.0.0.1") as client:
        assert "secure" not in client.get("/").headers["set-cookie"].lower()


# -- the collection folder ------------------------------------------------------------------------
def test_collect_layout_current_file_archive_and_journal(tmp_path: Path) -> None:
    root = tmp_path / "collect"
    a = tmp_path / "a.xlsx"
    a.write_bytes(b"first version")
    b = tmp_path / "b.ods"
    b.write_bytes(b"second version")
    r1 = collect.submit(root, a, "ОО-001", "Школа", "2026-11")
    assert r1.current == "schools/ОО-001.xlsx" and not r1.replaced
    assert r1.sha256 == hashlib.sha256(b"first version").hexdigest()
    assert r1.archived.startswith("archive/ОО-001/2026-11/")
    assert r1.archived.endswith(f"-{r1.sha256[:12]}.xlsx")
    r2 = collect.submit(root, b, "ОО-001", "Школа", "2026-12")
    assert r2.replaced and r2.current == "schools/ОО-001.ods"
    assert sorted(p.name for p in (root / "schools").iterdir()) == ["ОО-001.ods"]
    assert (root / r1.archived).read_bytes() == b"first version"
    assert (root / r2.archived).read_bytes() == b"second version"
    assert stat.S_IMODE((root / r2.current).stat().st_mode) == collect.FILE_MODE
    journal = [json.loads(x) for x in (root / "submissions.jsonl").read_text().splitlines()]
    assert [j["sha256"] for j in journal] == [r1.sha256, r2.sha256]
    assert all("school_name" not in j for j in journal)
    r3 = collect.submit(root, a, "ОО-001", "Школа", "что-то")
    assert r3.period == collect.NO_PERIOD
    with pytest.raises(ValueError):
        collect.submit(root, a, "../x", "Школа", "2026-11")
    assert not list(root.rglob(".tmp-*"))


# -- the CLI --------------------------------------------------------------------------------------
def test_serve_refuses_a_network_address_without_access_file() -> None:
    proc = run("serve", "--host", "0.0.0.0", "--port", free_port(), timeout=60)
    assert proc.returncode != 0
    out = proc.stdout + proc.stderr
    assert "Сервер не запущен" in out and "--access-file" in out
    assert "Traceback" not in out


def test_add_school_code_command(tmp_path: Path) -> None:
    f = tmp_path / "коды.txt"
    proc = run("serve", "add-school-code", "--access-file", f, "--school", "ОО-003")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    code = re.search(r"[A-Z2-9]{4}-[A-Z2-9]{4}-[A-Z2-9]{4}", proc.stdout).group(0)
    assert AccessCodes(f).verify("ОО-003", code)
    proc = run("serve", "add-school-code", "--access-file", f, "--school", "ОО-003",
               "--code", "свой-код-3")
    assert proc.returncode == 0 and "свой-код-3" not in proc.stdout
    assert AccessCodes(f).verify("ОО-003", "свой-код-3")
    assert not AccessCodes(f).verify("ОО-003", code)


def test_add_school_code_leaves_another_file_alone(tmp_path: Path) -> None:
    """The registry, or a workbook, given as the access file by mistake is not written to."""
    registry = tmp_path / "реестр.csv"
    registry.write_text("код ОО;наименование;тип;источник\nОО-001;Школа 1;ОО;1.xlsx\n",
                        encoding="utf-8")
    book = tmp_path / "книга.xlsx"
    book.write_bytes(b"PK\x03\x04\xff\xfe" + bytes(range(256)))
    for f in (registry, book):
        before = f.read_bytes()
        proc = run("serve", "add-school-code", "--access-file", f, "--school", "ОО-003")
        out = " ".join((proc.stdout + proc.stderr).split())
        assert proc.returncode == 2 and f"Файл {f.name} — не файл кодов доступа" in out, out
        assert "Traceback" not in out and f.read_bytes() == before


# -- the real server with access codes ------------------------------------------------------------
@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_municipality(generate_municipality(), tmp_path_factory.mktemp("demo"))


@pytest.fixture(scope="module")
def collect_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("collect")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, collect_dir: Path):
    base = tmp_path_factory.mktemp("access")
    codes = base / "codes.txt"
    for school, secret in SECRETS.items():
        add_school_code(codes, school, secret)
    s = start_server("--access-file", codes, "--collect-dir", collect_dir, host="127.0.0.2",
                     log_path=base / "serve.log")
    yield s
    s.stop()


def book(demo: Path, code: str) -> Path:
    return demo / "schools" / f"{code}.xlsx"


def client(server) -> httpx.Client:
    return httpx.Client(base_url=server.url, follow_redirects=True, timeout=120)


def login(c: httpx.Client, school: str, secret: str) -> httpx.Response:
    token = csrf_of(c.get("/login").text)
    return c.post("/login", data={"csrf": token, "school": school, "code": secret})


def test_pages_need_login(server) -> None:
    with client(server) as c:
        r = c.get("/")
        assert str(r.url).endswith("/login") and "Код доступа" in r.text
        r = c.get("/", follow_redirects=False)
        assert r.status_code == 303


def test_wrong_code_refused_right_code_admitted(server) -> None:
    with client(server) as c:
        started = time.monotonic()
        r = login(c, "ОО-001", "не-тот-код")
        assert r.status_code == 401 and "Неверный код ОО или код доступа" in r.text
        assert time.monotonic() - started >= 1.0  # a delay against guessing
        r = login(c, "ОО-777", SECRETS["ОО-001"])
        assert r.status_code == 401
        r = login(c, "ОО-001", SECRETS["ОО-001"])
        assert r.status_code == 200 and "Проверка книги наставничества" in r.text
        assert "ОО-001" in r.text  # shown as the logged-in school
    log = server.log()
    assert SECRETS["ОО-001"] not in log and "login refused" in log


def test_login_sets_a_strict_httponly_cookie(server) -> None:
    with client(server) as c:
        token = csrf_of(c.get("/login").text)
        r = c.post("/login", data={"csrf": token, "school": "ОО-002",
                                   "code": SECRETS["ОО-002"]}, follow_redirects=False)
        assert r.status_code == 303
        cookie = r.headers["set-cookie"].lower()
        assert "httponly" in cookie and "samesite=strict" in cookie and "path=/" in cookie
        assert "secure" not in cookie  # plain http here; https gets Secure


def test_post_without_csrf_is_refused(server, demo) -> None:
    with client(server) as c:
        r = c.post("/login", data={"school": "ОО-001", "code": SECRETS["ОО-001"]})
        assert r.status_code == 403 and "защитного кода" in r.text
        login(c, "ОО-001", SECRETS["ОО-001"])
        with book(demo, "ОО-001").open("rb") as fh:
            r = c.post("/check", files={"file": ("ОО-001.xlsx", fh)})
        assert r.status_code == 403 and "Доступ запрещён" in r.text
        with book(demo, "ОО-001").open("rb") as fh:
            r = c.post("/check", data={"csrf": "0" * 64}, files={"file": ("ОО-001.xlsx", fh)})
        assert r.status_code == 403
        r = c.post("/submit", data={"submit_token": "x" * 43})
        assert r.status_code == 403
        r = c.post("/logout")
        assert r.status_code == 403


def test_school_cannot_submit_another_schools_workbook(server, demo, collect_dir) -> None:
    with client(server) as a, client(server) as b:
        login(a, "ОО-001", SECRETS["ОО-001"])
        login(b, "ОО-002", SECRETS["ОО-002"])
        # A checks B's workbook: the check is shown, the submission is refused.
        r = upload(a, book(demo, "ОО-002"))
        assert r.status_code == 200 and 'data-status="принято"' in r.text
        assert 'name="submit_token"' not in r.text
        assert "книга организации ОО-002, а вы вошли как ОО-001" in r.text
        # B checks its own workbook; A tries B's submission token: refused.
        r = upload(b, book(demo, "ОО-002"))
        b_result = str(r.url)
        stolen = r.text.split('name="submit_token" value="')[1].split('"')[0]
        r = a.post("/submit", data={"csrf": csrf_of(a.get("/").text), "submit_token": stolen})
        assert r.status_code == 403 and "другом сеансе" in r.text
        assert not (collect_dir / "schools" / "ОО-002.xlsx").exists()
        # ...and cannot open B's result either; B's token still works for B.
        assert a.get(b_result).status_code == 404
        assert a.get(f"{b_result}/report.json").status_code == 404
        r = b.post("/submit", data={"csrf": csrf_of(b.get("/").text), "submit_token": stolen})
        assert r.status_code == 200 and "receipt-sha256" in r.text
        # A submits its own workbook.
        r = upload(a, book(demo, "ОО-001"))
        token = r.text.split('name="submit_token" value="')[1].split('"')[0]
        r = a.post("/submit", data={"csrf": csrf_of(r.text), "submit_token": token})
        assert r.status_code == 200 and "receipt-sha256" in r.text
        stored = collect_dir / "schools" / "ОО-001.xlsx"
        assert hashlib.sha256(stored.read_bytes()).hexdigest() in r.text


def test_login_and_refusal_in_the_browser(server, demo, tmp_path) -> None:
    if not CHROMIUM.exists():
        if os.environ.get("CI"):
            pytest.fail(f"{CHROMIUM} is required in CI (apt-get install -y chromium)")
        pytest.skip(f"headless Chromium not installed ({CHROMIUM} absent)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        page = browser.new_page(locale="ru-RU")
        page.set_default_timeout(60_000)
        page.goto(f"{server.url}/")
        assert page.url.endswith("/login")
        page.fill("#school", "ОО-001")
        page.fill("#code", "неверный")
        page.get_by_role("button", name="Войти").click()
        page.wait_for_selector(".alert")
        assert "Неверный код" in page.inner_text(".alert")
        page.fill("#code", SECRETS["ОО-001"])
        page.get_by_role("button", name="Войти").click()
        page.wait_for_selector("#check-form")
        assert page.inner_text(".who-code") == "ОО-001"
        page.set_input_files("input[type=file]", str(book(demo, "ОО-002")))
        page.get_by_role("button", name="Проверить").click()
        page.wait_for_selector("#status")
        assert page.locator("#submit-button").count() == 0
        assert "вошли как ОО-001" in page.inner_text("#submit-blocked")
        page.screenshot(path=str(tmp_path / "refused.png"), full_page=True)
        page.get_by_role("button", name="Выйти").click()
        page.wait_for_selector("#code")
        assert page.url.endswith("/login")
        browser.close()
