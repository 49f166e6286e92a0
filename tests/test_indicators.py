"""Indicators of one school: numerators, denominators, targets, and the municipal sums."""

from __future__ import annotations

from datetime import date

import pytest

from addin.indicators import compute_indicators, from_sums, load_targets, target_for
from addin.model import SchoolWorkbook
from tests.sample import clean_school
from workbook_templates.build import write_school_workbook


def _values(tmp_path, data):
    wb = SchoolWorkbook.from_path(write_school_workbook(tmp_path / "s.xlsx", data))
    return {v.key: v for v in compute_indicators(wb, date(2026, 11, 30))}


def test_sample_figures(tmp_path):
    v = _values(tmp_path, clean_school())
    assert (v["mentees_10_19"].numerator, v["mentees_10_19"].denominator) == (2, 300)
    assert (v["mentors_15_19"].numerator, v["mentors_15_19"].denominator) == (1, 100)
    assert (v["young_teachers"].numerator, v["young_teachers"].denominator) == (1, 5)
    assert (v["teachers_covered"].numerator, v["teachers_covered"].value) == (2, 5.0)
    assert (v["partners"].numerator, v["partners"].denominator) == (1, 2)
    assert v["satisfaction_mentees"].value == 90.0  # one survey scored 9 of 10
    assert (v["consents"].numerator, v["consents"].denominator) == (6, 6)
    assert (v["roadmap_on_time"].numerator, v["roadmap_on_time"].denominator) == (1, 1)
    assert v["plans_done"].value is None and v["plans_done"].met is None


def test_teacher_in_two_roles_counts_once(tmp_path):
    data = clean_school()
    teacher = data["mentors"][0]
    data["mentees"].append({"id": "У-004", "full_name": teacher["full_name"],
                            "birth_date": teacher["birth_date"], "category": "педагог",
                            "consent_date": date(2026, 9, 1), "consent_by": "сам"})
    data["pairs"].append({"id": "П-004", "form": "учитель – учитель", "mentor_id": "Н-001",
                          "mentee_ids": "У-004", "start_date": date(2026, 10, 1),
                          "agreement_date": date(2026, 10, 1), "plan": "да"})
    assert _values(tmp_path, data)["teachers_covered"].numerator == 2


def test_teachers_without_birth_dates_are_not_merged(tmp_path):
    data = clean_school()
    data["mentors"][0]["birth_date"] = None
    data["mentees"][1]["birth_date"] = None
    assert _values(tmp_path, data)["teachers_covered"].numerator == 2


def test_targets_latest_year_not_after(tmp_path):
    targets = load_targets()
    assert target_for(targets, "teachers_covered", 2022) == (30.0, True)
    assert target_for(targets, "teachers_covered", 2030) == (70.0, True)
    own = tmp_path / "t.toml"
    own.write_text('[indicators.teachers_covered]\ntargets = { "2026" = 55 }\n',
                   encoding="utf-8")
    assert target_for(load_targets(own), "teachers_covered", 2026) == (55.0, False)


def test_municipal_value_is_sum_over_sum_not_mean_of_shares():
    values = {v.key: v for v in from_sums({"consents": (1 + 90, 10 + 100)}, year=2026)}
    assert values["consents"].value == pytest.approx(82.7)  # not (10 % + 90 %) / 2
    assert values["mentees_10_19"].value is None  # no denominator at all


def test_surveys_and_finished_plans_count_within_the_school_year(tmp_path):
    """Last May's surveys and pairs finished last school year say nothing of this year."""
    data = clean_school()
    data["monitoring"][0]["survey_date"] = date(2026, 5, 20)  # the last school year's wave
    data["pairs"][1].update(end_date=date(2026, 6, 1), stage="завершение", plan_percent=100)
    data["pairs"][0].update(end_date=date(2026, 11, 1), stage="завершение", plan_percent=95)
    v = _values(tmp_path, data)
    assert v["satisfaction_mentees"].denominator == 0 and v["satisfaction_mentees"].value is None
    assert v["satisfaction_mentors"].denominator == 1
    assert (v["plans_done"].numerator, v["plans_done"].denominator) == (1, 1)
