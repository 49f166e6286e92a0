"""Access codes for the whole registry: `nastavnik serve add-school-codes` (the printable
list read back: A4, one block per school, the QR code decoded) and the staff page «Коды
доступа» of the REAL server (issue, replace, sessions ended, the journal without the code)."""

from __future__ import annotations

import re
import zipfile
from io import BytesIO
from pathlib import Path

import httpx
import pytest
from openpyxl import load_workbook

from addin.web.access import AccessCodes, add_school_code, add_staff
from addin.web.code_sheet import BLOCKS_PER_PAGE, ROWS_PER_BLOCK, SHEET
from tests.cli import run
from tests.web_bench import csrf_of, start_server

URL = "https://nastavnik.example.ru/"
CODE_RE = re.compile(r"[A-Z2-9]{4}-[A-Z2-9]{4}-[A-Z2-9]{4}")
SCHOOLS = [(f"ОО-{n:03d}", f"Школа № {n} г. Примерска") for n in range(1, 7)]
STAFF, STAFF_SECRET = "metodist1", "staff-secret-001"


def write_registry(path: Path, schools: list[tuple[str, str]] = SCHOOLS) -> Path:
    lines = ["код ОО;наименование;тип;источник"]
    lines += [f"{code};{name};ОО;schools/{code}.xlsx" for code, name in schools]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def letters(book: Path) -> dict[str, tuple[str, str, str]]:
    """{code ОО: (name, access code, address)} of the printable list, read back."""
    ws = load_workbook(book)[SHEET]
    out = {}
    for top in range(2, ws.max_row + 1, ROWS_PER_BLOCK):
        name = ws.cell(top, 1).value
        if name is None:
            break
        code, secret, url = (ws.cell(top + n, 2).value for n in (1, 2, 3))
        out[code] = (name, secret, url)
    return out


def placed_qr_codes(book: Path) -> list[str]:
    """The text of the QR code at each picture of the sheet (zxing-cpp reads the PNG back;
    the same image is stored once and placed at every block)."""
    import zxingcpp
    from PIL import Image

    with zipfile.ZipFile(book) as z:
        media = [n for n in z.namelist() if n.startswith("xl/media/")]
        texts = {t for n in media for t in (r.text for r in zxingcpp.read_barcodes(
            Image.open(BytesIO(z.read(n))).convert("L")))}
        drawing = z.read("xl/drawings/drawing1.xml").decode()
    assert len(media) == 1 and len(texts) == 1
    return [*texts] * drawing.count("<xdr:pic>")


