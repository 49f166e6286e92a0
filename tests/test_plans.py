"""From figures to a plan: the gap in people, pair suggestions, the calendar, traceable figures.

Everything through the real CLI on real files: hand-made books where the numbers are known, and
the generated demo municipality where the suggestions are accepted and checked again.
"""

from __future__ import annotations

import json
from collections import Counter
from datetime import date
from pathlib import Path

import pytest
from icalendar import Calendar
from openpyxl import load_workbook

from addin.indicators import IndicatorValue
from addin.model import SchoolWorkbook
from addin.plan.gaps import MET, NO_DATA, SHORT, gap_of, people_missing
from addin.plan.pairs import DEFAULT_MENTOR_CAPACITY, suggest_pairs
from addin.rules.pairs import FORM_ROLES, PEER_FORMS
from addin.xlsx.suggestions import SHEET_NAME
from sync import master as M
from tests.cli import run
from tests.sample import PARENT, clean_school
from workbook_templates import contract as C
from workbook_templates.build import write_school_workbook
from workbook_templates.demo import generate_municipality, write_municipality


def _targets(tmp_path: Path, **targets: float) -> Path:
    path = tmp_path / "цели.toml"
    path.write_text("".join(f'[indicators.{k}]\ntargets = {{ "2020" = {v} }}\n'
                            for k, v in targets.items()), encoding="utf-8")
    return path


def _gaps(book: Path, targets: Path | None = None) -> dict[str, dict]:
    args = ["indicators", book, "--format", "json"] + (["--targets", targets] if targets else [])
    proc = run(*args)
    assert proc.returncode == 0, proc.stderr
    return {v["key"]: v["gap"] for v in json.loads(proc.stdout)}


# ----------------------------------------------------------------------------- the gap
@pytest.mark.parametrize(("students_10_19", "missing", "status"), [
    (4, 0, MET),      # 2 of 4 = 50 %: at the target
    (3, 0, MET),      # 66.7 %: above
    (5, 1, SHORT),    # 40 %: one more reaches 60 %
    (7, 2, SHORT),    # 28.6 %: 3.5 needed, so 2 more
    (0, None, NO_DATA),
])
def test_gap_on_hand_made_books(tmp_path, students_10_19, missing, status):
    data = clean_school()  # two pupils aged 10–19 in active pairs
    data["school"].update(students_10_19=students_10_19, students_15_19=0, students_total=500)
    book = write_school_workbook(tmp_path / "школа.xlsx", data)
    gap = _gaps(book, _targets(tmp_path, mentees_10_19=50))["mentees_10_19"]
    assert (gap["missing"], gap["status"]) == (missing, status)
    if status == SHORT:
        word = "наставляемого" if missing == 1 else "наставляемых"
        assert gap["text_ru"] == f"Чтобы достичь 50 %, не хватает {missing} {word} 10–19 лет."
    if status == NO_DATA:
        assert "нет обучающихся 10–19 лет" in gap["text_ru"]


def test_missing_consents_are_counted_in_documents(tmp_path):
    data = clean_school()
    for person in data["mentees"] + data["mentors"][:1]:
        person.pop("consent_date")
    book = write_school_workbook(tmp_path / "школа.xlsx", data)
    gap = _gaps(book)["consents"]  # the default target: 100 %
    assert gap["missing"] == 4
    assert gap["text_ru"] == "Чтобы достичь 100 %, не хватает 4 согласий на обработку ПД."
    human = run("indicators", book)
    assert "не хватает 4 согласий" in human.stdout.replace("\n", " ")


def test_gap_is_exact_arithmetic():
    assert people_missing(0, 343, 70) == 241  # 240.1 people: whole people, rounded up
    assert people_missing(240, 343, 70) == 1  # 69.97 % is not 70 %
    assert people_missing(37, 343, 10.7) == 0 and people_missing(37, 343, 10.8) == 1
    assert people_missing(7, 10, 70) == 0 and people_missing(8, 10, 70) == 0
    v = IndicatorValue("mentees_10_19", "t", 37, 343, 10.8, 70.0, True, False)
    assert gap_of(v).missing == 204
    # the indicators show 66.67 % as 66.7 and call the target 66.7 met: nobody is missing then
    met = IndicatorValue("mentees_10_19", "t", 2, 3, 66.7, 66.7, True, True)
    assert (gap_of(met).missing, gap_of(met).status) == (0, MET)
    assert gap_of(IndicatorValue("x", "t", 1, 2, 50.0, None, True, None)) is None


