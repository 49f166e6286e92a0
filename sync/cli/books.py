"""The commands on one school workbook: build-templates, demo-data, validate, indicators,
import-roadmap, checks and upgrade-book."""

from __future__ import annotations

import json
import sys
from datetime import date
from pathlib import Path

import click
from rich.markup import escape
from rich.table import Table

from addin.errors import WorkbookError, corrupt
from addin.report import SHOWN_FINDINGS, SHOWN_MESSAGE_CHARS, Report, shorten
from addin.rules.base import Severity
from sync.cli.common import (
    EXIT_FINDINGS,
    EXIT_OK,
    EXIT_UNREADABLE,
    RuDate,
    book_and_targets,
    check_period,
    console,
    err_console,
    format_option,
    reference_date_option,
)
from sync.cli.ru import RuCommand
from sync.cli_errors import Refused, os_reason, write_failed

SEVERITY_STYLE = {Severity.ERROR: "red", Severity.WARNING: "yellow", Severity.ADVICE: "cyan"}


@click.command("build-templates", cls=RuCommand)
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path),
              default=Path("templates"), show_default=True, help="Папка для шаблонов.")
@click.option("--server-url", default=None,
              help="Адрес сервера кнопок для скрипта Google Таблиц, например "
                   "https://наставничество.example.ru/xlwings.")
def build_templates_cmd(out_dir: Path, server_url: str | None) -> None:
    """Создать шаблоны: school.xlsx, school.xlsm с кнопками и скрипт для Google Таблиц.

    Пример: nastavnik build-templates --out templates
    """
    from workbook_templates.kit import build_templates

    try:
        paths = build_templates(out_dir, server_url)
    except OSError as exc:
        raise write_failed(out_dir, exc) from None
    for path in paths:
        console.print(f"Шаблон: {escape(str(path))}")


@click.command("demo-data", cls=RuCommand)
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path),
              default=Path("demo-output/municipality"), show_default=True,
              help="Папка демо-муниципалитета.")
@click.option("--schools", default=12, show_default=True, type=click.IntRange(1, 500),
              help="Число образовательных организаций (от 1; при 8 и более — три чистые, три "
                   "со сбоями сдачи, в остальных — заложенные ошибки; при меньшем числе все "
                   "ошибки в одной организации).")
@click.option("--seed", default=2026, show_default=True, help="Зерно генератора.")
@click.option("--period", default="2026-11", show_default=True,
              callback=check_period, help="Отчётный период ГГГГ-ММ.")
def demo_data_cmd(out_dir: Path, schools: int, seed: int, period: str) -> None:
    """Создать демо-муниципалитет: книги школ с выдуманными людьми и заложенными ошибками.

    Пример: nastavnik demo-data --out demo --schools 12
    """
    from workbook_templates.demo import generate_municipality, write_municipality

    muni = generate_municipality(n_schools=schools, seed=seed, period=period)
    try:
        write_municipality(muni, out_dir)
    except OSError as exc:
        raise write_failed(out_dir, exc) from None
    console.print(f"Демо-муниципалитет «{muni.name}», период {muni.period}: организаций "
                  f"{len(muni.schools)}, заложенных ошибок {len(muni.mistakes)}")
    console.print(f"Книги школ: {out_dir / 'schools'}")
    console.print(f"Реестр: {out_dir / 'registry.csv'}")


@click.command("validate", cls=RuCommand)
@click.argument("file", metavar="ФАЙЛ", type=click.Path(dir_okay=False, path_type=Path))
@reference_date_option
@format_option
@click.option("--annotate", "annotate_out", type=click.Path(dir_okay=False, path_type=Path),
              help="Записать копию книги с листом «Проверка» и выделенными ячейками.")
