"""Cell-level checks every sheet shares: presence, types, dictionaries, ranges, unique IDs."""

from __future__ import annotations

import re
from collections.abc import Iterator

from addin.model import ROW, SCHOOL
from addin.rules.base import RULES, Context, Finding, Severity, lookup, rule
from workbook_templates import contract as C

E, W = Severity.ERROR, Severity.WARNING
_CONVERTED = (C.ColType.DATE, C.ColType.INTEGER, C.ColType.NUMBER)
_TYPE_RU = {
    C.ColType.DATE: "дата в формате ДД.ММ.ГГГГ",
    C.ColType.INTEGER: "целое число",
    C.ColType.NUMBER: "число",
    C.ColType.PERIOD: "период в виде ГГГГ-ММ",
}
_PERIOD = r"^\d{4}-(0[1-9]|1[0-2])$"


def _table_sheets() -> list[C.Sheet]:
    return [s for s in C.DATA_SHEETS if s.kind is C.SheetKind.TABLE]


@rule("SHEET-001", E, "*", "Нет обязательного листа",
      "Верните лист из стандартного шаблона (скопируйте его вместе с заголовками).")
def missing_sheet(ctx: Context) -> Iterator[Finding]:
    for i, book in enumerate(ctx.wb.books):
        for key in book.missing_sheets:
            s = C.sheet(key)
            yield Finding("SHEET-001", E, s.name, None, None, None,
                          f"В книге нет листа «{s.name}».", RULES["SHEET-001"].hint, school=i)


@rule("SHEET-002", E, "*", "Нет обязательного столбца",
      "Верните столбец (на листе «Сведения об ОО» — строку) с точным заголовком из шаблона; "
      "порядок столбцов и строк значения не имеет.")
def missing_column(ctx: Context) -> Iterator[Finding]:
    for i, book in enumerate(ctx.wb.books):
        for key, cols in book.missing_columns.items():
            if key in book.missing_sheets:
                continue
            s = C.sheet(key)
            for col in cols:
                header = s.column(col).header
                where = "строки" if s.kind is C.SheetKind.FORM else "столбца"
                yield Finding("SHEET-002", E, s.name, None, header, None,
                              f"На листе «{s.name}» нет {where} «{header}».",
                              RULES["SHEET-002"].hint, school=i)


@rule("CELL-001", E, "*", "Не заполнена обязательная ячейка",
      "Заполните ячейку: без неё запись не учитывается в показателях.")
def required_missing(ctx: Context) -> Iterator[Finding]:
    for s in _table_sheets():
        t, raw = ctx.t(s.key), ctx.raw(s.key)
        for col in s.columns:
            if col.required:
                rows = ctx.having(t[raw[col.key].isna().to_numpy()], s.key, col.key)
                yield from ctx.findings("CELL-001", rows, col.key,
                                        f"Не заполнено обязательное поле «{col.header}».",
                                        sheet_key=s.key)
    for i, book in enumerate(ctx.wb.books):
        for col in C.SCHOOL.columns:
            present = col.key in book.school_rows
            if col.required and present and book.school_raw.get(col.key) is None:
                yield ctx.form_finding(i, "CELL-001", col.key,
                                       f"Не заполнено обязательное поле «{col.header}».")


@rule("CELL-002", E, "*", "Значение не того типа",
      "Введите значение в указанном формате; дату — как ДД.ММ.ГГГГ.")
def wrong_type(ctx: Context) -> Iterator[Finding]:
    for s in _table_sheets():
        t, raw = ctx.t(s.key), ctx.raw(s.key)
        for col in s.columns:
            if col.type not in _CONVERTED:
                continue
            bad = raw[col.key].notna().to_numpy() & t[col.key].isna().to_numpy()
            if col.type is C.ColType.INTEGER:
                bad |= (t[col.key].notna() & (t[col.key] % 1 != 0)).to_numpy()
            yield from ctx.findings("CELL-002", t[bad], col.key,
                                    f"«{col.header}»: ожидается {_TYPE_RU[col.type]}.",
                                    sheet_key=s.key)
    for i, book in enumerate(ctx.wb.books):
        for col in C.SCHOOL.columns:
            raw, val = book.school_raw.get(col.key), book.school.get(col.key)
            if raw is None:
                continue
            bad = (col.type in _CONVERTED and val is None) or (
                col.type is C.ColType.INTEGER and isinstance(val, float)) or (
                col.type is C.ColType.PERIOD and not re.match(_PERIOD, str(val)))
            if bad:
                yield ctx.form_finding(i, "CELL-002", col.key,
                                       f"«{col.header}»: ожидается {_TYPE_RU[col.type]}.")