# ----------------------------------------------------------------------------- pair suggestions
def _free_people_school() -> dict:
    """The sample school with people in no pair: pupils, a teacher, external mentors."""
    data = clean_school()
    data["school"]["students_10_19"] = 300
    consent = {"consent_date": date(2026, 9, 1)}
    data["mentees"] += [
        {"id": "У-010", "full_name": "Лисина Мария Павловна", "birth_date": date(2014, 1, 3),
         "category": "обучающийся", "group": "6А", "consent_by": PARENT, **consent},
        {"id": "У-011", "full_name": "Зайцев Олег Ильич", "birth_date": date(2008, 1, 3),
         "category": "обучающийся", "group": "11Б", "consent_by": "сам", **consent},
        {"id": "У-012", "full_name": "Кротова Вера Ильинична", "birth_date": date(1990, 4, 1),
         "category": "педагог", "consent_by": "сам", **consent},
    ]
    data["mentors"] += [
        {"id": "Н-010", "full_name": "Гусев Иван Петрович", "birth_date": date(1975, 2, 2),
         "category": "родитель", "consent_by": "сам", **consent},  # no certificate
        {"id": "Н-011", "full_name": "Волкова Нина Сергеевна", "birth_date": date(1970, 2, 2),
         "category": "педагог", "consent_by": "сам", "trained": "да", **consent},
    ]
    return data


def test_suggestions_obey_the_rules(tmp_path):
    book = write_school_workbook(tmp_path / "школа.xlsx", _free_people_school())
    wb = SchoolWorkbook.from_path(book)
    result = suggest_pairs(wb, capacity=2)
    mentors = wb.tables["mentors"].set_index("id")
    mentees = wb.tables["mentees"].set_index("id")
    assert {s.mentee_id for s in result.suggestions} == {"У-010", "У-011", "У-012"}
    load = Counter({"Н-001": 1, "Н-002": 1, "Н-003": 1})
    for s in result.suggestions:
        mentor, mentee = mentors.loc[s.mentor_id], mentees.loc[s.mentee_id]
        assert s.mentor_id != "Н-010"  # an external mentor without the certificate
        roles = FORM_ROLES[s.form]
        assert mentor["category"] in roles[0] and mentee["category"] in roles[1]
        if s.form in PEER_FORMS:
            assert mentor["birth_date"] < mentee["birth_date"]
        load[s.mentor_id] += 1
        assert s.reason_ru and s.mentee_id in s.reason_ru and s.mentor_id in s.reason_ru
    assert max(load.values()) <= 2
    assert len({s.pair_id for s in result.suggestions}) == len(result.suggestions)
    assert not {s.pair_id for s in result.suggestions} & {"П-001", "П-002", "П-003"}
    assert suggest_pairs(wb, capacity=1).suggestions  # Н-011 is free even at one place


def test_a_planned_pair_counts_as_taken(tmp_path):
    data = _free_people_school()
    data["pairs"].append({"id": "П-004", "form": "учитель – ученик", "mentor_id": "Н-011",
                          "mentee_ids": "У-010", "start_date": date(2027, 1, 15)})
    book = write_school_workbook(tmp_path / "школа.xlsx", data)
    result = suggest_pairs(SchoolWorkbook.from_path(book), capacity=2)
    assert {s.mentee_id for s in result.suggestions} == {"У-011", "У-012"}
    # one of its two places is taken by the planned pair
    assert sum(s.mentor_id == "Н-011" for s in result.suggestions) <= 1
    assert sorted(s.pair_id for s in result.suggestions) == ["П-005", "П-006"]


