"""`nastavnik backup`, `nastavnik restore`, `nastavnik purge` (see sync/backup.py and
sync/retention.py); registered on the `nastavnik` group by sync/cli/__init__.py."""

from __future__ import annotations

from pathlib import Path

import click
from rich.console import Console

from sync.backup import BackupError, backup, restore
from sync.cli_errors import Refused, os_reason
from sync.retention import purge

console = Console(highlight=False)


def _mb(size: int) -> str:
    return f"{size / 1024 / 1024:.1f} МБ".replace(".", ",")


@click.command("backup")
@click.option("--collect-dir", required=True, type=click.Path(path_type=Path),
              help="Папка сбора сервера (--collect-dir у nastavnik serve).")
@click.option("--out", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="Архив .tar.gz (вне папки сбора, лучше на другом диске).")
@click.option("--wait", default=600, show_default=True, type=click.IntRange(0, 86400),
              help="Сколько секунд ждать окончания идущего «Собрать свод».")
def backup_cmd(collect_dir: Path, out: Path, wait: int) -> None:
    """Резервная копия папки сбора: книги с SHA-256, журнал и история (можно при работающем
    сервере).

    Пример: nastavnik backup --collect-dir /var/lib/nastavnik/сдача --out архив.tar.gz
    """
    try:
        done = backup(collect_dir, out, wait=wait, waiting=lambda: console.print(
            "Идёт «Собрать свод» или удаление по сроку: жду его окончания…"))
    except BackupError as exc:
        raise Refused(exc.message_ru) from None
    except OSError as exc:
        raise Refused(f"Резервная копия не записана: {os_reason(exc)}.") from None
    console.print(f"Резервная копия: {done.path} (файлов: {done.files}, из них баз SQLite: "
                  f"{done.databases}; {_mb(done.size)} до сжатия).")


@click.command("restore")
@click.argument("archive", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--into", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Новая или пустая папка, куда восстановить папку сбора.")
def restore_cmd(archive: Path, into: Path) -> None:
    """Восстановить папку сбора из архива nastavnik backup в новую или пустую папку.

    Пример: nastavnik restore архив.tar.gz --into /var/lib/nastavnik/сдача-восстановлено
    """
    try:
        done = restore(archive, into)
    except BackupError as exc:
        raise Refused(exc.message_ru) from None
    except OSError as exc:
        raise Refused(f"Восстановление не выполнено: {os_reason(exc)}.") from None
    console.print(f"Восстановлено в {done.path}: файлов {done.files} (SHA-256 каждого совпал с "
                  "описью архива). Запустите сервер с --collect-dir на эту папку.")


@click.command("purge")
@click.option("--collect-dir", required=True, type=click.Path(path_type=Path),
              help="Папка сбора сервера (--collect-dir у nastavnik serve).")
@click.option("--before", required=True,
              help="Период ГГГГ-ММ: удалить книги всех периодов до него (сам он остаётся).")
@click.option("--dry-run", is_flag=True, help="Только показать, что будет удалено.")
def purge_cmd(collect_dir: Path, before: str, dry_run: bool) -> None:
    """Удалить сданные книги прошедших периодов (персональные данные) по сроку хранения.

    Журнал сохраняет коды организаций, SHA-256, статусы и число замечаний: доска сдачи
    по-прежнему показывает, кто и когда сдал, с пометкой «книга удалена по сроку хранения».

    Пример: nastavnik purge --collect-dir /var/lib/nastavnik/сдача --before 2025-09
    """
    try:
        done = purge(collect_dir, before, dry_run=dry_run)
    except BackupError as exc:
        raise Refused(exc.message_ru) from None
    except OSError as exc:
        raise Refused(f"Удаление не выполнено: {os_reason(exc)}.") from None
    verb = "Будет удалено" if dry_run else "Удалено"
    periods = ", ".join(done.periods) or "—"
    console.print(f"{verb} книг: {len(done.deleted)} (периоды: {periods}; {_mb(done.freed)}).")
    if done.masters:
        console.print(f"Удалено сводных книг сборов за эти периоды: {done.masters}.")
    if done.leftovers:
        console.print(f"Удалено недописанных временных файлов (сервер был остановлен во время "
                      f"сдачи): {done.leftovers}.")
    for path in done.unknown:
        console.print(f"Оставлена книга без понятного периода: {path} — проверьте её вручную.")


COMMANDS = (backup_cmd, restore_cmd, purge_cmd)
