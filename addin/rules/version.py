"""The book's template version: an old book, read through the migration, is told to upgrade."""

from __future__ import annotations

from collections.abc import Iterator

from addin.rules.base import RULES, Context, Finding, Severity, rule
from workbook_templates import contract as C

#: The code of the old-version warning (the page offers the upgrade beside it).
OLD_VERSION = "VER-001"


@rule(OLD_VERSION, Severity.WARNING, "*", "Книга старой версии шаблона",
      f"Обновите книгу до версии {C.TEMPLATE_VERSION}: на странице проверки кнопка «Обновить "
      f"книгу до версии {C.TEMPLATE_VERSION}» или команда nastavnik upgrade-book КНИГА --out "
      "НОВАЯ.xlsx. Все строки, свои столбцы и комментарии переносятся, новые столбцы "
      "добавляются пустыми.")
def old_version(ctx: Context) -> Iterator[Finding]:
    for i, book in enumerate(ctx.wb.books):
        if book.version != C.TEMPLATE_VERSION:
            yield Finding(OLD_VERSION, Severity.WARNING, C.INSTRUCTIONS.name, None,
                          C.VERSION_LABEL, book.version,
                          f"Книга старой версии шаблона — обновите её: версия {book.version}, "
                          f"актуальная {C.TEMPLATE_VERSION}.", RULES[OLD_VERSION].hint,
                          school=i)
