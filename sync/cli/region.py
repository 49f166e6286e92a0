"""`nastavnik region`: the regional master or form from the shared history, and `region grant`."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from rich.markup import escape

from sync.cli.common import EXIT_UNREADABLE, check_period, console, err_console, require_suffix
from sync.cli.ru import RuGroup
from sync.cli_errors import (
    Refused,
    db_reason,
    load_targets_ru,
    require_existing_sqlite,
    write_failed,
)


@click.group("region", cls=RuGroup, invoke_without_command=True)
@click.option("--db", "db_url",
              help="Адрес общей базы истории региона, например postgresql://…")
@click.option("--period", callback=lambda c, p, v: v if v is None else check_period(c, p, v),
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
    require_suffix(out, template.suffix if template is not None else ".xlsx")
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


COMMANDS = (region_cmd,)
