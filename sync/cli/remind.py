"""`nastavnik remind`: the scheduled reminder (cron or the systemd timer in deploy/) to the
schools that have not submitted the period's workbook. It reads the same collection folder
and journal as `nastavnik serve`, so a reminder sent from the page today is not sent again,
and a second run on the same day sends nothing twice.
"""

from __future__ import annotations

import re
import sqlite3
import sys
from datetime import date
from pathlib import Path

import click
from rich.console import Console
from rich.markup import escape

from sync.cli_errors import Refused

console = Console(highlight=False)
err_console = Console(stderr=True, highlight=False)
PERIOD_RE = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")
EXIT_OK, EXIT_NOT_ALL, EXIT_REFUSED = 0, 1, 2


def _period(ctx: click.Context, param: click.Parameter, value: str) -> str:
    if not PERIOD_RE.match(value or ""):
        raise click.BadParameter(f"«{value}» — укажите период как ГГГГ-ММ, например 2026-11")
    return value


@click.command("remind")
@click.option("--registry", required=True, metavar="ФАЙЛ",
              type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Реестр организаций (CSV или xlsx) со столбцом «Эл. почта».")
@click.option("--collect-dir", required=True, metavar="ПАПКА",
              type=click.Path(exists=True, file_okay=False, path_type=Path),
              help="Папка сбора — та же, что у nastavnik serve --collect-dir.")
@click.option("--period", required=True, callback=_period, metavar="ГГГГ-ММ",
              help="Отчётный период ГГГГ-ММ.")
@click.option("--days-before", default=3, show_default=True, type=click.IntRange(0, 31),
              help="Напоминать, когда до срока осталось столько дней или меньше (и после срока).")
@click.option("--deadline-day", default=25, show_default=True, type=click.IntRange(1, 31),
              help="Число месяца, до которого сдаются книги периода.")
@click.option("--mail-config", metavar="ФАЙЛ", type=click.Path(dir_okay=False, path_type=Path),
              help="Настройки почты (TOML, пример: addin/mail/mail.example.toml). Для "
                   "--dry-run необязательны.")
@click.option("--dry-run", is_flag=True, help="Только показать, кто какое письмо получит.")
def remind_cmd(registry: Path, collect_dir: Path, period: str, days_before: int,
               deadline_day: int, mail_config: Path | None, dry_run: bool) -> None:
    """Напомнить по эл. почте организациям, которые не сдали книгу за период.

    Пример: nastavnik remind --registry реестр.csv --collect-dir сдача --period 2026-11
    --days-before 3 --mail-config почта.toml
    """
    from addin.mail.mailer import MailConfigError
    from addin.mail.sender import MailServerError
    from addin.web.workspace import RegistryProblem, deadline_of

    if mail_config is None and not dry_run:
        raise Refused("Укажите настройки почты: --mail-config почта.toml (или --dry-run, "
                      "чтобы только посмотреть, кто получит письмо).")
    deadline = deadline_of(period, deadline_day)
    left = (deadline - date.today()).days
    if left > days_before:
        console.print(f"До срока сдачи {deadline:%d.%m.%Y} ещё {left} дн. — больше "
                      f"{days_before}: напоминания не отправлены.")
        return
    try:
        reminders = _reminders(registry, collect_dir, period, deadline_day, mail_config)
        for problem in sorted({e.email_problem for e in reminders.ws.registry()} - {""}):
            err_console.print(f"[yellow]Внимание:[/] {escape(problem)}")
        if dry_run:
            _print_plan(reminders.preview(period, "missing"))
            return
        batch, outcomes = reminders.remind(period, "missing", "remind")
    except (MailConfigError, MailServerError, RegistryProblem) as exc:
        err_console.print(f"[bold red]Напоминания не отправлены:[/] {escape(exc.message_ru)}")
        sys.exit(EXIT_REFUSED)
    _print_outcomes(batch, outcomes)
    if any(o.status not in ("sent", "no-address") for o in outcomes):
        sys.exit(EXIT_NOT_ALL)


def _reminders(registry: Path, collect_dir: Path, period: str, deadline_day: int,
               mail_config: Path | None):  # noqa: ANN202
    from addin.mail.mailer import Mailer
    from addin.web.config import ServerConfig
    from addin.web.reminding import Reminders
    from addin.web.workspace import Workspace
    from sync.workspace_service import FolderSyncService

    class GivenRegistry(Workspace):
        """The registry of --registry, even where staff uploaded another on the page."""

        def registry_path(self) -> Path | None:
            return registry

    mailer = Mailer.load(mail_config)
    config = ServerConfig(collect_dir=collect_dir, registry_path=registry, period=period,
                          deadline_day=deadline_day, mail_config=mail_config)
    try:
        ws = GivenRegistry(config, FolderSyncService())
    except (OSError, sqlite3.Error) as exc:
        reason = getattr(exc, "strerror", None) or "журнал не открывается"
        raise Refused(f"Папка сбора {collect_dir} недоступна для журнала писем: "
                      f"{reason}") from None
    return Reminders(ws, mailer)


def _print_plan(batch) -> None:  # noqa: ANN001
    from addin.mail.letters import KIND_RU

    console.print(f"Проверка без отправки ({KIND_RU[batch.kind]}, {batch.period}): "
                  f"писем {len(batch.letters)}, без адреса {len(batch.no_address)}, уже "
                  f"отправлено сегодня {len(batch.already)}.")
    for a, letter in batch.letters:
        console.print(f"  {escape(a.code)} {escape(a.name)} -> {', '.join(letter.to)}: "
                      f"«{escape(letter.subject)}»")
    for a in batch.no_address:
        console.print(f"  {escape(a.code)} {escape(a.name)}: нет адреса")
    for a in batch.already:
        console.print(f"  {escape(a.code)} {escape(a.name)}: уже отправлено сегодня")
    if batch.sample is not None:
        console.print("\nПисьмо первой организации:\n")
        console.print(escape(batch.sample.text))


def _print_outcomes(batch, outcomes) -> None:  # noqa: ANN001
    names = {a.code: a.name for a, _ in batch.letters} | {a.code: a.name
                                                          for a in batch.no_address}
    for o in outcomes:
        reason = f": {o.reason}" if o.reason else ""
        console.print(f"  {escape(o.code)} {escape(names.get(o.code, ''))} — "
                      f"{escape(o.status_ru + reason)}")
    sent = sum(o.status == "sent" for o in outcomes)
    console.print(f"Отправлено {sent} из {len(batch.letters)}; без адреса "
                  f"{len(batch.no_address)}; уже отправлено сегодня {len(batch.already)}.")
