"""A hostile corpus of 200+ damaged or odd workbooks (tests/hostile_corpus.py makes them from a
demo school) through every front end a user meets: `nastavnik validate` (every file, each in a
process of its own with a time and memory cap), the check page of the real `nastavnik serve`
(a file of each kind), and `nastavnik sync` over a registry of 20 of them beside clean schools.

Each answer: exit codes only 0/1/2, Russian text, no traceback, peak memory under 1 GB.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import threading
from collections import Counter
from pathlib import Path

import httpx
import pytest
from openpyxl import load_workbook

from sync import master as M
from sync.consolidate import SchoolStatus
from tests.cli import run
from tests.hostile_corpus import READABLE, UNREADABLE, Case, build_corpus
from tests.web_bench import csrf_of, start_server
from workbook_templates.demo import generate_municipality, write_municipality

REPO = Path(__file__).resolve().parents[1]
MEMORY_LIMIT_KB = 1024 * 1024
#: What the .ods guard must keep an .ods with a million repeated rows under (issue 16).
ODS_MEMORY_LIMIT_KB = 500 * 1024
CYRILLIC = re.compile(r"[А-Яа-яЁё]{3,}")


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> list[Case]:
    return build_corpus(tmp_path_factory.mktemp("hostile"))


@pytest.fixture(scope="module")
def outcomes(corpus: list[Case]) -> dict[str, dict]:
    """`nastavnik validate` on every file (tests/corpus_runner.py: one forked process each)."""
    request = json.dumps({"paths": [str(c.path) for c in corpus]})
    env = dict(os.environ, COLUMNS="200", NO_COLOR="1")
    proc = subprocess.run([sys.executable, "-m", "tests.corpus_runner"], input=request,
                          capture_output=True, text=True, cwd=REPO, env=env, timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]
    data = json.loads(proc.stdout)
    return {Path(o["path"]).name: o for o in data["outcomes"]}


def _flat(text: str) -> str:
    """Output with the terminal's line wrapping undone."""
    return " ".join(text.split())


def _problems(case: Case, o: dict) -> list[str]:
    out = o["stdout"] + o["stderr"]
    found = []
    if o["killed"]:
        found.append(f"killed over its {o['killed']} cap after {o['seconds']} s")
    elif o["exit"] not in case.exits:
        found.append(f"exit {o['exit']}, expected one of {sorted(case.exits)}")
    if "Traceback" in out or 'File "' in out:
        found.append("traceback: " + out[-300:])
    if not CYRILLIC.search(o["stdout"] + o["stderr"]):
        found.append("no Russian answer: " + out[-200:])
    if o["stderr"].strip() and o["exit"] != 2:
        found.append("stderr: " + o["stderr"][-200:])
    for word in case.words:
        if word not in _flat(out):
            found.append(f"answer lacks «{word}»: {_flat(out)[:300]}")
    if o["max_rss_kb"] > MEMORY_LIMIT_KB:
        found.append(f"peak memory {o['max_rss_kb'] // 1024} MB")
    return found


# -- the corpus itself -------------------------------------------------------------------------
def test_the_corpus_holds_every_kind_of_damage(corpus: list[Case]) -> None:
    kinds = Counter(c.kind for c in corpus)
    assert len(corpus) >= 200, kinds
    assert kinds["truncated"] == 20
    for kind in ("flipped", "crc", "format", "headers", "sheets", "merged", "junk-control",
                 "junk-huge", "junk-dates", "junk-fullwidth", "junk-latin", "junk-emoji",
                 "far", "ods", "ods-repeated"):
        assert kinds[kind] >= 1, kind
    assert len({c.path for c in corpus}) == len(corpus)


# -- validate: every file ----------------------------------------------------------------------
def test_validate_answers_every_file_in_russian_within_its_caps(corpus, outcomes) -> None:
    failures = {c.name: p for c in corpus if (p := _problems(c, outcomes[c.name]))}
    assert not failures, "\n".join(f"{k}: {'; '.join(v)}" for k, v in failures.items())
    exits = Counter(outcomes[c.name]["exit"] for c in corpus)
    assert set(exits) <= {0, 1, 2} and exits[2] and exits[1] and exits[0], exits


def test_a_bad_checksum_is_a_damaged_file(corpus, outcomes) -> None:
    crc = [c for c in corpus if c.kind == "crc"]
    assert crc
    for c in crc:
        o = outcomes[c.name]
        assert o["exit"] == 2 and "повреждён" in _flat(o["stdout"]), (c.name, o["stdout"])
    # a flipped byte inside a worksheet's compressed data: damaged, never read as data
    sheets = [c for c in corpus if c.name.startswith("flip-xl_worksheets_")]
    assert sheets and all(outcomes[c.name]["exit"] == 2 for c in sheets)