def test_no_suggestion_pushes_a_count_over_its_denominator(tmp_path):
    data = _free_people_school()
    data["school"]["students_10_19"] = 3  # room for one more pupil of 10–19 only
    book = write_school_workbook(tmp_path / "школа.xlsx", data)
    result = suggest_pairs(SchoolWorkbook.from_path(book))
    pupils = [s for s in result.suggestions if s.mentee_id in ("У-010", "У-011")]
    assert len(pupils) == 1


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> Path:
    return write_municipality(generate_municipality(n_schools=8),
                              tmp_path_factory.mktemp("muni"))


def _accept_all(copy: Path, out: Path) -> int:
    """Copy every row of «Предложения пар» into «Пары и группы» as a curator would."""
    wb = load_workbook(copy)
    src, dst = wb[SHEET_NAME], wb[C.PAIRS.name]
    header = [c.value for c in src[1]]
    target = {c.value: c.column for c in dst[1] if c.value}
    last = max(r for r in range(1, dst.max_row + 1)
               if any(dst.cell(r, j).value is not None for j in target.values()))
    n = 0
    for row in src.iter_rows(min_row=2, values_only=True):
        if not any(row[:len(C.PAIRS.columns)]):
            continue
        last += 1
        n += 1
        for name, value in zip(header, row, strict=False):
            if name in target and value is not None:
                dst.cell(last, target[name], value)
    wb.save(out)
    return n


def _validate(book: Path) -> dict:
    return json.loads(run("validate", book, "--format", "json").stdout)


@pytest.mark.parametrize("code", ["ОО-001", "ОО-002"])
def test_accepting_all_suggestions_raises_share_without_new_errors(demo, tmp_path, code):
    book = demo / "schools" / f"{code}.xlsx"
    copy = tmp_path / "предложения.xlsx"
    proc = run("suggest-pairs", book, "--out", copy)
    assert proc.returncode == 0, proc.stderr
    assert "Предложения пар" in proc.stdout
    accepted = tmp_path / "принято.xlsx"
    assert _accept_all(copy, accepted) > 0
    before, after = _validate(book), _validate(accepted)
    errors = lambda r: Counter((f["code"], f["sheet"], f["row"]) for f in r["findings"]  # noqa: E731
                               if f["severity"] == "ошибка")
    assert errors(after) == errors(before)
    pair_warnings = lambda r: Counter(f["code"] for f in r["findings"]  # noqa: E731
                                      if f["code"].startswith("PAIR"))
    assert pair_warnings(after) == pair_warnings(before)

    def share(path: Path) -> float:
        values = json.loads(run("indicators", path, "--format", "json").stdout)
        return next(v["numerator"] for v in values if v["key"] == "mentees_10_19")
    assert share(accepted) > share(book)
    assert sha_unchanged(book)


def sha_unchanged(book: Path) -> bool:
    return SHEET_NAME not in load_workbook(book, read_only=True).sheetnames


def test_suggestions_json_and_capacity_option(demo):
    book = demo / "schools" / "ОО-001.xlsx"
    data = json.loads(run("suggest-pairs", book, "--format", "json", "--capacity", "1").stdout)
    assert data["capacity"] == 1
    assert data["gaps"] and all("text_ru" in g for g in data["gaps"])
    default = json.loads(run("suggest-pairs", book, "--format", "json").stdout)
    assert default["capacity"] == DEFAULT_MENTOR_CAPACITY
    assert len(default["suggestions"]) >= len(data["suggestions"])


def test_capacity_from_the_targets_file(demo, tmp_path):
    settings = tmp_path / "цели.toml"
    settings.write_text("[plans]\nmentor_capacity = 2\n", encoding="utf-8")
    book = demo / "schools" / "ОО-001.xlsx"
    data = json.loads(run("suggest-pairs", book, "--format", "json", "--targets",
                          settings).stdout)
    assert data["capacity"] == 2
    settings.write_text("[plans]\nmentor_capacity = \"много\"\n", encoding="utf-8")
    bad = run("suggest-pairs", book, "--targets", settings)
    assert bad.returncode != 0 and "mentor_capacity" in bad.stderr
    assert "Traceback" not in bad.stderr


