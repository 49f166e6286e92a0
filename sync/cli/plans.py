"""The plans of one school or municipality: `nastavnik suggest-pairs` and `nastavnik calendar`."""

from __future__ import annotations

import json
import sys
from datetime import date
from pathlib import Path

import click
from rich.markup import escape
from rich.table import Table

from addin.errors import WorkbookError
from sync.cli.common import (
    EXIT_UNREADABLE,
    book_and_targets,
    console,
    err_console,
    format_option,
    reference_date_option,
)
from sync.cli.ru import RuCommand
from sync.cli_errors import Refused, write_failed


@click.command("suggest-pairs", cls=RuCommand)
@click.argument("file", metavar="ФАЙЛ", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--out", "out_copy", type=click.Path(dir_okay=False, path_type=Path),
              help="Записать копию книги с листом «Предложения пар».")
@reference_date_option
@format_option
@click.option("--capacity", type=click.IntRange(1, 100), default=None,
              help="Сколько наставляемых может быть у одного наставника (по умолчанию — из "
                   "файла целей, раздел [plans] mentor_capacity, иначе 3).")
@click.option("--targets", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Файл целевых значений муниципалитета (TOML).")
def suggest_pairs_cmd(file: Path, out_copy: Path | None, reference_date: date | None, fmt: str,
                      capacity: int | None, targets: Path | None) -> None:
    """Предложить пары: наставляемые вне пар и наставники со свободными местами.

    Предложения подчиняются тем же правилам, что и проверка (форма наставничества, возраст,
    справка внешнего наставника), и в первую очередь закрывают разрывы до целевых значений.

    Пример: nastavnik suggest-pairs школа.xlsx --out школа-предложения.xlsx
    """
    from addin.indicators import compute_indicators
    from addin.plan.gaps import gaps
    from addin.plan.pairs import PlanSettingsError, load_capacity, suggest_pairs

    wb, goals = book_and_targets(file, targets)
    try:
        capacity = capacity or load_capacity(targets)
    except PlanSettingsError as exc:
        raise Refused(exc.message_ru) from None
    values = compute_indicators(wb, reference_date, goals)
    result = suggest_pairs(wb, reference_date, capacity=capacity, indicators=values)
    plan = gaps(values)
    if fmt == "json":
        click.echo(json.dumps({**result.to_dict(), "gaps": [g.to_dict() for g in plan]},
                              ensure_ascii=False, indent=2))
    else:
        _print_suggestions(wb, result, plan)
    if out_copy is not None:
        _write_suggestions(file, out_copy, result, plan)


def _print_suggestions(wb, result, plan) -> None:  # noqa: ANN001
    from addin.plan.gaps import MET

    console.print(f"[bold]{wb.school_code} {wb.school.get('name') or ''}[/]".strip())
    for g in plan:
        if g.status != MET:
            console.print(f"• {g.title}: {g.text_ru}")
    console.print(result.summary_ru())
    if result.suggestions:
        table = Table(title="Предложения пар", expand=True)
        for header in ("ID пары", "Форма", "Наставник", "Наставляемый", "Почему"):
            table.add_column(header, overflow="fold")
        for s in result.suggestions:
            table.add_row(s.pair_id, s.form, s.mentor_id, s.mentee_id, s.reason_ru)
        console.print(table)
    for mentee, why in list(result.unmatched.items())[:20]:
        console.print(f"Без предложения: {mentee} — {why}")


def _write_suggestions(file: Path, out: Path, result, plan) -> None:  # noqa: ANN001
    from addin.xlsx.suggestions import write_suggestions

    if file.suffix.lower() not in (".xlsx", ".xlsm"):
        raise Refused("Копию с предложениями можно сделать только из книги .xlsx "
                                   "или .xlsm: сохраните книгу в этом формате.")
    if out.suffix.lower() != file.suffix.lower():
        raise Refused(f"Копия должна иметь то же расширение, что и книга "
                                   f"({file.suffix}), а указано «{out.name}».")
    try:
        write_suggestions(file, out, result, plan)
    except ValueError:
        raise Refused("Копия не может заменить исходную книгу: укажите другое "
                                   "--out.") from None
    except WorkbookError as exc:  # a package the copy cannot edit
        raise Refused(exc.message_ru) from None
    except OSError as exc:
        raise write_failed(out, exc) from None
    err_console.print(f"Копия с листом «Предложения пар»: {out}")


@click.command("calendar", cls=RuCommand)
@click.argument("file", metavar="[ФАЙЛ]", required=False,
                type=click.Path(dir_okay=False, path_type=Path))
@click.option("--out", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="Файл календаря (.ics) для Яндекс Календаря, Google Календаря, Outlook.")
@click.option("--master", type=click.Path(dir_okay=False, path_type=Path),
              help="Сводная книга муниципалитета: календарь всех организаций.")
@reference_date_option
@click.option("--no-reporting", is_flag=True,
              help="Без отчётного календаря (мониторинг 25 числа, учёт, федеральная форма).")
def calendar_cmd(file: Path | None, out: Path, master: Path | None,
                 reference_date: date | None, no_reporting: bool) -> None:
    """Календарь сроков (.ics): дорожная карта и отчётный календарь.

    Для школы — из её книги; для муниципалитета — из сводной книги (--master).
    Мероприятия «без срока» и выполненные в календарь не входят.

    Примеры: nastavnik calendar школа.xlsx --out школа.ics;
    nastavnik calendar --master свод.xlsx --out муниципалитет.ics
    """
    from addin.atomic_file import write_bytes
    from addin.plan.calendar import school_calendar

    if (file is None) == (master is None):
        raise click.UsageError("Укажите книгу школы или --master сводную книгу (одно из двух).")
    if out.suffix.lower() != ".ics":
        raise click.UsageError(f"Файл календаря должен иметь расширение .ics, а указано "
                               f"«{out.name}».")
    if master is not None:
        from sync.master_calendar import MasterCalendarError, master_calendar

        try:
            plan = master_calendar(master, reference_date, reporting=not no_reporting)
        except MasterCalendarError as exc:
            err_console.print(f"[bold red]Календарь не создан:[/] {escape(exc.message_ru)}")
            sys.exit(EXIT_UNREADABLE)
    else:
        wb, _ = book_and_targets(file, None)
        plan = school_calendar(wb, reference_date, reporting=not no_reporting)
    try:  # through a temporary file beside ``out``: never a half-written calendar
        write_bytes(out, plan.to_ics())
    except OSError as exc:
        raise write_failed(out, exc) from None
    console.print(plan.summary_ru())
    console.print(f"Календарь: {out}")


COMMANDS = (suggest_pairs_cmd, calendar_cmd)
