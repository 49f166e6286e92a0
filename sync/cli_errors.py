"""Russian reasons for what goes wrong around a `nastavnik` command: a file that cannot be
written, a targets file that is not TOML, a database address that does not work.

The system's and the drivers' own texts are English (``strerror``, SQLAlchemy, tomllib); a user
reads the Russian sentence, and the driver's first line only where an administrator needs it.
"""

from __future__ import annotations

import errno
import math
import re
import tomllib
from pathlib import Path
from typing import Any

import click

EXIT_REFUSED = 2

#: errno -> what it means for a file the command reads or writes.
OS_REASONS = {
    errno.ENOENT: "нет такого файла или папки",
    errno.ENOTDIR: "часть пути — файл, а не папка",
    errno.EEXIST: "часть пути — файл, а не папка",
    errno.EISDIR: "это папка, а нужен файл",
    errno.EACCES: "нет прав доступа",
    errno.EPERM: "нет прав доступа",
    errno.ENOSPC: "на диске нет места",
    errno.EROFS: "диск доступен только для чтения",
    errno.ENAMETOOLONG: "слишком длинное имя файла",
    errno.EBUSY: "файл занят другой программой",
}
DB_HINT = ("укажите адрес вида postgresql://пользователь@сервер:5432/база или "
           "sqlite:///путь/к/истории.sqlite")


class Refused(click.ClickException):
    """The command cannot do what was asked; the message says why and what to do (exit 2,
    as for a file that cannot be read; exit 1 stays «the check found errors»)."""

    exit_code = EXIT_REFUSED


def os_reason(exc: OSError) -> str:
    """A Russian reason for a failed file operation (never the English strerror)."""
    return OS_REASONS.get(exc.errno or -1, f"ошибка ввода-вывода (код {exc.errno})")


def write_failed(path: Path | str, exc: OSError) -> Refused:
    """«Не удалось записать …: reason» as a refusal."""
    return Refused(f"Не удалось записать {path}: {os_reason(exc)}.")


# -- the targets file ----------------------------------------------------------------------------
def load_targets_ru(path: Path | None) -> dict[str, dict[str, Any]]:
    """The targets (``addin.indicators.load_targets``) or a Russian refusal that says where
    the file is wrong: not readable, not TOML, or a target that is not a number by year."""
    from addin.indicators import load_targets

    try:
        targets = load_targets(path)
    except OSError as exc:
        raise Refused(f"Не удалось прочитать файл целей {path}: {os_reason(exc)}.") from None
    except UnicodeDecodeError:
        raise Refused(f"Файл целей {path} не в кодировке UTF-8: сохраните его как текст "
                      "UTF-8.") from None
    except tomllib.TOMLDecodeError as exc:
        raise Refused(f"Файл целей {path} записан с ошибкой{_toml_where(exc)}. Образец "
                      "записи: [indicators.teachers_covered] и под ним "
                      'targets = { "2026" = 50 }.') from None
    except (AttributeError, TypeError, ValueError):  # e.g. «indicators = 5»
        raise Refused(f"В файле целей {path} раздел [indicators] должен состоять из "
                      "разделов показателей, например [indicators.teachers_covered].") from None
    if path is not None:
        _check_targets(targets, path)
    return targets


def _toml_where(exc: tomllib.TOMLDecodeError) -> str:
    found = re.search(r"at line (\d+), column (\d+)", str(exc))
    return f" в строке {found[1]}, позиции {found[2]}" if found else ""


def _check_targets(targets: dict[str, Any], path: Path) -> None:
    for key, spec in targets.items():
        years = spec.get("targets", {}) if isinstance(spec, dict) else None
        if not isinstance(years, dict):
            raise Refused(f"В файле целей {path} у показателя {key} цели задаются по годам: "
                          'targets = { "2026" = 50 }.')
        for year, value in years.items():
            if not (str(year).isdigit() and _is_percent(value)):
                raise Refused(f"В файле целей {path} у показателя {key} цель на «{year}» — "
                              f"«{value}»; нужен год цифрами и число процентов, например "
                              '"2026" = 50.')


def _is_percent(value: object) -> bool:
    return (isinstance(value, int | float) and not isinstance(value, bool)
            and math.isfinite(value))


# -- the history database ------------------------------------------------------------------------
def check_db_url(url: str) -> None:
    """Refuse an address SQLAlchemy cannot parse (before anything is opened)."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        make_url(url)
    except (ArgumentError, ValueError):
        raise Refused(f"«{url}» — не адрес базы истории: {DB_HINT}.") from None


def require_existing_sqlite(url: str, what: str = "Файл базы истории") -> None:
    """Reading commands never create a history: a SQLite file that is not there is refused
    (instead of an empty database made on the spot and «no runs» said about it)."""
    from sqlalchemy.engine import make_url

    check_db_url(url)
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return
    path = Path(parsed.database)
    if not path.is_file():
        raise Refused(f"{what} не найден: {path}. Проверьте путь (историю создаёт "
                      "nastavnik sync).")


def db_reason(exc: BaseException, url: str) -> str:
    """A Russian reason a history database could not be used."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    if isinstance(exc, ArgumentError):
        return f"«{url}» — не адрес базы истории: {DB_HINT}"
    if isinstance(exc, ImportError):
        return (f"не установлен драйвер «{exc.name}» для адреса {url.split(':', 1)[0]}://… "
                "(для PostgreSQL: pip install 'psycopg[binary]')")
    detail = str(getattr(exc, "orig", None) or exc).strip().splitlines()
    text = detail[0] if detail else type(exc).__name__
    try:
        parsed = make_url(url)
    except ArgumentError:
        return f"«{url}» — не адрес базы истории: {DB_HINT}"
    if parsed.get_backend_name() == "sqlite":
        if "not a database" in text or "malformed" in text:
            return f"файл {parsed.database} — не база истории (SQLite)"
        if "unable to open" in text:
            return f"не удалось открыть файл базы {parsed.database}: проверьте путь и права"
        if "readonly" in text or "read-only" in text:
            return f"файл базы {parsed.database} доступен только для чтения"
        return f"ошибка базы SQLite {parsed.database} (сообщение драйвера: {text})"
    where = f"{parsed.host or 'localhost'}:{parsed.port or 5432}"
    if "password authentication failed" in text or "no password supplied" in text:
        return f"сервер {where} не принял логин или пароль «{parsed.username or ''}»"
    if "does not exist" in text and "database" in text:
        return f"на сервере {where} нет базы «{parsed.database}»"
    if "row-level security" in text:
        return ("этой учётной записи не разрешены строки этого муниципалитета (политики строк "
                "базы региона): права даёт владелец базы командой nastavnik region grant "
                "--municipality КОД --role УЧЁТНАЯ_ЗАПИСЬ")
    if "permission denied" in text:
        return "у этой учётной записи нет прав на таблицы истории (см. README, раздел о правах)"
    if "connection" in text.lower() or "could not translate host" in text:
        return (f"не удалось подключиться к серверу {where}: проверьте адрес, порт и что "
                f"сервер запущен (сообщение драйвера: {text})")
    return f"ошибка базы данных (сообщение драйвера: {text})"
