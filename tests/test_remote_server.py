"""The remote buttons against the real server: `nastavnik serve` in a subprocess, payloads
shaped as xlwings.js sends them, answers replayed as the client would read them."""

from __future__ import annotations

import json
import re

import pytest

from tests.cli import run as run_cli
from tests.payloads import Server, actions_of, payload_from_values, payload_from_xlsx
from tests.payloads import sheet_position as position
from tests.sample import clean_school
from workbook_templates import contract as C
from workbook_templates.build import write_school_workbook

httpx = pytest.importorskip("httpx")

CYRILLIC = re.compile("[а-яё]", re.I)


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with Server(tmp_path_factory.mktemp("server"), extra=("--max-upload-mb", "1")) as s:
        yield s


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("books")
    bad = clean_school()
    bad["pairs"][0]["mentor_id"] = "Н-099"  # PAIR-001
    bad["mentees"][1]["consent_date"] = None  # CONSENT-001
    bad["mentors"][0]["birth_date"] = "31.02.1985"  # CELL-002
    bad["pairs"][1]["plan_percent"] = 140  # a number out of range
    return {"bad": write_school_workbook(tmp / "bad.xlsx", bad),
            "clean": write_school_workbook(tmp / "clean.xlsx", clean_school())}


def check_rows(answer, payload):
    pos = position(payload, C.CHECK.name)
    return [row for a in actions_of(answer, "setValues")
            if a["sheet_position"] == pos and a["start_row"] >= 1 for row in a["values"]]


def coloured_cells(answer):
    out = {}
    for a in actions_of(answer, "setRangeColor"):
        for r in range(a["start_row"], a["start_row"] + a["row_count"]):
            for c in range(a["start_column"], a["start_column"] + a["column_count"]):
                out[a["sheet_position"], r, c] = a["args"][0]
    return out


def test_validate_writes_the_cli_findings_and_colours_the_cells(server, files):
    payload = payload_from_xlsx(files["bad"])
    response = server.post("validate", payload)
    assert response.status_code == 200, response.text
    answer = response.json()
    cli = run_cli("validate", files["bad"], "--format", "json")
    expected = json.loads(cli.stdout)["findings"]
    rows = check_rows(answer, payload)
    assert {(r[1], r[2], r[3]) for r in rows} == {(f["code"], f["sheet"], f["row"])
                                                  for f in expected}
    assert len(rows) == len(expected)
    colours = coloured_cells(answer)
    for f in expected:
        if f["sheet"] == C.SCHOOL.name or f["row"] is None:
            continue
        pos = position(payload, f["sheet"])
        col = payload["sheets"][pos]["values"][0].index(f["column"])
        assert colours[pos, f["row"] - 1, col] in ("#FFC7CE", "#FFEB9C", "#DDEBF7"), f
    assert "ошибок" in actions_of(answer, "alert")[0]["args"][0]


def test_clean_recheck_clears_highlights(server, files):
    dirty = payload_from_xlsx(files["bad"])
    first = server.post("validate", dirty).json()
    old_rows = check_rows(first, dirty)
    clean = payload_from_xlsx(files["clean"])
    check = position(clean, C.CHECK.name)
    clean["sheets"][check]["values"] = (clean["sheets"][check]["values"][:1]
                                        + [[str(v).lstrip("'") for v in r] for r in old_rows])
    response = server.post("validate", clean)
    assert response.status_code == 200
    answer = response.json()
    assert check_rows(answer, clean) == []
    assert set(coloured_cells(answer).values()) == {None}  # only clearing, no new colour
    cleared = {a["sheet_position"] for a in actions_of(answer, "setRangeColor")}
    assert {position(clean, s.name) for s in C.DATA_SHEETS} <= cleared
    assert [(a["start_row"], a["row_count"]) for a in actions_of(answer, "rangeClear")
            if a["sheet_position"] == check] == [(1, len(old_rows))]
    assert "Замечаний нет" in actions_of(answer, "alert")[0]["args"][0]


