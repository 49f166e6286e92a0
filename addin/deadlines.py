"""Parse the free Russian text of a roadmap deadline («срок») into a due date or a recurrence.

The original text is always kept; what cannot be read is ``kind="unreadable"``, never a guess.

Kinds: ``date`` (exact day, or a month: ``start`` = 1st, ``due`` = last day), ``range``
(quarter, half-year, year, school year, «сентябрь-декабрь 2020», «с … по …»), ``recurrence``,
``no_deadline`` («без срока»: «в течение года», «постоянно», «по графику», «с 01.09.2020»),
``relative`` («в течение двух недель с даты …»: ``due`` only with an ``anchor``), ``unreadable``,
``empty``.

Recurrence strings (``Deadline.recurrence``):
``daily``, ``weekly``, ``monthly``, ``quarterly``, ``halfyearly``, ``yearly`` — the end of each
week (Sunday) / month / quarter / half-year / year; when ``start`` is set, instead every
7 days / 1 / 3 / 6 / 12 months counted from ``start``.
``monthly:25`` — the 25th of every month (clamped to short months).
``yearly:9`` — every year, by the end of September.
``months:1,6`` — every year, by the end of January and of June.
``yearly_dates:05-20,12-20`` — every year by 20 May and by 20 December (MM-DD, sorted).

Decisions: a school year named explicitly («в течение 2020-2021 учебного года») is a range
01.09.2020–31.08.2021, not «без срока»; «2021-2022 гг.» is 01.01.2021–31.12.2022. Two or more
months or days without a year («январь, июнь», «до 20 декабря и до 20 мая») are a yearly
recurrence (with a note); a single one («сентябрь», «IV квартал») is unreadable: «не указан год».
«до мая 2021» (a period, not a day) is due on its first day, 01.05.2021, with a note;
«до конца мая 2021» is due on 31.05.2021.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date, timedelta

KINDS = ("date", "range", "recurrence", "no_deadline", "relative", "unreadable", "empty")

_MONTHS_RU = ("январь", "февраль", "март", "апрель", "май", "июнь", "июль", "август",
              "сентябрь", "октябрь", "ноябрь", "декабрь")
_MONTH_STEMS = ("январ", "феврал", "март", "апрел", "ма", "июн", "июл", "август", "сентябр",
                "октябр", "ноябр", "декабр")
_MONTH = "(?:" + "|".join(_MONTH_STEMS) + ")[ьяейаюу]?"
_ORD = r"(?:iv|iii|ii|i|[1-4]|перв\w*|втор\w*|трет\w*|четверт\w*)"
_NUMBERS = {"один": 1, "одна": 1, "одну": 1, "одного": 1, "одной": 1, "два": 2, "две": 2,
            "двух": 2, "три": 3, "трех": 3, "четыре": 4, "четырех": 4, "пять": 5, "пяти": 5,
            "шесть": 6, "шести": 6, "семь": 7, "семи": 7, "восемь": 8, "восьми": 8,
            "девять": 9, "девяти": 9, "десять": 10, "десяти": 10, "пятнадцать": 15,
            "пятнадцати": 15, "двадцать": 20, "двадцати": 20, "тридцать": 30, "тридцати": 30}
_STEP_MONTHS = {"monthly": 1, "quarterly": 3, "halfyearly": 6, "yearly": 12}
_FREQ_RU = {"daily": "ежедневно", "weekly": "еженедельно", "monthly": "ежемесячно",
            "quarterly": "ежеквартально", "halfyearly": "раз в полугодие", "yearly": "ежегодно"}
_FREQUENCIES = (
    (r"ежедневно|каждый день", "daily"),
    (r"еженедельно|каждую неделю|раз в неделю", "weekly"),
    (r"ежемесячно|каждый месяц|раз в месяц", "monthly"),
    (r"ежеквартально|каждый квартал|раз в квартал|по кварталам", "quarterly"),
    (r"раз в (?:полугодие|полгода)|каждое полугодие|по полугодиям|дважды в год"
     r"|(?:2|два) раза в год", "halfyearly"),
    (r"ежегодно|каждый год|раз в год", "yearly"),
)
_NO_DEADLINE = (
    r"(?:(?:в течение|в течении|на протяжении) |весь |все )(?:(?:всего|текущего|календарного"
    r"|учебного|учебный|отчетного) )*(?:года|год|периода|период|срока|срок)(?: \D*)?",
    r"постоянно|регулярно|систематически|бессрочно|без срока|в рабочем порядке"
    r"|по (?:мере )?необходимости|по запросу|по мере (?:поступления|появления|обращения)\D*",
    r"(?:по|согласно|в соответствии со?) (?:отдельному |утвержденному |индивидуальному )?"
    r"(?:график|план|срок|расписани)\w*(?: \D*)?",
    r"(?:в|на) (?:период |течение )?(?:всего )?(?:периода |срока )?"
    r"(?:реализации|действия|внедрения)(?: \D*)?",
)
_RELATIVE = re.compile(
    r"(?P<pre>в течение|в течении|не позднее|не позже|через|за)?\s*(?P<n>\d{1,3}|"
    + "|".join(_NUMBERS) + r")?\s*(?P<unit>рабоч\w* дн\w*|дн\w*|день|сут\w*|недел\w*|"
    r"месяц\w*|полугода|полгода|года|год|лет)(?: (?P<tail>(?:с|со|от|после|до|по окончании"
    r"|по завершении)\b.*))?")
_AFTER = re.compile(r"(?:сразу )?(?:после|по окончании|по завершении) \D+")
_DMY = r"(\d{1,2})\.(\d{1,2})\.(\d{4}|\d{2})(?!\d)"


@dataclass(frozen=True)
class Deadline:
    """A parsed deadline; ``text`` is the original cell text, unchanged."""

    text: str
    kind: str
    start: date | None = None
    due: date | None = None
    recurrence: str | None = None
    note: str | None = None

    @property
    def has_due(self) -> bool:
        """True when the deadline can ever be overdue (a due date or a recurrence)."""
        return self.due is not None or self.kind == "recurrence"

    def describe_ru(self) -> str:
        """A short normalized Russian form for a workbook cell."""
        if self.kind in ("date", "relative") and self.due:
            return _fmt(self.due)
        if self.kind == "range" and self.start and self.due:
            return f"{_fmt(self.start)}–{_fmt(self.due)}"
        if self.kind == "recurrence" and self.recurrence:
            base = _describe_recurrence(self.recurrence)
            return f"{base}, с {_fmt(self.start)}" if self.start else base
        if self.kind == "no_deadline":
            return f"без срока, с {_fmt(self.start)}" if self.start else "без срока"
        return {"relative": "нужна дата отсчёта", "empty": "срок не указан"}.get(
            self.kind, "не распознано")

    def due_by(self, reference: date) -> date | None:
        """The latest due date on or before ``reference`` (for overdue checks), else None."""
        if self.kind == "recurrence" and self.recurrence:
            try:
                return _last_occurrence(self.recurrence, self.start, reference)
            except (ValueError, OverflowError):  # only at the very ends of the calendar
                return None
        if self.kind in ("date", "range", "relative") and self.due and self.due <= reference:
            return self.due
        return None


def parse_deadline(text: str | None, anchor: date | None = None) -> Deadline:
    """Parse a deadline cell; ``anchor`` resolves relative phrases («в течение 2 недель с …»)."""
    original = "" if text is None else str(text)
    s = _normalize(original)
    if not s:
        return Deadline(original, "empty")
    try:
        for parser in (_parse_relative, _parse_no_deadline, _parse_recurrence, _parse_dates):
            found = parser(original, s, anchor)
            if found is not None:
                return found
    except (ValueError, OverflowError):
        pass
    no_year = re.search(r"\b" + _MONTH + r"\b|квартал|полугоди", s) and not re.search(r"\d{4}", s)
    return Deadline(original, "unreadable", note="не указан год" if no_year else None)


def _normalize(text: str) -> str:
    """Lowercase, unify spaces/dashes/«ё», drop year words («г.», «года») and end punctuation."""
    s = text.lower().replace("ё", "е").replace("\u00a0", " ")
    s = re.sub(r"[\u2010-\u2015\u2212]", "-", s)
    s = re.sub(r"(\d+)\s*-\s*(?:го|й|е|ого|ое|ий|ый|м)\b", r"\1", s)
    s = re.sub(r"(?:(?<=\d{4})|(?<=\.\d\d))\s*(?:гг|г|года|году|годы|год)\.?(?![а-я])", "", s)
    s = re.sub(r"\(?включительно\)?", "", s)
    s = re.sub(r"\s+", " ", s)
    return s.strip(" .,;:«»\"'")


def _parse_relative(text: str, s: str, anchor: date | None) -> Deadline | None:
    """«в течение двух недель с даты определения модели», «за 3 дня до …», «после …»."""
    m = _RELATIVE.fullmatch(s)
    if m is None:
        if _AFTER.fullmatch(s):
            return _relative(text, 0, "days", s, anchor)
        return None
    pre, n, unit, tail = m["pre"], m["n"], m["unit"], m["tail"]
    if tail and tail.startswith("до") != (pre == "за"):
        return None
    if n is None and not tail and (unit.startswith(("год", "лет")) or pre != "в течение"):
        return None
    count = (int(n) if n.isdigit() else _NUMBERS[n]) if n else 1
    if unit.startswith(("полуг", "полг")):
        count, unit = count * 6, "месяц"
    step = {"р": "workdays", "д": "days", "с": "days", "н": "weeks", "м": "months"}.get(unit[0])
    count = -count if pre == "за" else count
    return _relative(text, count, step or "years", tail, anchor)


def _relative(text: str, count: int, step: str, tail: str | None, anchor: date | None) -> Deadline:
    """Build a relative deadline, resolving it from ``anchor`` or a date written in the tail."""
    found = re.search(_DMY, tail or "")
    base = _make_date(*found.groups()) if found else anchor
    if base is None:
        return Deadline(text, "relative", note=f"нужна дата: {tail or 'не указано, от чего'}")
    if step == "workdays":
        due, left = base, abs(count)
        while left:
            due += timedelta(days=1 if count > 0 else -1)
            left -= due.weekday() < 5
    elif step in ("days", "weeks"):
        due = base + timedelta(days=count * (7 if step == "weeks" else 1))
    else:
        due = _add_months(base, count * (12 if step == "years" else 1))
    return Deadline(text, "relative", due=due, note=f"отсчёт от {_fmt(base)}: {tail or 'дата'}")


def _parse_no_deadline(text: str, s: str, anchor: date | None) -> Deadline | None:
    """Phrases that name no date at all («в течение года», «постоянно», «по графику»)."""
    if any(re.fullmatch(p, s) for p in _NO_DEADLINE):
        return Deadline(text, "no_deadline")
    return None


def _parse_recurrence(text: str, s: str, anchor: date | None) -> Deadline | None:
    """«ежеквартально», «ежемесячно 25 числа», «сентябрь ежегодно», «январь, июнь», …"""
    freq, rest = None, s
    for pattern, form in _FREQUENCIES:
        if m := re.search(r"(?:(?:1|один) )?(?:" + pattern + ")", rest):
            freq, rest = form, f"{rest[:m.start()]} {rest[m.end():]}"
            break
    rest, starts = _take(rest, _DMY)
    rest, dom = _take(rest, r"(?:до |не позднее |к )?(\d{1,2}) числа")
    rest, every_month = _take(rest, r"каждого месяца")
    rest, named = _take(rest, r"(?:до |к |не позднее )?(\d{1,2}) (" + _MONTH + r")\b(?! ?\d)")
    rest, numeric = _take(rest, r"(?:до |к |не позднее )?(\d{1,2})\.(\d{1,2})(?![.\d])")
    rest, months = _take(rest, r"\b(?:в |во )?(" + _MONTH + r")\b(?! ?\d)")
    rest = re.sub(r"\b(?:в|и|на|с|начиная с)\b|[,;:()]", " ", rest).strip()
    days = sorted({(_month_no(mo), int(d)) for d, mo in named}
                  | {(int(mo), int(d)) for d, mo in numeric})
    month_set = sorted({_month_no(mo) for (mo,) in months})
    if freq is None and (rest or starts or len(days) + len(month_set) + len(dom) < 2
                         and not (dom and every_month)):
        return None  # not a recurrence: let the date parser try
    days_of_month = [int(d) for (d,) in dom]
    form = None if rest or len(starts) > 1 else _recurrence_form(
        freq, days_of_month, days, month_set)
    if form is None:
        return Deadline(text, "unreadable")
    start = _make_date(*starts[0]) if starts else None
    note = "год не указан: понято как ежегодно" if freq is None and (days or month_set) else None
    return Deadline(text, "recurrence", start=start, due=start, recurrence=form, note=note)


def _recurrence_form(freq: str | None, dom: list[int], days: list[tuple[int, int]],
                     months: list[int]) -> str | None:
    """The recurrence string for a frequency and the days/months named with it; None: a clash."""
    named = days or months
    if sum(map(bool, (dom, days, months))) > 1 or freq in ("daily", "weekly") and (dom or named):
        return None
    if dom:
        fits = len(dom) == 1 and 1 <= dom[0] <= 31 and freq in (None, "monthly")
        return f"monthly:{dom[0]}" if fits else None
    expected = {"monthly": 0, "quarterly": 4, "halfyearly": 2}.get(str(freq), len(named))
    if named and expected != len(named):
        return None
    for month, day in days:
        date(2000, month, day)  # a leap year: raises ValueError on 31.02, 12.34, …
    if days:
        return "yearly_dates:" + ",".join(f"{month:02d}-{day:02d}" for month, day in days)
    if len(months) == 1 and freq in (None, "yearly"):
        return f"yearly:{months[0]}"
    return "months:" + ",".join(map(str, months)) if months else freq


_IN = r"(?:в течение|в течении|в период|на период|в|во|на|за) "
_MODES = ((r"(?:в срок |срок )?(?:до|не позднее|не позже|по|к) (?:конца|концу) |конец ", "end"),
          (r"(?:в срок |срок )?(?:до|не позднее|не позже|по|к) ", "by"),
          (r"(?:начиная )?(?:с|от) ", "from"))


def _parse_dates(text: str, s: str, anchor: date | None) -> Deadline | None:
    """Exact dates, months, quarters, half-years, years, school years and ranges of them."""
    s = re.sub("^" + _IN, "", s)
    if iso := re.fullmatch(r"(\d{4})-(\d{1,2})-(\d{1,2})(?: 00:00(?::00)?)?", s):
        return Deadline(text, "date", due=_make_date(iso[3], iso[2], iso[1]))
    school = re.fullmatch(r"(\d{4}) ?[-/] ?(\d{4}|\d{2}) (?:учебн\w*|уч\.?) ?(?:год\w*|г\.?)?", s)
    if school:
        first = int(school[1])
        if int(school[2]) % 100 != (first + 1) % 100:
            return None
        return Deadline(text, "range", start=_make_date(1, 9, first), due=date(first + 1, 8, 31))
    if pair := re.fullmatch(r"(?:с|от) (.+?) (?:по|до) (.+)", s):
        return _range(text, pair[1], pair[2])
    mode = "in"
    for pattern, name in _MODES:
        if m := re.match(pattern, s):
            mode, s = name, s[m.end():]
            break
    window = _point(s)
    if window is None:
        pair = re.fullmatch(r"([^-]+?) ?- ?([^-]+)", s)
        return _range(text, pair[1], pair[2]) if pair and mode == "in" else None
    start, end, exact = window
    if mode == "from":
        return Deadline(text, "no_deadline", start=start, note="указано только начало срока")
    if exact or mode == "end":
        return Deadline(text, "date", due=end)
    if mode == "by":
        return Deadline(text, "date", due=start, note=f"понято как до {_fmt(start)}")
    is_month = start.day == 1 and end == _month_end(start.year, start.month)
    return Deadline(text, "date" if is_month else "range", start=start, due=end)


def _range(text: str, left: str, right: str) -> Deadline | None:
    """«сентябрь-декабрь 2020», «сентябрь 2020 – май 2021», «с 01.09.2020 по 31.05.2021»."""
    last = _point(right)
    if last is None:
        return None
    if re.fullmatch(_ORD, left) and (unit := re.search(r" (?:квартал|полугоди)\w*", right)):
        left += unit[0]  # «I-II квартал 2021»
    first = _point(left, last[1], day_only=last[2])
    if first is None:
        return None
    start = first[0]
    if start > last[1] and not re.search(r"\d{4}|\.\d\d$", left):
        start = start.replace(year=start.year - 1)
    if start > last[1]:
        return None
    return Deadline(text, "range", start=start, due=last[1])


def _point(s: str, default: date | None = None, day_only: bool = False
           ) -> tuple[date, date, bool] | None:
    """One point or period: (first day, last day, is an exact day).

    The year comes from ``default`` when missing; so does the month of a bare day («с 1 по 15
    сентября 2021»), but only if ``day_only`` says the other end is an exact day.
    """
    year = str(default.year) if default else None
    if m := re.fullmatch(_DMY, s):
        day = _make_date(*m.groups())
        return day, day, True
    if m := re.fullmatch(r"(\d{1,2})(?: (" + _MONTH + r")|\.(\d{1,2}))?(?: (\d{4}))?", s):
        month = _month_no(m[2]) if m[2] else m[3] or (default.month if day_only else None)
        y = m[4] or year
        if y is None or month is None or (m[2] is None and m[3] is None and m[4]):
            return None
        day = _make_date(m[1], month, y)
        return day, day, True
    if (m := re.fullmatch(r"(" + _MONTH + r")(?: (\d{4}))?", s)) and (m[2] or year):
        first = _make_date(1, _month_no(m[1]), m[2] or year)
        return first, _month_end(first.year, first.month), False
    m = re.fullmatch(_ORD + r" (квартал|полугоди)\w*(?: (\d{4}))?", s)
    if m and (m[2] or year):
        size, part = 3 if m[1] == "квартал" else 6, _ordinal(s.split()[0])
        if part is None or part * size > 12:
            return None
        first = _make_date(1, part * size - size + 1, m[2] or year)
        return first, _month_end(first.year, part * size), False
    if re.fullmatch(r"\d{4}", s):
        first = _make_date(1, 1, s)
        return first, date(first.year, 12, 31), False
    return None


def _take(s: str, pattern: str) -> tuple[str, list[tuple[str, ...]]]:
    """Remove every match of ``pattern`` from ``s``; return the rest and the match groups."""
    found = [m.groups() or (m[0],) for m in re.finditer(pattern, s)]
    return re.sub(pattern, " ", s), found


def _ordinal(word: str) -> int | None:
    """1–4 from «1», «IV», «первое», «четвертый», …"""
    forms = (("1", "i", "перв"), ("2", "ii", "втор"), ("3", "iii", "трет"), ("4", "iv", "четверт"))
    return next((i + 1 for i, (digit, roman, stem) in enumerate(forms)
                 if word in (digit, roman) or word.startswith(stem)), None)


def _month_no(word: str) -> int:
    """Month number of a month name in any case («мая», «сентябре»)."""
    return next(i + 1 for i, stem in enumerate(_MONTH_STEMS)
                if word.startswith(stem) and len(word) - len(stem) <= 1)


def _make_date(day: str | int, month: str | int, year: str | int) -> date:
    """A date from parts; 2-digit years are 20yy; raises ValueError when out of range."""
    y = int(year) + (2000 if len(str(year)) == 2 else 0)
    if not 1900 <= y <= 2199:
        raise ValueError(f"year out of range: {y}")
    return date(y, int(month), int(day))


def _month_end(year: int, month: int) -> date:
    """Last day of the month."""
    return date(year, month, calendar.monthrange(year, month)[1])


def _add_months(day: date, months: int) -> date:
    """Shift by whole months, clamping the day to the month's length."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    return date(year, month + 1, min(day.day, calendar.monthrange(year, month + 1)[1]))


