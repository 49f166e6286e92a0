"""Tests for addin.roadmap.importer: the three real roadmaps as pasted text, as .docx, an .xlsx,
the copy written into the school template, and the roadmap checks on the imported rows.

The expectations in tests/data/roadmaps/*.expected.json were assembled by hand from the seed
lines (which line or cell holds each field, which lines continue a row) and checked against
the seed text.
"""

from __future__ import annotations

import hashlib
import json
from datetime import date, datetime
from pathlib import Path

import pytest

from addin.model import SchoolWorkbook
from addin.roadmap.importer import (
    ImportReport,
    RoadmapImportError,
    import_into,
    read_roadmap,
)
from addin.validate import validate_path
from workbook_templates import contract as C
from workbook_templates.build import write_school_workbook

SEEDS = Path(__file__).resolve().parents[2] / "shared" / "seeds"
EXPECTED = Path(__file__).resolve().parent / "data" / "roadmaps"
STEMS = ("000_7378df4a4936b2be", "001_1168ad8079d86902", "003_c460553f016a76d4")
# per seed: (normalized, без срока, relative without a date, unreadable, empty)
COUNTS = {STEMS[0]: (7, 5, 1, 0, 0), STEMS[1]: (15, 2, 0, 0, 0), STEMS[2]: (8, 2, 0, 0, 0)}


def seed(stem: str) -> Path:
    path = SEEDS / f"{stem}.txt"
    if not path.is_file():
        pytest.skip(f"no seed roadmap {path} (a user's clone has no ../shared)")
    return path


def expected(stem: str) -> dict:
    return json.loads((EXPECTED / f"{stem}.expected.json").read_text(encoding="utf-8"))


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def as_expected(report: ImportReport) -> dict:
    """The report in the shape of the expectation files."""
    sections = report.sections
    return {
        "count": len(report.items),
        "sections": sections,
        "items": [{"item_no": i.item_no,
                   "section": sections.index(i.section) if i.section else -1,
                   "activity_start": i.activity[:60], "activity_end": i.activity[-30:],
                   "activity_len": len(i.activity), "deadline_text": i.deadline_text,
                   # hashed: the seeds name real staff, who stay out of the repository
                   "responsible_sha256": _digest(i.responsible),
                   "deadline_kind": i.deadline.kind}
                  for i in report.items],
    }


def assert_matches(report: ImportReport, stem: str) -> None:
    want = expected(stem)
    got = as_expected(report)
    assert got["count"] == want["count"]
    assert got["sections"] == want["sections"]
    for g, w in zip(got["items"], want["items"], strict=True):
        assert g == w, f"item {w['item_no']}"


# ------------------------------------------------------------------------- the seeds


@pytest.mark.parametrize("stem", STEMS)
def test_seed_txt_imports_the_hand_checked_items(stem):
    report = read_roadmap(seed(stem))
    assert report.source == f"{stem}.txt"
    assert_matches(report, stem)
    counts = (report.normalized, report.no_deadline, report.relative_unresolved,
              report.unreadable, report.empty)
    assert counts == COUNTS[stem]
    assert report.unrecognized_columns == []


def test_seed_000_continuation_line_is_merged_into_item_3_2():
    report = read_roadmap(seed(STEMS[0]))
    item = next(i for i in report.items if i.item_no == "3.2")
    assert item.activity == (
        "Формирование базы наставников для реализации ЦМН (отбор из числа потенциальных "
        "наставников в соответствии со сформированным на текущий год перечнем запросов)")
    assert item.deadline_text == "В течение всего периода реализации ЦМН"
    assert item.deadline.kind == "no_deadline"
    assert [i.item_no for i in report.items].count("3.2") == 1


def test_seed_001_bullets_stay_lines_and_a_lone_bullet_is_dropped():
    report = read_roadmap(seed(STEMS[1]))
    first = report.items[0]
    assert first.result == ("· Определение состава рабочей группы\n"
                            "· Выбор форм наставничества в организации дополнительного "
                            "образования")
    assert report.items[3].result == "Разработка дорожной карты"
    item12 = next(i for i in report.items if i.item_no == "12")
    assert item12.responsible.startswith("Заместитель директора")
    assert report.columns["result"] == "Результат. Вид документа"


def test_seed_003_stage_is_section_and_activity_heading_carries_down():
    report = read_roadmap(seed(STEMS[2]))
    by_no = {i.item_no: i for i in report.items}
    assert by_no["1.3"].deadline_text == "сентябрь ежегодно"  # «сентябрь» + «ежегодно»
    assert by_no["1.3"].responsible == "Заместители директора"
    heading = "Выбор форм и программ наставничества исходя из потребностей школы"
    assert all(by_no[f"1.{n}"].activity.startswith(heading + " — ") for n in range(3, 8))
    assert by_no["3.1"].activity == "Приказ о поощрении участников наставнической деятельности"
    assert by_no["4.1"].deadline.recurrence == "months:1,6"
    assert any("нумерует этапы" in n for n in report.notes)


