"""`nastavnik`: one command line over the library (build-templates, demo-data, validate,
indicators, checks). Commands parse options, make one library call and format the result;
library errors become Russian messages and exit codes, never tracebacks.
"""

from __future__ import annotations

import json
import os
import sys
from datetime import date, datetime
from pathlib import Path

import click
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from addin.errors import WorkbookError, corrupt
from addin.report import SHOWN_FINDINGS, SHOWN_MESSAGE_CHARS, Report, shorten
from addin.rules.base import Severity
from sync import cli_ru
from sync.cli_errors import (
    Refused,
    check_db_url,
    db_reason,
    load_targets_ru,
    os_reason,
    require_existing_sqlite,
    write_failed,
)
from sync.cli_webdav import webdav_options, webdav_settings
from sync.remind import remind_cmd

cli_ru.install()
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


@click.group(cls=cli_ru.RuGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="nastavnik", message="nastavnik %(version)s")
def cli() -> None:
    """Наставничество: стандартные книги, проверка, показатели и муниципальный свод."""


@cli.command("build-templates")
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


@cli.command("demo-data")
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path),
              default=Path("demo-output/municipality"), show_default=True,
              help="Папка демо-муниципалитета.")
@click.option("--schools", default=12, show_default=True, type=click.IntRange(1, 500),
              help="Число образовательных организаций (от 1; при 8 и более — три чистые, три "
                   "со сбоями сдачи, в остальных — заложенные ошибки; при меньшем числе все "
                   "ошибки в одной организации).")
@click.option("--seed", default=2026, show_default=True, help="Зерно генератора.")
@click.option("--period", default="2026-11", show_default=True,
              callback=lambda c, p, v: _period(c, p, v), help="Отчётный период ГГГГ-ММ.")
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


@cli.command("validate")
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


@cli.command("indicators")
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

    wb, goals = _book_and_targets(file, targets)
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


@cli.command("import-roadmap")
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
        try:
            out.write_text(text, encoding="utf-8")
        except OSError as exc:
            raise write_failed(out, exc) from None
        console.print(f"Справочник проверок: {out}")


@cli.group("serve", invoke_without_command=True)
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Адрес. На 127.0.0.1 страница открыта только этому компьютеру; на другом "
                   "адресе нужен --access-file.")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(1, 65535))
@click.option("--token-file", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Файл с токеном для кнопок Google Таблиц и Excel (одна строка). Без него "
                   "удалённые кнопки отключены.")
@click.option("--collect-dir", type=click.Path(file_okay=False, path_type=Path),
              help="Папка, куда страница проверки сдаёт принятые книги (её читает "
                   "nastavnik sync --source-dir).")
@click.option("--access-file", type=click.Path(dir_okay=False, path_type=Path),
              help="Файл кодов доступа школ (создаётся командой serve add-school-code).")
