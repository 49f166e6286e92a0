"""A demo municipality: invented schools, people, pairs and roadmaps with planted mistakes.

``generate_municipality`` builds the data of every school of an invented municipality (the same
arguments always give the same data); ``write_municipality`` writes the school workbooks, the
registry of schools and a manifest of the planted mistakes, so that the checks and the municipal
sync can be demonstrated and tested end to end. ``make_school`` builds one school's data alone,
at any size (benchmarks use a 5,000-participant school).

Everything here is invented: names of people, schools, organisations and the roadmap wording.
Text a user reads is Russian; rule codes and notes in the manifest are English.

* ``types``         the public types (SchoolData, PlantedMistake, DemoSchool, DemoMunicipality)
* ``people``        invented names, ages and dates
* ``school``        one invented school: pairs, meetings, surveys, roadmap (``make_school``)
* ``mistakes``      the planted mistakes and the codes they are found by
* ``municipality``  the layout of a municipality, ``generate_municipality``, ``write_municipality``
"""

from workbook_templates.demo.mistakes import PLANTED_CODES
from workbook_templates.demo.municipality import (
    REGISTRY_HEADER,
    SMALL_ROLES,
    UNKNOWN_VERSION,
    generate_municipality,
    manifest,
    write_municipality,
)
from workbook_templates.demo.people import age_at, period_end
from workbook_templates.demo.school import make_school
from workbook_templates.demo.types import (
    MUNICIPALITY,
    DemoMunicipality,
    DemoSchool,
    PlantedMistake,
    SchoolData,
)

__all__ = ["MUNICIPALITY", "PLANTED_CODES", "REGISTRY_HEADER", "SMALL_ROLES", "UNKNOWN_VERSION",
           "DemoMunicipality", "DemoSchool", "PlantedMistake", "SchoolData", "age_at",
           "generate_municipality", "make_school", "manifest", "period_end",
           "write_municipality"]
