"""The reference of check codes, generated from the rules themselves (docs/checks.md)."""

from __future__ import annotations

from addin.rules import RULES
from workbook_templates import contract as C

HEADER = """# Справочник проверок

Файл создан командой `nastavnik checks --out docs/checks.md` из самих правил;
не правьте его вручную.

| Код | Важность | Лист | Что проверяется | Что сделать |
| --- | --- | --- | --- | --- |
"""


def checks_markdown() -> str:
    """A Markdown table: one row per rule, in code order."""
    rows = []
    for code in sorted(RULES):
        r = RULES[code]
        sheet = ", ".join(C.sheet(k).name for k in r.sheet_key.split(",")
                          if k in C.SHEETS_BY_KEY) or "любой"
        rows.append(f"| {code} | {r.severity.value} | {sheet} | {r.title} | {r.hint} |")
    return HEADER + "\n".join(rows) + "\n" + _forms_markdown()


def _forms_markdown() -> str:
    """Who may be mentor and mentee in each form (PAIR-004), from the contract."""
    lines = ["", "## Кто может быть в паре по форме наставничества (PAIR-004)", "",
             "| Форма | Наставник | Наставляемый |", "| --- | --- | --- |"]
    for form, (mentors, mentees) in C.FORM_ROLES.items():
        lines.append(f"| {form} | {', '.join(mentors)} | {', '.join(mentees)} |")
    lines += ["", "Категории наставника «родитель» и «иное» не входят ни в одну форму "
              "распоряжения Р-145. В формах «ученик – ученик», «студент – студент», «студент – "
              "ученик» наставник старше наставляемого (PAIR-005), кроме пары двух "
              "совершеннолетних обучающихся СПО.", ""]
    return "\n".join(lines)