def validate_cmd(file: Path, reference_date: date | None, fmt: str,
                 annotate_out: Path | None) -> None:
    """Проверить книгу школы и показать замечания.

    Код выхода: 0 — ошибок нет, 1 — есть ошибки, 2 — файл не читается (или копия
    --annotate не записана).

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
    """Write the annotated copy; any failure is a Russian line and exit 2, and ``out`` is
    either the complete copy or left as it was (the copy is written beside it and renamed)."""
    from addin.xlsx.annotate import AnnotatedCopyError, write_annotated

    try:
        write_annotated(file, out, report)
    except ValueError:
        raise click.UsageError("Копия с замечаниями не может заменить проверяемый файл: "
                               "укажите другое имя в --annotate.") from None
    except AnnotatedCopyError as exc:
        # with a cause the package itself could not be read (broken zip or XML): damaged
        _copy_not_written(corrupt(exc.__cause__, file.name).status_ru
                          if exc.__cause__ is not None else None, exc.message_ru)
    except WorkbookError as exc:
        _copy_not_written(exc.status_ru, exc.message_ru)
    except OSError as exc:
        _copy_not_written(None, f"не удалось записать {out}: {os_reason(exc)}")
    except Exception as exc:  # noqa: BLE001 (the copy could not read what the check could)
        error = corrupt(exc, file.name)
        _copy_not_written(error.status_ru, error.message_ru)
    err_console.print(f"Копия с замечаниями: {out}")


def _copy_not_written(status: str | None, message: str) -> None:
    """The annotated copy was not made: a Russian line (with the file's status, e.g. «файл
    повреждён», when it is the file's fault), exit 2."""
    head = "Копия с замечаниями не записана" + (f" — {status}" if status else "")
    err_console.print(f"[bold red]{head}:[/] {escape(message)}")
    sys.exit(EXIT_UNREADABLE)


def _exit_code(report: Report) -> int:
    if report.file_error is not None:
        return EXIT_UNREADABLE
    return EXIT_FINDINGS if report.errors else EXIT_OK


def print_report(report: Report) -> None:
    """The human report: a status line, then one table row per finding."""
    if report.file_error is not None:
        console.print(f"[bold red]{escape(report.source)}: {report.status}[/] — "
                      f"{escape(report.file_error.message_ru)}")
        return
    c = report.counts
    colour = "red" if report.errors else "yellow" if report.warnings else "green"
    title = shorten(f"{report.school_code} {report.school_name}".strip() or report.source)
    console.print(f"[bold]{escape(title)}[/] ({escape(report.source)}), дата проверки "
                  f"{report.reference_date:%d.%m.%Y}")
    console.print(f"[bold {colour}]{report.status}[/]: ошибок {c['ошибка']}, "
                  f"предупреждений {c['предупреждение']}, советов {c['совет']}")
    if not report.findings:
        return
    table = Table(show_lines=False, expand=True)
    for header in ("Важность", "Код", "Лист", "Строка", "Столбец", "Значение", "Описание"):
        table.add_column(header, overflow="fold")
    for f in report.findings[:SHOWN_FINDINGS]:  # cell text shortened, never read as markup
        table.add_row(f"[{SEVERITY_STYLE[f.severity]}]{f.severity.value}[/]", f.code,
                      escape(shorten(f.sheet)), str(f.row or ""), escape(shorten(f.column)),
                      escape(shorten(f.value)),
                      escape(shorten(f.message_ru, SHOWN_MESSAGE_CHARS)))
    console.print(table)
    if len(report.findings) > SHOWN_FINDINGS:
        console.print(f"Показаны первые {SHOWN_FINDINGS} замечаний из {len(report.findings)}; "
                      "все — в отчёте --format json и в копии --annotate.")


@click.command("indicators", cls=RuCommand)
@click.argument("file", metavar="ФАЙЛ", type=click.Path(dir_okay=False, path_type=Path))
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
    from addin.indicators import compute_indicators

    wb, goals = book_and_targets(file, targets)
    values = compute_indicators(wb, reference_date, goals)
    from addin.plan.gaps import gap_by_key

    plan = gap_by_key(values)
    if fmt == "json":
        click.echo(json.dumps([{**v.to_dict(), "gap": plan[v.key].to_dict()
                                if v.key in plan else None} for v in values],
                              ensure_ascii=False, indent=2))
    else:
        who = shorten(f"{wb.school_code} {wb.school.get('name') or ''}")
        table = Table(title=f"Показатели: {escape(who)}")
        for header in ("Показатель", "Числитель", "Знаменатель", "Значение, %", "Цель, %",
                       "Достигнуто", "До цели"):
            table.add_column(header)
        for v in values:
            met = "—" if v.met is None else ("[green]да[/]" if v.met else "[red]нет[/]")
            table.add_row(v.title, f"{v.numerator:g}", f"{v.denominator:g}",
                          "—" if v.value is None else f"{v.value:g}",
                          _target(v),
                          met, _gap_cell(plan.get(v.key)))
        console.print(table)
        console.print("* цель по умолчанию (не утверждена муниципалитетом)")
    if out_copy is not None:
        from addin.xlsx.annotate import write_indicators_copy

        try:
            write_indicators_copy(file, out_copy, values)
        except ValueError:
            raise Refused("Копия с показателями не может заменить исходный файл: "
                                       "укажите другое имя в --out.") from None
        except WorkbookError as exc:
            raise Refused(exc.message_ru) from None
        except OSError as exc:
            raise write_failed(out_copy, exc) from None
        err_console.print(f"Копия с показателями: {out_copy}")


def _gap_cell(gap) -> str:  # noqa: ANN001
    from addin.plan.gaps import MET

    if gap is None:
        return "—"
    return "достигнута" if gap.status == MET else gap.text_ru


def _target(v) -> str:  # noqa: ANN001
    if v.target is None:
        return "—"
    return f"{v.target:g}" + ("*" if v.target_is_default else "")


@click.command("import-roadmap", cls=RuCommand)
@click.argument("file", metavar="ФАЙЛ", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--into", "workbook", required=True,
              type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Книга школы, в лист «Дорожная карта» которой переносятся мероприятия.")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path),
              help="Куда записать копию книги (по умолчанию рядом: «…-дорожная-карта.xlsx»).")
@click.option("--anchor-date", type=RuDate(),
              help="Дата, от которой считать сроки вида «в течение двух недель с даты …».")
@click.option("--table", "table", type=click.IntRange(min=1), metavar="N",
              help="Номер таблицы дорожной карты, если их в документе несколько (по умолчанию "
                   "переносятся все, по порядку).")
@click.option("--replace", is_flag=True,
              help="Заменить строки, уже внесённые в дорожную карту (иначе — добавить после них).")
@click.option("--dry-run", is_flag=True, help="Только показать, что будет перенесено.")
def import_roadmap_cmd(file: Path, workbook: Path, out: Path | None, anchor_date: date | None,
                       table: int | None, replace: bool, dry_run: bool) -> None:
    """Перенести дорожную карту из документа в книгу школы.

    Документ: .docx, .pdf, .doc, .odt, .rtf, .html (веб-страница; .doc, .odt, .rtf и .html
    читаются через LibreOffice), .xlsx, .xlsm, .ods или .txt (таблица, скопированная из
    Word). Находятся все таблицы дорожной карты, в том числе продолжения таблицы на
    следующих страницах без строки заголовков. Исходная книга не меняется: результат
    записывается в копию.

    Пример: nastavnik import-roadmap дорожная-карта.pdf --into школа.xlsx --table 2
    """
    from addin.roadmap.importer import RoadmapImportError, import_into, read_roadmap

    try:
        report = read_roadmap(file, anchor=anchor_date, table=table)
    except RoadmapImportError as exc:
        err_console.print(f"[bold red]Не удалось прочитать дорожную карту:[/] "
                          f"{escape(exc.message_ru)}")
        sys.exit(EXIT_UNREADABLE)
    console.print(report.summary_ru(), markup=False, highlight=False)
    if len(report.tables) > 1 and table is None:
        console.print("Чтобы перенести только одну из таблиц, укажите её номер: --table N.")
    if dry_run:
        return
    out = out or workbook.with_name(f"{workbook.stem}-дорожная-карта{workbook.suffix}")
    if out.resolve() == workbook.resolve():
        raise click.UsageError("Копия не может заменить исходную книгу: укажите другое --out.")
    if out.suffix.lower() != workbook.suffix.lower():
        raise click.UsageError(f"Копия должна иметь то же расширение, что и книга "
                               f"({workbook.suffix}), а указано «{out.name}».")
    try:
        written = import_into(report, workbook, out, replace=replace)
    except RoadmapImportError as exc:
        err_console.print(f"[bold red]Не удалось записать:[/] {escape(exc.message_ru)}")
        sys.exit(EXIT_UNREADABLE)
    except OSError as exc:
        raise write_failed(out, exc) from None
    console.print(f"Перенесено строк: {written}. Книга с дорожной картой: {out}")


@click.command("checks", cls=RuCommand)
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path),
              help="Записать справочник проверок в файл Markdown (иначе — на экран).")