@pytest.mark.parametrize("stem", STEMS)
def test_summary_mentions_the_counts(stem):
    report = read_roadmap(seed(stem))
    text = report.summary_ru()
    normalized, no_deadline, relative, unreadable, empty = COUNTS[stem]
    assert f"мероприятий — {len(report.items)}" in text
    assert f"разделов — {len(report.sections)}" in text
    assert f"приведены к дате или периодичности — {normalized}" in text
    assert f"без срока — {no_deadline}" in text
    assert f"не распознаны (оставлены текстом) — {unreadable}" in text
    assert f"нужна дата отсчёта — {relative}" in text
    if relative:
        assert "В течение двух недель с даты определения модели" in text


def test_relative_deadline_gets_a_due_date_with_an_anchor():
    report = read_roadmap(seed(STEMS[0]), anchor=date(2021, 9, 1))
    item = next(i for i in report.items if i.item_no == "3.3")
    assert item.deadline.kind == "relative"
    assert item.deadline.due == date(2021, 9, 15)
    assert report.relative_unresolved == 0
    assert report.normalized == COUNTS[STEMS[0]][0] + 1


# ---------------------------------------------------------------------------- .docx


def write_docx(report: ImportReport, path: Path, *, merge: bool = False) -> Path:
    """The roadmap as a Word document: a title, the table (header, sections as rows, one row
    per item) and a closing paragraph. ``merge``: section rows merged across the table and,
    with a stage column, the stage, № and «Мероприятия» cells merged down like the original."""
    import docx

    keys = list(report.columns)
    headers = [report.columns[k] for k in keys]
    document = docx.Document()
    document.add_paragraph("План мероприятий (дорожная карта)")
    document.add_paragraph("Утвержден приказом № 18 от 25.09.2020 г.")
    table = document.add_table(rows=1, cols=len(keys))
    for j, h in enumerate(headers):
        table.rows[0].cells[j].text = h
    staged = "section" in keys
    open_sections: list[str] = []
    spans: dict[str, list[int]] = {}  # column key -> row indexes of the current merge run
    runs: list[tuple[str, list[int]]] = []
    last_stage, last_group = None, None
    for item in report.items:
        if not staged:
            parts = item.section.split(" / ") if item.section else []
            for depth, part in enumerate(parts):
                if depth < len(open_sections) and open_sections[depth] == part:
                    continue
                open_sections[depth:] = [part]
                no, _, text = part.partition(" ")
                cells = table.add_row().cells
                if merge:
                    merged = cells[0].merge(cells[-1])
                    merged.text = part
                else:
                    cells[keys.index("item_no")].text = no
                    cells[keys.index("activity")].text = text
        row = table.add_row()
        index = len(table.rows) - 1
        values = {"item_no": item.item_no, "deadline": item.deadline_text,
                  "responsible": item.responsible, "result": item.result,
                  "indicator": item.indicator, "activity": item.activity}
        if staged:
            stage_no, _, stage = item.section.partition(". ")
            group, sep, content = item.activity.partition(" — ")
            if not sep:
                group, content = "", item.activity
            new_stage = item.section != last_stage
            values.update(item_no=stage_no if new_stage else "", section=stage if new_stage else "",
                          activity=group if group != last_group or new_stage else "",
                          content=content)
            for key, starts in (("item_no", new_stage), ("section", new_stage),
                                ("activity", new_stage or group != last_group)):
                if starts:
                    spans[key] = [index]
                    runs.append((key, spans[key]))
                else:
                    spans[key].append(index)
            last_stage, last_group = item.section, group
        for j, key in enumerate(keys):
            if values.get(key):
                row.cells[j].text = values[key]
    if merge:
        for key, rows in runs:
            if len(rows) > 1:
                j = keys.index(key)
                text = table.cell(rows[0], j).text
                table.cell(rows[0], j).merge(table.cell(rows[-1], j)).text = text
    document.add_paragraph("Внедрение модели наставничества обеспечит: - улучшение показателей.")
    document.save(str(path))
    return path


