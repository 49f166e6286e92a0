"""Tests for addin.deadlines: every deadline phrase of domain.md and of the seed roadmaps."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from addin.deadlines import KINDS, Deadline, parse_deadline

D = date
SHARED = Path(__file__).resolve().parents[2] / "shared"

# (phrase, kind, start, due, recurrence)
Case = tuple[str, str, date | None, date | None, str | None]

# Every deadline example of /work/shared/domain.md, section «Roadmap», literally.
DOMAIN_PHRASES: list[Case] = [
    ("Сентябрь 2021 г.", "date", D(2021, 9, 1), D(2021, 9, 30), None),
    ("до 30.09.2020", "date", None, D(2020, 9, 30), None),
    ("До 20.02.2021 г.", "date", None, D(2021, 2, 20), None),
    ("08.10.2020", "date", None, D(2020, 10, 8), None),
    ("сентябрь-декабрь 2020", "range", D(2020, 9, 1), D(2020, 12, 31), None),
    ("май-июнь 2020 г.", "range", D(2020, 5, 1), D(2020, 6, 30), None),
    ("до 10 января 2021 года", "date", None, D(2021, 1, 10), None),
    ("август 2020 года", "date", D(2020, 8, 1), D(2020, 8, 31), None),
    ("Май 2024 года", "date", D(2024, 5, 1), D(2024, 5, 31), None),
    ("ежеквартально", "recurrence", None, None, "quarterly"),
    ("ежемесячно 25 числа каждого месяца", "recurrence", None, None, "monthly:25"),
    ("сентябрь ежегодно", "recurrence", None, None, "yearly:9"),
    ("январь, июнь", "recurrence", None, None, "months:1,6"),
    ("в течение года", "no_deadline", None, None, None),
    ("в течение учебного года", "no_deadline", None, None, None),
    ("в течение всего периода реализации ЦМН", "no_deadline", None, None, None),
    ("постоянно", "no_deadline", None, None, None),
    ("по отдельному графику", "no_deadline", None, None, None),
    ("в течение двух недель с даты определения модели", "relative", None, None, None),
    ("на 15.12.2020, ежеквартально", "recurrence", D(2020, 12, 15), D(2020, 12, 15), "quarterly"),
]

# Every «срок» cell of the three seed roadmaps, continued lines joined with a space.
SEED_PHRASES: list[Case] = [
    # 000: Таштагольский муниципальный район, 2021-2022
    ("Май 2021 г.", "date", D(2021, 5, 1), D(2021, 5, 31), None),
    ("Сентябрь 2021 г.", "date", D(2021, 9, 1), D(2021, 9, 30), None),
    ("Октябрь 2021 г.", "date", D(2021, 10, 1), D(2021, 10, 31), None),
    ("В течение всего периода реализации ЦМН", "no_deadline", None, None, None),
    ("В течение всего периода", "no_deadline", None, None, None),
    ("В течение двух недель с даты определения модели", "relative", None, None, None),
    ("В соответствии со сроками реализации программ наставничества в ОО",
     "no_deadline", None, None, None),
    ("ежеквартально", "recurrence", None, None, "quarterly"),
    ("Ежемесячно 25 числа каждого месяца", "recurrence", None, None, "monthly:25"),
    ("Май 2022 г.", "date", D(2022, 5, 1), D(2022, 5, 31), None),
    # 001: МБОУ ЦДТ «Паллада», 2020-2024
    (" май-июнь 2020 г.", "range", D(2020, 5, 1), D(2020, 6, 30), None),
    ("май-июнь 2020 г.", "range", D(2020, 5, 1), D(2020, 6, 30), None),
    ("в течение учебного года", "no_deadline", None, None, None),
    ("сентябрь 2020 г.", "date", D(2020, 9, 1), D(2020, 9, 30), None),
    ("сентябрь-ноябрь 2020 г.", "range", D(2020, 9, 1), D(2020, 11, 30), None),
    ("ежегодно", "recurrence", None, None, "yearly"),
    ("Октябрь ежегодно", "recurrence", None, None, "yearly:10"),
    ("Май 2024 года", "date", D(2024, 5, 1), D(2024, 5, 31), None),
    # 003: МБОУ «Школа №32», «Учитель-учитель»
    ("август 2020 года", "date", D(2020, 8, 1), D(2020, 8, 31), None),
    ("сентябрь ежегодно", "recurrence", None, None, "yearly:9"),
    ("в течение года", "no_deadline", None, None, None),
    ("август ежегодно", "recurrence", None, None, "yearly:8"),
    ("январь, июнь", "recurrence", None, None, "months:1,6"),
    # plan periods in the titles (000: «на 2021-2022 год», 001: «на 2020 - 2024 гг.»)
    ("на 2021-2022 год", "range", D(2021, 1, 1), D(2022, 12, 31), None),
    ("2020 - 2024 гг.", "range", D(2020, 1, 1), D(2024, 12, 31), None),
]

# Further forms named in the brief of the parser (not in the shared files).
EXTRA_PHRASES: list[Case] = [
    ("не позднее 25.12.2021", "date", None, D(2021, 12, 25), None),
    ("к 1 сентября 2021", "date", None, D(2021, 9, 1), None),
    ("до 25.12.21 г.", "date", None, D(2021, 12, 25), None),
    ("Мая 2021", "date", D(2021, 5, 1), D(2021, 5, 31), None),
    ("в сентябре 2021 г.", "date", D(2021, 9, 1), D(2021, 9, 30), None),
    ("до конца 2021 года", "date", None, D(2021, 12, 31), None),
    ("2021-09-01 00:00:00", "date", None, D(2021, 9, 1), None),
    ("сентябрь 2020 – май 2021", "range", D(2020, 9, 1), D(2021, 5, 31), None),
    ("сентябрь 2020 — май 2021 г.", "range", D(2020, 9, 1), D(2021, 5, 31), None),
    ("с 01.09.2020 по 31.05.2021", "range", D(2020, 9, 1), D(2021, 5, 31), None),
    ("с 1 сентября по 31 мая 2021", "range", D(2020, 9, 1), D(2021, 5, 31), None),
    ("2021-2022 гг.", "range", D(2021, 1, 1), D(2022, 12, 31), None),
    ("2021-2022 учебный год", "range", D(2021, 9, 1), D(2022, 8, 31), None),
    ("в течение 2020-2021 учебного года", "range", D(2020, 9, 1), D(2021, 8, 31), None),
    ("2021 год", "range", D(2021, 1, 1), D(2021, 12, 31), None),
    ("в 2022 году", "range", D(2022, 1, 1), D(2022, 12, 31), None),
    ("I квартал 2021", "range", D(2021, 1, 1), D(2021, 3, 31), None),
    ("4 квартал 2022 г.", "range", D(2022, 10, 1), D(2022, 12, 31), None),
    ("1 полугодие 2021", "range", D(2021, 1, 1), D(2021, 6, 30), None),
    ("второе полугодие 2021", "range", D(2021, 7, 1), D(2021, 12, 31), None),
    ("I-II квартал 2021", "range", D(2021, 1, 1), D(2021, 6, 30), None),
    ("3-й квартал 2021", "range", D(2021, 7, 1), D(2021, 9, 30), None),
    ("с 1 по 15 сентября 2021", "range", D(2021, 9, 1), D(2021, 9, 15), None),
    ("декабрь - январь 2021", "range", D(2020, 12, 1), D(2021, 1, 31), None),
    ("2020/21 уч. год", "range", D(2020, 9, 1), D(2021, 8, 31), None),
    ("II полугодие 2021 г.", "range", D(2021, 7, 1), D(2021, 12, 31), None),
    ("ежемесячно", "recurrence", None, None, "monthly"),
    ("1 раз в месяц", "recurrence", None, None, "monthly"),
    ("ежемесячно, до 5-го числа", "recurrence", None, None, "monthly:5"),
    ("раз в полгода", "recurrence", None, None, "halfyearly"),
    ("ежеквартально: март, июнь, сентябрь, декабрь", "recurrence", None, None,
     "months:3,6,9,12"),
    ("еженедельно", "recurrence", None, None, "weekly"),
    ("ежегодно в сентябре", "recurrence", None, None, "yearly:9"),
    ("декабрь, май", "recurrence", None, None, "months:5,12"),
    ("2 раза в год (декабрь, май)", "recurrence", None, None, "months:5,12"),
    ("до 20 декабря и до 20 мая", "recurrence", None, None, "yearly_dates:05-20,12-20"),
    ("ежегодно, до 30 декабря", "recurrence", None, None, "yearly_dates:12-30"),
    ("сентябрь\nежегодно", "recurrence", None, None, "yearly:9"),
    ("В течение всего периода\nреализации ЦМН", "no_deadline", None, None, None),
    ("по графику", "no_deadline", None, None, None),
    ("по мере необходимости", "no_deadline", None, None, None),
    ("весь период", "no_deadline", None, None, None),
    ("в течение 10 дней после издания приказа", "relative", None, None, None),
    ("в течение месяца с даты приказа", "relative", None, None, None),
    ("с сентября 2020", "no_deadline", D(2020, 9, 1), None, None),
    ("  ДО\u00a030.09.2020  г. ", "date", None, D(2020, 9, 30), None),
]

ALL_PHRASES = DOMAIN_PHRASES + SEED_PHRASES + EXTRA_PHRASES


@pytest.mark.parametrize(("text", "kind", "start", "due", "recurrence"), ALL_PHRASES,
                         ids=[repr(case[0]) for case in ALL_PHRASES])
def test_phrase(text: str, kind: str, start: date | None, due: date | None,
                recurrence: str | None) -> None:
    parsed = parse_deadline(text)
    assert parsed.text == text
    assert (parsed.kind, parsed.start, parsed.due, parsed.recurrence) == (
        kind, start, due, recurrence)


def _squash(text: str) -> str:
    return re.sub(r"\s+", " ", text)


def test_seed_phrases_occur_in_the_seed_roadmaps() -> None:
    seeds = SHARED / "seeds"
    if not seeds.is_dir():
        pytest.skip(f"no seed roadmaps at {seeds}")
    corpus = " ".join(_squash(p.read_text(encoding="utf-8")) for p in sorted(seeds.glob("*.txt")))
    missing = [text for text, *_ in SEED_PHRASES if _squash(text) not in corpus]
    assert not missing


def test_domain_phrases_occur_in_domain_md() -> None:
    domain = SHARED / "domain.md"
    if not domain.is_file():
        pytest.skip(f"no {domain}")
    corpus = _squash(domain.read_text(encoding="utf-8"))
    missing = [text for text, *_ in DOMAIN_PHRASES if f"«{_squash(text)}»" not in corpus]
    assert not missing


@pytest.mark.parametrize("text", ["когда-нибудь", "12.34.2020", "31.02.2021", "сентябрь",
                                  "IV квартал", "до 20 декабря", "ежегодно, сентябрь 2021",
                                  "ежеквартально до 5 числа месяца, следующего за отчетным",
                                  "ежеквартально 25 числа", "раз в полгода, сентябрь",
                                  "5 и 20 числа каждого месяца", "2020-2022 учебный год",
                                  "с 31.12.2020 по 01.09.2020", "01.09.2021, 01.03.2022",
                                  "1 - сентябрь 2021", "ежегодно, 31.02"])
def test_unreadable_keeps_the_text(text: str) -> None:
    parsed = parse_deadline(text)
    assert (parsed.kind, parsed.text, parsed.due) == ("unreadable", text, None)
    assert parsed.describe_ru() == "не распознано"
    assert not parsed.has_due


def test_missing_year_is_explained() -> None:
    assert parse_deadline("сентябрь").note == "не указан год"


@pytest.mark.parametrize("text", [None, "", "   ", "\n\t\u00a0"])
def test_empty(text: str | None) -> None:
    parsed = parse_deadline(text)
    assert parsed.kind == "empty"
    assert parsed.text == (text or "")


def test_relative_without_anchor_asks_for_a_date() -> None:
    parsed = parse_deadline("в течение двух недель с даты определения модели")
    assert parsed.note == "нужна дата: с даты определения модели"
    assert parsed.describe_ru() == "нужна дата отсчёта"
    assert parsed.due_by(D(2030, 1, 1)) is None


@pytest.mark.parametrize(("text", "due"), [
    ("в течение двух недель с даты определения модели", D(2021, 9, 15)),
    ("в течение 10 дней после издания приказа", D(2021, 9, 11)),
    ("в течение месяца с даты приказа", D(2021, 10, 1)),
    ("в течение трёх дней с даты приказа", D(2021, 9, 4)),
    ("за 3 дня до начала занятий", D(2021, 8, 29)),
    ("после издания приказа", D(2021, 9, 1)),
])
def test_relative_with_anchor(text: str, due: date) -> None:
    parsed = parse_deadline(text, anchor=D(2021, 9, 1))
    assert (parsed.kind, parsed.due) == ("relative", due)
    assert parsed.describe_ru() == f"{due:%d.%m.%Y}"


def test_relative_counts_from_a_written_date() -> None:
    parsed = parse_deadline("в течение 5 рабочих дней с 01.09.2021")  # a Wednesday
    assert (parsed.kind, parsed.due) == ("relative", D(2021, 9, 8))


@pytest.mark.parametrize(("text", "described"), [
    ("Май 2021 г.", "31.05.2021"),
    ("сентябрь-декабрь 2020", "01.09.2020–31.12.2020"),
    ("ежемесячно 25 числа каждого месяца", "ежемесячно, 25 числа"),
    ("ежеквартально", "ежеквартально"),
    ("на 15.12.2020, ежеквартально", "ежеквартально, с 15.12.2020"),
    ("сентябрь ежегодно", "ежегодно, сентябрь"),
    ("январь, июнь", "ежегодно: январь, июнь"),
    ("до 20 декабря и до 20 мая", "ежегодно: 20.05, 20.12"),
    ("еженедельно", "еженедельно"),
    ("в течение года", "без срока"),
    ("в течение двух недель с даты определения модели", "нужна дата отсчёта"),
    ("когда-нибудь", "не распознано"),
    ("", "срок не указан"),
])
def test_describe_ru(text: str, described: str) -> None:
    assert parse_deadline(text).describe_ru() == described


def test_due_by_monthly_on_a_day() -> None:
    parsed = parse_deadline("Ежемесячно 25 числа каждого месяца")
    assert parsed.due_by(D(2026, 11, 20)) == D(2026, 10, 25)
    assert parsed.due_by(D(2026, 11, 25)) == D(2026, 11, 25)
    assert parsed.due_by(D(2027, 3, 1)) == D(2027, 2, 25)


def test_due_by_quarterly_from_a_start() -> None:
    parsed = parse_deadline("на 15.12.2020, ежеквартально")
    assert parsed.due_by(D(2020, 12, 14)) is None
    assert parsed.due_by(D(2020, 12, 15)) == D(2020, 12, 15)
    assert parsed.due_by(D(2021, 3, 14)) == D(2020, 12, 15)
    assert parsed.due_by(D(2021, 3, 15)) == D(2021, 3, 15)
    assert parsed.due_by(D(2026, 11, 20)) == D(2026, 9, 15)


def test_due_by_calendar_recurrences() -> None:
    assert parse_deadline("ежеквартально").due_by(D(2026, 11, 20)) == D(2026, 9, 30)
    assert parse_deadline("ежегодно").due_by(D(2026, 11, 20)) == D(2025, 12, 31)
    assert parse_deadline("ежемесячно").due_by(D(2026, 3, 5)) == D(2026, 2, 28)
    assert parse_deadline("еженедельно").due_by(D(2026, 11, 25)) == D(2026, 11, 22)  # a Sunday
    twice = parse_deadline("до 20 декабря и до 20 мая")
    assert twice.due_by(D(2026, 11, 25)) == D(2026, 5, 20)
    assert twice.due_by(D(2026, 12, 20)) == D(2026, 12, 20)


def test_due_by_yearly_month_and_month_list() -> None:
    assert parse_deadline("сентябрь ежегодно").due_by(D(2026, 11, 25)) == D(2026, 9, 30)
    assert parse_deadline("сентябрь ежегодно").due_by(D(2026, 9, 29)) == D(2025, 9, 30)
    assert parse_deadline("январь, июнь").due_by(D(2026, 11, 25)) == D(2026, 6, 30)
    assert parse_deadline("январь, июнь").due_by(D(2026, 3, 1)) == D(2026, 1, 31)


def test_due_by_no_deadline_and_dates() -> None:
    assert parse_deadline("в течение года").due_by(D(2026, 11, 25)) is None
    assert not parse_deadline("постоянно").has_due
    may = parse_deadline("Май 2021 г.")
    assert may.has_due
    assert may.due_by(D(2021, 6, 1)) == D(2021, 5, 31)
    assert may.due_by(D(2021, 5, 1)) is None
    assert parse_deadline("сентябрь-декабрь 2020").due_by(D(2021, 1, 1)) == D(2020, 12, 31)


def test_deadline_is_immutable() -> None:
    parsed = parse_deadline("08.10.2020")
    assert isinstance(parsed, Deadline)
    with pytest.raises(AttributeError):
        parsed.kind = "empty"  # type: ignore[misc]


_WORDS = ["до", "с", "по", "в", "на", "к", "не позднее", "в течение", "ежегодно", "ежемесячно",
          "ежеквартально", "раза в год", "числа", "каждого месяца", "сентябрь", "мая", "декабря",
          "квартал", "полугодие", "IV", "II", "года", "г.", "учебного", "-", "–", ",", "и",
          "25", "2", "двух", "недель", "дней", "2021", "2020-2021", "31.02.2021", "15.12.2020",
          "20.12", "0000", "9999", "99999", "29.02.2021", "после", "за", "конца"]


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_never_raises_on_any_text(text: str) -> None:
    parsed = parse_deadline(text)
    assert parsed.text == text
    assert parsed.kind in KINDS
    parsed.describe_ru()
    parsed.due_by(D(2026, 1, 1))


@settings(max_examples=500, deadline=None)
@given(st.lists(st.sampled_from(_WORDS), max_size=6).map(" ".join),
       st.one_of(st.none(), st.dates()), st.dates())
def test_never_raises_on_deadline_like_text(text: str, anchor: date | None,
                                            reference: date) -> None:
    parsed = parse_deadline(text, anchor=anchor)
    assert parsed.text == text
    assert parsed.kind in KINDS
    assert parsed.describe_ru()
    result = parsed.due_by(reference)
    assert result is None or result <= reference
    if parsed.kind == "range":
        assert parsed.start is not None and parsed.due is not None
        assert parsed.start <= parsed.due


@pytest.mark.parametrize("reference", [date.min, date(1, 1, 5), date.max])
@pytest.mark.parametrize("text", ["ежемесячно", "еженедельно", "ежегодно", "январь, июнь",
                                  "до 20 декабря и до 20 мая", "ежемесячно 25 числа",
                                  "на 15.12.2020, ежеквартально", "ежедневно"])
def test_due_by_survives_the_ends_of_the_calendar(text: str, reference: date) -> None:
    result = parse_deadline(text).due_by(reference)
    assert result is None or result <= reference
