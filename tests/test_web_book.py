"""«Книга организации» and the Excel buttons through the server, on the REAL `nastavnik serve`.

A school logs in and downloads its book pre-filled from the registry (.xlsx, .xlsm, .ods);
the .xlsm carries xlwings' VBA server client, read back by oletools' olevba; the JSON that
Remote.bas builds (tests/remote_vba.py derives it from Remote.bas itself) is accepted by
/xlwings/validate with the school's button token, and the actions that come back are ones
Remote.bas replays. Another school's token, a revoked token and a token made before the
school's code was replaced are refused with a Russian message for the workbook's alert.
"""

from __future__ import annotations

import io
import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from openpyxl import load_workbook

from addin.model import SchoolWorkbook
from addin.validate import validate_workbook
from addin.web.access import add_school_code, add_staff
from tests import remote_vba
from tests.cli import run
from tests.web_bench import csrf_of, start_server
from workbook_templates import contract as C

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")  # olevba's pyparsing
PERIOD = "2026-11"
SCHOOLS = {"ОО-001": "school-one-001", "ОО-002": "school-two-002", "ОО-003": "school-three-03",
           "ОО-009": "school-nine-009"}
REGISTRY = ("код ОО;наименование;тип;источник;код муниципалитета\n"
            "ОО-001;МБОУ «Лицей № 1 г. Энска»;ОО;schools/ОО-001.xlsx;Энский район\n"
            "ОО-002;ГБПОУ «Энский колледж связи»;СПО;schools/ОО-002.xlsx;Энский район\n"
            "ОО-003;МБОУ ДО «Дом творчества»;ДО;schools/ОО-003.xlsx;Энский район\n")
PREFILLED = {"code", "name", "org_type", "municipality", "period"}


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    base = tmp_path_factory.mktemp("book")
    collect = base / "сдача"
    collect.mkdir()
    (collect / "registry.csv").write_text(REGISTRY, encoding="utf-8")
    codes = base / "коды.txt"
    add_staff(codes, "metodist1", "staff-secret-001")
    for school, secret in SCHOOLS.items():
        add_school_code(codes, school, secret)
    server = start_server("--collect-dir", collect, "--access-file", codes, "--registry",
                          collect / "registry.csv", "--period", PERIOD,
                          log_path=base / "serve.log")
    yield server, codes, base
    server.stop()


@contextmanager
def session(server, school: str) -> Iterator[httpx.Client]:
    """A browser-like client logged in as `school`."""
    with httpx.Client(base_url=server.url, follow_redirects=True, timeout=120) as c:
        token = csrf_of(c.get("/login").text)
        r = c.post("/login", data={"csrf": token, "school": school, "code": SCHOOLS[school]})
        assert r.status_code == 200, r.text
        yield c


def download(c: httpx.Client, kind: str, where: Path) -> Path:
    r = c.get(f"/book/download/{kind}")
    assert r.status_code == 200, r.text
    path = where / f"book-{kind}.{kind}"
    path.write_bytes(r.content)
    return path


def school_form(path: Path) -> dict:
    return SchoolWorkbook.from_path(path).info.school


def prefilled_findings(path: Path) -> list:
    wb = SchoolWorkbook.from_path(path)
    rows = {wb.info.school_rows[k] for k in PREFILLED}
    return [f for f in validate_workbook(wb).findings
            if f.sheet == C.SCHOOL.name and f.row in rows]


@pytest.fixture(scope="module")
def books(site, tmp_path_factory):
    server, _codes, _base = site
    where = tmp_path_factory.mktemp("downloads")
    with session(server, "ОО-001") as c:
        page = c.get("/book").text
        kinds = ["xlsx", "xlsm"] + (["ods"] if 'id="get-ods"' in page else [])
        return page, {kind: download(c, kind, where) for kind in kinds}