def test_suggest_pairs_on_a_broken_file_is_a_russian_message(tmp_path):
    bad = tmp_path / "книга.xlsx"
    bad.write_bytes(b"not a zip")
    proc = run("suggest-pairs", bad, "--out", tmp_path / "копия.xlsx")
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr and "Файл" in proc.stderr


# ----------------------------------------------------------------------------- the calendar
def _events(ics: Path) -> list[tuple[str, date, str | None]]:
    cal = Calendar.from_ical(ics.read_bytes())
    out = []
    for ev in cal.walk("VEVENT"):
        rule = ev.get("rrule")
        out.append((str(ev.get("summary")), ev.decoded("dtstart"),
                    rule.to_ical().decode() if rule is not None else None))
    return out


def test_school_calendar_parses_back_with_the_same_events(tmp_path):
    data = clean_school()
    data["roadmap"] += [
        {"item_no": "4", "activity": "Сдача отчёта в МНЦ", "deadline_text": "ежемесячно 25 числа",
         "status": "в работе"},
        {"item_no": "5", "activity": "Работа наставнических пар",
         "deadline_text": "в течение учебного года", "status": "в работе"},
        {"item_no": "6", "activity": "Внутренний мониторинг",
         "deadline_text": "до 20 декабря и до 20 мая", "status": "не начато"},
        {"item_no": "7", "activity": "Отменённое", "deadline_text": "до 01.12.2026",
         "status": "отменено"},
    ]
    book = write_school_workbook(tmp_path / "школа.xlsx", data)
    ics = tmp_path / "school.ics"
    proc = run("calendar", book, "--out", ics)
    assert proc.returncode == 0, proc.stderr
    wb = SchoolWorkbook.from_path(book)
    from addin.plan.calendar import school_calendar

    plan = school_calendar(wb)
    want = [(e.summary, e.start, e.rrule) for e in plan.events]
    got = _events(ics)
    assert Counter(_norm(g) for g in got) == Counter(_norm(w) for w in want)
    by_summary = {s: (d, _parts(r)) for s, d, r in got}
    assert by_summary["3 Оценка качества программ"] == (date(2027, 5, 31), None)
    assert by_summary["2 Персонифицированный учёт"][1] == _parts(
        "FREQ=YEARLY;BYMONTH=3,6,9,12;BYMONTHDAY=-1")
    assert by_summary["4 Сдача отчёта в МНЦ"][1] == _parts("FREQ=MONTHLY;BYMONTHDAY=25")
    assert by_summary["6 Внутренний мониторинг"][1] == _parts(
        "FREQ=YEARLY;BYMONTH=5,12;BYMONTHDAY=20")
    assert not any("Работа наставнических пар" in s or "Отменённое" in s for s, _, _ in got)
    assert not any(s.startswith("1 ") for s, _, _ in got)  # done before its date
    reporting = {s: _parts(r) for s, _, r in got if not s[0].isdigit()}
    assert len(reporting) == 4
    assert _parts("FREQ=YEARLY;BYMONTH=12;BYMONTHDAY=30") in reporting.values()
    assert "без срока — 1" in proc.stdout
    # every occurrence of the 25th rule is the 25th, from a DTSTART on the rule
    assert by_summary["4 Сдача отчёта в МНЦ"][0].day == 25


def _norm(e: tuple) -> tuple:
    summary, start, rule = e
    return summary, start, _parts(rule)


def _parts(rule: str | None) -> frozenset | None:
    """RRULE parts in no order (the library may write BYMONTHDAY before BYMONTH)."""
    return None if rule is None else frozenset(rule.split(";"))