def test_indicators_endpoint(server, files):
    payload = payload_from_xlsx(files["clean"])
    response = server.post("indicators", payload)
    assert response.status_code == 200
    pos = position(payload, C.INDICATORS.name)
    rows = [r for a in actions_of(response.json(), "setValues")
            if a["sheet_position"] == pos and a["start_row"] == 1 for r in a["values"]]
    cli = json.loads(run_cli("indicators", files["clean"], "--format", "json").stdout)
    assert [(r[0], r[1], r[2]) for r in rows] == [(v["title"], v["numerator"],
                                                   v["denominator"]) for v in cli]


@pytest.mark.parametrize("token", [None, "wrong-token"])
def test_without_the_right_token_401_and_no_work(server, token):
    before = server.log()
    # Malformed JSON: a 400 here would prove the body was read before the token was checked.
    response = server.post("validate", b"{not json", token=token)
    assert response.status_code == 401
    assert CYRILLIC.search(response.json()["error"])
    new = server.log()[len(before):]
    assert "401" in new and " 400 " not in new and "200 /xlwings" not in new


def test_oversized_body_is_413(server):
    body = json.dumps({"padding": "x" * (2 * 1024 * 1024)}).encode()
    response = server.post("validate", body)
    assert response.status_code == 413
    assert CYRILLIC.search(response.json()["error"])


def test_malformed_json_is_400_russian(server):
    response = server.post("validate", b'{"client": "Google Apps Script", ')
    assert response.status_code == 400
    assert "JSON" in response.json()["error"] and CYRILLIC.search(response.json()["error"])


@pytest.mark.parametrize("body", [[], {"sheets": []}, {"client": "x", "version": "0"},
                                  "строка"])
def test_not_an_xlwings_book_is_400_russian(server, body):
    response = server.post("validate", body)
    assert response.status_code == 400
    assert CYRILLIC.search(response.json()["error"])


def test_not_our_workbook_is_400_russian(server):
    payload = payload_from_values({"Лист1": [["Фамилия"], ["Иванов Иван Иванович"]]})
    response = server.post("validate", payload)
    assert response.status_code == 400
    assert "листа книги наставничества" in response.json()["error"]


def test_other_xlwings_version_is_400_russian(server, files):
    payload = payload_from_xlsx(files["clean"])
    payload["version"] = "0.30.0"
    response = server.post("indicators", payload)
    assert response.status_code == 400
    assert "не совпадает" in response.json()["error"]


def test_the_log_holds_no_cell_values(server, files):
    payload = payload_from_xlsx(files["bad"])
    assert server.post("validate", payload).status_code == 200
    assert server.post("indicators", payload).status_code == 200
    not_ours = payload_from_values({"Лист1": [["Сидорова Анна Петровна"]]})
    assert server.post("validate", not_ours).status_code == 400
    log = server.log()
    names = [r[1] for s in payload["sheets"] if s["name"] in (C.MENTORS.name, C.MENTEES.name)
             for r in s["values"][1:]]
    school = clean_school()["school"]
    secrets = [*names, "Сидорова Анна Петровна", school["name"], school["curator"], "Н-099",
               "31.02.1985", server.token]
    assert len(names) >= 6
    for value in secrets:
        assert value not in log, value
    assert "200 /xlwings/validate" in log and "findings=" in log


@pytest.mark.parametrize(("cell", "status"), [
    ({"a": 1}, 400), ([1, 2], 400),  # not a cell value
    ("2026-09-15T00:00:00+03:00", 200), ("2026-09-15T00:00:00", 200),  # text like a date-time
    ("#N/A", 200), (True, 200), (1e308, 200), ("=HYPERLINK(\"x\")", 200),
])
def test_odd_cells_are_answered_not_crashed(server, files, cell, status):
    payload = payload_from_xlsx(files["clean"])
    payload["sheets"][position(payload, C.MENTORS.name)]["values"][1][2] = cell
    response = server.post("validate", payload)
    assert response.status_code == status, response.text
    if status == 400:
        assert CYRILLIC.search(response.json()["error"])


# ------------------------------------------ Google Sheets: Code.gs + xlwings.gs, simulated
def google(server, tmp_path, sheets, call="nastavnikCheck", token="default", tz="Europe/Moscow"):
    import shutil

    from tests.payloads import run_apps_script

    if not (shutil.which("node") or shutil.which("nodejs")):
        pytest.skip("Node.js not installed (apt-get install nodejs)")
    props = {"NASTAVNIK_URL": server.url + "/xlwings/"}
    if token is not None:
        props["NASTAVNIK_TOKEN"] = server.token if token == "default" else token
    return run_apps_script(tmp_path, sheets, call, props, tz=tz)


