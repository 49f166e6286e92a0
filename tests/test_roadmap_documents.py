"""`nastavnik import-roadmap` on documents shaped like the ones schools publish: a table broken
over a page (header on the first page only), as .docx and as PDF (made by LibreOffice in the
test); an order with two roadmaps, section rows, continuation lines and HTML left in cells, as
.docx, PDF, .odt and .doc; and the Russian message where LibreOffice is missing.

The documents are written by tests/roadmap_docs.py: an invented roadmap (always runs) and the
seed roadmaps of ../shared/seeds (skipped where absent).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pandas as pd
import pytest
from docx.shared import Cm

from addin.model import SchoolWorkbook
from addin.roadmap.importer import ImportReport, read_roadmap
from addin.roadmap.table import clean
from tests import roadmap_docs as docs
from tests.cli import NASTAVNIK, run
from tests.test_roadmap_import import STEMS, as_expected, expected, write_docx
from workbook_templates.build import write_school_workbook


@pytest.fixture(scope="session")
def writer(soffice, tmp_path_factory):
    """The ``soffice`` converter, when LibreOffice has Writer (Debian splits it off the Calc
    package: apt-get install libreoffice-writer-nogui); skipped otherwise, failed in CI."""
    probe = docs.split_docx(tmp_path_factory.mktemp("probe") / "probe.docx", docs.INVENTED,
                            cut_item="1.2")
    try:
        soffice(probe, "odt")
    except AssertionError:
        if os.environ.get("REQUIRE_SOFFICE") or os.environ.get("CI"):
            raise
        pytest.skip("LibreOffice Writer not installed; apt-get install libreoffice-writer-nogui")
    return soffice


@pytest.fixture(scope="module")
def blank_school(tmp_path_factory) -> Path:
    return write_school_workbook(tmp_path_factory.mktemp("school") / "school.xlsx")


def import_cli(doc: Path, school: Path, *args: object) -> tuple[subprocess.CompletedProcess,
                                                               pd.DataFrame | None]:
    """Run the import into a copy of ``school`` beside ``doc``; the rows written, if any."""
    into = doc.parent / "school.xlsx"
    shutil.copyfile(school, into)
    out = doc.parent / f"{doc.stem}-импорт.xlsx"
    out.unlink(missing_ok=True)
    res = run("import-roadmap", doc, "--into", into, "--out", out, *args)
    road = SchoolWorkbook.from_path(out).tables["roadmap"] if out.exists() else None
    return res, road


def _spaced(value: object) -> str:
    """A text as compared: the workbook reader joins the lines of a cell with spaces."""
    return "" if pd.isna(value) else " ".join(str(value).split())


def rows_of(road: pd.DataFrame, *columns: str) -> list[tuple[str, ...]]:
    return [tuple(map(_spaced, row)) for row in road[list(columns)].itertuples(index=False)]


def _squeeze(text: str) -> str:
    return "".join(text.split())


def invented_rows(entries) -> list[tuple[str, str, str, str]]:
    return [(i.no, i.activity, i.deadline, i.responsible) for i in docs.items_of(entries)]


# --------------------------------------------------------- a table broken over a page


def test_docx_table_split_over_a_page_imports_every_item(tmp_path, blank_school):
    doc = docs.split_docx(tmp_path / "карта.docx", docs.INVENTED, cut_item="2.2")
    res, road = import_cli(doc, blank_school)
    assert res.returncode == 0, res.stdout + res.stderr
    assert rows_of(road, "item_no", "activity", "deadline_text", "responsible") == \
        invented_rows(docs.INVENTED)
    assert road["section"].str.startswith("2. Формирование базы").sum() == 3
    assert "Таблица 1 «План мероприятий (дорожная карта)" in res.stdout
    assert "(таблицы 1–2): мероприятий — 9, сроков распознано — 9." in res.stdout
    assert "Перенесено строк: 9" in res.stdout


def test_continued_appendix_is_the_same_table(tmp_path):
    doc = docs.split_docx(tmp_path / "карта.docx", docs.INVENTED, cut_item="3.1",
                          between="Продолжение приложения 1")
    report = read_roadmap(doc)
    assert [(t.items, t.where) for t in report.tables] == [(9, "таблицы 1–2")]
    assert [(i.item_no, i.activity, i.deadline_text) for i in report.items] == [
        (i.no, i.activity, i.deadline) for i in docs.items_of(docs.INVENTED)]
    assert report.items[-1].section.startswith("3. Реализация и мониторинг")


@pytest.mark.libreoffice
def test_pdf_of_the_split_table_imports_every_item(tmp_path, blank_school, writer):
    doc = docs.split_docx(tmp_path / "карта.docx", docs.INVENTED, cut_item="1.3",
                          numbering_row=True)
    pdf = writer(doc, "pdf")
    res, road = import_cli(pdf, blank_school)
    assert res.returncode == 0, res.stdout + res.stderr
    assert rows_of(road, "item_no", "activity", "deadline_text", "responsible") == \
        invented_rows(docs.INVENTED)
    assert "(стр. 1–2): мероприятий — 9, сроков распознано — 9." in res.stdout
    due = road.set_index("item_no")["due_date"]
    assert due["1.3"].date().isoformat() == "2026-09-30"


@pytest.mark.libreoffice
def test_pdf_with_narrow_columns_keeps_the_words_whole(tmp_path, blank_school, writer):
    """A column too narrow for a word breaks it over two lines; the import joins it again."""
    narrow = (Cm(1.0), Cm(3.2), Cm(2.1), Cm(2.3))
    doc = docs.split_docx(tmp_path / "узкая.docx", docs.INVENTED, cut_item="2.2",
                          widths=narrow)
    res, road = import_cli(writer(doc, "pdf"), blank_school)
    assert res.returncode == 0, res.stdout + res.stderr
    got = rows_of(road, "item_no", "activity", "deadline_text", "responsible")
    want = invented_rows(docs.INVENTED)
    assert [(g[0], g[2]) for g in got] == [(w[0], w[2]) for w in want]
    assert [_squeeze(g[1] + g[3]) for g in got] == [_squeeze(w[1] + w[3]) for w in want]
    words = {w for g in got for w in g[1].split() + g[3].split()}
    whole = {w for v in want for w in v[1].split() + v[3].split()}
    assert len(words - whole) <= 3, words - whole  # at most a rare word left in two parts


@pytest.mark.libreoffice
def test_pdf_with_the_header_repeated_on_every_page(tmp_path, blank_school, writer):
    doc, items = docs.long_docx(tmp_path / "длинная.docx")
    pdf = writer(doc, "pdf")
    res, road = import_cli(pdf, blank_school)
    assert res.returncode == 0, res.stdout + res.stderr
    assert rows_of(road, "item_no", "activity", "deadline_text", "responsible") == \
        [(i.no, i.activity, i.deadline, i.responsible) for i in items]
    pages = read_roadmap(pdf).tables[0].where
    assert pages.startswith("стр. 1–") and pages != "стр. 1–1"
    assert "Таблиц дорожной карты в документе" not in res.stdout  # one table, not one a page


def seed_entries(report: ImportReport) -> list[tuple[str, str] | docs.Item]:
    """A seed roadmap as section rows and items, the way its document lays them out."""
    entries: list[tuple[str, str] | docs.Item] = []
    open_sections: list[str] = []
    for item in report.items:
        parts = item.section.split(" / ") if item.section else []
        for depth, part in enumerate(parts):
            if open_sections[depth:depth + 1] != [part]:
                open_sections[depth:] = [part]
                no, _, text = part.partition(" ")
                entries.append((no, text))
        entries.append(docs.Item(item.item_no, item.activity, item.deadline_text,
                                 item.responsible, item.result))
    return entries


def seed_split_docx(seeds_dir: Path, stem: str, path: Path) -> Path:
    report = read_roadmap(seeds_dir / f"{stem}.txt")
    entries = seed_entries(report)
    items = docs.items_of(entries)
    cut = items[len(items) // 2].no  # in the middle of the table
    return docs.split_docx(path, entries, cut_item=cut, header=list(report.columns.values()),
                           numbering_row=True)


@pytest.mark.parametrize("stem", STEMS[:2])
def test_seed_split_over_a_page_as_docx_matches_the_hand_checked_items(stem, seeds_dir,
                                                                       tmp_path):
    doc = seed_split_docx(seeds_dir, stem, tmp_path / f"{stem}.docx")
    report = read_roadmap(doc)
    want, got = expected(stem), as_expected(report)
    assert got["count"] == want["count"]
    assert got["sections"] == want["sections"]
    for g, w in zip(got["items"], want["items"], strict=True):
        assert g == w, f"item {w['item_no']}"
    assert [t.where for t in report.tables] == ["таблицы 1–2"]


@pytest.mark.libreoffice
@pytest.mark.parametrize("stem", STEMS[:2])
def test_seed_split_over_a_page_as_pdf_imports_every_item_with_its_deadline(
        stem, seeds_dir, tmp_path, writer, blank_school):
    doc = seed_split_docx(seeds_dir, stem, tmp_path / f"{stem}.docx")
    res, road = import_cli(writer(doc, "pdf"), blank_school)
    assert res.returncode == 0, res.stdout + res.stderr
    want = expected(stem)
    assert len(road) == want["count"]
    assert list(road["item_no"]) == [w["item_no"] for w in want["items"]]
    assert list(road["deadline_text"]) == [w["deadline_text"] for w in want["items"]]
    from_txt = read_roadmap(seeds_dir / f"{stem}.txt").items
    # a narrow PDF column may break a long word in two; the text itself is all there
    assert [_squeeze(a) for a in road["activity"]] == [_squeeze(i.activity) for i in from_txt]
    kinds = [i.deadline.kind for i in read_roadmap(seeds_dir / f"{stem}.txt").items]
    assert kinds == [w["deadline_kind"] for w in want["items"]]
    assert "Строка не понята" not in res.stdout


@pytest.mark.libreoffice
@pytest.mark.parametrize("stem", [STEMS[0], STEMS[2]])
def test_seed_with_merged_cells_as_pdf(stem, seeds_dir, tmp_path, writer):
    """Section rows merged across the table, and (seed 003) stage and activity cells merged
    down over several rows, as a PDF: the same items, sections and deadlines as the text."""
    import docx

    from_txt = read_roadmap(seeds_dir / f"{stem}.txt")
    path = write_docx(from_txt, tmp_path / f"{stem}.docx", merge=True)
    document = docx.Document(str(path))
    for table in document.tables:
        table.style = document.styles["Table Grid"]  # ruled, as published
    document.save(str(path))
    report = read_roadmap(writer(path, "pdf"))
    assert [(i.item_no, i.section, i.deadline_text) for i in report.items] == \
        [(i.item_no, i.section, i.deadline_text) for i in from_txt.items]
    assert [_squeeze(i.activity) for i in report.items] == \
        [_squeeze(i.activity) for i in from_txt.items]
    assert report.tables[0].where.startswith("стр. 1–")


# ----------------------------------------------------- an order with two roadmaps


def college_rows() -> list[tuple[str, str, str]]:
    second = [(i.no, i.activity, i.deadline) for i in docs.items_of(docs.COLLEGE_2)]
    return [tuple(map(_spaced, row)) for row in docs.COLLEGE_1_EXPECTED + second]


@pytest.mark.parametrize("kind", ["docx"] + [
    pytest.param(k, marks=pytest.mark.libreoffice) for k in ("pdf", "odt", "doc", "rtf")])
def test_order_with_two_roadmaps_imports_both_in_order(kind, tmp_path, blank_school, request):
    doc = docs.college_order(tmp_path / "приказ.docx")
    if kind != "docx":
        doc = request.getfixturevalue("writer")(doc, kind)
    res, road = import_cli(doc, blank_school)
    assert res.returncode == 0, res.stdout + res.stderr
    assert rows_of(road, "item_no", "activity", "deadline_text") == college_rows()
    assert not road[["activity", "deadline_text", "responsible"]].apply(
        lambda c: c.str.contains("<|&[a-z]+;", regex=True)).any().any()
    assert road["result"].iloc[5:].tolist() == [i.result for i in docs.items_of(docs.COLLEGE_2)]
    assert list(road["section"].drop_duplicates()) == [
        "1. Подготовка условий", "2. Реализация программ",
        "1. Наставничество молодых педагогов", "2. Итоги"]
    assert road["recurrence"].iloc[3] == "ежемесячно, 25 числа"
    out = res.stdout
    assert "Таблиц дорожной карты в документе: 2; переносятся все, по порядку." in out
    assert "Таблица 1 «Приложение 1. Дорожная карта" in out
    assert "мероприятий — 5, сроков распознано — 5." in out
    assert "Таблица 2 «Приложение 2. План мероприятий" in out
    assert "без строки заголовков): мероприятий — 4, сроков распознано — 4." in out
    assert "не похожие на дорожную карту (пропущены)" in out
    assert "«ФИО | Должность | Дата назначения»" in out
    assert "--table N" in out
    assert "Перенесено строк: 9" in out


WEB_PAGE = """<html><head><meta charset="utf-8"><title>Наставничество</title></head><body>
<h2>Дорожная карта внедрения целевой модели наставничества</h2>
<table border="1"><tr><th>№ п/п</th><th>Мероприятие</th><th>Срок</th><th>Ответственный</th></tr>
<tr><td colspan="4">1. Организационный этап</td></tr>
<tr><td>1.1</td><td><p>Приказ о внедрении</p></td><td>до 15.09.2026</td><td>Директор</td></tr>
<tr><td>1.2</td><td>Анкетирование &laquo;Мой наставник&raquo;</td><td>октябрь 2026 г.</td>
<td>Педагог-психолог</td></tr></table></body></html>"""


@pytest.mark.libreoffice
def test_a_saved_web_page_imports(tmp_path, blank_school, writer):
    doc = tmp_path / "страница.html"
    doc.write_text(WEB_PAGE, encoding="utf-8")
    res, road = import_cli(doc, blank_school)
    assert res.returncode == 0, res.stdout + res.stderr
    assert rows_of(road, "item_no", "section", "activity", "deadline_text") == [
        ("1.1", "1. Организационный этап", "Приказ о внедрении", "до 15.09.2026"),
        ("1.2", "1. Организационный этап", "Анкетирование «Мой наставник»", "октябрь 2026 г.")]


def test_table_option_picks_one_roadmap(tmp_path, blank_school):
    doc = docs.college_order(tmp_path / "приказ.docx")
    res, road = import_cli(doc, blank_school, "--table", "2")
    assert res.returncode == 0, res.stdout + res.stderr
    assert rows_of(road, "item_no", "deadline_text") == [
        (i.no, i.deadline) for i in docs.items_of(docs.COLLEGE_2)]
    assert "переносится таблица 2" in res.stdout
    assert "(не переносится) Таблица 1" in res.stdout

    res, road = import_cli(doc, blank_school, "--table", "3")
    assert res.returncode == 2
    assert road is None
    assert "таблиц дорожной карты: 2; таблицы с номером 3 нет" in res.stderr
    assert "Traceback" not in res.stderr


def test_rows_not_understood_are_listed(tmp_path, blank_school):
    doc = tmp_path / "карта.txt"
    doc.write_text(
        "№\tМероприятие\tСрок\tОтветственный\tПримечание\n"
        "\t\t\t\tсогласовано с профкомом\n"
        "1\tПриказ о наставничестве\tдо 15.09.2026\tДиректор\t\n"
        "2\tАнкетирование\tоктябрь 2026 г.\tПедагог-психолог\t\n", encoding="utf-8")
    res, road = import_cli(doc, blank_school)
    assert res.returncode == 0, res.stdout + res.stderr
    assert list(road["item_no"]) == ["1", "2"]
    assert "Строка не понята (не перенесена): «согласовано с профкомом»." in res.stdout
    assert "Таблица 1: мероприятий — 2, сроков распознано — 2." in res.stdout


def test_pasted_text_with_two_roadmaps(tmp_path, blank_school):
    doc = tmp_path / "карты.txt"
    doc.write_text(
        "Дорожная карта 1\n"
        "№\tМероприятие\tСрок\tОтветственный\n"
        "1\tПриказ о наставничестве\tдо 15.09.2026\tДиректор\n"
        "2\tАнкетирование\tоктябрь 2026 г.\tПедагог-психолог\n\n"
        "Дорожная карта 2\n"
        "№\tМероприятие\tСрок\tОтветственный\n"
        "1\tЗакрепление наставников\tдо 01.10.2026\tЗаместитель директора\n", encoding="utf-8")
    res, road = import_cli(doc, blank_school, "--table", "2")
    assert res.returncode == 0, res.stdout + res.stderr
    assert rows_of(road, "item_no", "activity") == [("1", "Закрепление наставников")]
    report = read_roadmap(doc)
    assert [(t.items, t.deadlines) for t in report.tables] == [(2, 2), (1, 1)]
    # without the titles: the same header again, and the numbering starts again at 1
    doc.write_text("\n".join(line for line in doc.read_text(encoding="utf-8").splitlines()
                             if not line.startswith("Дорожная карта")), encoding="utf-8")
    assert [t.items for t in read_roadmap(doc).tables] == [2, 1]
    # a header repeated on the next page, the numbering going on: one table
    doc.write_text(doc.read_text(encoding="utf-8").replace("1\tЗакрепление", "3\tЗакрепление"),
                   encoding="utf-8")
    assert [t.items for t in read_roadmap(doc).tables] == [3]


def test_html_left_in_cells_becomes_text():
    assert clean("<p>Приказ</p><ol><li>раз;</li><li>два.</li></ol>") == "Приказ\n· раз;\n· два."
    assert clean("до 25&nbsp;числа<br/>ежемесячно") == "до 25 числа ежемесячно"
    assert clean("&lt;p&gt;План&lt;/p&gt;") == "План"
    assert clean("<P ALIGN=center>План</P>") == "План"
    assert clean("A < B и C > D") == "A < B и C > D"  # not HTML: left alone


# ---------------------------------------------------------- errors a user can meet


def run_without(env_change: dict[str, str], *args: object) -> subprocess.CompletedProcess:
    env = dict(os.environ, COLUMNS="200", NO_COLOR="1", **env_change)
    if env_change.get("SOFFICE") is None:
        env.pop("SOFFICE", None)
    return subprocess.run([str(NASTAVNIK), *map(str, args)], capture_output=True, text=True,
                          stdin=subprocess.DEVNULL, timeout=120, env=env)


@pytest.mark.parametrize("how", ["SOFFICE empty", "PATH without soffice"])
@pytest.mark.parametrize("suffix", [".odt", ".doc"])
def test_without_libreoffice_the_message_is_russian(how, suffix, tmp_path, blank_school):
    doc = tmp_path / f"карта{suffix}"
    doc.write_bytes(b"PK\x03\x04 not read: LibreOffice is needed first")
    change = {"SOFFICE": ""} if how == "SOFFICE empty" else {"PATH": str(tmp_path)}
    res = run_without(change, "import-roadmap", doc, "--into", blank_school)
    assert res.returncode == 2, res.stdout + res.stderr
    message = " ".join(res.stderr.split())  # the console wraps long lines
    assert f"чтобы прочитать документ {suffix}, нужен LibreOffice" in message
    assert "сохраните документ в формате .docx" in message
    assert "Traceback" not in res.stderr


def test_a_pdf_without_text_is_taken_for_a_scan(tmp_path, blank_school):
    doc = tmp_path / "скан.pdf"
    doc.write_bytes(b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
                    b"2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n"
                    b"3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 595 842]>>endobj\n"
                    b"trailer<</Root 1 0 R>>\n%%EOF\n")
    res, road = import_cli(doc, blank_school)
    assert res.returncode == 2
    assert road is None
    assert "это, похоже, скан" in " ".join(res.stderr.split())


def test_a_broken_pdf_gets_a_russian_message(tmp_path, blank_school):
    doc = tmp_path / "карта.pdf"
    doc.write_bytes(b"%PDF-1.4\nthis is not a PDF body")
    res, road = import_cli(doc, blank_school)
    assert res.returncode == 2
    assert road is None
    assert "не читается как PDF" in res.stderr
    assert "Traceback" not in res.stderr