@rule("CELL-003", E, "*", "Значения нет в списке",
      "Выберите значение из выпадающего списка ячейки.")
def not_in_dictionary(ctx: Context) -> Iterator[Finding]:
    for s in _table_sheets():
        t = ctx.t(s.key)
        for col in s.columns:
            if col.dictionary:
                allowed = C.dictionary_values(col.dictionary)
                bad = t[col.key].notna() & ~t[col.key].isin(allowed)
                yield from ctx.findings(
                    "CELL-003", t[bad], col.key,
                    f"«{col.header}»: значение не из списка ({', '.join(allowed)}).",
                    sheet_key=s.key)
    for i, book in enumerate(ctx.wb.books):
        for col in C.SCHOOL.columns:
            val = book.school.get(col.key)
            if (col.dictionary and val is not None
                    and val not in C.dictionary_values(col.dictionary)):
                allowed = ", ".join(C.dictionary_values(col.dictionary))
                yield ctx.form_finding(i, "CELL-003", col.key,
                                       f"«{col.header}»: значение не из списка ({allowed}).")


@rule("CELL-004", E, "*", "Число вне допустимых пределов",
      "Проверьте число: оно должно быть в указанных пределах.")
def out_of_range(ctx: Context) -> Iterator[Finding]:
    for s in _table_sheets():
        t = ctx.t(s.key)
        for col in s.columns:
            if col.min is None and col.max is None:
                continue
            lo = col.min if col.min is not None else float("-inf")
            hi = col.max if col.max is not None else float("inf")
            v = t[col.key]
            bad = v.notna() & ((v < lo) | (v > hi))
            limits = _limits_ru(col)
            yield from ctx.findings("CELL-004", t[bad], col.key,
                                    f"«{col.header}»: значение должно быть {limits}.",
                                    sheet_key=s.key)
    for i, book in enumerate(ctx.wb.books):
        for col in C.SCHOOL.columns:
            if out_of_limits(col, book.school.get(col.key)):
                yield ctx.form_finding(i, "CELL-004", col.key,
                                       f"«{col.header}»: значение должно быть {_limits_ru(col)}.")


def out_of_limits(col: C.Column, value: object) -> bool:
    """Whether a form value is a number outside the field's limits (CELL-004 reports it)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    return (col.min is not None and value < col.min) or (col.max is not None and value > col.max)


def _limits_ru(col: C.Column) -> str:
    def n(x: float) -> str:
        return str(int(x)) if float(x).is_integer() else str(x)
    if col.min is not None and col.max is not None:
        return f"от {n(col.min)} до {n(col.max)}"
    return f"не меньше {n(col.min)}" if col.min is not None else f"не больше {n(col.max)}"


@rule("ID-001", E, "*", "ID повторяется",
      "Присвойте каждой записи свой ID; ссылки на повторяющийся ID неоднозначны.")
def duplicate_ids(ctx: Context) -> Iterator[Finding]:
    for s in _table_sheets():
        id_cols = [c for c in s.columns if c.type is C.ColType.ID and c.key == "id"]
        for col in id_cols:
            t = ctx.t(s.key)
            dup = t[col.key].notna() & t.duplicated([SCHOOL, col.key], keep="first")
            if not dup.any():
                continue
            bad = t[dup].assign(first=lookup(t[dup], col.key, t, ROW, by=col.key))
            yield from ctx.findings(
                "ID-001", bad, col.key,
                lambda r: f"ID «{r['id']}» уже есть в строке {int(r['first'])}.",
                sheet_key=s.key)