def test_municipal_calendar_from_the_master(demo, tmp_path):
    master = tmp_path / "свод.xlsx"
    run("sync", "--registry", demo / "registry.csv", "--period", "2026-11", "--out", master)
    ics = tmp_path / "муниципалитет.ics"
    proc = run("calendar", "--master", master, "--out", ics)
    assert proc.returncode == 0, proc.stderr
    events = _events(ics)
    roadmap = load_workbook(master, read_only=True)[M.SHEET_ROADMAP]
    codes = {r[0] for r in roadmap.iter_rows(min_row=3, values_only=True) if r[0]}
    prefixed = {s.split(":")[0] for s, _, _ in events if ":" in s and s.split(":")[0] in codes}
    assert prefixed and prefixed <= codes
    assert sum(1 for s, _, _ in events if s.startswith("Муниципальный мониторинг")) == 1
    wrong = run("calendar", "--master", demo / "registry.csv", "--out", tmp_path / "x.ics")
    assert wrong.returncode == 2 and "Traceback" not in wrong.stderr
    both = run("calendar", demo / "schools" / "ОО-001.xlsx", "--master", master, "--out", ics)
    assert both.returncode != 0 and "одно из двух" in both.stderr


# ----------------------------------------------------------------------------- traceable figures
@pytest.fixture(scope="module")
def masters(demo, tmp_path_factory) -> dict[str, Path]:
    out = tmp_path_factory.mktemp("masters")
    plain, pseudo = out / "свод.xlsx", out / "свод-псевдо.xlsx"
    for path, extra in ((plain, []), (pseudo, ["--pseudonymize"])):
        proc = run("sync", "--registry", demo / "registry.csv", "--period", "2026-11",
                   "--out", path, *extra)
        assert proc.returncode in (0, 1), proc.stderr
    form = out / "форма.xlsx"
    proc = run("federal-form", "--year", "2026", "--master", plain, "--out", form)
    assert proc.returncode == 0, proc.stderr
    return {"plain": plain, "pseudo": pseudo, "form": form}


def _table(path: Path, sheet: str, header_row: int) -> list[dict]:
    rows = list(load_workbook(path, read_only=True)[sheet].iter_rows(values_only=True))
    header = rows[header_row]
    return [dict(zip(header, r, strict=False)) for r in rows[header_row + 1:] if any(r)]


def _trace(master: Path) -> list[dict]:
    return _table(master, M.SHEET_TRACE, M.HEADER_ROW)


@pytest.mark.parametrize("which", ["plain", "pseudo"])
def test_every_figure_of_the_master_equals_its_rows(masters, which):
    master = masters[which]
    figures = _table(master, M.SHEET_FIGURES, M.HEADER_ROW)
    trace = _trace(master)
    ids_header = M.TRACE_IDS_PSEUDONYMIZED if which == "pseudo" else M.TRACE_HEADERS["ids"]
    sums: dict[tuple[str, str], int] = Counter()
    for t in trace:
        ids = [i for i in (t[ids_header] or "").split(", ") if i]
        assert len(ids) == t["Число"]
        sums[(t["Показатель"], t["Тип"])] += t["Число"]
    assert figures
    for f in figures:
        for org in ("ОО", "СПО", "ДО"):
            assert sums[(f["Показатель"], org)] == f[org], (f["Показатель"], org)
        assert sum(sums[(f["Показатель"], o)] for o in ("ОО", "СПО", "ДО")) == f["Всего"]


def test_every_row_of_the_federal_form_equals_its_rows(masters):
    rows = list(load_workbook(masters["form"], read_only=True)["Сведения"].iter_rows(
        values_only=True))
    header_at = next(i for i, r in enumerate(rows) if r and r[0] == "Раздел")
    form = [dict(zip(rows[header_at], r, strict=False)) for r in rows[header_at + 1:] if any(r)]
    key_col = rows[header_at][6]
    trace = _trace(masters["plain"])
    per_key: dict[str, Counter] = {}
    for t in trace:
        per_key.setdefault(t["Ключ строки"], Counter())[t["Тип"]] += t["Число"]
    assert any(f["Всего"] for f in form)
    for f in form:
        got = per_key.get(f[key_col], Counter())
        assert [got[o] for o in ("ОО", "СПО", "ДО")] == [f["ОО"], f["СПО"], f["ДО"]], f[key_col]
        assert sum(got.values()) == f["Всего"]


