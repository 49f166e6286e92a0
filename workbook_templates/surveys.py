"""The satisfaction questionnaire of the «Мониторинг» waves, declared as data beside the contract.

Each question answers one column of the «Мониторинг» sheet: the satisfaction score 1–10 that
template 1.0 holds, and four short questions of the methodology (comfort of communication,
usefulness of the meetings, meetings held as planned, wish to continue) whose columns come with
template 1.1. A book without those columns gets the score and the comment; the other answers
stay on the server until the wave is deleted.

This module imports only the contract (it sits beside it, under the builders).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from workbook_templates import contract as C

MENTOR, MENTEE = "наставник", "наставляемый"
ROLES: tuple[str, ...] = C.dictionary_values("roles")
DECEMBER, MAY = C.dictionary_values("waves")
#: Longest comment kept (characters): a short remark, never an essay with names in it.
COMMENT_MAX = 300


class Kind(StrEnum):
    """How a question is answered on the page and written into the sheet."""

    SCALE = "scale"  # a whole number from `low` to `high`
    YESNO = "yesno"  # «да» / «нет»
    TEXT = "text"  # a short free text, stored as text (never a formula)


@dataclass(frozen=True)
class Question:
    """One question: the column it fills, its wording for each role, how it is answered."""

    key: str
    header: str  # the column's header on «Мониторинг» (matched by name, as the readers do)
    kind: Kind
    mentor: str  # wording for a mentor
    mentee: str  # wording for a mentee
    low: int = 0
    high: int = 0
    low_label: str = ""
    high_label: str = ""
    required: bool = True
    in_template_1_0: bool = False  # the column is in every book (template 1.0)

    def text(self, role: str) -> str:
        """The question as the participant of this role reads it."""
        return self.mentor if role == MENTOR else self.mentee

    @property
    def choices(self) -> tuple[str, ...]:
        """The values a participant picks from (none for free text)."""
        if self.kind is Kind.SCALE:
            return tuple(str(n) for n in range(self.low, self.high + 1))
        if self.kind is Kind.YESNO:
            return (C.YES, C.NO)
        return ()


def _header(key: str, fallback: str) -> str:
    """The contract's header when the contract has the column (template 1.1 and later)."""
    try:
        return C.MONITORING.column(key).header
    except KeyError:
        return fallback


QUESTIONS: tuple[Question, ...] = (
    Question("satisfaction", C.MONITORING.column("satisfaction").header, Kind.SCALE,
             "Насколько вы в целом довольны участием в программе наставничества?",
             "Насколько вы в целом довольны занятиями с наставником?",
             1, 10, "совсем не доволен", "полностью доволен", in_template_1_0=True),
    Question("comfort", _header("comfort", "Комфорт общения (1–5)"), Kind.SCALE,
             "Насколько комфортно вам общаться с наставляемым?",
             "Насколько вам комфортно общаться с наставником?",
             1, 5, "некомфортно", "очень комфортно"),
    Question("usefulness", _header("usefulness", "Польза встреч (1–5)"), Kind.SCALE,
             "Насколько полезны встречи для вашего наставляемого, на ваш взгляд?",
             "Насколько полезны для вас встречи с наставником?",
             1, 5, "бесполезны", "очень полезны"),
    Question("meetings_held", _header("meetings_held", "Встречи проходили по плану"),
             Kind.YESNO,
             "Встречи проходили по плану?",
             "Встречи с наставником проходили так, как договаривались?"),
    Question("wish_to_continue", _header("wish_to_continue", "Хочет продолжить"), Kind.YESNO,
             "Хотите ли вы продолжить наставничество?",
             "Хотите ли вы продолжить занятия с наставником?"),
    Question("comment", C.MONITORING.column("comment").header, Kind.TEXT,
             "Что бы вы хотели изменить или добавить? (необязательно)",
             "Что бы вы хотели изменить в занятиях? (необязательно)",
             required=False, in_template_1_0=True),
)
BY_KEY: dict[str, Question] = {q.key: q for q in QUESTIONS}
#: Answers written into columns only a newer template has (kept on the server otherwise).
EXTRA_KEYS: tuple[str, ...] = tuple(q.key for q in QUESTIONS if not q.in_template_1_0)

#: What the answer page tells every participant, minors included, before the questions.
PRIVACY_RU: tuple[str, ...] = (
    "Имя не нужно: анкета спрашивает только о занятиях. Код с листка связывает ответ с "
    "номером участника в книге школы (например, У-012), а не с фамилией.",
    "Зачем: школа и муниципальный центр смотрят, как идёт программа наставничества, и "
    "считают средний балл удовлетворённости.",
    "Кто видит ответы: куратор программы наставничества в вашей школе. Ответы переносятся "
    "в книгу школы (её получает и муниципальный центр) и затем удаляются с сервера.",
    "Не пишите в комментарии имена, телефоны и другие личные сведения.",
)

WAVE_MONTHS = {DECEMBER: 12, MAY: 5}


def school_year_of(wave: str, start_year: int) -> str:
    """«2026/27» for the school year that starts in September of `start_year`."""
    return f"{start_year}/{(start_year + 1) % 100:02d}"


def wave_title(wave: str, start_year: int) -> str:
    """«декабрь 2026 (2026/27 уч. г.)»: the month and year a wave falls in."""
    year = start_year if wave == DECEMBER else start_year + 1
    return f"{wave} {year} ({school_year_of(wave, start_year)} уч. г.)"