@click.option("--targets", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Файл целевых значений муниципалитета (TOML).")
@click.option("--max-upload-mb", default=25, show_default=True, type=click.IntRange(1, 500),
              help="Предельный размер книги или запроса, МБ.")
@click.option("--registry", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Реестр организаций (CSV или xlsx) для доски сдачи и «Собрать свод»; "
                   "сотрудник может загрузить другой на странице.")
@click.option("--period", default=None, callback=lambda c, p, v: _period(c, p, v) if v else v,
              help="Период ГГГГ-ММ, который доска показывает по умолчанию.")
@click.option("--deadline-day", default=25, show_default=True, type=click.IntRange(1, 31),
              help="Число месяца, до которого сдаются книги периода.")
@click.option("--master", "master_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Сводная книга, которую пишет «Собрать свод» (по умолчанию "
                   "<папка сбора>/workspace/свод.xlsx).")
@webdav_options(folder_help="Папка WebDAV, из которой «Собрать свод» читает книги, указанные "
                            "в реестре полным адресом (логин и пароль приложения — только "
                            "для неё; адреса вне этой папки не читаются).")
@click.option("--mail-config", type=click.Path(dir_okay=False, path_type=Path),
              help="Настройки почты (TOML) для «Напомнить», писем о возврате и итогов свода.")
@click.option("--public-url", default=None,
              help="Адрес сервера для школ (https://…), который получают кнопки книг .xlsm со "
                   "страницы «Книга организации»; по умолчанию — адрес, по которому открыта "
                   "страница.")
@click.option("--tls-cert", type=click.Path(dir_okay=False, path_type=Path),
              help="Сертификат HTTPS (PEM); вместе с --tls-key сервер работает по HTTPS.")
@click.option("--tls-key", type=click.Path(dir_okay=False, path_type=Path),
              help="Закрытый ключ сертификата HTTPS (PEM, без пароля).")
@click.option("--behind-proxy", is_flag=True, default=False,
              help="HTTPS обеспечивает обратный прокси (nginx) перед сервером; заголовкам "
                   "X-Forwarded-* верить только от --proxy-address.")
@click.option("--proxy-address", default="127.0.0.1", show_default=True,
              help="IP-адрес обратного прокси, от которого принимаются X-Forwarded-*.")
@click.option("--timezone", default=None,
              help="Часовой пояс муниципалитета (IANA, например Europe/Moscow) для времени на "
                   "страницах и срока сдачи; по умолчанию — пояс компьютера.")
@click.option("--config", "config_file", type=click.Path(dir_okay=False, path_type=Path),
              help="Файл настроек сервера (TOML, см. deploy/server.example.toml); параметры "
                   "командной строки важнее файла.")
@click.option("--db", "db_url", default=None,
              help="Общая база истории региона (postgresql://…): «Собрать свод» передаёт в неё "
                   "историю муниципалитета; с --region — база, которую читает доска региона.")
@click.option("--municipality-code", default=None,
              help="Код муниципалитета (ОКТМО) в базе региона, как у nastavnik sync.")
@click.option("--municipality-name", default=None,
              help="Название муниципалитета в базе региона.")
@click.option("--pseudonymize", is_flag=True,
              help="Сводная книга «Собрать свод» — без ФИО и дат рождения.")
@click.option("--region", "region", is_flag=True,
              help="Сервер регионального центра: доска муниципалитетов над базой --db.")
@click.option("--accept-versions", default=None, metavar="1.0,1.1",
              help="Версии шаблона, которые можно сдать (текущая — всегда).")
@click.option("--old-versions-until", default=None, metavar="ГГГГ-ММ",
              callback=lambda c, p, v: _period(c, p, v) if v else v,
              help="Последний период, за который принимаются книги старой версии шаблона.")
@click.option("--check-workers", default=0, show_default=True, type=click.IntRange(0, 64),
              help="Сколько процессов проверяют книги (0 — по числу ядер процессора).")
@click.pass_context
def serve_cmd(ctx: click.Context, host: str, port: int, token_file: Path | None,
              collect_dir: Path | None, access_file: Path | None, targets: Path | None,
              max_upload_mb: int, registry: Path | None, period: str | None,
              deadline_day: int, master_path: Path | None, tls_cert: Path | None,
              tls_key: Path | None, behind_proxy: bool, proxy_address: str,
              timezone: str | None, config_file: Path | None, source_webdav: str | None = None,
              webdav_login: str | None = None, webdav_password_file: Path | None = None,
              webdav_timeout: float | None = None,
              mail_config: Path | None = None, public_url: str | None = None,
              db_url: str | None = None, municipality_code: str | None = None,
              municipality_name: str | None = None, pseudonymize: bool = False,
              region: bool = False, accept_versions: str | None = None,
              old_versions_until: str | None = None, check_workers: int = 0) -> None:
    """Запустить сервер: страница проверки и сдачи книг, рабочее место муниципального центра
    (доска сдачи, возврат на доработку, «Собрать свод»), API кнопок «Проверить».

    Пример: nastavnik serve --collect-dir сдача --access-file коды.txt --registry реестр.csv
    """
    if ctx.invoked_subcommand is not None:
        return
    from addin.web.app import run
    from addin.web.config import ServerConfig, ServerConfigError

    token = None
    if token_file is not None:
        token = token_file.read_text(encoding="utf-8").strip() or None
        if token is None:
            raise Refused(f"Файл токена {token_file} пуст.")
    from sync.workspace_service import services_for

    config = ServerConfig(host=host, port=port, token=token, collect_dir=collect_dir,
                          access_file=access_file, targets_path=targets,
                          max_body_bytes=max_upload_mb * 1024 * 1024, registry_path=registry,
                          period=period, deadline_day=deadline_day, master_path=master_path,
                          mail_config=mail_config, tls_cert=tls_cert, tls_key=tls_key,
                          behind_proxy=behind_proxy, proxy_address=proxy_address,
                          timezone=timezone, db_url=db_url,
                          municipality_code=municipality_code,
                          municipality_name=municipality_name, pseudonymize=pseudonymize,
                          region=region, accept_versions=accept_versions,
                          old_versions_until=old_versions_until,
                          source_webdav=source_webdav, webdav_login=webdav_login,
                          webdav_key_file=webdav_password_file, check_workers=check_workers)
    if public_url:
        if not public_url.startswith(("http://", "https://")):
            raise Refused(f"--public-url должен начинаться с http:// или https://, а указано "
                          f"«{public_url}».")
        config.public_url = public_url
    try:
        config = _with_config_file(ctx, config, config_file)
        config.check()
    except ServerConfigError as exc:
        err_console.print(f"[bold red]Сервер не запущен:[/] {escape(str(exc))}")
        sys.exit(EXIT_UNREADABLE)
    # the WebDAV password stays in the injected service, on the server's side
    webdav = webdav_settings(config.source_webdav, config.webdav_login, config.webdav_key_file,
                             webdav_timeout, confined=True)
    from addin.web.tls import scheme

    console.print(f"Сервер nastavnik: {scheme(config)}://{config.host}:{config.port}/  "
                  "(остановить — Ctrl+C)")
    # The staff pages run the sync through these objects: addin/ never imports sync/.
    workspace_service, region_service = services_for(config, webdav=webdav)
    workspace_service.versions = config.versions  # «Собрать свод» takes what the page takes
    run(config, workspace_service, region_service=region_service)


def _with_config_file(ctx: click.Context, config, path: Path | None):  # noqa: ANN001, ANN202
    """The flags' configuration over `--config`'s file (flags given on the command line win)."""
    if path is None:
        return config
    from click.core import ParameterSource

    from addin.web import config_file

    given = {name for name in ctx.params
             if ctx.get_parameter_source(name) in (ParameterSource.COMMANDLINE,
                                                    ParameterSource.ENVIRONMENT)}
    return config_file.merge(config, config_file.load(path), given)


@serve_cmd.command("add-school-code")
@click.option("--access-file", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="Файл кодов доступа (создаётся, если его нет).")
@click.option("--school", "school_code", required=True, help="Код ОО из реестра, например ОО-001.")
@click.option("--code", "secret", default=None,
              help="Код доступа; если не указан, будет создан случайный и показан один раз.")
def add_school_code_cmd(access_file: Path, school_code: str, secret: str | None) -> None:
    """Добавить или заменить код доступа школы к странице проверки.

    Пример: nastavnik serve add-school-code --access-file коды.txt --school ОО-001
    """
    from addin.web.access import AccessFileError, add_school_code

    try:
        shown = add_school_code(access_file, school_code, secret)
    except AccessFileError as exc:
        raise Refused(exc.message_ru) from None
    except OSError as exc:
        raise write_failed(access_file, exc) from None
    console.print(f"Код доступа для {school_code} записан в {access_file}.")
    if secret is None:
        console.print(f"Код (сообщите школе, он больше не будет показан): [bold]{shown}[/]")


@serve_cmd.command("add-school-codes")
@click.option("--registry", required=True,
              type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Реестр организаций (CSV или xlsx, как у nastavnik sync).")
@click.option("--access-file", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="Файл кодов доступа (создаётся, если его нет).")
@click.option("--out", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="Книга для печати (.xlsx): по блоку на организацию с кодом и QR-кодом адреса.")
@click.option("--url", required=True,
              help="Адрес страницы сдачи книг, например https://nastavnik.mo.ru/")
@click.option("--replace", is_flag=True, default=False,
              help="Заменить коды и тем организациям, у которых они уже есть (их сеансы "
                   "завершатся).")
def add_school_codes_cmd(registry: Path, access_file: Path, out: Path, url: str,
                         replace: bool) -> None:
    """Коды доступа всем организациям реестра, у которых их нет, и книга для печати.

    Пример: nastavnik serve add-school-codes --registry реестр.csv --access-file коды.txt
    --out коды-для-печати.xlsx --url https://nastavnik.mo.ru/
    """
    from addin.web.code_lists import CodeListError, issue_registry_codes
    from sync.sources.registry import RegistryError, read_registry

    if out.exists() and out.resolve() == registry.resolve():
        raise Refused("Книга для печати не может быть записана поверх реестра: укажите "
                      "другое имя в --out.")
    try:
        entries = read_registry(registry)
        issued = issue_registry_codes(access_file, out, [(e.code, e.name) for e in entries],
                                      url, replace=replace)
    except (RegistryError, CodeListError) as exc:
        raise Refused(exc.message_ru) from None
    if issued.written:
        console.print(f"Новых кодов: {issued.written} из {len(entries)} организаций реестра; "
                      f"записаны в {access_file}.")
        console.print(f"Книга для печати: {out}. Коды показаны только в ней: распечатайте и "
                      "удалите файл.")
    else:
        console.print(f"У всех {len(entries)} организаций реестра коды уже есть; новые не "
                      "выданы (заменить — --replace). Книга для печати не записана.")


@serve_cmd.command("add-staff")
@click.option("--access-file", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="Файл кодов доступа (создаётся, если его нет).")
@click.option("--login", required=True,
              help="Логин сотрудника муниципального центра, например metodist1 (не ФИО: логин "
                   "попадает в журнал).")
@click.option("--code", "secret", default=None,
              help="Код доступа; если не указан, будет создан случайный и показан один раз.")
@click.option("--role", type=click.Choice(["municipal", "region"]), default="municipal",
              show_default=True,
              help="municipal — сотрудник муниципального центра; region — сотрудник "
                   "регионального центра (доска региона, только чтение).")
def add_staff_cmd(access_file: Path, login: str, secret: str | None, role: str) -> None:
    """Добавить сотрудника муниципального центра или заменить его код доступа.

    Сотрудник видит доску сдачи всех организаций реестра, возвращает книги на доработку и
    запускает «Собрать свод». Замена кода завершает открытые сеансы сотрудника.

    Пример: nastavnik serve add-staff --access-file коды.txt --login metodist1
    """
    from addin.web.access import REGION, STAFF, AccessFileError, add_staff

    try:
        shown = add_staff(access_file, login, secret, REGION if role == "region" else STAFF)
    except AccessFileError as exc:
        raise Refused(exc.message_ru) from None
    except OSError as exc:
        raise write_failed(access_file, exc) from None
    console.print(f"Учётная запись сотрудника {login} записана в {access_file}.")
    if secret is None:
        console.print(f"Код (сообщите сотруднику, он больше не будет показан): [bold]{shown}[/]")


@serve_cmd.command("revoke-buttons")
@click.option("--access-file", required=True,
              type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Файл кодов доступа сервера.")
@click.option("--school", "school_code", required=True, help="Код ОО, например ОО-001.")
def revoke_buttons_cmd(access_file: Path, school_code: str) -> None:
    """Отключить кнопки «Проверить» и «Показатели» во всех выданных книгах .xlsm школы.

    Сервер перестаёт принимать токен кнопок этой школы; новая книга или «Кнопки сервера в
    своей книге» на странице «Книга организации» дают новый токен. Замена кода доступа школы
    (serve add-school-code) отключает прежние кнопки так же.

    Пример: nastavnik serve revoke-buttons --access-file коды.txt --school ОО-001
    """
    from addin.web.access import AccessCodes
    from addin.web.button_tokens import ButtonTokens

    codes = AccessCodes(access_file)
    if school_code not in codes.schools():
        raise Refused(f"В файле кодов {access_file} нет организации «{school_code}».")
    try:
        ButtonTokens(access_file, codes).revoke(school_code)
    except OSError as exc:
        raise write_failed(access_file, exc) from None
    console.print(f"Кнопки книг организации {school_code} отключены. Новая книга со страницы "
                  "«Книга организации» получит новый токен.")


PERIOD_RE = r"^\d{4}-(0[1-9]|1[0-2])$"


def _period(ctx, param, value: str) -> str:  # noqa: ANN001 (click callback)
    import re

    if not re.match(PERIOD_RE, value):
        raise click.BadParameter(f"«{value}» — укажите период как ГГГГ-ММ, например 2026-11")
    return value


@cli.command("sync")
@click.option("--registry", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="Реестр организаций (CSV или xlsx): код ОО; наименование; тип; источник.")
@click.option("--period", required=True, callback=_period, help="Отчётный период ГГГГ-ММ.")
@click.option("--out", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="Сводная книга муниципалитета (xlsx).")
@click.option("--source-dir", type=click.Path(exists=True, file_okay=False, path_type=Path),
              help="Папка, относительно которой указаны файлы в реестре (по умолчанию — папка "
                   "реестра).")
@click.option("--db", "db_url", help="История: адрес базы SQLAlchemy (по умолчанию файл SQLite "
                                     "рядом со сводной книгой), например postgresql://…")
@click.option("--pseudonymize", is_flag=True,
              help="Без ФИО и дат рождения: участники под псевдонимами.")
@click.option("--targets", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Файл целевых значений муниципалитета (TOML).")
@click.option("--google-key", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              envvar="NASTAVNIK_GOOGLE_KEY",
              help="Ключ сервисного аккаунта Google (JSON) для таблиц Google в реестре.")
@click.option("--google-endpoint", hidden=True, help="Адрес API таблиц (для тестов).")
@click.option("--reference-date", "-d", type=RuDate(), default=None,
              help="Дата, на которую проверять все книги. По умолчанию каждая книга "
                   "проверяется на свою «Дату, на которую даны сведения», если она в пределах "
                   "периода, иначе — на последний день периода.")
@click.option("--accept-versions", default=None, metavar="1.0,1.1",
              help="Версии шаблона, которые принимаются (текущая — всегда). По умолчанию "
                   "текущая и одна предыдущая: книга старой версии принимается с "
                   "предупреждением.")
@click.option("--old-versions-until", default=None, metavar="ГГГГ-ММ",
              callback=lambda c, p, v: _period(c, p, v) if v else v,
              help="Последний период, в котором принимаются книги старой версии шаблона.")
@click.option("--municipality-code", default=None,
              help="Код муниципалитета (ОКТМО) в общей базе региона; по умолчанию — из столбца "
                   "«код муниципалитета» реестра.")
@webdav_options(folder_help="Папка WebDAV (Яндекс Диск, Nextcloud, Облако Mail.ru), "
                            "относительно которой указаны файлы в реестре, например "
                            "https://webdav.yandex.ru/Наставничество/ (вместо --source-dir).")
def sync_cmd(registry: Path, period: str, out: Path, source_dir: Path | None,
             db_url: str | None, pseudonymize: bool, targets: Path | None,
             google_key: Path | None, google_endpoint: str | None,
             reference_date: date | None, municipality_code: str | None,
             source_webdav: str | None = None, webdav_login: str | None = None,
             webdav_password_file: Path | None = None,
             webdav_timeout: float | None = None, accept_versions: str | None = None,
             old_versions_until: str | None = None) -> None:
    """Собрать книги всех организаций в сводную книгу муниципалитета.

    Код выхода: 0 — все приняты, 1 — есть не принятые организации, 2 — сбор не выполнен
    (сводная книга не изменена).

    Пример: nastavnik sync --registry реестр.csv --period 2026-11 --out свод.xlsx
    """
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    from sync.service import SyncOptions, run_sync
    from sync.version_window import WindowError, window_of

    _check_sync_inputs(registry, out, source_dir, targets, db_url)
    try:
        versions = window_of(accept_versions, old_versions_until)
    except WindowError as exc:
        raise click.BadParameter(str(exc), param_hint="'--accept-versions'") from None
    if source_dir is not None and source_webdav:
        raise click.BadParameter("укажите одно: папку на диске или папку WebDAV.",
                                 param_hint="'--source-dir' / '--source-webdav'")
    webdav = webdav_settings(source_webdav, webdav_login, webdav_password_file, webdav_timeout)
    if reference_date is not None and f"{reference_date:%Y-%m}" != period:
        err_console.print(OUTSIDE_PERIOD_RU.format(date=f"{reference_date:%d.%m.%Y}",
                                                   period=period))
    opts = SyncOptions(registry=registry, period=period, out=out, source_dir=source_dir,
                       db_url=db_url, pseudonymize=pseudonymize, targets=targets,
                       google_key=google_key, google_endpoint=google_endpoint,
                       reference_date=reference_date, municipality_code=municipality_code,
                       webdav=webdav, versions=versions)
    total = _registry_size(registry)
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
               TextColumn("{task.fields[school]}"))
    with Progress(*columns, console=err_console, transient=True) as bar:
        reading = bar.add_task("Чтение книг", total=total, school="")
        checking = bar.add_task("Проверка    ", total=total, school="")

        def read(entry) -> None:  # noqa: ANN001
            bar.update(reading, advance=1, school=entry.code)

        def checked(school) -> None:  # noqa: ANN001
            bar.update(checking, advance=1, school=f"{school.code}: {school.status.value}")

        try:
            result = run_sync(opts, progress=read, checked=checked)
        except Exception as exc:  # noqa: BLE001 (every failure becomes a Russian exit 2)
            bar.stop()
            err_console.print(f"[bold red]Сбор не выполнен, сводная книга не изменена:[/] "
                              f"{escape(_sync_failure(exc, db_url))}")
            sys.exit(EXIT_UNREADABLE)
    _print_sync_summary(result)
    if _registry_entries(registry) and not source_webdav:
        _nothing_found_hint(result, (source_dir or registry.parent).resolve())
    sys.exit(EXIT_FINDINGS if result.consolidation.any_rejected else EXIT_OK)


#: A date given to the run that is not in its period: most likely a slip of the finger.
OUTSIDE_PERIOD_RU = (
    "[yellow]Внимание:[/] дата проверки {date} — не в периоде сбора {period}. Все книги "
    "будут проверены и показатели посчитаны на эту дату. Если дата указана по ошибке, "
    "запустите сбор снова с датой внутри периода или без --reference-date.")


def _check_sync_inputs(registry: Path, out: Path, source_dir: Path | None,
                       targets: Path | None, db_url: str | None) -> None:
    """Refuse, before anything is read or written, what would fail later or destroy a file:
    a master that is not .xlsx or that would replace the registry or a school's workbook, a
    targets file with a mistake, a database address that is not one."""
    _require_suffix(out, ".xlsx")
    load_targets_ru(targets)
    if db_url:
        check_db_url(db_url)
    target = out.resolve()
    if target == registry.resolve():
        raise click.BadParameter("сводная книга не может заменить реестр: укажите другое имя.",
                                 param_hint="'--out'")
    root = source_dir if source_dir is not None else registry.parent
    for entry in _registry_entries(registry):
        if _same_file(root / entry.source, target):
            raise click.BadParameter(
                f"сводная книга не может заменить книгу организации {entry.code} "
                f"({entry.source}): укажите другое имя.", param_hint="'--out'")


def _require_suffix(out: Path, suffix: str) -> None:
    """A file Excel opens: the name ends as its format does («форма.ods» of an xlsx does not)."""
    if out.suffix.lower() != suffix.lower():
        raise click.BadParameter(f"файл записывается в формате {suffix.lower()}, а указано "
                                 f"«{out.name}»; укажите имя вида «{out.stem}{suffix.lower()}».",
                                 param_hint="'--out'")


def _same_file(a: Path, b: Path) -> bool:
    """One file under two names (also «ОО-1.XLSX» and «ОО-1.xlsx» where case is ignored)."""
    if a.resolve() == b.resolve():
        return True
    try:
        return os.path.samefile(a, b)
    except OSError:  # one of them does not exist
        return False


def _master_history_url(master: Path) -> str:
    """The SQLite history `nastavnik sync` keeps beside a master (Store.for_master's)."""
    from sqlalchemy.engine import URL

    path = master.resolve().with_suffix(".history.sqlite")
    return URL.create("sqlite", database=str(path)).render_as_string()


def _registry_entries(registry: Path) -> list:
    from sync.sources.base import is_google_source
    from sync.sources.registry import RegistryError, read_registry

    try:
        return [e for e in read_registry(registry) if not is_google_source(e.source)]
    except (RegistryError, OSError):
        return []  # run_sync reports the problem


def _nothing_found_hint(result, root: Path) -> None:  # noqa: ANN001
    """Every school «не представлен»: most likely the files are elsewhere."""
    from sync.consolidate import SchoolStatus

    schools = result.consolidation.schools
    if schools and all(s.status == SchoolStatus.MISSING for s in schools):
        console.print(f"[bold yellow]Ни одной книги не найдено.[/] Пути в реестре считаются "
                      f"от папки {escape(str(root))}: проверьте её (--source-dir) и столбец "
                      "«источник» реестра.")


def _registry_size(registry: Path) -> int | None:
    from sync.sources.registry import RegistryError, read_registry

    try:
        return len(read_registry(registry))
    except (RegistryError, OSError):
        return None  # run_sync reports the problem


def _sync_failure(exc: Exception, db_url: str | None) -> str:
    """A Russian reason for a failed run; the type name only for the unexpected."""
    message = getattr(exc, "message_ru", None)
    if message:
        return str(message)
    if isinstance(exc, PermissionError):
        return f"нет прав на запись: {exc.filename}"
    if type(exc).__module__.startswith("sqlalchemy"):
        return f"база истории недоступна: {db_reason(exc, db_url or '')}"
    if isinstance(exc, OSError):
        return f"ошибка файла {exc.filename or ''}: {os_reason(exc)}"
    return f"непредвиденная ошибка ({type(exc).__name__}); сообщите разработчикам."


#: Up to this many schools the summary lists every one; beyond it, those with a problem.
SUMMARY_ALL_SCHOOLS = 40
#: The most schools the summary lists (a city's 2,000 would scroll off the screen).
SUMMARY_SHOWN_SCHOOLS = 100


def _print_sync_summary(result) -> None:  # noqa: ANN001
    from sync.master import SHEET_LOG

    cons = result.consolidation
    table = Table(title=f"Сбор за {cons.period}"
                  + (f": {escape(cons.municipality)}" if cons.municipality else ""))
    for header in ("Код ОО", "Наименование", "Статус", "Причина"):
        table.add_column(header, overflow="fold")
    colours = {"принят": "green", "принят с предупреждениями": "yellow",
               "не представлен": "dim"}
    shown = _summary_schools(cons.schools)
    for s in shown:
        style = colours.get(s.status.value, "red")
        table.add_row(escape(s.code), escape(shorten(s.entry.name)),
                      f"[{style}]{s.status.value}[/]",
                      escape(shorten(s.reason, SHOWN_MESSAGE_CHARS)))
    if shown:
        console.print(table)
    if len(shown) < len(cons.schools):
        if shown:
            console.print(f"Показаны организации с замечаниями: {len(shown)} из "
                          f"{len(cons.schools)}.")
        console.print(f"Статусы и причины всех организаций — на листе «{SHEET_LOG}» сводной "
                      "книги.")
    accepted = len(cons.accepted)
    console.print(f"Принято {accepted} из {len(cons.schools)}; межшкольных замечаний: "
                  f"{len(cons.cross)}; время {result.seconds:.1f} с")
    if result.reused:
        console.print(f"Без изменений с прошлого сбора этого периода (не перечитывались): "
                      f"{result.reused} из {len(cons.schools)}")
    console.print(f"Сводная книга: {result.master}")
    console.print(f"История: {result.store_url}")


def _summary_schools(schools: list) -> list:
    """Every school of a small municipality; of a large one, first the schools not
    accepted, then those accepted with warnings, at most SUMMARY_SHOWN_SCHOOLS."""
    from sync.consolidate import SchoolStatus

    if len(schools) <= SUMMARY_ALL_SCHOOLS:
        return schools
    worst = [s for s in schools if not s.status.accepted]
    warned = [s for s in schools if s.status == SchoolStatus.ACCEPTED_WARNINGS]
    return (worst + warned)[:SUMMARY_SHOWN_SCHOOLS]


@cli.command("federal-form")
@click.option("--year", required=True, type=click.IntRange(2019, 2100), help="Отчётный год.")
@click.option("--out", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="Файл формы (xlsx).")
@click.option("--master", type=click.Path(dir_okay=False, path_type=Path),
              help="Сводная книга, рядом с которой лежит история (если не задан --db).")
@click.option("--db", "db_url", help="Адрес базы истории SQLAlchemy.")
@click.option("--template", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Официальный бланк формы этого года (xlsx), если нужен он.")
@click.option("--mapping", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Соответствие показателей ячейкам бланка (TOML).")
@click.option("--municipality", default="", help="Название муниципалитета для шапки формы.")
@click.option("--municipality-code", default="",
              help="Код муниципалитета в общей базе региона (как при nastavnik sync).")
def federal_form_cmd(year: int, out: Path, master: Path | None, db_url: str | None,
                     template: Path | None, mapping: Path | None, municipality: str,
                     municipality_code: str) -> None:
    """Заполнить форму «Сведения о численности участников программ наставничества».

    Данные берутся из истории сборов: последний период указанного года.

    Пример: nastavnik federal-form --year 2026 --master свод.xlsx --out форма.xlsx
    """
    from sqlalchemy.exc import SQLAlchemyError

    from sync.federal_form import (
        MappingError,
        fill_official_form,
        load_mapping,
        write_default_form,
    )
    from sync.store import Store

    if (template is None) != (mapping is None):
        raise click.UsageError("Бланк (--template) и соответствие (--mapping) задаются вместе.")
    if master is None and db_url is None:
        raise click.UsageError("Укажите --master (история рядом с ним) или --db.")
    _require_suffix(out, template.suffix if template is not None else ".xlsx")
    url = db_url or _master_history_url(master)
    require_existing_sqlite(url, "Файл истории сборов" if db_url else
                            f"Рядом со сводной книгой {master.name} файл истории сборов")
    try:
        store = (Store.for_master(master.resolve(), db_url, municipality_code) if master
                 else Store(db_url, municipality_code))
        period = store.latest_period_of_year(year)
        figures = None if period is None else store.figures(period)
    except (SQLAlchemyError, ImportError) as exc:
        err_console.print(f"[bold red]База истории недоступна:[/] "
                          f"{escape(db_reason(exc, url))}")
        sys.exit(EXIT_UNREADABLE)
    if period is None:
        err_console.print(f"[bold red]В истории нет сборов за {year} год.[/] Сначала выполните "
                          "nastavnik sync.")
        sys.exit(EXIT_UNREADABLE)
    try:
        if template is None:
            write_default_form(figures, out, year=year, municipality=municipality, period=period)
        else:
            fill_official_form(figures, template, load_mapping(mapping), out, year=year,
                               municipality=municipality)
    except MappingError as exc:
        err_console.print(f"[bold red]Ошибка соответствия:[/] {escape(exc.message_ru)}")
        sys.exit(EXIT_UNREADABLE)
    except OSError as exc:
        raise write_failed(out, exc) from None
    console.print(f"Форма за {year} (данные периода {period}): {out}")


@cli.command("suggest-pairs")
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

    wb, goals = _book_and_targets(file, targets)
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


def _book_and_targets(file: Path, targets: Path | None):  # noqa: ANN202
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


@cli.command("calendar")
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
        wb, _ = _book_and_targets(file, None)
        plan = school_calendar(wb, reference_date, reporting=not no_reporting)
    try:  # through a temporary file beside ``out``: never a half-written calendar
        write_bytes(out, plan.to_ics())
    except OSError as exc:
        raise write_failed(out, exc) from None
    console.print(plan.summary_ru())
    console.print(f"Календарь: {out}")


@cli.group("region", invoke_without_command=True)
@click.option("--db", "db_url",
              help="Адрес общей базы истории региона, например postgresql://…")
@click.option("--period", callback=lambda c, p, v: v if v is None else _period(c, p, v),
              help="Отчётный период ГГГГ-ММ: сводная книга региона.")
@click.option("--year", type=click.IntRange(2019, 2100),
              help="Отчётный год: форма «Сведения о численности участников» по региону.")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path),
              help="Сводная книга региона или файл формы (xlsx).")
@click.option("--targets", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Файл целевых значений региона (TOML), вместо значений по умолчанию.")
@click.option("--template", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Официальный бланк формы (xlsx), вместе с --mapping и --year.")
@click.option("--mapping", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Соответствие показателей ячейкам бланка (TOML).")
@click.option("--name", "region_name", default="Регион", show_default=True,
              help="Название региона для заголовков.")
@click.pass_context
def region_cmd(ctx: click.Context, db_url: str | None, period: str | None, year: int | None,
               out: Path | None, targets: Path | None, template: Path | None,
               mapping: Path | None, region_name: str) -> None:
    """Свод региона из общей базы истории: муниципалитеты, показатели, форма.

    Школьные книги не открываются: всё берётся из того, что сохранили сборы муниципалитетов.
    Права учётных записей на базу: nastavnik region grant.

    Пример: nastavnik region --db postgresql://… --period 2026-11 --out регион.xlsx
    """
    if ctx.invoked_subcommand is not None:
        return
    if not db_url or out is None:
        raise click.UsageError("Укажите --db (база истории региона) и --out (файл свода или "
                               "формы).")
    from sqlalchemy.exc import SQLAlchemyError

    from sync.federal_form import FederalFormError
    from sync.region import RegionError
    from sync.store import Store

    if (period is None) == (year is None):
        raise click.UsageError("Укажите --period (сводная книга) или --year (форма), одно из "
                               "двух.")
    _require_suffix(out, template.suffix if template is not None else ".xlsx")
    if (template is None) != (mapping is None) or (template is not None and year is None):
        raise click.UsageError("Бланк (--template) и соответствие (--mapping) задаются вместе "
                               "и только с --year.")
    goals = load_targets_ru(targets)
    require_existing_sqlite(db_url)
    try:
        with Store(db_url) as store:
            if period is not None:
                _region_master(store, period, goals, region_name, out)
            else:
                _region_form(store, year, region_name, out, template, mapping)
    except (RegionError, FederalFormError) as exc:
        err_console.print(f"[bold red]Свод региона не построен:[/] {escape(exc.message_ru)}")
        sys.exit(EXIT_UNREADABLE)
    except (SQLAlchemyError, ImportError) as exc:
        err_console.print(f"[bold red]База истории недоступна:[/] "
                          f"{escape(db_reason(exc, db_url))}")
        sys.exit(EXIT_UNREADABLE)
    except OSError as exc:
        raise write_failed(out, exc) from None


@region_cmd.command("grant")
@click.option("--db", "db_url", required=True,
              help="База истории региона под владельцем таблиц, например "
                   "postgresql://владелец@сервер/nastavnik")
@click.option("--role", required=True, help="Учётная запись PostgreSQL (роль), например "
                                            "mnc_71801000.")
@click.option("--municipality", default=None,
              help="Код муниципалитета (ОКТМО), строки которого роль читает и пишет.")
@click.option("--regional", is_flag=True,
              help="Роль регионального центра: читает строки всех муниципалитетов, не пишет.")
def region_grant_cmd(db_url: str, role: str, municipality: str | None, regional: bool) -> None:
    """Дать учётной записи права на базу истории региона с политиками строк (row-level
    security): муниципальный центр читает и пишет только строки своего муниципалитета,
    региональный центр читает всё и ничего не пишет.

    Пример: nastavnik region grant --db postgresql://владелец@сервер/nastavnik
    --municipality 71801000 --role mnc_71801000
    """
    from sync.region_grant import GrantError, grant

    if regional == bool(municipality):
        raise click.UsageError("Укажите --municipality КОД (муниципальный центр) или "
                               "--regional (региональный центр), одно из двух.")
    require_existing_sqlite(db_url)
    try:
        done = grant(db_url, role, municipality=municipality, regional=regional)
    except GrantError as exc:
        raise Refused(exc.message_ru) from None
    console.print(done)


def _region_master(store, period: str, goals, name: str, out: Path) -> None:  # noqa: ANN001
    from sync.region import build_region, write_region

    region = build_region(store, period, goals, name)
    write_region(region, out)
    console.print(f"Свод региона за {period}: муниципалитетов сдали {len(region.synced)} из "
                  f"{len(region.municipalities)}; не сдали: "
                  f"{', '.join(region.missing['code'].replace('', '(без кода)')) or 'нет'}")
    console.print(f"Сводная книга региона: {out}")


def _region_form(store, year: int, name: str, out: Path, template: Path | None,  # noqa: ANN001
                 mapping: Path | None) -> None:
    from sync.federal_form import fill_official_form, load_mapping, write_default_form
    from sync.region import periods_text, region_figures_of_year

    figures, latest = region_figures_of_year(store, year)
    if template is None:
        write_default_form(figures, out, year=year, municipality=name,
                           period=periods_text(latest))
    else:
        fill_official_form(figures, template, load_mapping(mapping), out, year=year,
                           municipality=name)
    console.print(f"Форма региона за {year} (муниципалитетов: {len(latest)}, данные периодов "
                  f"{periods_text(latest)}): {out}")


@cli.command("upgrade-book")
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


from sync.cli_backup import COMMANDS as _BACKUP_COMMANDS  # noqa: E402 (after the group)

for _command in _BACKUP_COMMANDS:  # backup, restore, purge (sync/cli_backup.py)
    cli.add_command(_command)
cli.add_command(remind_cmd)


def main() -> None:
    """Console entry point: a Russian message instead of a traceback on anything unexpected."""
    try:
        cli(standalone_mode=True)
    except KeyboardInterrupt:
        err_console.print("Прервано пользователем.")
        sys.exit(130)
    except MemoryError:
        err_console.print("Не хватило памяти: файл слишком велик для обработки.")
        sys.exit(EXIT_UNREADABLE)
    except Exception as exc:  # noqa: BLE001 (the last net: a Russian line, no traceback)
        err_console.print(f"Внутренняя ошибка программы ({type(exc).__name__}). Сообщите "
                          "разработчикам, какой командой и с каким файлом это случилось.")
        sys.exit(EXIT_UNREADABLE)
