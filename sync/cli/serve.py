"""`nastavnik serve`: the server, and its subcommands that issue access codes and staff
accounts and revoke a school's buttons."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from rich.markup import escape

from sync.cli.common import EXIT_UNREADABLE, check_period, console, err_console
from sync.cli.ru import RuGroup
from sync.cli.webdav import webdav_options, webdav_settings
from sync.cli_errors import Refused, write_failed


@click.group("serve", cls=RuGroup, invoke_without_command=True)
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
@click.option("--period", default=None, callback=lambda c, p, v: check_period(c, p, v) if v else v,
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
              callback=lambda c, p, v: check_period(c, p, v) if v else v,
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


COMMANDS = (serve_cmd,)
