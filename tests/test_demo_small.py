"""`nastavnik demo-data --schools N` for a municipality of fewer than 8 schools, through the real
console script: the files are written, every planted mistake is in the one school that holds
them and `nastavnik validate` finds each of them, and `nastavnik sync` collects the result."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from openpyxl import load_workbook

from sync import master as M
from tests.cli import run
from workbook_templates import contract as C
from workbook_templates.demo import PLANTED_CODES

STATUS = {"missing": "не представлен", "corrupt": "файл повреждён",
          "unknown_version": "неизвестная версия шаблона"}


def _summary(master: Path) -> dict[str, str]:
    wb = load_workbook(master, read_only=True)
    rows = list(wb[M.SHEET_SUMMARY].iter_rows(values_only=True))
    wb.close()
    header = rows[M.HEADER_ROW]
    return {r[header.index("Код ОО")]: r[header.index("Статус")]
            for r in rows[M.HEADER_ROW + 1:] if any(r)}


@pytest.mark.parametrize("n", [1, 3])
def test_a_small_demo_municipality_is_made_checked_and_synced(tmp_path, n):
    out = tmp_path / "демо"
    made = run("demo-data", "--out", out, "--schools", n, "--seed", 5)
    assert made.returncode == 0, made.stdout + made.stderr
    assert f"организаций {n}, заложенных ошибок" in made.stdout
    manifest = json.loads((out / "planted_mistakes.json").read_text(encoding="utf-8"))
    schools = manifest["schools"]
    assert [s["code"] for s in schools] == [f"ОО-{i:03d}" for i in range(1, n + 1)]
    assert {m["code"] for m in manifest["mistakes"]} == set(PLANTED_CODES)

    # the one school with mistakes: validate finds every planted one where it was planted
    holder = {m["school_code"] for m in manifest["mistakes"]}
    assert len(holder) == 1
    code = holder.pop()
    res = run("validate", out / "schools" / f"{code}.xlsx", "--format", "json")
    assert res.returncode == 1, res.stderr
    found = {(f["code"], f["sheet"], f["row"]) for f in json.loads(res.stdout)["findings"]}
    found_fields = {(f["code"], f["sheet"], f["column"])
                    for f in json.loads(res.stdout)["findings"]}
    for m in manifest["mistakes"]:
        sheet = C.sheet(m["sheet"])
        if m["row"] is None:
            assert (m["code"], sheet.name, sheet.column(m["column"]).header) in found_fields, m
        else:
            assert (m["code"], sheet.name, m["row"]) in found, m

    # the municipality is collected: every school has the status its submission asks for
    master = tmp_path / "свод.xlsx"
    synced = run("sync", "--registry", out / "registry.csv", "--period", "2026-11",
                 "--out", master)
    assert synced.returncode == 1, synced.stdout + synced.stderr  # the school with mistakes
    assert "Traceback" not in synced.stdout + synced.stderr
    want = {s["code"]: STATUS.get(s["submission"]) or ("принят" if s["clean"] else "отклонён")
            for s in schools}
    assert _summary(master) == want


@pytest.mark.parametrize("n, words", [("0", "0 вне допустимых пределов"),
                                      ("три", "'три' — не целое число")])
def test_no_schools_is_a_russian_usage_error(tmp_path, n, words):
    res = run("demo-data", "--out", tmp_path / "демо", "--schools", n)
    assert res.returncode == 2
    assert words in res.stderr and "Traceback" not in res.stderr
    assert not (tmp_path / "демо").exists()
