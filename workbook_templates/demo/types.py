"""The demo's public types: a school's data, a planted mistake, a school, a municipality."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

#: The invented municipality's name.
MUNICIPALITY = "Северо-Озёрский муниципальный округ"

#: Data of one school workbook: sheet key -> {field: value} (FORM) or [{column: value}] (TABLE).
SchoolData = dict[str, dict | list[dict]]
# ----------------------------------------------------------------------------- public types


@dataclass(frozen=True)
class PlantedMistake:
    """One deliberate error in a school's data and the rule expected to find it."""

    school_code: str
    code: str  # rule code, e.g. "PAIR-003"
    sheet: str  # sheet key of the contract
    row: int | None  # Excel row on TABLE sheets; None on the FORM sheet "school"
    column: str  # column key
    note: str  # short English description


@dataclass
class DemoSchool:
    """One school of the demo municipality, its data and what was planted in it."""

    code: str
    name: str
    org_type: str
    data: SchoolData
    mistakes: list[PlantedMistake] = field(default_factory=list)
    #: True when the school submits a readable file and its data has no mistake at all.
    clean: bool = False
    submission: str = "ok"  # "ok" | "missing" | "corrupt" | "unknown_version"


@dataclass
class DemoMunicipality:
    """The whole demo: every school and the reporting period."""

    name: str
    period: str
    reference_date: date
    schools: list[DemoSchool]

    def school(self, code: str) -> DemoSchool:
        """The school with this code (KeyError if absent)."""
        for s in self.schools:
            if s.code == code:
                return s
        raise KeyError(code)

    @property
    def mistakes(self) -> list[PlantedMistake]:
        """Every planted mistake, school by school."""
        return [m for s in self.schools for m in s.mistakes]