def test_the_school_downloads_its_book_prefilled_from_the_registry(books):
    page, paths = books
    assert "МБОУ «Лицей № 1 г. Энска»" in page and 'id="get-xlsm"' in page
    if "ods" not in paths and (os.environ.get("REQUIRE_SOFFICE") or os.environ.get("CI")):
        pytest.fail("the server offers no .ods: LibreOffice (soffice) is required here")
    for kind, path in paths.items():
        form = school_form(path)
        assert (form["code"], form["name"], form["org_type"], form["municipality"],
                form["period"]) == ("ОО-001", "МБОУ «Лицей № 1 г. Энска»", "ОО",
                                    "Энский район", PERIOD), kind
        assert prefilled_findings(path) == [], kind


def test_downloaded_xlsx_and_ods_open_in_libreoffice(books, soffice):
    _page, paths = books
    assert "ods" in paths  # soffice is here, so the server made the .ods template
    for kind in ("xlsx", "ods"):
        resaved = soffice(paths[kind], "xlsx")
        assert school_form(resaved)["code"] == "ОО-001", kind
        assert prefilled_findings(resaved) == [], kind


def test_a_school_missing_from_the_registry_gets_the_blank_book_and_why(site, tmp_path):
    server, _codes, _base = site
    with session(server, "ОО-009") as c:
        page = c.get("/book").text
        assert "Организации с кодом ОО-009 нет в реестре муниципалитета" in page
        blank = download(c, "xlsx", tmp_path)
    assert not school_form(blank).get("code")


def test_the_vba_project_holds_the_remote_client_by_olevba(books):
    _page, paths = books
    client = remote_vba.VbaClient.of(paths["xlsm"])
    for module in ("Remote", "WebHelpers", "WebClient", "WebRequest", "WebResponse",
                   "IWebAuthenticator", "Dictionary", "xlwings", "NastavnikServer"):
        assert module in client.modules, module
    assert "Function RunServerPython(" in client.remote
    assert client.constant("XLWINGS_VERSION") == "0.37.8"
    assert "RunPython" not in client.modules["NastavnikServer"].replace("RunServerPython", "")
    # Remote.bas uses msoPicture (Option Explicit): the project references the Office library
    assert "msoPicture" in client.remote
    assert "{2DF8D04C-5BFA-101B-BDE5-00AA0044DE52}" in remote_vba.references(paths["xlsm"])


def post_as_excel(client: remote_vba.VbaClient, xlsm: Path, macro: str = "CheckBook",
                  body: dict | None = None, auth: str | None = None) -> httpx.Response:
    """What clicking the button does: RunServerPython(GetConfig(URL) & path) with the
    Authorization header from GetConfig("AUTH") and VBA-Web's User-Agent."""
    settings = remote_vba.conf(xlsm)
    key, path = client.button_url_key(macro)
    headers = {"Authorization": auth or settings[client.auth_key()],
               "User-Agent": client.user_agent(), "Content-Type": "application/json",
               "Accept": "application/json"}
    data = json.dumps(body or remote_vba.payload(client, xlsm), ensure_ascii=False)
    return httpx.post(settings[key] + path, content=data.encode("utf-8"), headers=headers,
                      timeout=120)


def test_remote_bas_json_is_accepted_with_the_button_token(site, books):
    server, _codes, _base = site
    _page, paths = books
    client = remote_vba.VbaClient.of(paths["xlsm"])
    settings = remote_vba.conf(paths["xlsm"])
    assert settings["NASTAVNIK_URL"] == server.url + "/xlwings"
    assert settings["AUTH"].startswith("nb1.") and SCHOOLS["ОО-001"] not in settings["AUTH"]
    for macro in ("CheckBook", "ShowIndicators"):
        r = post_as_excel(client, paths["xlsm"], macro)
        assert r.status_code == 200, r.text
        actions = r.json()["actions"]
        assert actions and {a["func"] for a in actions} <= client.replayed()
        alerts = [a for a in actions if a["func"] == "alert"]
        assert alerts and alerts[-1]["args"][1] == "Наставничество"
    # «Проверка» as setValues writes it: the empty fields the school fills itself, and none of
    # the fields the registry filled
    r = post_as_excel(client, paths["xlsm"])
    written = [row for a in r.json()["actions"] if a["func"] == "setValues"
               for row in a["values"]]
    rows = {row[3] for row in written if len(row) > 3 and row[2] == C.SCHOOL.name}
    form = SchoolWorkbook.from_path(paths["xlsm"]).info.school_rows
    assert form["curator"] in rows
    assert not rows & {form[k] for k in PREFILLED}