def _fmt(day: date) -> str:
    """dd.mm.yyyy."""
    return f"{day.day:02d}.{day.month:02d}.{day.year}"


def _describe_recurrence(rec: str) -> str:
    """Russian wording of a recurrence string."""
    form, _, arg = rec.partition(":")
    if form == "monthly" and arg:
        return f"ежемесячно, {arg} числа"
    if form == "yearly" and arg:
        return f"ежегодно, {_MONTHS_RU[int(arg) - 1]}"
    if form == "months":
        return "ежегодно: " + ", ".join(_MONTHS_RU[int(m) - 1] for m in arg.split(","))
    if form == "yearly_dates":
        return "ежегодно: " + ", ".join(f"{d[3:]}.{d[:2]}" for d in arg.split(","))
    return _FREQ_RU.get(form, rec)


def _last_occurrence(rec: str, start: date | None, reference: date) -> date | None:
    """The last occurrence of ``rec`` on or before ``reference`` (and not before ``start``)."""
    if start and reference < start:
        return None
    form, _, arg = rec.partition(":")
    if form == "daily":
        return reference
    if start and not arg and form == "weekly":
        return start + timedelta(days=(reference - start).days // 7 * 7)
    if start and not arg and form in _STEP_MONTHS:
        step = _STEP_MONTHS[form]
        k = ((reference.year - start.year) * 12 + reference.month - start.month) // step
        while _add_months(start, k * step) > reference:
            k -= 1
        return _add_months(start, k * step)
    if form == "weekly":
        return reference - timedelta(days=(reference.weekday() + 1) % 7)
    for back in range(13):
        first = _add_months(reference.replace(day=1), -back)
        hits = [d for d in _in_month(form, arg, first.year, first.month) if d <= reference]
        if hits:
            found = max(hits)
            return found if start is None or found >= start else None
    return None


def _in_month(form: str, arg: str, year: int, month: int) -> list[date]:
    """Occurrences of a calendar-fixed recurrence inside one month."""
    end = _month_end(year, month)
    if form == "monthly" and arg:
        return [end.replace(day=min(int(arg), end.day))]
    if form == "yearly_dates":
        pairs = [tuple(map(int, d.split("-"))) for d in arg.split(",")]
        return [end.replace(day=min(d, end.day)) for mo, d in pairs if mo == month]
    if form in ("yearly", "months") and arg:
        return [end] if month in {int(m) for m in arg.split(",")} else []
    return [end] if month % _STEP_MONTHS.get(form, 13) == 0 else []
