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
    return HEADER + "\n".join(rows) + "\n"
