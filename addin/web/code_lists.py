"""Codes for the whole registry (`nastavnik serve add-school-codes`): a code for every
organisation that has none, and the printable list written BEFORE the access file, so a list
that cannot be written leaves no code nobody has seen."""

from __future__ import annotations

import errno
from dataclasses import dataclass
from pathlib import Path

from addin.web.access import AccessFileError, add_school_codes
from addin.web.code_sheet import CodeLetter, write_code_sheet


class CodeListError(Exception):
    """The codes or their list cannot be made (Russian message); nothing was changed."""

    def __init__(self, message_ru: str) -> None:
        super().__init__(message_ru)
        self.message_ru = message_ru


@dataclass(frozen=True)
class Issued:
    """What was done: how many codes were written, and where the printable list is."""

    written: int
    out: Path | None


def issue_registry_codes(access_file: Path, out: Path, schools: list[tuple[str, str]],
                         url: str, *, replace: bool = False) -> Issued:
    """Codes for `schools` ((code ОО, name) of the registry) and their list in `out`."""
    url = _checked_url(url)
    _check_out(out, access_file)
    names = {code.strip(): name for code, name in schools}

    def write_list(shown: dict[str, str]) -> None:
        letters = [CodeLetter(code, names.get(code, ""), secret) for code, secret in
                   shown.items()]
        try:
            write_code_sheet(out, letters, url)
        except OSError as exc:
            raise CodeListError(f"Книга для печати {out} не записана ({_reason(exc)}); "
                                "коды не выданы, файл кодов не изменён.") from None

    try:
        shown = add_school_codes(access_file, list(names), replace=replace,
                                 before_write=write_list)
    except AccessFileError as exc:
        raise CodeListError(exc.message_ru) from None
    except OSError as exc:
        out.unlink(missing_ok=True)  # its codes were never stored: the list would mislead
        raise CodeListError(f"Файл кодов {access_file} не записан ({_reason(exc)}); "
                            "коды не выданы.") from None
    return Issued(len(shown), out if shown else None)


def _reason(exc: OSError) -> str:
    if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return "нет прав на запись"
    if exc.errno == errno.ENOSPC:
        return "нет места на диске"
    return f"ошибка записи, код {exc.errno}"


def _checked_url(url: str) -> str:
    text = (url or "").strip()
    if not text.startswith(("https://", "http://")) or len(text) > 300 or " " in text:
        raise CodeListError(f"Адрес страницы «{url}» не подходит: укажите его полностью, "
                            "например https://nastavnik.mo.ru/")
    return text


def _check_out(out: Path, access_file: Path) -> None:
    if out.suffix.lower() != ".xlsx":
        raise CodeListError(f"Книга для печати нужна с расширением .xlsx, а указано «{out.name}».")
    if out.exists() and access_file.exists() and out.resolve() == access_file.resolve():
        raise CodeListError("Книга для печати не может быть файлом кодов доступа.")
    if not out.parent.is_dir():
        raise CodeListError(f"Папки {out.parent} нет: книга для печати не записана, коды не "
                            "выданы.")
