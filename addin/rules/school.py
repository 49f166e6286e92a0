"""Checks of «Сведения об ОО»: denominators present and positive, counts within them."""

from __future__ import annotations

from collections.abc import Iterator

from addin.indicators import BY_KEY, counts
from addin.rules.base import Context, Finding, Severity, rule
from addin.rules.cells import out_of_limits
from workbook_templates.contract import SCHOOL

E, W = Severity.ERROR, Severity.WARNING
#: Denominators that must be positive for the main indicators to mean anything.
POSITIVE = ("students_total", "students_10_19", "students_15_19", "teachers_total")
#: (part, whole): a part of the pupils or staff cannot exceed the whole.
NESTED = (("students_10_19", "students_total"), ("students_15_19", "students_10_19"),
          ("young_teachers", "teachers_total"))


@rule("SCHOOL-001", W, "school", "Знаменатель показателя равен нулю",
      "Укажите численность на дату отчёта: без неё показатель не рассчитывается.")
def zero_denominator(ctx: Context) -> Iterator[Finding]:
    for i, book in enumerate(ctx.wb.books):
        for key in POSITIVE:
            if book.school.get(key) == 0:
                yield ctx.form_finding(i, "SCHOOL-001", key, "Численность равна нулю: показатели "
                                       "с этим знаменателем не рассчитываются.")


@rule("SCHOOL-002", E, "school", "Численность меньше числа участников",
      "Проверьте численность на листе «Сведения об ОО» и данные участников.")
def counts_exceed(ctx: Context) -> Iterator[Finding]:
    found = counts(ctx.wb, ctx.reference_date)
    for i, book in enumerate(ctx.wb.books):
        yield from _exceeding(ctx, i, book.school, {k: num[i] for k, (num, _) in found.items()})


def _exceeding(ctx: Context, i: int, form: dict, found: dict[str, float]) -> Iterator[Finding]:
    # Values that are not valid counts are reported by CELL-002 / CELL-004, not compared.
    school = {k: v for k, v in form.items()
              if isinstance(v, int | float) and not isinstance(v, bool)
              and not out_of_limits(SCHOOL.column(k), v)}
    for part, whole in NESTED:
        p, w = school.get(part), school.get(whole)
        if p is not None and w is not None and p > w:
            yield ctx.form_finding(i, "SCHOOL-002", part,
                                   f"Значение {p:g} больше, чем «{SCHOOL.column(whole).header}» "
                                   f"({w:g}).")
    for key, num in found.items():
        field_ = BY_KEY[key].denominator_field
        den = school.get(field_) if field_ else None
        if den is not None and num > den:
            yield ctx.form_finding(
                i, "SCHOOL-002", field_,
                f"По данным книги участников {num:g} («{BY_KEY[key].title}»), а в сведениях "
                f"указано {den:g}.")
