"""`nastavnik sync` (the municipal collection into the master workbook) and `nastavnik
federal-form` (the federal form from the history of the runs)."""

from __future__ import annotations

import os
import sys
from datetime import date
from pathlib import Path

import click
from rich.markup import escape
from rich.table import Table

from addin.report import SHOWN_MESSAGE_CHARS, shorten
from sync.cli.common import (
    EXIT_FINDINGS,
    EXIT_OK,
    EXIT_UNREADABLE,
    RuDate,
    check_period,
    console,
    err_console,
    require_suffix,
)
from sync.cli.ru import RuCommand
from sync.cli.webdav import webdav_options, webdav_settings
from sync.cli_errors import (
    check_db_url,
    db_reason,
    load_targets_ru,
    os_reason,
    require_existing_sqlite,
    write_failed,
)


@click.command("sync", cls=RuCommand)
@click.option("--registry", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="Реестр организаций (CSV или xlsx): код ОО; наименование; тип; источник.")
@click.option("--period", required=True, callback=check_period, help="Отчётный период ГГГГ-ММ.")
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
              callback=lambda c, p, v: check_period(c, p, v) if v else v,
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
    require_suffix(out, ".xlsx")
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


@click.command("federal-form", cls=RuCommand)
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
    require_suffix(out, template.suffix if template is not None else ".xlsx")
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


COMMANDS = (sync_cmd, federal_form_cmd)