def sheet_of(state, name):
    return next(s for s in state["sheets"] if s["name"] == name)


@pytest.mark.parametrize("tz", ["Europe/Moscow", "Asia/Vladivostok", "America/Sao_Paulo"])
def test_google_sheets_menu_checks_the_table(server, files, tmp_path, tz):
    from tests.payloads import apps_script_sheets

    state = google(server, tmp_path, apps_script_sheets(files["bad"]), tz=tz)
    expected = json.loads(run_cli("validate", files["bad"], "--format", "json").stdout)
    check = sheet_of(state, C.CHECK.name)
    assert check["rows"][0] == [c.header for c in C.CHECK.columns]
    rows = check["rows"][1:]
    assert [(r[1], r[2], r[3]) for r in rows] == [(f["code"], f["sheet"], f["row"])
                                                  for f in expected["findings"]]
    assert state["alerts"][-1]["title"] == "Наставничество"
    assert "ошибок — " in state["alerts"][-1]["prompt"]
    assert state["active"] == [s["name"] for s in state["sheets"]].index(C.CHECK.name)
    gids = {s["name"]: s["id"] for s in state["sheets"]}
    for i, r in enumerate(rows, start=2):
        if r[2] == C.SCHOOL.name or r[3] == "":
            continue
        data = sheet_of(state, r[2])
        col = data["rows"][0].index(r[4]) + 1
        letter = "ABCDEFGHIJKLMNOP"[col - 1]
        assert check["links"][f"{i},1"] == f"#gid={gids[r[2]]}&range={letter}{r[3]}"
        assert data["bg"][f"{r[3]},{col}"] in ("#FFC7CE", "#FFEB9C", "#DDEBF7")


def test_google_sheets_recheck_after_fixing_clears_everything(server, files, tmp_path):
    from tests.payloads import apps_script_sheets

    first = google(server, tmp_path / "1", apps_script_sheets(files["bad"]))
    assert any(s["bg"] for s in first["sheets"] if s["name"] != C.CHECK.name)
    fixed = apps_script_sheets(files["clean"])
    for sheet in fixed:  # the user fixed the data; fills and old findings are still there
        old = sheet_of(first, sheet["name"])
        sheet["bg"] = old["bg"]
        if sheet["name"] == C.CHECK.name:
            sheet["rows"], sheet["links"] = old["rows"], old["links"]
    second = google(server, tmp_path / "2", fixed)
    for sheet in second["sheets"]:
        fills = {k: v for k, v in sheet["bg"].items() if not k.startswith("1,")}
        assert fills == {}, sheet["name"]
    check = sheet_of(second, C.CHECK.name)
    assert [r for r in check["rows"][1:] if any(v != "" for v in r)] == []
    assert check["links"] == {}
    assert "Замечаний нет" in second["alerts"][-1]["prompt"]


def test_google_sheets_indicators(server, files, tmp_path):
    from tests.payloads import apps_script_sheets

    state = google(server, tmp_path, apps_script_sheets(files["clean"]), "nastavnikIndicators")
    rows = sheet_of(state, C.INDICATORS.name)["rows"][1:]
    cli = json.loads(run_cli("indicators", files["clean"], "--format", "json").stdout)
    assert [r[0] for r in rows] == [v["title"] for v in cli]
    assert "Показатели рассчитаны" in state["alerts"][-1]["prompt"]


def test_google_sheets_without_settings_or_with_a_wrong_token(server, files, tmp_path):
    from tests.payloads import apps_script_sheets

    sheets = apps_script_sheets(files["clean"])
    before = server.log()
    unset = google(server, tmp_path / "1", sheets, token=None)
    assert "Настройки сервера" in unset["alerts"][-1]["prompt"]
    assert server.log() == before  # nothing was sent
    wrong = google(server, tmp_path / "2", sheets, token="not-the-token")
    assert wrong["alerts"][-1]["prompt"] == (
        "Нет доступа: неверный или отсутствующий токен. Укажите токен в настройках кнопки.")
    assert sheet_of(wrong, C.CHECK.name)["rows"][1:] == []
