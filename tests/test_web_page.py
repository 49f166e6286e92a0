"""The check-and-submit page through the REAL `nastavnik serve` and headless Chromium.

The server runs as a subprocess of the installed console script; the browser is Debian's
/usr/bin/chromium driven by PyPI playwright (no browser download). Browser tests skip with a
reason only where /usr/bin/chromium is absent, and fail there when CI is set.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import stat
import tempfile
from collections import Counter
from pathlib import Path

import httpx
import pytest
from openpyxl import load_workbook

from addin.model import SchoolWorkbook
from addin.validate import validate_workbook
from tests.cli import run
from tests.web_bench import (
    Server,
    bench_page_roundtrip,
    csrf_of,
    make_big_workbook,
    start_server,
    upload,
)
from workbook_templates import contract as C
from workbook_templates.demo import DemoMunicipality, generate_municipality, write_municipality

REPO = Path(__file__).resolve().parents[1]
DOCS_SCREENSHOT = REPO / "docs" / "img" / "check-page.png"


# -- fixtures -------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[DemoMunicipality, Path]:
    muni = generate_municipality()
    return muni, write_municipality(muni, tmp_path_factory.mktemp("demo"))


@pytest.fixture(scope="module")
def collect_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("collect")


@pytest.fixture(scope="module")
def server(collect_dir: Path, tmp_path_factory: pytest.TempPathFactory):
    log = tmp_path_factory.mktemp("serve") / "serve.log"
    s = start_server("--collect-dir", collect_dir, log_path=log)
    yield s
    s.stop()


@pytest.fixture
def page(browser):
    context = browser.new_context(accept_downloads=True, locale="ru-RU",
                                  viewport={"width": 1280, "height": 900})
    pg = context.new_page()
    pg.set_default_timeout(60_000)
    yield pg
    context.close()


def check_in_browser(page, server: Server, workbook: Path) -> None:
    """Open the form, choose the file, press «Проверить», wait for the result."""
    page.goto(f"{server.url}/")
    page.set_input_files("input[type=file]", str(workbook))
    page.get_by_role("button", name="Проверить").click()
    page.wait_for_selector("#status")


def school_file(demo, code: str) -> Path:
    return demo[1] / "schools" / f"{code}.xlsx"


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def no_traceback(text: str) -> None:
    assert "Traceback" not in text
    assert 'File "' not in text


# -- reading .ods ---------------------------------------------------------------------------------
@pytest.mark.libreoffice
def test_school_workbook_reads_ods_made_by_libreoffice(demo, soffice) -> None:
    xlsx = school_file(demo, "ОО-001")
    ods = soffice(xlsx, "ods")
    a, b = SchoolWorkbook.from_path(xlsx), SchoolWorkbook.from_path(ods)
    assert b.school_code == "ОО-001"
    assert b.row_counts() == a.row_counts()
    assert validate_workbook(b).errors == 0


# -- a school with planted mistakes ---------------------------------------------------------------
def test_page_lists_every_cli_finding_and_annotated_copy_opens(demo, server, page,
                                                               tmp_path) -> None:
    muni, _ = demo
    school = max((s for s in muni.schools if s.submission == "ok"), key=lambda s: len(s.mistakes))
    path = school_file(demo, school.code)
    proc = run("validate", path, "--format", "json")
    expected = json.loads(proc.stdout)
    assert expected["findings"], "the demo school should carry planted mistakes"

    check_in_browser(page, server, path)
    assert page.get_attribute("#status", "data-status") == expected["status"]
    assert page.inner_text("#school-code") == school.code
    rows = page.eval_on_selector_all(
        "tr.finding", "els => els.map(e => [e.dataset.code, e.dataset.sheet, e.dataset.row])")
    want = Counter((f["code"], f["sheet"], "" if f["row"] is None else str(f["row"]))
                   for f in expected["findings"])
    assert Counter(tuple(r) for r in rows) == want
    assert {m.code for m in school.mistakes} <= {r[0] for r in rows}
    body = page.inner_text("body")
    for f in expected["findings"]:
        assert f["message_ru"] in body
    assert page.locator("#submit-button").count() == 0  # errors: never submitted
    assert "с ошибками сдать нельзя" in page.inner_text("#submit-blocked")
    assert page.locator("table.indicators tbody tr").count() >= 5
    no_traceback(body)

    shot = tmp_path / "result.png"
    page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 10_000
    if os.environ.get("NASTAVNIK_UPDATE_SCREENSHOT") == "1":
        DOCS_SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
        page.set_viewport_size({"width": 1200, "height": 1500})
        page.screenshot(path=str(DOCS_SCREENSHOT))

    with page.expect_download(timeout=180_000) as info:
        page.click("#download-annotated")
    download = info.value
    copy = tmp_path / download.suggested_filename
    download.save_as(copy)
    assert copy.suffix == ".xlsx"
    wb = load_workbook(copy)
    ws = wb[C.CHECK.name]
    codes = [r[1] for r in ws.iter_rows(min_row=C.FIRST_DATA_ROW, values_only=True) if r[1]]
    assert Counter(codes) == Counter(f["code"] for f in expected["findings"])
    assert C.INDICATORS.name in wb.sheetnames

    with page.expect_download() as info:
        page.click("#download-json")
    report = tmp_path / "report.json"
    info.value.save_as(report)
    data = json.loads(report.read_text(encoding="utf-8"))
    assert data["findings"] == expected["findings"]
    assert data["status"] == expected["status"]


# -- clean schools: .xlsx and .ods, submitted, then read by `nastavnik sync` ----------------------
@pytest.mark.libreoffice
def test_clean_school_xlsx_and_ods_submitted_and_synced(demo, server, collect_dir, page, soffice,
                                                        tmp_path) -> None:
    muni, _ = demo
    first, second = [s for s in muni.schools if s.clean and s.org_type == "ОО"][:2]
    ods = soffice(school_file(demo, second.code), "ods")
    stored = {}
    for school, path in ((first, school_file(demo, first.code)), (second, ods)):
        check_in_browser(page, server, path)
        assert page.get_attribute("#status", "data-status") == "принято"
        assert "ошибок нет" in page.inner_text("#status")
        if path.suffix == ".ods":  # no annotated copy of an .ods: said on the page
            assert page.locator("#download-annotated").count() == 0
            assert ".xlsx" in page.inner_text("#no-annotated")
        page.get_by_role("button", name="Отправить в муниципалитет").click()
        page.wait_for_selector("#receipt-sha256")
        target = collect_dir / "schools" / f"{school.code}{path.suffix}"
        assert page.inner_text("#receipt-sha256") == sha256(target) == sha256(path)
        assert page.inner_text("#receipt-code") == school.code
        assert page.inner_text("#receipt-period") == muni.period
        archived = list((collect_dir / "archive" / school.code / muni.period).iterdir())
        assert [p.name.endswith(f"-{sha256(path)[:12]}{path.suffix}") for p in archived] == [True]
        stored[school.code] = (school, f"schools/{school.code}{path.suffix}")
        no_traceback(page.inner_text("body"))

    registry = tmp_path / "registry.csv"
    lines = [";".join(C.REGISTRY_HEADER)]
    lines += [f"{s.code};{s.name};{s.org_type};{source}" for s, source in stored.values()]
    registry.write_text("\n".join(lines) + "\n", encoding="utf-8-sig")
    proc = run("sync", "--registry", registry, "--period", muni.period,
               "--out", tmp_path / "master.xlsx", "--source-dir", collect_dir)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    for code in stored:
        line = next(x for x in proc.stdout.splitlines() if code in x)
        assert "принят" in line and "отклон" not in line


def test_submission_token_is_one_time_and_errors_never_offered(demo, server, collect_dir) -> None:
    muni, _ = demo
    with httpx.Client(base_url=server.url, follow_redirects=True, timeout=120) as client:
        bad = next(s for s in muni.schools if s.submission == "ok" and s.mistakes)
        r = upload(client, school_file(demo, bad.code))
        assert r.status_code == 200 and 'name="submit_token"' not in r.text
        made_up = client.post("/submit", data={"csrf": csrf_of(client.get("/").text),
                                               "submit_token": "x" * 43})
        assert made_up.status_code == 404
        assert not (collect_dir / "schools" / f"{bad.code}.xlsx").exists()

        clean = next(s for s in muni.schools if s.clean and s.org_type == "ДО")
        r = upload(client, school_file(demo, clean.code))
        token = r.text.split('name="submit_token" value="')[1].split('"')[0]
        form = {"csrf": csrf_of(r.text), "submit_token": token}
        first = client.post("/submit", data=form)
        assert first.status_code == 200 and "receipt-sha256" in first.text
        again = client.post("/submit", data=form)
        assert again.status_code == 404 and "уже использована" in again.text


# -- files that are not workbooks; oversized uploads ----------------------------------------------
def _docx(path: Path) -> Path:
    import docx

    d = docx.Document()
    d.add_paragraph("Дорожная карта наставничества")
    d.save(path)
    return path


def test_unreadable_files_get_a_russian_reason_and_server_keeps_answering(demo, server, page,
                                                                          tmp_path) -> None:
    docx_as_xlsx = tmp_path / "книга.xlsx"
    shutil.copy(_docx(tmp_path / "план.docx"), docx_as_xlsx)
    text_as_xlsx = tmp_path / "заметки.xlsx"
    text_as_xlsx.write_text("это не книга", encoding="utf-8")
    pdf = tmp_path / "отчёт.pdf"
    pdf.write_bytes(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    cases = [
        (school_file(demo, "ОО-007"), "файл повреждён"),  # the demo's truncated workbook
        (docx_as_xlsx, "документ Word"),
        (text_as_xlsx, "не является книгой"),
        (pdf, "Нужна книга .xlsx, .xlsm или .ods"),
        (school_file(demo, "ОО-010"), "неизвестная версия шаблона"),
    ]
    for path, reason in cases:
        check_in_browser(page, server, path)
        assert page.get_attribute("#status", "data-status") == "файл не читается"
        status = page.inner_text("#status")
        assert "Файл не читается" in status and reason in status, (path.name, status)
        assert page.locator("#submit-button").count() == 0
        no_traceback(page.inner_text("body"))
    assert server.health() == 200
    no_traceback(server.log())


def test_oversized_upload_gets_russian_413_in_browser_and_over_http(tmp_path, browser) -> None:
    big = tmp_path / "большая.xlsx"
    big.write_bytes(b"PK\x03\x04" + os.urandom(int(1.5 * 1024 * 1024)))
    server = start_server("--max-upload-mb", "1", log_path=tmp_path / "serve.log")
    try:
        context = browser.new_context(locale="ru-RU")
        page = context.new_page()
        page.goto(f"{server.url}/")
        page.set_input_files("input[type=file]", str(big))
        with page.expect_response(lambda r: r.url.endswith("/check")) as answer:
            page.get_by_role("button", name="Проверить").click()
        assert answer.value.status == 413
        page.wait_for_load_state()
        body = page.inner_text("body")
        assert "слишком большой" in body and "1 МБ" in body
        no_traceback(body)
        context.close()

        with httpx.Client(base_url=server.url, timeout=60) as client:
            token = csrf_of(client.get("/").text)
            r = client.post("/check", data={"csrf": token}, headers={"Accept": "text/html"},
                            files={"file": (big.name, big.read_bytes())})
            assert r.status_code == 413 and "слишком большой" in r.text

            def chunks():  # no Content-Length: the limit counts the bytes as they come
                yield (b'--zz\r\nContent-Disposition: form-data; name="file"; '
                       b'filename="a.xlsx"\r\nContent-Type: application/octet-stream\r\n\r\n')
                for _ in range(24):
                    yield b"x" * 65536
                yield b"\r\n--zz--\r\n"

            r = client.post("/check", content=chunks(),
                            headers={"Accept": "text/html",
                                     "Content-Type": "multipart/form-data; boundary=zz"})
            assert r.status_code == 413
        assert server.health() == 200
        no_traceback(server.log())
    finally:
        server.stop()


# -- smaller guarantees ---------------------------------------------------------------------------
def test_form_without_file_or_with_bad_date_is_explained(server, demo) -> None:
    with httpx.Client(base_url=server.url, follow_redirects=True, timeout=60) as client:
        token = csrf_of(client.get("/").text)
        r = client.post("/check", data={"csrf": token})
        assert r.status_code == 400 and "Выберите файл" in r.text
        r = upload(client, school_file(demo, "ОО-001"), reference_date="31.02.2026")
        assert r.status_code == 400 and "не распознана" in r.text
        r = upload(client, school_file(demo, "ОО-001"), reference_date="2026-12-31")
        assert r.status_code == 200 and "31.12.2026" in r.text


def test_unknown_host_is_refused_on_open_server(server) -> None:
    """No DNS rebinding: the open (loopback) page answers only loopback host names."""
    r = httpx.get(f"{server.url}/", headers={"Host": "attacker.example"})
    assert r.status_code == 400 and "незнакомому адресу" in r.text
    assert httpx.get(f"{server.url}/", headers={"Host": "localhost"}).status_code == 200


def test_results_belong_to_their_session(server, demo) -> None:
    with httpx.Client(base_url=server.url, follow_redirects=True, timeout=60) as a, \
            httpx.Client(base_url=server.url, follow_redirects=True, timeout=60) as b:
        r = upload(a, school_file(demo, "ОО-001"))
        assert r.status_code == 200
        result_url = str(r.url)
        assert a.get(f"{result_url}/report.json").status_code == 200
        b.get("/")
        assert b.get(result_url).status_code == 404
        assert b.get(f"{result_url}/report.json").status_code == 404


def test_security_headers_and_static_assets(server) -> None:
    r = httpx.get(f"{server.url}/")
    assert "default-src 'none'" in r.headers["content-security-policy"]
    assert r.headers["x-content-type-options"] == "nosniff"
    cookie = r.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=strict" in cookie and "path=/" in cookie
    assert "secure" not in cookie
    # Without --behind-proxy no one's X-Forwarded-Proto is believed (with it: test_web_tls).
    proxied = httpx.get(f"{server.url}/", headers={"X-Forwarded-Proto": "https"})
    assert "secure" not in proxied.headers["set-cookie"].lower()
    css = httpx.get(f"{server.url}/static/style.css")
    assert css.status_code == 200 and css.headers["content-type"].startswith("text/css")
    assert httpx.get(f"{server.url}/static/app.js").status_code == 200
    assert httpx.get(f"{server.url}/static/..%2Froutes.py").status_code == 404


def test_result_page_fits_a_phone(demo, browser, server) -> None:
    context = browser.new_context(viewport={"width": 375, "height": 740}, is_mobile=True,
                                  has_touch=True, locale="ru-RU")
    page = context.new_page()
    try:
        check_in_browser(page, server, school_file(demo, "ОО-004"))
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
        height = page.evaluate("document.querySelector('#download-json')"
                               ".getBoundingClientRect().height")
        assert height >= 44  # a finger-sized target
    finally:
        context.close()


def test_results_are_removed_when_the_server_stops(demo, tmp_path) -> None:
    server = start_server(log_path=tmp_path / "serve.log")
    try:
        with httpx.Client(base_url=server.url, follow_redirects=True, timeout=60) as client:
            assert upload(client, school_file(demo, "ОО-001")).status_code == 200
        roots = list(Path(tempfile.gettempdir()).glob(f"nastavnik-web-{server.proc.pid}-*"))
        assert len(roots) == 1 and list(roots[0].rglob("checked.xlsx"))
        assert stat.S_IMODE(roots[0].stat().st_mode) == 0o700
    finally:
        server.stop()
    assert not roots[0].exists()


def test_bench_page_roundtrip_5000_participants(server, tmp_path) -> None:
    book = make_big_workbook(tmp_path / "school-5000.xlsx")
    seconds = bench_page_roundtrip(book, base_url=server.url, repeat=1)
    print(f"page round trip, 5,000 participants: {seconds:.2f} s")
    assert seconds < 10  # target 2 s (scripts/bench); generous here for loaded CI machines


def test_server_log_has_codes_but_no_participant_names(demo, server) -> None:
    """Runs last in this module: by now the server has checked and stored many workbooks."""
    muni, _ = demo
    with httpx.Client(base_url=server.url, follow_redirects=True, timeout=60) as client:
        for school in muni.schools[:4]:
            upload(client, school_file(demo, school.code))
    names = {school.data["school"]["curator"] for school in muni.schools}
    for school in muni.schools:
        for key in ("mentors", "mentees"):
            names |= {row["full_name"] for row in school.data[key] if row.get("full_name")}
    log = server.log()
    assert "ОО-001" in log and "check school=" in log
    leaked = sorted(n for n in names if n and n in log)
    assert not leaked, leaked[:5]
    no_traceback(log)


def test_result_store_expires_and_caps_results() -> None:
    import time

    from addin.web.results import Entry, ResultStore

    store = ResultStore(ttl=60, limit=3)
    try:
        for i in range(5):
            folder = store.new_folder()
            (folder / "checked.xlsx").write_bytes(b"x")
            store.add(Entry(token=f"t{i}", folder=folder, created=time.time(), sid="s",
                            display_name="книга.xlsx", suffix=".xlsx",
                            report_path=folder / "report.json", status="",
                            submit_token=f"s{i}"))
        assert store.get("t0", "s") is None and store.get("t4", "s") is not None
        assert len(list(store.root.iterdir())) == 3  # the oldest folders are gone
        assert store.get("t4", "other session") is None
        assert store.take_submission("s4", "other session") == (store.get("t4", "s"), False)
        assert store.take_submission("s4", "s")[1] is True
        assert store.take_submission("s4", "s") == (None, False)  # one time only
        store.ttl = 0
        store.purge()
        assert store.get("t4", "s") is None and not list(store.root.iterdir())
    finally:
        store.close()