@pytest.mark.parametrize("merge", [False, True], ids=["plain", "merged-cells"])
@pytest.mark.parametrize("stem", STEMS)
def test_seed_as_docx_imports_the_same_items(stem, merge, tmp_path):
    from_txt = read_roadmap(seed(stem))
    path = write_docx(from_txt, tmp_path / f"{stem}.docx", merge=merge)
    report = read_roadmap(path)
    assert report.source == f"{stem}.docx"
    assert_matches(report, stem)
    assert [(i.result, i.indicator) for i in report.items] == \
        [(i.result, i.indicator) for i in from_txt.items]
    assert [i.activity for i in report.items] == [i.activity for i in from_txt.items]


def test_docx_picks_the_roadmap_table_among_others(tmp_path):
    import docx

    document = docx.Document()
    other = document.add_table(rows=2, cols=2)
    other.cell(0, 0).text, other.cell(0, 1).text = "Цель", "Задачи"
    other.cell(1, 0).text = "Апробация"
    roadmap = document.add_table(rows=3, cols=3)
    for j, h in enumerate(("Мероприятие", "Срок", "Ответственный")):
        roadmap.cell(0, j).text = h
    for j, v in enumerate(("Совещание", "до 30.09.2020", "Директор")):
        roadmap.cell(1, j).text = v
    for j, v in enumerate(("Приказ", "08.10.2020", "Директор")):
        roadmap.cell(2, j).text = v
    rest = document.add_table(rows=1, cols=3)  # the same table continued after a page break
    for j, v in enumerate(("Мониторинг", "ежеквартально", "Куратор")):
        rest.cell(0, j).text = v
    document.save(str(tmp_path / "plan.docx"))
    report = read_roadmap(tmp_path / "plan.docx")
    assert [i.activity for i in report.items] == ["Совещание", "Приказ", "Мониторинг"]
    assert report.items[0].deadline.due == date(2020, 9, 30)


# ----------------------------------------------------------------------------- .xlsx


def write_xlsx(path: Path) -> Path:
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.title = "План"
    ws.append(["«Дорожная карта» внедрения целевой модели наставничества"])
    ws.append([])
    ws.append(["Ответственный", "Срок(и)", "Мероприятие", "№ п/п", "Примечание",
               "Ожидаемый результат", "Показатель"])
    ws.append([None, None, "Организационный этап", "1.", None, None, None])
    ws.append(["Директор", datetime(2026, 9, 30), "Приказ о внедрении", "1.1", "срочно",
               "Приказ", None])
    ws.append(["Куратор", "ежеквартально", "Мониторинг", "1.2", None, None,
               "Доля наставляемых"])
    ws.append([None, None, "Основной этап", "2.", None, None, None])
    ws.append(["Наставники", "в течение года", "Встречи пар", "2.1", None, "Протоколы", None])
    ws.append(["Куратор", "IV квартал", "Отчёт", 2.2, None, None, None])
    ws.append([])
    ws.append(["Подпись директора"])
    wb.save(path)
    return path


def test_xlsx_with_other_order_and_spelling_imports(tmp_path):
    report = read_roadmap(write_xlsx(tmp_path / "plan.xlsx"))
    assert [i.item_no for i in report.items] == ["1.1", "1.2", "2.1", "2.2"]
    assert report.sections == ["1. Организационный этап", "2. Основной этап"]
    first = report.items[0]
    assert (first.activity, first.responsible, first.result) == (
        "Приказ о внедрении", "Директор", "Приказ")
    assert first.deadline_text == "30.09.2026"
    assert first.deadline.due == date(2026, 9, 30)
    assert report.items[1].indicator == "Доля наставляемых"
    assert report.items[1].deadline.recurrence == "quarterly"
    assert report.items[3].deadline.kind == "unreadable"  # «IV квартал» without a year
    assert report.unrecognized_columns == ["Примечание"]
    text = report.summary_ru()
    assert "«Примечание»" in text
    assert "не распознаны (оставлены текстом) — 1" in text
    assert "«IV квартал»" in text


def test_errors_are_russian_and_name_what_was_seen(tmp_path):
    doc = tmp_path / "plan.pages"
    doc.write_bytes(b"")
    with pytest.raises(RoadmapImportError, match=r"\.docx"):
        read_roadmap(doc)
    text = tmp_path / "plan.txt"
    text.write_text("Цель\tЗадачи\tПримечание\nа\tб\tв\n", encoding="utf-8")
    with pytest.raises(RoadmapImportError) as err:
        read_roadmap(text)
    assert "не найдена таблица" in err.value.message_ru
    assert "«Цель»" in err.value.message_ru and "«Примечание»" in err.value.message_ru


# ------------------------------------------------------------------- writing the copy


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def template(tmp_path) -> Path:
    return write_school_workbook(tmp_path / "school.xlsx")


def roadmap(path: Path):
    return SchoolWorkbook.from_path(path).table("roadmap")


