"""Which column of a roadmap table holds what: by its header, or by its content.

``header_mapping`` reads a header row («Наименование мероприятий», «Срок реализации», …; case,
punctuation and extra words do not matter). ``shape_mapping`` recognises a table that has no
header row (the pages after the first one, or a table pasted without its header) by the shape
of its cells: a column of deadlines («до 30.09.2026», «ежеквартально»), a column of
responsible people (roles such as «Директор», «Куратор», or «Петрова А. С.») and a column of
long texts (the activities).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from addin.deadlines import parse_deadline
from addin.model import normalize_header

#: Column key -> header variants (compared after ``norm``). «content» is the second activity
#: column of tables that have both «Мероприятия» and «Содержание деятельности».
HEADER_VARIANTS: dict[str, tuple[str, ...]] = {
    "item_no": ("№", "№ п/п", "№п/п", "n п/п", "п/п", "номер", "№ пункта"),
    "section": ("наименование этапа", "этап", "этапы", "этап реализации", "раздел",
                "наименование раздела"),
    "activity": ("наименование мероприятий", "наименование мероприятия", "мероприятия",
                 "мероприятие", "перечень мероприятий", "наименование"),
    "content": ("содержание деятельности", "содержание работы", "содержание мероприятия",
                "содержание", "вид деятельности"),
    "deadline": ("срок", "сроки", "срок(и)", "срок реализации", "сроки реализации",
                 "сроки проведения", "срок проведения", "срок исполнения", "срок выполнения",
                 "дата", "дата проведения", "период"),
    "responsible": ("ответственные", "ответственный", "ответственный исполнитель",
                    "ответственные исполнители", "исполнители", "исполнитель"),
    "result": ("результат", "результаты", "ожидаемый результат", "ожидаемые результаты",
               "планируемый результат", "документ", "результат. вид документа",
               "вид документа", "итоговый документ", "форма отчетности"),
    "indicator": ("показатели", "показатель", "индикатор", "индикаторы"),
}
#: Words that keep a header out of the deadline column («Дата выполнения» is not a deadline).
_NOT_DEADLINE = re.compile(r"выполн|факт|отметк")
_KEY_ORDER = tuple(HEADER_VARIANTS)

#: An item number: «1», «1.», «5.1.2», «IV.»
NUMBER = re.compile(r"(?:\d{1,3}(?:\.\d{1,3})*\.?|[IVX]{1,5}\.?)")

#: Who is responsible: roles and bodies of a school or municipality, or a surname with initials.
_PERSON = re.compile(
    r"директор|заместител|замдиректор|куратор|руководител|педагог|учител|наставник|"
    r"администрац|методист|психолог|классн|ответствен|специалист|координатор|организатор|"
    r"воспитател|мастер|преподавател|социальн|завуч|инспектор|секретар|председател|"
    r"рабоч\w* групп|совет|комисси|служб|отдел|управлени|\bмнц\b|\bрнц\b|\bоо\b|\bсош\b|"
    r"\bпоо\b|\bдоо\b|[А-ЯЁ][а-яё]+\s+[А-ЯЁ]\.\s?[А-ЯЁ]\.|[А-ЯЁ]\.\s?[А-ЯЁ]\.\s?[А-ЯЁ][а-яё]+",
    re.I)
#: A surname with initials: «Петрова А. С.», «А.С. Петрова».
_NAME = re.compile(r"[А-ЯЁ][а-яё]+\s+[А-ЯЁ]\.\s?[А-ЯЁ]\.|[А-ЯЁ]\.\s?[А-ЯЁ]\.\s?[А-ЯЁ][а-яё]+")


def norm(text: str) -> str:
    """Header text as compared: lowercase, «ё» = «е», no punctuation, single spaces."""
    s = normalize_header(text).replace("№", " № ")
    s = re.sub(r"[^\w№ ]+", "", s)
    return " ".join(s.split())


_VARIANTS = {key: tuple(norm(v) for v in variants) for key, variants in HEADER_VARIANTS.items()}


def _score(header: str, key: str) -> int:
    """3: the header is a variant; 2: it starts with one; 1: contains one; 0: no match."""
    words = header.split()
    if key == "deadline" and _NOT_DEADLINE.search(header):
        return 0
    best = 0
    for variant in _VARIANTS[key]:
        v = variant.split()
        if words == v:
            return 3
        if words[:len(v)] == v:
            best = max(best, 2)
        elif len(words) <= 5 and any(words[i:i + len(v)] == v
                                     for i in range(len(words) - len(v) + 1)):
            best = max(best, 1)
    return best


_COMPACT = {"".join(v.split()): key for key in reversed(_KEY_ORDER) for v in _VARIANTS[key]}


def _match(text: str) -> tuple[int, str | None]:
    """(score, key) of the column a header cell names best; (0, None): none. A header whose
    word a narrow PDF column broke in two («Ответственны е») matches as a whole."""
    h = norm(text)
    if not h or len(h) > 80:
        return 0, None
    score, _, key = max((_score(h, k), -i, k) for i, k in enumerate(_KEY_ORDER))
    if score:
        return score, key
    compact = _COMPACT.get(h.replace(" ", ""))
    return (2, compact) if compact else (0, None)


def header_key(text: str) -> str | None:
    """The column key a header cell names best (None: none)."""
    return _match(text)[1]


def header_mapping(cells: Sequence[str]) -> dict[str, int] | None:
    """Column key -> cell index, when the cells name an activity and a deadline column."""
    best: dict[str, tuple[int, int]] = {}
    for j, cell in enumerate(cells):
        score, key = _match(cell)
        if key is None:
            continue
        if key not in best or score > best[key][0]:
            best[key] = (score, j)
    mapping = {key: j for key, (_, j) in best.items()}
    if "activity" not in mapping and "content" in mapping:
        mapping["activity"] = mapping.pop("content")
    if "activity" not in mapping or "deadline" not in mapping:
        return None
    return mapping


# ---------------------------------------------------------------------- by content


def _share(values: list[str], test) -> float:
    return sum(1 for v in values if test(v)) / len(values) if values else 0.0


def _is_deadline(text: str) -> bool:
    return len(text) <= 120 and parse_deadline(text).kind not in ("unreadable", "empty")


def _best(columns: dict[int, list[str]], test, skip: set[int]) -> tuple[float, int]:
    scored = [(_share(v, test), -j) for j, v in columns.items() if j not in skip and v]
    share, j = max(scored, default=(0.0, 0))
    return share, -j


def shape_mapping(rows: Sequence[Sequence[str]]) -> dict[str, int] | None:
    """Column key -> index for a table without a header, recognised by what its cells hold.

    A roadmap body has a column where most filled cells read as deadlines, another where
    most name a responsible person or body, and a column of activity texts (the longest texts
    left of the deadline). A column of item numbers and a text column after both deadline and
    responsible (the result) are taken when present. None: the table does not look like one.
    """
    width = max((len(r) for r in rows), default=0)
    columns = {j: [r[j] for r in rows if j < len(r) and r[j]] for j in range(width)}
    filled = sum(1 for r in rows if sum(1 for c in r if c) >= 2)
    if width < 3 or filled < 1:
        return None
    share, deadline = _best(columns, _is_deadline, set())
    if share < 0.5 or len(columns[deadline]) < max(1, filled // 2):
        return None
    first = next(r for r in rows if any(r))
    if len(first) >= 3 and all(first) and not _is_deadline(first[deadline]):
        return None  # a header row of its own («ФИО | Должность | Дата»): not a roadmap
    share, responsible = _best(columns, lambda v: bool(_PERSON.search(v)), {deadline})
    if share < 0.5:
        return None
    mapping = {"deadline": deadline, "responsible": responsible}
    share, number = _best(columns, lambda v: bool(NUMBER.fullmatch(v)), set(mapping.values()))
    if share >= 0.6 and number < deadline:
        mapping["item_no"] = number
    texts = {j: v for j, v in columns.items() if j not in mapping.values() and v}
    before = {j: v for j, v in texts.items() if j < deadline} or texts
    if not before:
        return None
    activity = max(before, key=lambda j: sum(map(len, before[j])) / len(before[j]))
    values = before[activity]
    # activities are sentences, not names: «Петрова А. С.» | «Куратор» | «01.09.2026» is a list
    # of people with dates, not a roadmap
    if sum(map(len, values)) / len(values) < 15 or _share(values, _NAME.search) >= 0.5:
        return None
    mapping["activity"] = activity
    after = [j for j in texts if j > max(deadline, responsible)]
    if after:
        mapping["result"] = after[0]
    return mapping