def test_another_schools_token_is_refused_with_a_russian_alert(site, books, tmp_path):
    server, _codes, _base = site
    _page, paths = books
    with session(server, "ОО-002") as c:
        other = download(c, "xlsm", tmp_path)
    client = remote_vba.VbaClient.of(paths["xlsm"])
    body = remote_vba.payload(client, paths["xlsm"])  # the book of ОО-001 …
    r = post_as_excel(client, paths["xlsm"], body=body,
                      auth=remote_vba.conf(other)["AUTH"])  # … with the buttons of ОО-002
    assert r.status_code == 403
    assert r.headers["content-type"].startswith("text/plain")
    assert "выданы организации ОО-002" in r.text and "указан код ОО-001" in r.text


def test_a_revoked_token_and_a_replaced_code_void_the_buttons(site, tmp_path):
    server, codes, _base = site
    with session(server, "ОО-002") as c:
        before = download(c, "xlsm", tmp_path)
    client = remote_vba.VbaClient.of(before)
    assert post_as_excel(client, before).status_code == 200
    res = run("serve", "revoke-buttons", "--access-file", codes, "--school", "ОО-002")
    assert res.returncode == 0, res.stderr
    r = post_as_excel(client, before)
    assert r.status_code == 403 and "токен кнопок отозван" in r.text
    (tmp_path / "new").mkdir()
    with session(server, "ОО-002") as c:
        after = download(c, "xlsm", tmp_path / "new")
    assert remote_vba.conf(after)["AUTH"] != remote_vba.conf(before)["AUTH"]
    assert post_as_excel(client, after).status_code == 200

    with session(server, "ОО-003") as c:
        third = download(c, "xlsm", tmp_path)
    assert post_as_excel(client, third).status_code == 200
    add_school_code(codes, "ОО-003", "school-three-new")
    r = post_as_excel(client, third)
    assert r.status_code == 403 and "код доступа организации заменён" in r.text


def test_own_book_gets_the_servers_buttons_and_keeps_its_data(site, books):
    server, _codes, _base = site
    _page, paths = books
    wb = load_workbook(paths["xlsx"])
    wb[C.ROADMAP.name].append(["1", "", "Приказ о наставничестве"])
    buf = io.BytesIO()
    wb.save(buf)
    with session(server, "ОО-001") as c:
        token = csrf_of(c.get("/book").text)
        r = c.post("/book/buttons", data={"csrf": token},
                   files={"file": ("моя книга.xlsx", buf.getvalue())})
        assert r.status_code == 200, r.text
        assert r.headers["content-type"].startswith("application/vnd.ms-excel.sheet.macro")
    with session(server, "ОО-002") as c:
        token = csrf_of(c.get("/book").text)
        refused = c.post("/book/buttons", data={"csrf": token},
                         files={"file": ("чужая.xlsx", buf.getvalue())})
    assert refused.status_code == 400 and "указан код ОО-001" in refused.text


def test_open_mode_offers_the_blank_book_without_server_buttons(tmp_path):
    # no .ods here: the server runs without LibreOffice
    server = start_server(log_path=tmp_path / "serve.log", env={"SOFFICE": ""})
    try:
        with httpx.Client(base_url=server.url, timeout=120) as c:
            page = c.get("/book").text
            assert 'id="get-xlsx"' in page and 'id="get-xlsm"' not in page
            assert 'id="get-ods"' not in page
            assert "недоступна" in c.get("/book/download/ods").text
            assert c.get("/book/download/xlsm").status_code == 403
            r = c.get("/book/download/xlsx")
        path = tmp_path / "blank.xlsx"
        path.write_bytes(r.content)
        assert not school_form(path).get("code")
    finally:
        server.stop()