def test_far_cells_are_named_by_sheet_and_cell(corpus, outcomes) -> None:
    o = outcomes["far-XFD1048576.xlsx"]
    assert o["exit"] == 2
    assert "лист «Наставники», ячейка XFD1048576" in _flat(o["stdout"])


def test_an_ods_row_repeated_a_million_times_is_refused_before_reading(corpus, outcomes):
    for name in ("ods-repeated-row-1000000.ods", "ods-repeated-columns.ods",
                 "ods-far-row.ods", "ods-far-column.ods"):
        o = outcomes[name]
        assert o["exit"] == 2, (name, o["stdout"])
        assert "«Наставники»" in _flat(o["stdout"]), name
        assert o["max_rss_kb"] < ODS_MEMORY_LIMIT_KB, (name, o["max_rss_kb"])
    # LibreOffice's own trailing block of a million EMPTY repeated rows is a normal file
    assert outcomes["ods-clean.ods"]["exit"] == 0, outcomes["ods-clean.ods"]["stdout"]


def test_40000_character_cells_are_shortened_in_the_text_report(corpus, outcomes) -> None:
    huge = [c for c in corpus if c.kind == "junk-huge"]
    assert huge
    for c in huge:
        out = outcomes[c.name]["stdout"]
        # a value shows 200 characters, a message quoting one at most 400
        assert "Ж" * 401 not in out.replace("\n", "").replace("│", "").replace(" ", "")
    assert any("…" in outcomes[c.name]["stdout"] for c in huge)


def test_the_json_report_keeps_values_whole(corpus) -> None:
    case = next(c for c in corpus if c.kind == "junk-huge" and c.name.endswith("-2.xlsx"))
    res = run("validate", case.path, "--format", "json")
    assert res.returncode in (0, 1)
    values = [f["value"] or "" for f in json.loads(res.stdout)["findings"]]
    assert any(len(v) == 40_000 for v in values)


def test_the_console_script_itself_on_a_sample(corpus) -> None:
    """The forked runner calls the console script's entry point; here the script itself."""
    names = ["crc-xl_worksheets_sheet4.xml.xlsx", "far-XFD1048576.xlsx", "truncated-10.xlsx",
             "ods-repeated-row-1000000.ods", "junk-markup-0.xlsx", "format-pdf.xlsx"]
    by_name = {c.name: c for c in corpus}
    for name in names:
        case = by_name[name]
        res = run("validate", case.path, timeout=60)
        o = {"stdout": res.stdout, "stderr": res.stderr, "exit": res.returncode, "killed": "",
             "seconds": 0, "max_rss_kb": 0}
        assert not _problems(case, o), (name, _problems(case, o))


def test_an_annotated_copy_of_an_odd_but_readable_file(corpus, tmp_path) -> None:
    for name in ("merged-1.xlsx", "junk-control-2.xlsx", "junk-huge-2.xlsx"):
        case = next(c for c in corpus if c.name == name)
        out = tmp_path / f"copy-{name}"
        res = run("validate", case.path, "--annotate", out)
        assert res.returncode in (0, 1, 2), res.stderr
        assert "Traceback" not in res.stdout + res.stderr
        assert res.returncode == 2 or out.exists(), res.stderr


# -- the page ----------------------------------------------------------------------------------
def _page_sample(corpus: list[Case]) -> list[Case]:
    """The first file of each kind, every repeated-row .ods and every far cell."""
    seen: set[str] = set()
    sample = []
    for c in corpus:
        if c.kind not in seen or c.kind in ("ods-repeated", "far"):
            seen.add(c.kind)
            sample.append(c)
    return sample


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory):
    collect = tmp_path_factory.mktemp("collect")
    s = start_server("--collect-dir", collect, log_path=tmp_path_factory.mktemp("log") / "l")
    yield s
    s.stop()


def test_the_page_answers_each_kind_and_keeps_serving(corpus, server) -> None:
    failures = []
    with httpx.Client(base_url=server.url, follow_redirects=True, timeout=120) as client:
        token = csrf_of(client.get("/").text)
        for case in _page_sample(corpus):
            r = client.post("/check", data={"csrf": token},
                            files={"file": (case.name, case.path.read_bytes())})
            text = _flat(r.text)
            if case.name == "format-empty.xlsx" and r.status_code == 400:
                if not CYRILLIC.search(r.text):  # an empty upload: «файл не выбран»
                    failures.append(f"{case.name}: no Russian answer")
            elif r.status_code not in (200, 422) or 'id="status"' not in r.text:
                failures.append(f"{case.name}: HTTP {r.status_code}")
            elif "Traceback" in r.text:
                failures.append(f"{case.name}: traceback")
            elif case.exits == UNREADABLE and "Файл не читается" not in text:
                failures.append(f"{case.name}: not refused")
            elif case.exits <= READABLE and "Файл не читается" in text:
                failures.append(f"{case.name}: refused: {text[:200]}")
            elif any(w not in text for w in case.words):
                failures.append(f"{case.name}: lacks {case.words}")
            elif r.status_code == 200 and "Ж" * 401 in r.text:
                failures.append(f"{case.name}: a 40,000-character value shown whole")
            if r.status_code == 200 and "/annotated" in r.text:
                copy = client.get(f"{r.url.path}/annotated")
                if copy.status_code not in (200, 404) or "Traceback" in copy.text:
                    failures.append(f"{case.name}: annotated copy HTTP {copy.status_code}")
    assert not failures, "\n".join(failures)
    assert server.alive() and server.health() == 200
    assert "Traceback" not in server.log()
    assert _peak_kb(server.proc.pid) < MEMORY_LIMIT_KB


