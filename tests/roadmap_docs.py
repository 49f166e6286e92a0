"""Roadmap documents shaped like the ones schools publish, written with python-docx.

* ``split_docx``: one roadmap whose table breaks over a page: the header on the first page only,
  the table cut into two Word tables, and the row at the cut continued in the second table by a
  row that holds only the text that ran over (what Word and PDF exports of such orders carry).
* ``college_order``: an order with two roadmaps (an appendix each), a table that is not a
  roadmap, section rows (merged across the table and not), continuation lines, cells with
  leftover HTML, and a second roadmap without a header row.

Every text here is invented; no real person is named.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import docx
from docx.shared import Cm


@dataclass
class Item:
    """An item as the test expects it after the import."""

    no: str
    activity: str
    deadline: str
    responsible: str
    result: str = ""


#: An invented school roadmap: sections (number, title) and items.
INVENTED: list[tuple[str, str] | Item] = [
    ("1.", "Организационный этап внедрения модели наставничества в лицее"),
    Item("1.1", "Издание приказа о внедрении целевой модели наставничества и назначении "
         "куратора", "до 15.09.2026", "Директор лицея"),
    Item("1.2", "Создание рабочей группы по внедрению модели наставничества из числа "
         "педагогов, классных руководителей и представителей родительского совета",
         "сентябрь 2026 г.", "Заместитель директора по воспитательной работе"),
    Item("1.3", "Разработка и утверждение положения о наставничестве и программы "
         "наставничества с учётом запросов обучающихся, педагогов и партнёров лицея по "
         "всем формам наставничества", "до 30.09.2026", "Куратор наставничества"),
    ("2.", "Формирование базы наставников и наставляемых"),
    Item("2.1", "Анкетирование обучающихся и педагогов для выявления запросов на "
         "наставничество", "октябрь 2026 г.", "Педагог-психолог"),
    Item("2.2", "Формирование базы наставников из числа педагогов, выпускников и "
         "представителей предприятий-партнёров, согласие на обработку данных",
         "в течение учебного года", "Куратор наставничества"),
    Item("2.3", "Формирование наставнических пар и групп, закрепление приказом",
         "ноябрь 2026 г.", "Директор лицея"),
    ("3.", "Реализация и мониторинг программ наставничества"),
    Item("3.1", "Встречи наставников и наставляемых по индивидуальным планам",
         "ежемесячно", "Наставники"),
    Item("3.2", "Мониторинг реализации программ наставничества и сбор обратной связи",
         "ежеквартально", "Куратор наставничества"),
    Item("3.3", "Подведение итогов года наставничества на педагогическом совете",
         "май 2027 г.", "Заместитель директора по учебной работе"),
]

HEADER = ["№ п/п", "Наименование мероприятий", "Срок реализации", "Ответственные"]
WIDTHS = {2: (Cm(7.0), Cm(7.0)), 3: (Cm(8.2), Cm(3.5), Cm(3.5)),
          4: (Cm(1.3), Cm(8.2), Cm(3.5), Cm(3.5)),
          5: (Cm(1.2), Cm(6.0), Cm(3.0), Cm(3.2), Cm(3.0))}


def items_of(entries: list[tuple[str, str] | Item]) -> list[Item]:
    """The items of a roadmap spec, without its sections."""
    return [e for e in entries if isinstance(e, Item)]


def _rows(entries: list[tuple[str, str] | Item], width: int) -> list[list[str]]:
    rows = []
    for e in entries:
        if isinstance(e, Item):
            cells = [e.no, e.activity, e.deadline, e.responsible, e.result]
        else:
            cells = [e[0], e[1], "", "", ""]
        rows.append(cells[:width])
    return rows


def _document():
    """An A4 document with 2 cm margins: 17 cm for the table."""
    document = docx.Document()
    section = document.sections[0]
    section.page_width, section.page_height = Cm(21), Cm(29.7)
    section.left_margin = section.right_margin = Cm(2)
    return document


def _table(document, rows: list[list[str]], *, spanning: set[int] = frozenset(),
           widths: tuple[Cm, ...] | None = None):
    """A ruled table (PDF readers find tables by their lines) with sensible widths."""
    width = max(len(r) for r in rows)
    widths = widths or WIDTHS[width]
    table = document.add_table(rows=0, cols=width)
    table.style = document.styles["Table Grid"]
    table.autofit = False
    for column, size in zip(table.columns, widths, strict=True):
        column.width = size
    for i, cells in enumerate(rows):
        row = table.add_row().cells
        for j, text in enumerate(cells):
            row[j].width = widths[j]  # LibreOffice reads the grid, Word the cells
            row[j].text = text
        if i in spanning:
            text = " ".join(c for c in cells if c)
            row[0].merge(row[-1]).text = text
    return table


def _cut(text: str, words: int) -> tuple[str, str]:
    parts = text.split()
    return " ".join(parts[:words]), " ".join(parts[words:])


def split_docx(path: Path, entries: list[tuple[str, str] | Item], cut_item: str,
               *, header: list[str] = HEADER, numbering_row: bool = False,
               widths: tuple[Cm, ...] | None = None, between: str = "",
               title: str = "План мероприятий (дорожная карта) внедрения целевой модели "
                            "наставничества") -> Path:
    """One roadmap cut at item ``cut_item`` by a page break: the first table has the header,
    the second has none and opens with the overflow of the item's activity and deadline.
    ``widths``: of the columns (narrow ones make the PDF break long words); ``between``: a
    paragraph at the top of the second page («Продолжение приложения 1»)."""
    width = len(header)
    rows = _rows(entries, width)
    at = next(i for i, r in enumerate(rows) if r[0] == cut_item)
    cells = rows[at]
    words = max(1, len(cells[1].split()) // 2)
    cells[1], rest_activity = _cut(cells[1], words)
    rest_deadline = ""
    if len(cells[2].split()) > 2:
        cells[2], rest_deadline = _cut(cells[2], 2)
    overflow = ["", rest_activity, rest_deadline] + [""] * (width - 3)

    document = _document()
    document.add_paragraph("УТВЕРЖДЕНО приказом директора от 01.09.2026 № 101")
    document.add_paragraph(title)
    first = [list(header)] + ([[str(k + 1) for k in range(width)]] if numbering_row else [])
    _table(document, first + rows[:at + 1], widths=widths)
    document.add_page_break()
    if between:
        document.add_paragraph(between)
    _table(document, [overflow] + rows[at + 1:], widths=widths)
    document.add_paragraph("Заместитель директора ______________")
    document.save(str(path))
    return path


# ------------------------------------------------------------------ the college order

#: Roadmap 1 of the order: (number, title) are section rows; items carry HTML left over from
#: the web page the order was copied from.
COLLEGE_1: list[tuple[str, str] | Item] = [
    ("1.", "Подготовка условий"),
    Item("1.1", "<p>Издание приказа о внедрении целевой модели наставничества в колледже</p>",
         "<p>до 20.09.2026</p>", "Директор колледжа"),
    Item("1.2", "<p>Информирование студентов и педагогов о наставничестве:</p><ol><li>на "
         "классных часах;</li><li>на сайте колледжа.</li></ol>", "сентябрь-октябрь 2026 г.",
         "Заместитель директора по воспитательной работе"),
    Item("1.3", "Разработка программ наставничества для форм «студент — студент» и "
         "«работодатель — студент» с учётом профессий и специальностей колледжа",
         "до 01.11.2026", "Методист колледжа"),
    ("2.", "Реализация программ"),
    Item("2.1", "Работа наставнических пар по индивидуальным планам развития",
         "ежемесячно<br>25 числа", "Наставники, кураторы групп"),
    Item("2.2", "Промежуточный мониторинг программ наставничества &laquo;студент — "
         "студент&raquo;", "ежеквартально", "Куратор наставничества"),
]
#: What the items of roadmap 1 read as once the HTML is gone.
COLLEGE_1_EXPECTED = [
    ("1.1", "Издание приказа о внедрении целевой модели наставничества в колледже",
     "до 20.09.2026"),
    ("1.2", "Информирование студентов и педагогов о наставничестве:\n· на классных часах;\n"
            "· на сайте колледжа.", "сентябрь-октябрь 2026 г."),
    ("1.3", "Разработка программ наставничества для форм «студент — студент» и «работодатель "
            "— студент» с учётом профессий и специальностей колледжа", "до 01.11.2026"),
    ("2.1", "Работа наставнических пар по индивидуальным планам развития",
     "ежемесячно 25 числа"),
    ("2.2", "Промежуточный мониторинг программ наставничества «студент — студент»",
     "ежеквартально"),
]
#: Roadmap 2: a table without a header row, with a result column.
COLLEGE_2: list[tuple[str, str] | Item] = [
    ("1.", "Наставничество молодых педагогов"),
    Item("1.1", "Закрепление наставников за молодыми преподавателями", "до 01.10.2026",
         "Заместитель директора по учебной работе", "Приказ"),
    Item("1.2", "Посещение занятий молодых преподавателей наставниками и разбор занятий",
         "ежемесячно", "Наставники", "Протоколы посещения"),
    ("2.", "Итоги"),
    Item("2.1", "Конкурс «Лучшая наставническая пара колледжа»", "апрель 2027 г.",
         "Методист колледжа", "Положение, итоги конкурса"),
    Item("2.2", "Отчёт о реализации программы наставничества педагогов на педагогическом "
         "совете", "июнь 2027 г.", "Куратор наставничества", "Отчёт"),
]
COLLEGE_2_CONTINUED = ("1.2", "и разбор занятий")  # the line that continues item 1.2


def long_docx(path: Path, sections: int = 12) -> tuple[Path, list[Item]]:
    """A roadmap of several pages in ONE table whose header row repeats on every page (Word's
    «Повторять как заголовок»), as LibreOffice prints it to PDF. Returns the path and items."""
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn

    entries: list[tuple[str, str] | Item] = []
    base = items_of(INVENTED)
    for n in range(1, sections + 1):
        entries.append((f"{n}.", f"Этап {n}: {INVENTED[0][1].lower()}"))
        for k, item in enumerate(base[(n % 3) * 3:(n % 3) * 3 + 3], start=1):
            entries.append(Item(f"{n}.{k}", item.activity, item.deadline, item.responsible))
    document = _document()
    table = _table(document, [HEADER] + _rows(entries, 4),
                   widths=(Cm(1.3), Cm(7.4), Cm(3.3), Cm(4.5)))
    tr_pr = table.rows[0]._tr.get_or_add_trPr()
    tr_pr.append(OxmlElement("w:tblHeader"))
    tr_pr[-1].set(qn("w:val"), "true")
    document.save(str(path))
    return path, items_of(entries)


def college_order(path: Path) -> Path:
    """The order with two roadmaps (see the module docstring)."""
    document = _document()
    document.add_paragraph("ПРИКАЗ № 45 от 01.09.2026 «О внедрении целевой модели "
                           "наставничества в колледже»")
    # invented people with dates: deadline-like and responsible-like columns, not a roadmap
    _table(document, [["ФИО", "Должность", "Дата назначения"],
                      ["Петрова А. С.", "Куратор наставничества", "01.09.2026"],
                      ["Соколов Д. И.", "Методист колледжа", "02.09.2026"]],
           widths=(Cm(5.0), Cm(7.0), Cm(4.0)))
    document.add_paragraph("Приложение 1. Дорожная карта внедрения целевой модели "
                           "наставничества обучающихся")
    rows = _rows(COLLEGE_1, 4)
    at = next(i for i, r in enumerate(rows) if r[0] == "1.3")
    rows[at][1], tail = _cut(rows[at][1], 9)  # the cell runs over the page break
    _table(document, [HEADER] + rows[:at + 1], spanning={1})  # «1. Подготовка условий» merged
    document.add_page_break()
    _table(document, [["", tail, "", ""]] + rows[at + 1:])
    document.add_paragraph("Приложение 2. План мероприятий по наставничеству педагогических "
                           "работников колледжа")
    rows = _rows(COLLEGE_2, 5)
    at = next(i for i, r in enumerate(rows) if r[0] == COLLEGE_2_CONTINUED[0])
    rows[at][1] = rows[at][1].removesuffix(" " + COLLEGE_2_CONTINUED[1])
    rows.insert(at + 1, ["", COLLEGE_2_CONTINUED[1], "", "", ""])
    _table(document, rows)
    document.add_paragraph("Директор колледжа ______________")
    document.save(str(path))
    return path
