"""Typed errors for a workbook that cannot be read at all.

Each carries a stable code and a Russian message a curator can act on. Front ends turn them
into a status (sync), an exit code 2 (CLI) or a Russian page (server); never a traceback.
"""

from __future__ import annotations

import logging

log = logging.getLogger(__name__)


class WorkbookError(Exception):
    """A school workbook cannot be read."""

    code = "file-unreadable"
    #: Short Russian status shown in summaries.
    status_ru = "файл не читается"

    def __init__(self, message_ru: str, *, source: str = "") -> None:
        super().__init__(message_ru)
        self.message_ru = message_ru
        self.source = source

    def __str__(self) -> str:
        return f"{self.source}: {self.message_ru}" if self.source else self.message_ru


class WorkbookNotFoundError(WorkbookError):
    """The file does not exist."""

    code = "file-not-found"
    status_ru = "файл не найден"


class NotAWorkbookError(WorkbookError):
    """The file is not an .xlsx/.xlsm/.ods spreadsheet (e.g. a Word document renamed)."""

    code = "file-format"
    status_ru = "не книга Excel"


class CorruptWorkbookError(WorkbookError):
    """The file looks like a spreadsheet but is damaged (truncated, broken zip or XML)."""

    code = "file-corrupt"
    status_ru = "файл повреждён"


class PasswordProtectedError(WorkbookError):
    """The file is encrypted with a password."""

    code = "file-encrypted"
    status_ru = "файл защищён паролем"


class NotOurWorkbookError(WorkbookError):
    """A spreadsheet, but not the school workbook of the contract."""

    code = "not-our-template"
    status_ru = "не книга наставничества"


class UnknownVersionError(WorkbookError):
    """The workbook carries a template version this program does not know."""

    code = "template-version"
    status_ru = "неизвестная версия шаблона"


class WorkbookTooLargeError(WorkbookError):
    """The file is larger than the configured limit."""

    code = "file-too-large"
    status_ru = "файл слишком большой"


CORRUPT_RU = ("Файл повреждён: его содержимое не удаётся прочитать (возможно, он загружен или "
              "скопирован не до конца). Откройте книгу в Excel или LibreOffice, сохраните "
              "заново и повторите.")
TOO_BIG_TO_READ_RU = ("Книга слишком велика, чтобы её прочитать: удалите лишние строки и "
                      "столбцы, сохраните книгу и повторите.")


def corrupt(exc: BaseException, source: str = "") -> WorkbookError:
    """The typed error for any failure while reading a file (zip, XML, calamine, openpyxl).

    A WorkbookError stays as it is; running out of memory means the file is too large; any
    other exception means the file cannot be read: «файл повреждён». Only the exception's
    class is logged, never its text (it may quote cell values).
    """
    if isinstance(exc, WorkbookError):
        return exc
    log.info("unreadable file: %s", type(exc).__name__)
    if isinstance(exc, MemoryError):
        return WorkbookTooLargeError(TOO_BIG_TO_READ_RU, source=source)
    return CorruptWorkbookError(CORRUPT_RU, source=source)
