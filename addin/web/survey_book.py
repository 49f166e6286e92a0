"""The school's book on both ends of a survey wave: its participants (who gets a code), and the
copy with the wave's answers on «Мониторинг» (`addin.xlsx.monitoring`). No routes here."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from addin.errors import WorkbookError, corrupt
from addin.web.survey_store import Code, SurveyStore, Wave, shown_code
from addin.web.workspace import WORKSPACE_DIR
from workbook_templates import contract as C
from workbook_templates import surveys as S

if TYPE_CHECKING:
    from addin.model import SchoolWorkbook
    from addin.xlsx.monitoring import SurveyRow, Transfer

STORE_NAME = "surveys.sqlite"
#: Longest participant ID taken from a book (an ID is short: Н-001, У-123).
MAX_ID = 40
#: Text a spreadsheet would take for a formula, when it opens the list of codes.
FORMULA_STARTS = ("=", "+", "-", "@")


class BookRefused(Exception):
    """The uploaded book cannot be used for this wave (Russian message)."""

    def __init__(self, message_ru: str) -> None:
        super().__init__(message_ru)
        self.message_ru = message_ru


@dataclass(frozen=True)
class BookParticipants:
    school_code: str
    participants: list[tuple[str, str]]  # (participant ID, role)
    suffix: str


def open_store(collect_dir: Path | None) -> SurveyStore | None:
    """The waves of this server, beside the journal in the collection folder (None without
    one: there is nowhere to keep answers between the curator's and the participants' visits)."""
    if collect_dir is None:
        return None
    return SurveyStore(Path(collect_dir) / WORKSPACE_DIR / STORE_NAME)


def read_book(path: Path) -> SchoolWorkbook:
    """The school's book, or BookRefused with the reader's Russian reason."""
    from addin.model import SchoolWorkbook

    if path.suffix.lower() not in (".xlsx", ".xlsm", ".ods"):
        raise BookRefused("Нужна книга .xlsx, .xlsm или .ods стандартного шаблона.")
    try:
        try:
            return SchoolWorkbook.from_path(path)
        except WorkbookError:
            raise
        except Exception as exc:  # noqa: BLE001 (any reading failure: the file's status)
            raise corrupt(exc) from exc
    except WorkbookError as exc:
        raise BookRefused(exc.message_ru) from exc


def participants_of(path: Path, roles: tuple[str, ...]) -> BookParticipants:
    """Participant IDs of the roles asked for, from «Наставники» and «Наставляемые»."""
    wb = read_book(path)
    found: list[tuple[str, str]] = []
    seen: set[tuple[str, str]] = set()
    for key, role in (("mentors", S.MENTOR), ("mentees", S.MENTEE)):
        if role not in roles:
            continue
        for value in wb.table(key)["id"].tolist():
            pid = str(value).strip() if value is not None and value == value else ""
            if pid and len(pid) <= MAX_ID and (pid, role) not in seen:
                seen.add((pid, role))
                found.append((pid, role))
    return BookParticipants(wb.school_code, found, path.suffix.lower())


def check_owner(path: Path, wave: Wave) -> None:
    """The book must be the wave's school's (the code on «Сведения об ОО»)."""
    wb = read_book(path)
    if wb.school_code != wave.school:
        raise BookRefused(f"Это книга организации «{wb.school_code or 'без кода'}», а волна "
                          f"анкет — организации {wave.school}. Выберите книгу своей "
                          "организации.")


def survey_rows(wave: Wave, answered: list[Code]) -> list[SurveyRow]:
    """The rows of «Мониторинг» for the answers of a wave (the date: the day of the answer)."""
    from addin.xlsx.monitoring import SurveyRow

    rows = []
    for c in answered:
        answers = c.answers or {}
        day = datetime.fromisoformat(c.answered_at).date() if c.answered_at else date.today()
        values = {q.key: answers.get(q.key) for q in S.QUESTIONS}
        rows.append(SurveyRow(c.participant_id, c.role, wave.wave, day, values))
    return rows


def headers() -> dict[str, str]:
    """Column key -> header of everything a transferred row carries."""
    out = {c.key: c.header for c in C.MONITORING.columns}
    out.update({q.key: q.header for q in S.QUESTIONS})
    return out


def transfer(src: Path, out: Path, wave: Wave, answered: list[Code]) -> Transfer:
    """Write the copy of `src` with the wave's answers; the `Transfer` summary."""
    from addin.xlsx.annotate import AnnotatedCopyError
    from addin.xlsx.monitoring import write_monitoring

    if src.suffix.lower() not in (".xlsx", ".xlsm"):
        raise BookRefused("Ответы переносятся в книгу .xlsx или .xlsm. Сохраните книгу в "
                          "этом формате (Файл → Сохранить как) и повторите.")
    check_owner(src, wave)
    try:
        return write_monitoring(src, out, survey_rows(wave, answered), headers(),
                                date(wave.start_year, 9, 1))
    except AnnotatedCopyError as exc:
        raise BookRefused(exc.message_ru) from exc


def codes_csv(codes: list[Code], base_url: str) -> bytes:
    """The list of codes to send: ID, role, code, link (UTF-8 with BOM, «;», for Excel)."""
    buf = io.StringIO()
    writer = csv.writer(buf, delimiter=";", lineterminator="\r\n")
    writer.writerow(["ID участника", "Роль", "Код", "Ссылка на анкету"])
    for c in codes:
        writer.writerow([_text(c.participant_id), c.role, shown_code(c.code),
                         answer_link(base_url, c.code)])
    return ("\ufeff" + buf.getvalue()).encode("utf-8")


def answer_link(base_url: str, code: str) -> str:
    """The answer page with the code after «#»: the code never reaches a server log."""
    return f"{base_url.rstrip('/')}/answer#{code}"


def _text(value: str) -> str:
    return "'" + value if value.startswith(FORMULA_STARTS) else value
