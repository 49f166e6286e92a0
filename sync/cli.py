"""`nastavnik`: one command line over the library (build-templates, demo-data, validate,
indicators, checks). Commands parse options, make one library call and format the result;
library errors become Russian messages and exit codes, never tracebacks.
"""

from __future__ import annotations

import json
import sys
from datetime import date, datetime
from pathlib import Path

import click
from rich.console import Console
from rich.table import Table

from addin.errors import WorkbookError
from addin.report import Report
from addin.rules.base import Severity

console = Console(highlight=False)
err_console = Console(stderr=True, highlight=False)

EXIT_OK, EXIT_FINDINGS, EXIT_UNREADABLE = 0, 1, 2
SEVERITY_STYLE = {Severity.ERROR: "red", Severity.WARNING: "yellow", Severity.ADVICE: "cyan"}


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


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="nastavnik", message="nastavnik %(version)s")
def cli() -> None:
    """Наставничество: стандартные книги, проверка, показатели и муниципальный свод."""


@cli.command("build-templates")
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path),
              default=Path("templates"), show_default=True, help="Папка для шаблонов.")
def build_templates_cmd(out_dir: Path) -> None:
    """Создать шаблоны книг (school.xlsx) из описания листов.

    Пример: nastavnik build-templates --out templates
    """
    from workbook_templates.build import build_templates

    for path in build_templates(out_dir):
        console.print(f"Шаблон: {path}")


@cli.command("demo-data")
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path),
              default=Path("demo-output/municipality"), show_default=True,
              help="Папка демо-муниципалитета.")
@click.option("--schools", default=12, show_default=True, type=click.IntRange(3, 500),
              help="Число образовательных организаций.")
@click.option("--seed", default=2026, show_default=True, help="Зерно генератора.")
@click.option("--period", default="2026-11", show_default=True, help="Отчётный период ГГГГ-ММ.")
def demo_data_cmd(out_dir: Path, schools: int, seed: int, period: str) -> None:
    """Создать демо-муниципалитет: книги школ с выдуманными людьми и заложенными ошибками.

    Пример: nastavnik demo-data --out demo --schools 12
    """
    from workbook_templates.demo import generate_municipality, write_municipality

    muni = generate_municipality(n_schools=schools, seed=seed, period=period)
    write_municipality(muni, out_dir)
    console.print(f"Демо-муниципалитет «{muni.name}»: {len(muni.schools)} организаций, "
                  f"период {muni.period}")
    console.print(f"Книги школ: {out_dir / 'schools'}")
    console.print(f"Реестр: {out_dir / 'registry.csv'}")


@cli.command("validate")
@click.argument("file", type=click.Path(path_type=Path))
@reference_date_option
@format_option
@click.option("--annotate", "annotate_out", type=click.Path(dir_okay=False, path_type=Path),
              help="Записать копию книги с листом «Проверка» и выделенными ячейками.")
def validate_cmd(file: Path, reference_date: date | None, fmt: str,
                 annotate_out: Path | None) -> None:
    """Проверить книгу школы и показать замечания.

    Код выхода: 0 — ошибок нет, 1 — есть ошибки, 2 — файл не читается.

    Пример: nastavnik validate школа.xlsx --annotate школа-проверка.xlsx
    """
    from addin.validate import validate_path

    report = validate_path(file, reference_date)
    if fmt == "json":
        click.echo(json.dumps(report.to_dict(), ensure_ascii=False, indent=2))
    else:
        print_report(report)
    if annotate_out is not None and report.file_error is None:
        _annotate(file, annotate_out, report)
    sys.exit(_exit_code(report))


def _annotate(file: Path, out: Path, report: Report) -> None:
    from addin.annotate import write_annotated

    try:
        write_annotated(file, out, report)
    except ValueError:
        raise click.ClickException("Копия с замечаниями не может заменить проверяемый файл: "
                                   "укажите другое имя в --annotate.") from None
    except OSError as exc:
        raise click.ClickException(f"Не удалось записать {out}: {exc.strerror}") from None
    err_console.print(f"Копия с замечаниями: {out}")


def _exit_code(report: Report) -> int:
    if report.file_error is not None:
        return EXIT_UNREADABLE
    return EXIT_FINDINGS if report.errors else EXIT_OK