def test_pseudonymized_trace_shows_no_school_ids(masters):
    plain, pseudo = _trace(masters["plain"]), _trace(masters["pseudo"])
    people = lambda rows, col: {i for r in rows if not r["Ключ строки"].startswith(  # noqa: E731
        "form:pairs:") for i in (r[col] or "").split(", ")}
    raw = people(plain, M.TRACE_HEADERS["ids"])
    hidden = people(pseudo, M.TRACE_IDS_PSEUDONYMIZED)
    assert raw and hidden and not raw & hidden
    assert all(i.startswith("P-") for i in hidden)


def test_a_long_list_of_ids_goes_on_over_the_next_rows(demo, monkeypatch):
    """A cell holds 32,767 characters: a figure's IDs past MAX_IDS_CHARS continue on the
    rows below, each within the limit, their counts summing to the whole list's."""
    from sync import figures
    from sync.consolidate import consolidate
    from sync.sources.folder import FolderSource
    from sync.sources.registry import read_registry

    source = FolderSource(demo)
    cons = consolidate([source.fetch(e) for e in read_registry(demo / "registry.csv")],
                       "2026-11")
    whole = figures.figure_trace(cons.participants, cons.pairs, cons.org_types,
                                 records=cons.counted)
    monkeypatch.setattr(figures, "MAX_IDS_CHARS", 60)
    split = figures.figure_trace(cons.participants, cons.pairs, cons.org_types,
                                 records=cons.counted)
    assert len(split) > len(whole) and (split["ids"].str.len() <= 60).all()
    key = ["row_key", "school_code"]
    assert (split.groupby(key, sort=False)["count"].sum().tolist()
            == whole["count"].tolist())
    assert (split.groupby(key, sort=False)["ids"].agg(", ".join).tolist()
            == whole["ids"].tolist())
    for _, row in split.iterrows():
        assert len(row["ids"].split(", ")) == row["count"]


def test_master_gaps_per_school_and_municipality(masters):
    gaps = _table(masters["plain"], M.SHEET_GAPS, M.HEADER_ROW)
    municipal = _table(masters["plain"], M.SHEET_INDICATORS, M.HEADER_ROW)
    assert {g["Код ОО"] for g in gaps} >= {M.GAP_MUNICIPALITY}
    assert len({g["Код ОО"] for g in gaps}) > 2
    mentees = next(g for g in gaps if g["Код ОО"] == M.GAP_MUNICIPALITY
                   and g["Показатель"].startswith("Доля обучающихся 10–19"))
    assert mentees["Не хватает (человек, документов)"] == people_missing(
        mentees["Числитель"], mentees["Знаменатель"], mentees["Цель, %"])
    row = next(m for m in municipal if m["Показатель"].startswith("Доля обучающихся 10–19"))
    assert row["До цели"] == mentees["Что нужно"]


def test_municipal_calendar_reads_a_roadmap_list_moved_to_csv(demo, tmp_path, monkeypatch):
    from sync.consolidate import consolidate
    from sync.master_calendar import master_calendar
    from sync.sources.folder import FolderSource
    from sync.sources.registry import read_registry

    source = FolderSource(demo)
    cons = consolidate([source.fetch(e) for e in read_registry(demo / "registry.csv")],
                       "2026-11")
    whole = M.write_master(cons, tmp_path / "a" / "свод.xlsx")
    monkeypatch.setattr(M, "MASTER_ROW_LIMIT", 1)
    listed = M.write_master(cons, tmp_path / "b" / "свод.xlsx")
    assert (tmp_path / "b" / f"свод.{M.SHEET_ROADMAP}.csv").exists()
    events = lambda plan: sorted((e.summary, e.start, e.rrule or "") for e in plan.events)  # noqa: E731
    a, b = master_calendar(whole), master_calendar(listed)
    assert events(a) == events(b) and len(a.events) > 4
    assert a.skipped == b.skipped