# -- the command ----------------------------------------------------------------------------------
def test_codes_for_the_registry_printed_on_a4_and_kept_unless_replaced(tmp_path: Path) -> None:
    registry = write_registry(tmp_path / "реестр.csv")
    codes = tmp_path / "коды.txt"
    add_staff(codes, STAFF, STAFF_SECRET)
    add_school_code(codes, "ОО-003", "old-code-0003")  # this school already has its code
    out = tmp_path / "коды-для-печати.xlsx"
    proc = run("serve", "add-school-codes", "--registry", registry, "--access-file", codes,
               "--out", out, "--url", URL)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Новых кодов: 5 из 6" in " ".join(proc.stdout.split())
    assert not CODE_RE.search(proc.stdout)  # the codes are in the list, not on the screen
    assert out.stat().st_mode & 0o777 == 0o600  # the codes in clear text: the owner's only
    printed = letters(out)
    assert set(printed) == {c for c, _ in SCHOOLS} - {"ОО-003"}
    access = AccessCodes(codes)
    for code, (name, secret, url) in printed.items():
        assert name == dict(SCHOOLS)[code] and url == URL and CODE_RE.fullmatch(secret)
        assert access.verify(code, secret)
    assert access.verify("ОО-003", "old-code-0003")
    assert access.login(STAFF, STAFF_SECRET) is not None
    assert placed_qr_codes(out) == [URL] * 5

    ws = load_workbook(out)[SHEET]
    assert ws.page_setup.paperSize == 9 and ws.page_setup.orientation == "portrait"  # A4
    assert ws.sheet_properties.pageSetUpPr.fitToPage
    # one page wide (1 is the default xlsxwriter leaves out), as many pages tall as needed
    assert ws.page_setup.fitToWidth in (None, 1) and ws.page_setup.fitToHeight == 0
    # A page break before every fifth block: no block is split across two A4 pages.
    assert [b.id for b in ws.row_breaks.brk] == [BLOCKS_PER_PAGE * ROWS_PER_BLOCK + 1]
    assert "только один раз" in ws.cell(1, 1).value

    again = run("serve", "add-school-codes", "--registry", registry, "--access-file", codes,
                "--out", tmp_path / "снова.xlsx", "--url", URL)
    assert again.returncode == 0 and "коды уже есть" in again.stdout
    assert not (tmp_path / "снова.xlsx").exists()

    replaced = tmp_path / "замена.xlsx"
    proc = run("serve", "add-school-codes", "--registry", registry, "--access-file", codes,
               "--out", replaced, "--url", URL, "--replace")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    fresh = letters(replaced)
    assert set(fresh) == {c for c, _ in SCHOOLS}
    access = AccessCodes(codes)
    assert not access.verify("ОО-003", "old-code-0003")
    assert all(access.verify(code, secret) for code, (_, secret, _) in fresh.items())
    assert not access.verify("ОО-001", printed["ОО-001"][1])
    assert access.login(STAFF, STAFF_SECRET) is not None  # staff are never replaced here


@pytest.mark.libreoffice
def test_the_printed_list_is_whole_a4_pages(tmp_path: Path, soffice) -> None:
    """LibreOffice prints the list of 9 schools on 3 A4 pages, four blocks to a page."""
    import pypdfium2

    schools = [(f"ОО-{n:03d}", f"Организация с длинным названием № {n}") for n in range(1, 10)]
    out = tmp_path / "печать.xlsx"
    proc = run("serve", "add-school-codes", "--registry",
               write_registry(tmp_path / "реестр.csv", schools), "--access-file",
               tmp_path / "коды.txt", "--out", out, "--url", URL)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    pdf = pypdfium2.PdfDocument(soffice(out, "pdf"))
    assert len(pdf) == 3
    for page in pdf:
        width, height = page.get_size()
        assert abs(width - 595.3) < 2 and abs(height - 841.9) < 2  # A4 portrait, in points
    text = [page.get_textpage().get_text_range() for page in pdf]
    assert [sum(f"ОО-{n:03d}" in t for n in range(1, 10)) for t in text] == [4, 4, 1]


@pytest.mark.parametrize("case", ["bad url", "missing folder", "over the registry",
                                  "staff login as school"])
def test_codes_command_refuses_and_changes_nothing(tmp_path: Path, case: str) -> None:
    registry = write_registry(tmp_path / "реестр.csv")
    codes = tmp_path / "коды.txt"
    add_staff(codes, STAFF, STAFF_SECRET)
    before = codes.read_bytes()
    out, url, expected = tmp_path / "печать.xlsx", URL, ""
    if case == "bad url":
        url, expected = "nastavnik.example.ru", "Адрес страницы"
    elif case == "missing folder":
        out, expected = tmp_path / "нет" / "печать.xlsx", "коды не выданы"
    elif case == "over the registry":
        out, expected = registry, "поверх реестра"
    else:
        write_registry(registry, [*SCHOOLS, (STAFF, "Школа-однофамилец")])
        expected = "логин сотрудника"
    proc = run("serve", "add-school-codes", "--registry", registry, "--access-file", codes,
               "--out", out, "--url", url)
    text = " ".join((proc.stdout + proc.stderr).split())
    assert proc.returncode == 2 and expected in text, text
    assert "Traceback" not in text
    assert codes.read_bytes() == before
    assert not (tmp_path / "печать.xlsx").exists()


