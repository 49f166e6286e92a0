"""A roadmap document with separator lines («-------------», «* * *», «___»): the lines of
punctuation are not activities (found on a real roadmap), every real item is imported."""

from __future__ import annotations

import docx

from addin.roadmap.importer import read_roadmap

HEADER = ["№ п/п", "Наименование мероприятий", "Срок реализации", "Ответственные"]
ROWS = [
    ["1", "Издание приказа о внедрении целевой модели наставничества", "до 15.09.2026",
     "Директор"],
    ["", "-------------", "", ""],
    ["2", "Анкетирование обучающихся для выявления запросов", "октябрь 2026 г.",
     "Педагог-психолог"],
    ["-------------", "-------------", "-------------", "-------------"],
    ["", "* * *", "—", ""],
    ["3", "Формирование наставнических пар", "ноябрь 2026 г.", "Куратор"],
    ["", "____________", "", "…"],
]


def separators_docx(path):
    document = docx.Document()
    document.add_paragraph("План мероприятий (дорожная карта) внедрения целевой модели "
                           "наставничества")
    table = document.add_table(rows=0, cols=len(HEADER))
    for cells in [HEADER, *ROWS]:
        row = table.add_row().cells
        for j, text in enumerate(cells):
            row[j].text = text
    document.save(str(path))
    return path


def test_separator_lines_are_not_activities(tmp_path):
    report = read_roadmap(separators_docx(tmp_path / "карта.docx"))
    assert [(i.item_no, i.activity) for i in report.items] == [
        ("1", "Издание приказа о внедрении целевой модели наставничества"),
        ("2", "Анкетирование обучающихся для выявления запросов"),
        ("3", "Формирование наставнических пар"),
    ]
    assert all(i.deadline.kind != "unreadable" for i in report.items)
    text = report.summary_ru()
    assert "---" not in text and "* * *" not in text and "____" not in text