def print_report(report: Report) -> None:
    """The human report: a status line, then one table row per finding."""
    if report.file_error is not None:
        console.print(f"[bold red]{report.source}: {report.status}[/] — "
                      f"{report.file_error.message_ru}")
        return
    c = report.counts
    colour = "red" if report.errors else "yellow" if report.warnings else "green"
    title = f"{report.school_code} {report.school_name}".strip() or report.source
    console.print(f"[bold]{title}[/] ({report.source}), дата проверки "
                  f"{report.reference_date:%d.%m.%Y}")
    console.print(f"[bold {colour}]{report.status}[/]: ошибок {c['ошибка']}, "
                  f"предупреждений {c['предупреждение']}, советов {c['совет']}")
    if not report.findings:
        return
    table = Table(show_lines=False, expand=True)
    for header in ("Важность", "Код", "Лист", "Строка", "Столбец", "Значение", "Описание"):
        table.add_column(header, overflow="fold")
    for f in report.findings:
        table.add_row(f"[{SEVERITY_STYLE[f.severity]}]{f.severity.value}[/]", f.code, f.sheet,
                      str(f.row or ""), f.column or "", f.value or "", f.message_ru)
    console.print(table)


@cli.command("indicators")
@click.argument("file", type=click.Path(path_type=Path))
@reference_date_option
@format_option
@click.option("--targets", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Файл целевых значений муниципалитета (TOML), вместо значений по умолчанию.")
@click.option("--out", "out_copy", type=click.Path(dir_okay=False, path_type=Path),
              help="Записать копию книги с заполненным листом «Показатели».")
def indicators_cmd(file: Path, reference_date: date | None, fmt: str, targets: Path | None,
                   out_copy: Path | None) -> None:
    """Рассчитать показатели внедрения и сравнить с целевыми значениями.

    Пример: nastavnik indicators школа.xlsx --out школа-показатели.xlsx
    """
    from addin.indicators import compute_indicators, load_targets
    from addin.model import SchoolWorkbook

    try:
        wb = SchoolWorkbook.from_path(file)
        goals = load_targets(targets)
    except WorkbookError as exc:
        err_console.print(f"[bold red]{exc.status_ru}[/]: {exc}")
        sys.exit(EXIT_UNREADABLE)
    except (OSError, ValueError) as exc:
        raise click.ClickException(f"Не удалось прочитать файл целей {targets}: {exc}") from None
    values = compute_indicators(wb, reference_date, goals)
    if fmt == "json":
        click.echo(json.dumps([v.to_dict() for v in values], ensure_ascii=False, indent=2))
    else:
        table = Table(title=f"Показатели: {wb.school_code} {wb.school.get('name') or ''}")
        for header in ("Показатель", "Числитель", "Знаменатель", "Значение, %", "Цель, %",
                       "Достигнуто"):
            table.add_column(header)
        for v in values:
            met = "—" if v.met is None else ("[green]да[/]" if v.met else "[red]нет[/]")
            table.add_row(v.title, f"{v.numerator:g}", f"{v.denominator:g}",
                          "—" if v.value is None else f"{v.value:g}",
                          _target(v),
                          met)
        console.print(table)
        console.print("* цель по умолчанию (не утверждена муниципалитетом)")
    if out_copy is not None:
        from openpyxl import load_workbook

        from addin.annotate import save_atomically, write_indicators_sheet

        book = load_workbook(file, keep_vba=file.suffix.lower() == ".xlsm")
        write_indicators_sheet(book, values)
        save_atomically(book, out_copy)
        err_console.print(f"Копия с показателями: {out_copy}")


def _target(v) -> str:  # noqa: ANN001
    if v.target is None:
        return "—"
    return f"{v.target:g}" + ("*" if v.target_is_default else "")


@cli.command("checks")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path),
              help="Записать справочник проверок в файл Markdown (иначе — на экран).")
def checks_cmd(out: Path | None) -> None:
    """Справочник кодов проверок (создаётся из самих правил)."""
    from addin.checks_doc import checks_markdown

    text = checks_markdown()
    if out is None:
        click.echo(text)
    else:
        out.write_text(text, encoding="utf-8")
        console.print(f"Справочник проверок: {out}")


def main() -> None:
    """Console entry point: a Russian message instead of a traceback on anything unexpected."""
    try:
        cli(standalone_mode=True)
    except KeyboardInterrupt:
        err_console.print("Прервано пользователем.")
        sys.exit(130)
