"""Every rule through the public API: the clean sample school passes, one change breaks it at
the expected cell (code, Russian sheet, Excel row, Russian column header), and no input —
empty template, missing sheet or column, random junk — makes the validation raise."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openpyxl import load_workbook

from addin.checks_doc import checks_markdown
from addin.model import SchoolWorkbook
from addin.report import Report
from addin.rules import RULES, Severity
from addin.validate import validate_path, validate_workbook
from tests.sample import clean_school
from workbook_templates import contract as C
from workbook_templates.build import build_school_workbook, write_school_workbook

REF = date(2026, 11, 30)
DOCS = Path(__file__).resolve().parents[1] / "docs" / "checks.md"

# Sheet names as the user reads them.
SCHOOL = "Сведения об ОО"
ROAD = "Дорожная карта"
MENTORS = "Наставники"
MENTEES = "Наставляемые"
PAIRS = "Пары и группы"
MEET = "Встречи"
MON = "Мониторинг"

Mutate = Callable[[dict], None]
Edit = Callable[[object], None]


# -- helpers ----------------------------------------------------------------------------------
def school(**values) -> Mutate:
    """Change fields of «Сведения об ОО»."""
    return lambda d: d["school"].update(values)


def cell(sheet: str, i: int, **values) -> Mutate:
    """Change cells of record i (0-based) of a table."""
    return lambda d: d[sheet][i].update(values)


def add(sheet: str, like: int, **values) -> Mutate:
    """Append a copy of record `like` with some cells changed."""
    return lambda d: d[sheet].append({**d[sheet][like], **values})


def both(*mutations: Mutate) -> Mutate:
    def run(d: dict) -> None:
        for m in mutations:
            m(d)
    return run


def drop_sheet(name: str) -> Edit:
    def run(wb) -> None:
        del wb[name]
    return run


def drop_column(sheet: str, header: str) -> Edit:
    """Delete a table column by its header, or a form row by its label."""
    def run(wb) -> None:
        ws = wb[sheet]
        if sheet == SCHOOL:
            row = next(c.row for c in ws["A"] if c.value == header)
            ws.delete_rows(row)
        else:
            col = next(c.column for c in ws[1] if c.value == header)
            ws.delete_cols(col)
    return run


def old_version(version: str) -> Edit:
    """The book says it is of an older template version (read through the migration)."""
    def run(wb) -> None:
        for row in wb[C.INSTRUCTIONS.name].iter_rows(max_col=2):
            if row[0].value == C.VERSION_LABEL:
                row[1].value = version
    return run


def validate(tmp_path: Path, mutate: Mutate | None = None, edit: Edit | None = None,
             data: dict | None = None, ref: date | None = REF) -> Report:
    """Write the (changed) sample, optionally edit the file with openpyxl, validate it."""
    if data is None:
        data = clean_school()
        if mutate is not None:
            mutate(data)
    path = write_school_workbook(tmp_path / "x.xlsx", data)
    if edit is not None:
        book = load_workbook(path)
        edit(book)
        book.save(path)
    report = validate_path(path, ref)
    assert report.file_error is None, report.file_error
    return report


def where(report: Report) -> Counter:
    return Counter((f.code, f.sheet, f.row, f.column) for f in report.findings)


def sample_values(data: dict | None = None) -> dict[str, list[list]]:
    """Sheet name -> rows of values, as a reader would hand them to from_values."""
    book = build_school_workbook(clean_school() if data is None else data)
    return {ws.title: [list(r) for r in ws.iter_rows(values_only=True)] for ws in book}


# -- one failing example per rule (and more where a rule has several branches) ---------------
_PEER = {"form": "ученик – ученик", "mentor_id": "Н-002", "start_date": date(2026, 9, 15),
         "agreement_date": date(2026, 9, 15), "plan": "да", "stage": "совместная работа"}

FAILING = [
    # sheets and columns
    ("SHEET-001", None, drop_sheet(MEET), [(MEET, None, None)]),
    ("SHEET-001", None, drop_sheet(SCHOOL), [(SCHOOL, None, None)]),
    ("SHEET-002", None, drop_column(MENTORS, "Стаж (лет)"), [(MENTORS, None, "Стаж (лет)")]),
    ("VER-001", None, old_version("1.0"), [(C.INSTRUCTIONS.name, None, C.VERSION_LABEL)]),
    ("SHEET-002", None, drop_column(SCHOOL, "Организаций-партнёров"),
     [(SCHOOL, None, "Организаций-партнёров")]),
    # cells
    ("CELL-001", cell("mentors", 1, category=None), None, [(MENTORS, 3, "Категория")]),
    ("CELL-001", school(municipality=None), None, [(SCHOOL, 5, "Муниципалитет")]),
    # a meeting without its pair: reported once, and the stage order check does not break
    ("CELL-001", cell("meetings", 1, pair_id=None), None, [(MEET, 3, "ID пары/группы")]),
    ("CELL-002", cell("mentors", 0, birth_date="31.02.1985"), None,
     [(MENTORS, 2, "Дата рождения")]),
    ("CELL-002", cell("monitoring", 1, satisfaction=8.5), None,
     [(MON, 3, "Удовлетворённость (1–10)")]),
    ("CELL-002", school(students_total="много"), None,
     [(SCHOOL, 9, "Численность обучающихся, всего")]),
    ("CELL-002", school(partners_total=2.5), None, [(SCHOOL, 14, "Организаций-партнёров")]),
    ("CELL-002", school(period="ноябрь"), None, [(SCHOOL, 7, "Отчётный период")]),
    ("CELL-003", cell("mentors", 0, category="учитель"), None, [(MENTORS, 2, "Категория")]),
    ("CELL-003", cell("meetings", 0, confirmed="ага"), None,
     [(MEET, 2, "Подтверждена формой")]),
    ("CELL-003", school(org_type="школа"), None, [(SCHOOL, 4, "Тип организации")]),
    ("CELL-004", cell("pairs", 0, plan_percent=150), None,
     [(PAIRS, 2, "% выполнения плана")]),
    ("CELL-004", school(students_total=-1), None,
     [(SCHOOL, 9, "Численность обучающихся, всего")]),
    ("ID-001", add("mentors", 0, full_name="Другой Человек Иванович"), None,
     [(MENTORS, 5, "ID наставника")]),
    # people
    ("PERSON-001", add("mentees", 1, id="У-004"), None, [(MENTEES, 5, "ФИО")]),
    ("AGE-001", cell("mentees", 0, birth_date=date(2024, 1, 1)), None,
     [(MENTEES, 2, "Дата рождения")]),
    ("AGE-001", cell("mentors", 0, birth_date=date(2027, 1, 1)), None,
     [(MENTORS, 2, "Дата рождения")]),
    ("CONSENT-001", cell("mentors", 0, consent_date=None), None,
     [(MENTORS, 2, "Согласие на обработку ПД (дата)")]),
    ("CONSENT-002", cell("mentees", 0, consent_by="сам"), None, [(MENTEES, 2, "Согласие дал")]),
    ("CONSENT-002", cell("mentors", 1, consent_by=None), None, [(MENTORS, 3, "Согласие дал")]),
    ("MENTOR-001", cell("mentors", 2, record_cert_date=None), None,
     [(MENTORS, 4, "Справка об отсутствии судимости (дата)")]),
    ("MENTOR-002", cell("mentors", 0, trained="нет"), None,
     [(MENTORS, 2, "Обучение наставников пройдено")]),
    # pairs
    ("PAIR-001", cell("pairs", 1, mentor_id="Н-999"), None, [(PAIRS, 3, "ID наставника")]),
    ("PAIR-002", cell("pairs", 1, mentee_ids="У-002, У-999"), None,
     [(PAIRS, 3, "ID наставляемых")]),
    ("PAIR-003", both(add("mentees", 1, id="У-004", full_name="Петров Пётр Петрович",
                          birth_date=date(1980, 1, 10), category="педагог"),
                      cell("pairs", 1, mentee_ids="У-002, У-004")), None,
     [(PAIRS, 3, "ID наставляемых")]),
    ("PAIR-004", cell("pairs", 0, form="учитель – ученик"), None, [(PAIRS, 2, "ID наставника")]),
    # a group after another group: the finding stays on its own row after the explode
    ("PAIR-004", both(cell("pairs", 0, mentee_ids="У-001; У-003"),
                      cell("pairs", 1, mentee_ids="У-002, У-003")), None,
     [(PAIRS, 3, "ID наставляемых")]),
    # a whole group under a wrong form: one finding for its mentor
    ("PAIR-004", cell("pairs", 0, form="учитель – ученик", mentee_ids="У-001, У-003"), None,
     [(PAIRS, 2, "ID наставника")]),
    ("PAIR-005", cell("mentees", 0, birth_date=date(2008, 1, 1)), None,
     [(PAIRS, 2, "ID наставника")]),
    ("PAIR-005", both(cell("pairs", 0, mentee_ids="У-001, У-003"),
                      add("mentees", 0, id="У-004", full_name="Старший Олег Ильич",
                          birth_date=date(2008, 2, 2)),
                      lambda d: d["pairs"].append({**_PEER, "id": "П-004",
                                                   "mentee_ids": "У-001, У-004"})), None,
     [(PAIRS, 5, "ID наставника")]),
    ("PAIR-006", cell("pairs", 1, mentor_id="Н-001, Н-003"), None,
     [(PAIRS, 3, "ID наставника")]),
    ("PAIR-007", cell("pairs", 1, end_date=date(2026, 9, 1), stage="завершение"), None,
     [(PAIRS, 3, "Дата окончания")]),
    ("PAIR-008", cell("pairs", 1, stage="завершение"), None, [(PAIRS, 3, "Дата окончания")]),
    ("PAIR-008", cell("pairs", 1, end_date=date(2026, 11, 1)), None, [(PAIRS, 3, "Этап")]),
    ("PAIR-009", cell("pairs", 2, agreement_date=None), None, [(PAIRS, 4, "Соглашение (дата)")]),
    ("PAIR-010", cell("pairs", 2, plan="нет"), None, [(PAIRS, 4, "Индивидуальный план")]),
    # a finished pair without its plan's percent, and «95 %» that Excel stored as 0.95
    ("PAIR-011", cell("pairs", 2, end_date=date(2026, 11, 1), stage="завершение"), None,
     [(PAIRS, 4, "% выполнения плана")]),
    ("PAIR-011", cell("pairs", 1, plan_percent=0.95), None, [(PAIRS, 3, "% выполнения плана")]),
    ("PAIR-011", cell("pairs", 1, plan_percent=1, end_date=date(2026, 11, 1),
                      stage="завершение"), None, [(PAIRS, 3, "% выполнения плана")]),
    # an adult «student» of a school (not a college) is a mistyped birth date
    ("AGE-001", cell("mentees", 2, birth_date=date(1996, 1, 1), consent_by="сам"), None,
     [(MENTEES, 4, "Дата рождения")]),
    # meetings and surveys
    ("MEET-001", cell("meetings", 0, pair_id="П-999"), None, [(MEET, 2, "ID пары/группы")]),
    ("MEET-002", cell("meetings", 0, date=date(2026, 9, 10)), None,
     [(MEET, 2, "Дата встречи")]),
    ("MEET-003", cell("meetings", 2, meeting_type="знакомство"), None,
     [(MEET, 4, "Вид встречи")]),
    ("MON-001", cell("monitoring", 0, participant_id="Н-001"), None,
     [(MON, 2, "ID участника")]),
    # roadmap
    ("ROAD-001", cell("roadmap", 2, deadline_text="до 01.10.2026"), None,
     [(ROAD, 4, "Срок (как в документе)")]),
    ("ROAD-001", cell("roadmap", 2, deadline_text=None, due_date=date(2026, 10, 1)), None,
     [(ROAD, 4, "Срок (дата)")]),
    ("ROAD-002", cell("roadmap", 0, done_date=None), None, [(ROAD, 2, "Дата выполнения")]),
    ("ROAD-003", cell("roadmap", 0, evidence=None), None,
     [(ROAD, 2, "Ссылка на подтверждение")]),
    ("ROAD-004", cell("roadmap", 2, deadline_text="когда-нибудь потом"), None,
     [(ROAD, 4, "Срок (как в документе)")]),
    ("ROAD-005", cell("roadmap", 2, deadline_text="в течение месяца после приказа"), None,
     [(ROAD, 4, "Срок (как в документе)")]),
    # «Сведения об ОО»
    ("SCHOOL-001", school(students_15_19=0), None,
     [(SCHOOL, 11, "Обучающихся в возрасте 15–19 лет")]),
    ("SCHOOL-002", school(partners_total=0), None, [(SCHOOL, 14, "Организаций-партнёров")]),
    ("SCHOOL-002", school(young_teachers=50), None,
     [(SCHOOL, 13, "Молодых специалистов (стаж 0–3 года)")]),
]
#: Other codes a failing example legitimately raises too: (code of the case, index) -> extras.
ALSO = {
    # a zero denominator is also exceeded by the one 15–19-year-old mentor
    ("SCHOOL-001", 0): [("SCHOOL-002", SCHOOL, 11, "Обучающихся в возрасте 15–19 лет")],
}


def _failing_params():
    seen: Counter = Counter()
    for code, mutate, edit, places in FAILING:
        n = seen[code]
        seen[code] += 1
        expected = [(code, *p) for p in places] + ALSO.get((code, n), [])
        yield pytest.param(mutate, edit, expected, id=f"{code}-{n}")


@pytest.mark.parametrize(("mutate", "edit", "expected"), list(_failing_params()))
def test_rule_fails_at_the_expected_cell(tmp_path, mutate, edit, expected):
    report = validate(tmp_path, mutate, edit)
    assert where(report) == Counter(expected)


def test_every_rule_has_a_failing_example():
    assert {code for code, *_ in FAILING} == set(RULES)


# -- passing examples: the clean sample and near misses -----------------------------------------
def test_clean_sample_has_no_findings(tmp_path):
    report = validate(tmp_path, ref=REF)
    assert report.findings == []
    assert report.status == "принято" and report.valid


def test_clean_sample_at_its_own_reference_date(tmp_path):
    report = validate(tmp_path, ref=None)
    assert report.reference_date == REF
    assert report.findings == []


NEAR_MISSES = {
    "adult gives consent themself": cell("mentees", 1, consent_by="сам"),
    "adult consent given by a parent": cell("mentees", 1, consent_by="родитель (законный "
                                                                     "представитель)"),
    "external mentor without certificate, adult mentee": both(
        cell("mentors", 2, record_cert_date=None),
        cell("mentees", 2, birth_date=date(2007, 2, 14), consent_by="сам")),
    "external mentor without certificate, pair ended": both(
        cell("mentors", 2, record_cert_date=None),
        cell("pairs", 2, end_date=date(2026, 11, 1), stage="завершение", plan_percent=100)),
    "finished pair with its plan's percent": cell("pairs", 1, end_date=date(2026, 11, 1),
                                                  stage="завершение", plan_percent=95),
    "a pair at work at 1 %": cell("pairs", 1, plan_percent=1),
    "an adult student of a college": both(
        school(org_type="СПО"), cell("mentees", 0, birth_date=date(2010, 2, 1)),
        cell("mentees", 2, birth_date=date(1996, 1, 1), consent_by="сам")),
    "adult students of a college as peers, the mentor younger": both(
        school(org_type="СПО"),
        cell("mentors", 1, birth_date=date(2000, 3, 1), consent_by="сам"),
        cell("mentees", 0, birth_date=date(1996, 1, 1), consent_by="сам")),
    "same name, other birth date": add("mentees", 1, id="У-004", birth_date=date(2001, 1, 1)),
    "group with one mentor": cell("pairs", 0, mentee_ids="У-001, У-003"),
    "mentee IDs separated by semicolons": cell("pairs", 0, mentee_ids="У-001;У-003"),
    "dictionary value typed with another dash and case": cell("pairs", 0,
                                                              form="Ученик - ученик"),
    "date typed as text": cell("mentors", 0, birth_date="10.01.1980"),
    "meetings of one day in any order": both(
        cell("meetings", 0, date=date(2026, 9, 20)),
        cell("meetings", 1, date=date(2026, 9, 20))),
    "ended pair with final stage": cell("pairs", 1, end_date=date(2026, 11, 1),
                                        stage="завершение"),
    "unreadable text deadline with a date": cell("roadmap", 2, deadline_text="как получится",
                                                 due_date=date(2027, 5, 31)),
    "done with a result instead of a link": cell("roadmap", 0, evidence=None,
                                                 result="приказ № 12"),
    "overdue item cancelled": cell("roadmap", 2, deadline_text="до 01.10.2026",
                                   status="отменено"),
    "pair not yet started needs no agreement": cell("pairs", 2, start_date=date(2026, 12, 1),
                                                    agreement_date=None),
    "survey role by the other sheet": cell("monitoring", 1, participant_id="Н-002"),
    "no pairs and no meetings": both(lambda d: d.update(pairs=[], meetings=[]),
                                     cell("mentors", 2, record_cert_date=None)),
    "empty tables, filled form": lambda d: d.update(
        {k: [] for k in ("roadmap", "mentors", "mentees", "pairs", "meetings", "monitoring")}),
}


@pytest.mark.parametrize("mutate", list(NEAR_MISSES.values()), ids=list(NEAR_MISSES))
def test_near_miss_passes(tmp_path, mutate):
    assert where(validate(tmp_path, mutate)) == Counter()


def test_consent_of_minor_without_birth_date(tmp_path):
    """Age unknown: only the missing birth date is reported, not the consent."""
    report = validate(tmp_path, cell("mentees", 0, birth_date=None, consent_by="сам"))
    assert where(report) == Counter([("CELL-001", MENTEES, 2, "Дата рождения")])


def test_self_mentoring_needs_a_known_person(tmp_path):
    """A mentor and a mentee both without name and birth date are not «the same person»."""
    mutate = both(cell("mentors", 1, full_name=None, birth_date=None),
                  cell("mentees", 0, full_name=None, birth_date=None))
    codes = {f.code for f in validate(tmp_path, mutate).findings}
    assert "PAIR-003" not in codes and codes == {"CELL-001"}


def test_same_id_on_both_sheets_is_not_self_mentoring(tmp_path):
    """IDs are per sheet: a school numbering mentors and mentees 1, 2, 3 is fine."""
    def numeric(d: dict) -> None:
        for key, prefix in (("mentors", "Н-"), ("mentees", "У-")):
            for r in d[key]:
                r["id"] = r["id"].removeprefix(prefix).lstrip("0")
        for p in d["pairs"]:
            p["mentor_id"] = p["mentor_id"].removeprefix("Н-").lstrip("0")
            p["mentee_ids"] = p["mentee_ids"].removeprefix("У-").lstrip("0")
        for m in d["monitoring"]:
            m["participant_id"] = m["participant_id"][2:].lstrip("0")
    assert where(validate(tmp_path, numeric)) == Counter()


# -- the registry and its generated reference ------------------------------------------------
def test_rules_are_documented():
    cyrillic = re.compile(r"[а-яё]", re.IGNORECASE)
    for code, r in RULES.items():
        assert re.fullmatch(r"[A-Z]+-\d{3}", code), code
        assert r.code == code and isinstance(r.severity, Severity)
        assert cyrillic.search(r.title) and cyrillic.search(r.hint), code
        assert r.title.strip() == r.title and r.hint.strip() == r.hint, code
        for key in r.sheet_key.split(","):
            assert key == "*" or key in C.SHEETS_BY_KEY, (code, key)


def test_checks_reference_is_in_sync():
    assert DOCS.read_text(encoding="utf-8") == checks_markdown(), (
        "regenerate: .venv/bin/nastavnik checks --out docs/checks.md")


# -- messages -----------------------------------------------------------------------------------
def test_value_shows_what_the_user_typed(tmp_path):
    report = validate(tmp_path, cell("mentors", 0, birth_date="31.02.1985"))
    [f] = report.findings
    assert f.value == "31.02.1985"
    assert f.severity is Severity.ERROR
    assert "ДД.ММ.ГГГГ" in f.message_ru and f.hint_ru == RULES["CELL-002"].hint


def test_dates_and_numbers_are_shown_as_typed(tmp_path):
    report = validate(tmp_path, both(cell("pairs", 0, plan_percent=150),
                                     cell("pairs", 1, end_date=date(2026, 9, 1),
                                          stage="завершение")))
    values = {f.code: f.value for f in report.findings}
    assert values == {"CELL-004": "150", "PAIR-007": "01.09.2026"}


def test_form_finding_is_located_at_the_field(tmp_path):
    report = validate(tmp_path, school(partners_total=0))
    [f] = report.findings
    assert (f.code, f.sheet, f.row, f.column, f.value) == (
        "SCHOOL-002", "Сведения об ОО", 14, "Организаций-партнёров", "0")
    assert "1" in f.message_ru and f.hint_ru == RULES["SCHOOL-002"].hint
    assert f.to_dict()["severity"] == "ошибка"


def test_age_message_in_good_russian(tmp_path):
    report = validate(tmp_path, cell("mentees", 0, birth_date=date(2024, 1, 1)))
    [f] = report.findings
    assert "Возраст 2 года" in f.message_ru and "«обучающийся»" in f.message_ru
    assert f.value == "01.01.2024"


def test_missing_sheet_and_column_messages(tmp_path):
    report = validate(tmp_path, edit=drop_column(SCHOOL, "Организаций-партнёров"))
    [f] = report.findings
    assert f.message_ru == "На листе «Сведения об ОО» нет строки «Организаций-партнёров»."
    assert f.hint_ru == RULES["SHEET-002"].hint
    report = validate(tmp_path, edit=drop_sheet(MEET))
    [f] = report.findings
    assert f.message_ru == "В книге нет листа «Встречи»." and f.hint_ru == RULES["SHEET-001"].hint


def test_messages_carry_ids_not_names(tmp_path):
    """Findings go to logs and the municipality: IDs, never names or birth dates."""
    mutate = both(add("mentees", 1, id="У-004"), cell("mentors", 0, consent_date=None),
                  cell("mentors", 2, record_cert_date=None))
    report = validate(tmp_path, mutate)
    assert {f.code for f in report.findings} == {"PERSON-001", "CONSENT-001", "MENTOR-001"}
    for f in report.findings:
        text = f"{f.value} {f.message_ru}"
        assert "Новикова" not in text and "Петров" not in text and "1985" not in text


# -- robustness: no input makes the validation raise -------------------------------------------
def test_empty_template_gives_findings_and_never_raises(tmp_path):
    report = validate(tmp_path, data={}, ref=None)
    required = [c.header for c in C.SCHOOL.columns if c.required]
    assert where(report) == Counter(("CELL-001", SCHOOL, row, c.header)
                                    for row, c in enumerate(C.SCHOOL.columns, C.FIRST_DATA_ROW)
                                    if c.header in required)
    assert report.status == "есть ошибки"


@pytest.mark.parametrize("ref", [REF, None])
def test_empty_tables_never_raise(ref):
    values = sample_values({})
    for name in list(values):
        if name not in (C.INSTRUCTIONS.name, SCHOOL):
            values[name] = values[name][:1]  # headers only
    report = validate_workbook(SchoolWorkbook.from_values(values), ref)
    assert all(f.sheet == SCHOOL for f in report.findings)


def test_missing_required_column_gives_sheet_002_only(tmp_path):
    report = validate(tmp_path, edit=drop_column(MENTORS, "ID наставника"))
    assert where(report) == Counter([("SHEET-002", MENTORS, None, "ID наставника")])


def test_missing_consent_column_is_not_a_missing_consent(tmp_path):
    report = validate(tmp_path, edit=drop_column(MENTEES, "Согласие на обработку ПД (дата)"))
    assert where(report) == Counter([("SHEET-002", MENTEES, None,
                                      "Согласие на обработку ПД (дата)")])


def _every_column():
    for s in C.DATA_SHEETS:
        for col in s.columns:
            yield pytest.param(s, col, id=f"{s.key}.{col.key}")


@pytest.mark.parametrize(("sheet", "column"), list(_every_column()))
def test_any_missing_column_gives_sheet_002(sheet, column):
    values = sample_values()
    rows = values[sheet.name]
    if sheet.kind is C.SheetKind.FORM:
        values[sheet.name] = [r for r in rows if r[0] != column.header]
    else:
        i = rows[0].index(column.header)
        values[sheet.name] = [r[:i] + r[i + 1:] for r in rows]
    report = validate_workbook(SchoolWorkbook.from_values(values), REF)
    assert ("SHEET-002", sheet.name, None, column.header) in where(report)


@pytest.mark.parametrize("sheet", [s for s in C.DATA_SHEETS], ids=lambda s: s.key)
def test_any_missing_sheet_gives_sheet_001(sheet):
    values = sample_values()
    del values[sheet.name]
    report = validate_workbook(SchoolWorkbook.from_values(values), REF)
    assert where(report)[("SHEET-001", sheet.name, None, None)] == 1
    assert not [f for f in report.findings if f.code == "SHEET-002"]


JUNK = st.one_of(
    st.none(),
    st.text(max_size=12),
    st.sampled_from(["", " ", "У-001", "Н-001, Н-002", "П-001", "да", "нет", "31.02.1985",
                     "01.01.2020", "2026-11", "-1", "1e9", "nan", "inf", "педагог",
                     "обучающийся", "завершение", "выполнено", "ученик – ученик", "=1+1"]),
    st.integers(min_value=-10**6, max_value=10**7),
    st.floats(allow_nan=True, allow_infinity=True),
    st.booleans(),
    st.dates(),
    st.datetimes(),
)
_JUNK_SHEETS = [s.name for s in C.DATA_SHEETS]
_SAMPLE = sample_values()


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.sampled_from(_JUNK_SHEETS), st.integers(0, 7),
                          st.integers(0, 13), JUNK), min_size=1, max_size=25),
       st.sampled_from([REF, None]))
def test_junk_in_cells_never_raises(changes, ref):
    values = {name: [list(r) for r in rows] for name, rows in _SAMPLE.items()}
    for name, row, col, value in changes:
        rows = values[name]
        while len(rows) <= row:
            rows.append([None] * len(rows[0]))
        line = rows[row]
        line.extend([None] * (col + 1 - len(line)))
        line[col] = value
    report = validate_workbook(SchoolWorkbook.from_values(values), ref)
    for f in report.findings:
        assert f.code in RULES and isinstance(f.message_ru, str) and f.message_ru
        assert f.value is None or isinstance(f.value, str)
    report.to_dict()


@pytest.mark.parametrize("value", [date(1600, 1, 1), datetime(2300, 1, 1), "31.12.9999",
                                   132321], ids=str)
def test_reader_keeps_far_dates(value):
    """A mistyped year (01.01.1600, 31.12.9999, a serial 132321) is a CELL-002, not a crash."""
    values = {name: [list(r) for r in rows] for name, rows in _SAMPLE.items()}
    values[MENTORS][1][2] = value  # Н-001's birth date
    report = validate_workbook(SchoolWorkbook.from_values(values), REF)
    assert ("CELL-002", MENTORS, 2, "Дата рождения") in where(report)


def _plausible(col: C.Column) -> st.SearchStrategy:
    """Values a user could well type in this column: mostly valid, sometimes not."""
    ids = st.sampled_from(["Н-001", "Н-002", "Н-003", "У-001", "У-002", "У-003", "П-001",
                           "П-002", "П-003", "1", "2"])
    pool: list[st.SearchStrategy] = [st.none(), JUNK]
    if col.dictionary:
        pool.append(st.sampled_from(C.dictionary_values(col.dictionary)))
    if col.type in (C.ColType.ID, C.ColType.REF):
        pool.append(ids)
    if col.type is C.ColType.REFS:
        pool.append(st.lists(ids, max_size=4).map(", ".join))
    if col.type is C.ColType.DATE:
        pool.append(st.dates(min_value=date(1950, 1, 1), max_value=date(2030, 1, 1)))
    if col.type in (C.ColType.INTEGER, C.ColType.NUMBER):
        pool.append(st.integers(-5, 600))
    return st.one_of(*pool)


_TABLES = [s for s in C.DATA_SHEETS if s.kind is C.SheetKind.TABLE]


@st.composite
def _plausible_values(draw) -> dict[str, list[list]]:
    values = {name: [list(r) for r in rows] for name, rows in _SAMPLE.items()}
    for s in _TABLES:
        n = draw(st.integers(0, 6))
        values[s.name] = [values[s.name][0]] + [
            [draw(_plausible(col)) for col in s.columns] for _ in range(n)]
    return values


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_plausible_values())
def test_plausible_random_tables_never_raise(values):
    report = validate_workbook(SchoolWorkbook.from_values(values), REF)
    for f in report.findings:
        assert f.row is None or f.row >= C.FIRST_DATA_ROW
        assert f.sheet in {s.name for s in C.DATA_SHEETS}


def test_consent_judged_at_the_age_on_the_day_it_was_given(tmp_path):
    from addin.validate import validate_path
    from tests.sample import clean_school
    from workbook_templates.build import write_school_workbook

    data = clean_school()
    # 18 on 10.10.2026: consenting herself on 15.10.2026 is right, on 01.09.2026 it was not
    data["mentees"][2].update(birth_date=date(2008, 10, 10), consent_by="сам",
                              consent_date=date(2026, 10, 15))
    report = validate_path(write_school_workbook(tmp_path / "a.xlsx", data))
    assert "CONSENT-002" not in {f.code for f in report.findings}
    data["mentees"][2]["consent_date"] = date(2026, 9, 1)
    report = validate_path(write_school_workbook(tmp_path / "b.xlsx", data))
    assert [(f.code, f.row) for f in report.findings if f.code == "CONSENT-002"] == [
        ("CONSENT-002", 4)]