# -- the staff page -------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory):
    base = tmp_path_factory.mktemp("codes")
    collect = base / "сдача"
    collect.mkdir()
    registry = write_registry(collect / "registry.csv")
    codes = base / "коды.txt"
    add_staff(codes, STAFF, STAFF_SECRET)
    add_school_code(codes, "ОО-002", "old-code-0002")
    server = start_server("--collect-dir", collect, "--access-file", codes, "--registry",
                          registry, log_path=base / "serve.log")
    yield server, collect, codes
    server.stop()


def login(c: httpx.Client, name: str, secret: str) -> httpx.Response:
    return c.post("/login", data={"csrf": csrf_of(c.get("/login").text), "school": name,
                                  "code": secret})


def test_staff_issue_and_replace_a_code_shown_once(site) -> None:
    server, collect, codes = site
    with httpx.Client(base_url=server.url, follow_redirects=True, timeout=60) as staff, \
            httpx.Client(base_url=server.url, follow_redirects=True, timeout=60) as school:
        login(staff, STAFF, STAFF_SECRET)
        page = staff.get("/staff/codes").text
        assert 'data-code="ОО-002" data-has="yes"' in page
        assert 'data-code="ОО-001" data-has="no"' in page and "без кода: 5" in page
        assert login(school, "ОО-002", "old-code-0002").url.path == "/"

        r = staff.post("/staff/codes/ОО-001", data={"csrf": csrf_of(page)})
        assert r.status_code == 200 and "Код выдан" in r.text and "только сейчас" in r.text
        new = re.search(r'id="new-code" class="secret">([^<]+)<', r.text).group(1)
        assert CODE_RE.fullmatch(new) and r.headers["cache-control"] == "no-store"
        assert 'id="page-qr"' in r.text and "data:image/svg+xml" in r.text
        assert AccessCodes(codes).verify("ОО-001", new)
        assert new not in staff.get("/staff/codes").text  # shown once only

        r = staff.post("/staff/codes/ОО-002", data={"csrf": csrf_of(page)})
        assert "Код заменён" in r.text and "сеансы организации завершены" in r.text
        replacement = re.search(r'id="new-code" class="secret">([^<]+)<', r.text).group(1)
        assert school.get("/").url.path == "/login"  # the open session of ОО-002 ended
        assert login(school, "ОО-002", "old-code-0002").status_code == 401
        assert login(school, "ОО-002", replacement).url.path == "/"

        steps = staff.get("/staff/codes").text
        assert "ОО-002, код доступа заменён" in steps and "ОО-001, код доступа выдан" in steps
        assert 'data-code="ОО-001" data-has="yes"' in steps
        assert staff.post("/staff/codes/ОО-999", data={"csrf": csrf_of(page)}).status_code == 404
    journal = (collect / "workspace" / "journal.sqlite").read_bytes()
    assert new.encode() not in journal and replacement.encode() not in journal
    assert new not in server.log() and replacement not in server.log()


def test_codes_page_is_for_staff_only(site) -> None:
    server, _, codes = site
    add_school_code(codes, "ОО-006", "school-code-0006")
    with httpx.Client(base_url=server.url, follow_redirects=True, timeout=60) as c:
        assert c.get("/staff/codes", follow_redirects=False).headers["location"] == "/login"
        login(c, "ОО-006", "school-code-0006")
        token = csrf_of(c.get("/").text)
        assert c.get("/staff/codes").status_code == 403
        assert c.post("/staff/codes/ОО-006", data={"csrf": token}).status_code == 403
    assert AccessCodes(codes).verify("ОО-006", "school-code-0006")
    with httpx.Client(base_url=server.url, follow_redirects=True, timeout=60) as staff:
        login(staff, STAFF, STAFF_SECRET)
        r = staff.post("/staff/codes/ОО-006", data={"csrf": "0" * 64})
        assert r.status_code == 403 and AccessCodes(codes).verify("ОО-006", "school-code-0006")