def test_the_page_serves_others_while_a_repeated_ods_is_checked(corpus, server) -> None:
    ods = next(c for c in corpus if c.name == "ods-repeated-row-1000000.ods")
    answers: list[int] = []

    def upload() -> None:
        with httpx.Client(base_url=server.url, follow_redirects=True, timeout=120) as client:
            token = csrf_of(client.get("/").text)
            answers.append(client.post("/check", data={"csrf": token}, files={
                "file": (ods.name, ods.path.read_bytes())}).status_code)

    threads = [threading.Thread(target=upload) for _ in range(3)]
    for t in threads:
        t.start()
    assert httpx.get(f"{server.url}/health", timeout=30).status_code == 200
    for t in threads:
        t.join(120)
    assert answers == [422, 422, 422]
    assert _peak_kb(server.proc.pid) < MEMORY_LIMIT_KB


def _peak_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    raise AssertionError("no VmHWM")


# -- sync --------------------------------------------------------------------------------------
SYNC_SAMPLE = ("truncated-05.xlsx", "crc-xl_worksheets_sheet4.xml.xlsx", "flip-random-03.xlsx",
               "format-pdf.xlsx", "format-docx.xlsx", "format-ods-as.xlsx",
               "headers-renamed-1.xlsx", "header-deleted-2.xlsx", "sheet-dropped-1.xlsx",
               "merged-2.xlsx", "junk-control-0.xlsx", "junk-huge-2.xlsx", "junk-markup-0.xlsx",
               "junk-latin-0.xlsx", "junk-emoji-3.xlsx", "far-XFD1048576.xlsx",
               "ods-repeated-row-1000000.ods", "ods-clean.ods", "unknown-version.xlsx",
               "zip-bomb.xlsx")


def test_sync_gives_every_school_a_status_and_loses_no_clean_one(corpus, tmp_path) -> None:
    muni = generate_municipality()
    root = write_municipality(muni, tmp_path / "muni")
    clean = [s for s in muni.schools if s.clean and s.submission == "ok"]
    by_name = {c.name: c for c in corpus}
    lines = ["код ОО;наименование;тип;источник"]
    lines += [f"{s.code};{s.name};{s.org_type};schools/{s.code}.xlsx" for s in clean]
    hostile = {}
    for n, name in enumerate(SYNC_SAMPLE):
        code = f"ОО-{101 + n}"
        hostile[code] = name
        lines.append(f"{code};Школа с файлом {name};ОО;{by_name[name].path}")
    registry = root / "реестр.csv"
    registry.write_text("\n".join(lines) + "\n", encoding="utf-8-sig")
    out = tmp_path / "свод.xlsx"
    res = run("sync", "--registry", registry, "--period", muni.period, "--out", out,
              timeout=300)
    assert res.returncode in (0, 1), res.stdout + res.stderr
    assert "Traceback" not in res.stdout + res.stderr
    statuses = _summary(out)
    known = {s.value for s in SchoolStatus}
    assert set(statuses) == {s.code for s in clean} | set(hostile), statuses
    assert all(v in known for v in statuses.values()), statuses
    for s in clean:
        assert statuses[s.code] == SchoolStatus.ACCEPTED.value, (s.code, statuses[s.code])
    for code, name in hostile.items():
        if by_name[name].exits == UNREADABLE:
            assert statuses[code] in (SchoolStatus.CORRUPT.value,
                                      SchoolStatus.UNKNOWN_VERSION.value), (name, statuses[code])


def _summary(master: Path) -> dict[str, str]:
    ws = load_workbook(master, read_only=True)[M.SHEET_SUMMARY]
    rows = list(ws.iter_rows(values_only=True))
    at = next(i for i, r in enumerate(rows) if r and r[0] == "Код ОО")
    header = rows[at]
    return {r[0]: dict(zip(header, r, strict=False))["Статус"] for r in rows[at + 1:]
            if r and r[0]}