def test_import_into_a_copy_appends_and_replaces(template, tmp_path):
    report = read_roadmap(seed(STEMS[0]))
    before = sha(template)
    out = tmp_path / "out.xlsx"
    assert import_into(report, template, out) == 13
    table = roadmap(out)
    assert len(table) == 13
    assert list(table["item_no"]) == [i.item_no for i in report.items]
    assert list(table["activity"]) == [i.activity for i in report.items]
    assert list(table["deadline_text"]) == [i.deadline_text for i in report.items]
    row = table.set_index("item_no")
    assert row.loc["1.1", "due_date"].date() == date(2021, 5, 31)
    assert row.loc["1.1", "section"].startswith("1. Нормативно правовое")
    assert row.loc["4.1", "recurrence"] == "ежеквартально"
    assert row.loc["4.2", "recurrence"] == "ежемесячно, 25 числа"
    assert row.loc["3.1", "recurrence"] == "без срока"
    assert row["status"].isna().all()
    assert sha(template) == before

    again = tmp_path / "again.xlsx"
    import_into(report, out, again)
    assert len(roadmap(again)) == 26
    assert list(roadmap(again)["_row"]) == list(range(2, 28))
    replaced = tmp_path / "replaced.xlsx"
    assert import_into(report, again, replaced, replace=True) == 13
    assert len(roadmap(replaced)) == 13
    assert sha(template) == before


def test_import_into_finds_columns_by_header_not_position(tmp_path):
    from openpyxl import Workbook, load_workbook

    wb_path = write_school_workbook(tmp_path / "school.xlsx")
    wb = load_workbook(wb_path)
    ws = wb[C.ROADMAP.name]
    ws.move_range("A1:L1", cols=1)  # every column one to the right
    ws["A1"] = "Заметки"
    ws["A2"], ws["B2"], ws["D2"] = "моя строка", "0", "Старое мероприятие"
    wb.save(wb_path)
    out = tmp_path / "out.xlsx"
    import_into(read_roadmap(seed(STEMS[2])), wb_path, out)
    table = roadmap(out)
    assert len(table) == 11
    assert table["activity"].iloc[0] == "Старое мероприятие"
    assert table["item_no"].iloc[1] == "1.1"
    assert load_workbook(out)[C.ROADMAP.name]["A3"].value is None

    bare = Workbook()
    bare.active.title = "Наставники"
    bare.save(tmp_path / "bare.xlsx")
    with pytest.raises(RoadmapImportError, match="Дорожная карта"):
        import_into(read_roadmap(seed(STEMS[2])), tmp_path / "bare.xlsx", tmp_path / "o.xlsx")


def test_import_into_refuses_to_overwrite_the_workbook(template):
    report = read_roadmap(seed(STEMS[1]))
    with pytest.raises(ValueError):
        import_into(report, template, template)


# ------------------------------------------------------------------- the roadmap checks


def codes(path: Path, ref: date) -> dict[str, set[int]]:
    found: dict[str, set[int]] = {}
    for f in validate_path(path, reference_date=ref).findings:
        if f.code.startswith("ROAD-"):
            found.setdefault(f.code, set()).add(f.row)
    return found


@pytest.mark.parametrize("stem", STEMS)
def test_imported_rows_pass_the_roadmap_checks(stem, template, tmp_path):
    report = read_roadmap(seed(stem))
    out = tmp_path / "out.xlsx"
    import_into(report, template, out)
    early = codes(out, date(2020, 1, 1))
    assert "ROAD-004" not in early  # every seed deadline is readable
    assert "ROAD-001" not in early
    ref = date(2026, 11, 30)
    late = codes(out, ref)
    one_off_past = {C.FIRST_DATA_ROW + k for k, i in enumerate(report.items)
                    if i.deadline.kind in ("date", "range", "relative")
                    and i.deadline.due is not None and i.deadline.due < ref}
    assert late.get("ROAD-001", set()) == one_off_past
    assert one_off_past  # every seed has past one-off deadlines
    relative = {C.FIRST_DATA_ROW + k for k, i in enumerate(report.items)
                if i.deadline.kind == "relative"}
    assert late.get("ROAD-005", set()) == relative


def test_relative_deadline_with_anchor_is_written_as_a_date(template, tmp_path):
    out = tmp_path / "out.xlsx"
    import_into(read_roadmap(seed(STEMS[0]), anchor=date(2021, 9, 1)), template, out)
    row = roadmap(out).set_index("item_no").loc["3.3"]
    assert row["due_date"].date() == date(2021, 9, 15)
    assert "ROAD-005" not in codes(out, date(2020, 1, 1))