def checks_cmd(out: Path | None) -> None:
    """Справочник кодов проверок (создаётся из самих правил)."""
    from addin.checks_doc import checks_markdown

    text = checks_markdown()
    if out is None:
        click.echo(text)
    else:
        try:
            out.write_text(text, encoding="utf-8")
        except OSError as exc:
            raise write_failed(out, exc) from None
        console.print(f"Справочник проверок: {out}")


@click.command("upgrade-book", cls=RuCommand)
@click.argument("file", metavar="КНИГА", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--out", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="Новая книга: .xlsx или .xlsm (с кнопками).")
def upgrade_book_cmd(file: Path, out: Path) -> None:
    """Перенести книгу старой версии шаблона в актуальный шаблон, ничего не потеряв.

    Код выхода: 0 — новая книга записана, 2 — книгу не перенести (старая не меняется).

    Пример: nastavnik upgrade-book школа.xlsx --out школа-1.1.xlsx
    """
    from addin.upgrade import upgrade_book

    try:
        report = upgrade_book(file, out)
    except WorkbookError as exc:
        err_console.print(f"[bold red]{escape(exc.status_ru)}:[/] {escape(exc.message_ru)}")
        sys.exit(EXIT_UNREADABLE)
    except OSError as exc:
        err_console.print(f"[bold red]Новая книга не записана:[/] {escape(os_reason(exc))}")
        sys.exit(EXIT_UNREADABLE)
    for line in report.lines_ru():
        console.print(escape(line))
    console.print(f"Новая книга: {escape(str(out))}")


COMMANDS = (build_templates_cmd, demo_data_cmd, validate_cmd, indicators_cmd,
            import_roadmap_cmd, checks_cmd, upgrade_book_cmd)
