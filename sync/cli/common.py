"""What the command modules share: the consoles, exit codes, the date type and common options,
the period check, and the school workbook read with its targets."""

from __future__ import annotations

import sys
from datetime import date, datetime
from pathlib import Path

import click
from rich.console import Console
from rich.markup import escape

from addin.errors import WorkbookError, corrupt
from sync.cli_errors import load_targets_ru

console = Console(highlight=False)
err_console = Console(stderr=True, highlight=False)

EXIT_OK, EXIT_FINDINGS, EXIT_UNREADABLE = 0, 1, 2


class RuDate(click.ParamType):
    """A date written as ДД.ММ.ГГГГ or ГГГГ-ММ-ДД."""

    name = "дата"

    def convert(self, value, param, ctx):  # noqa: ANN001 (click's signature)
        if isinstance(value, date):
            return value
        for fmt in ("%d.%m.%Y", "%Y-%m-%d"):
            try:
                return datetime.strptime(value.strip(), fmt).date()
            except ValueError:
                continue
        self.fail(f"«{value}» — не дата; укажите ДД.ММ.ГГГГ или ГГГГ-ММ-ДД", param, ctx)


reference_date_option = click.option(
    "--reference-date", "-d", type=RuDate(), default=None,
    help="Дата, на которую проверять (по умолчанию — из листа «Сведения об ОО» или конец "
         "отчётного периода).")
format_option = click.option(
    "--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True,
    help="Вид вывода: таблица для человека или JSON для программ.")


PERIOD_RE = r"^\d{4}-(0[1-9]|1[0-2])$"


def check_period(ctx, param, value: str) -> str:  # noqa: ANN001 (click callback)
    import re

    if not re.match(PERIOD_RE, value):
        raise click.BadParameter(f"«{value}» — укажите период как ГГГГ-ММ, например 2026-11")
    return value


def require_suffix(out: Path, suffix: str) -> None:
    """A file Excel opens: the name ends as its format does («форма.ods» of an xlsx does not)."""
    if out.suffix.lower() != suffix.lower():
        raise click.BadParameter(f"файл записывается в формате {suffix.lower()}, а указано "
                                 f"«{out.name}»; укажите имя вида «{out.stem}{suffix.lower()}».",
                                 param_hint="'--out'")


def book_and_targets(file: Path, targets: Path | None):  # noqa: ANN202
    """The school workbook and the targets, or a Russian message and exit 2 (the targets
    file is read first: a mistake in it is found before the workbook is read)."""
    from addin.model import SchoolWorkbook

    goals = load_targets_ru(targets)
    try:
        try:
            wb = SchoolWorkbook.from_path(file)
        except Exception as exc:  # noqa: BLE001 (any reading failure: «файл повреждён»)
            raise corrupt(exc, file.name) from exc
    except WorkbookError as exc:
        err_console.print(f"[bold red]{exc.status_ru}:[/] {escape(exc.message_ru)}")
        sys.exit(EXIT_UNREADABLE)
    return wb, goals
