"""The planted mistakes: each one a deliberate error that a rule code must find."""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import date, timedelta

from workbook_templates import contract as C
from workbook_templates.demo.people import STAGES, age_at, consent_by, fmt_date, years_before
from workbook_templates.demo.school import Pair, School, person_id, student_group
from workbook_templates.demo.types import PlantedMistake

#: Every rule code the demo plants at least once across a municipality.
PLANTED_CODES: tuple[str, ...] = (
    "CELL-001", "CELL-002", "CELL-003", "CELL-004", "ID-001", "PERSON-001",
    "PAIR-001", "PAIR-002", "PAIR-003", "PAIR-004", "PAIR-005", "PAIR-006", "PAIR-007",
    "PAIR-008", "PAIR-009", "CONSENT-001", "CONSENT-002", "MENTOR-001", "AGE-001",
    "SCHOOL-002", "ROAD-001", "ROAD-002", "ROAD-003", "ROAD-004", "MEET-001", "MON-001",
)
# ----------------------------------------------------------------------------- planting


class _Planter:
    """Plants mistakes in one school, each on rows no other planted mistake touches."""

    def __init__(self, school: School) -> None:
        self.s, self.rng = school, school.rng
        self.touched: set[str] = set()
        self.touched_items: set[int] = set()
        self.mistakes: list[PlantedMistake] = []

    # -- helpers
    def _mistake(self, code: str, sheet: str, row: int | None, column: str, note: str) -> bool:
        self.mistakes.append(PlantedMistake(self.s.code, code, sheet, row, column, note))
        return True

    def _pairs(self, test: Callable[[Pair], bool]) -> Pair | None:
        """A random untouched pair passing ``test``, marked as touched."""
        found = [p for p in self.s.pairs if not (p.ids & self.touched) and test(p)]
        if not found:
            return None
        pair = self.rng.choice(found)
        self.touched |= pair.ids
        return pair

    def _row(self, sheet: str, row: dict) -> int:
        """Excel row of a row dict of a TABLE sheet."""
        rows = [p.row for p in self.s.pairs] if sheet == "pairs" else getattr(self.s, sheet)
        return next(i for i, r in enumerate(rows) if r is row) + C.FIRST_DATA_ROW

    def _item(self, test: Callable[[dict], bool]) -> tuple[int, dict] | None:
        """A random untouched roadmap row passing ``test``, marked as touched."""
        found = [i for i, r in enumerate(self.s.roadmap)
                 if i not in self.touched_items and test(r)]
        if not found:
            return None
        index = self.rng.choice(found)
        self.touched_items.add(index)
        return index + C.FIRST_DATA_ROW, self.s.roadmap[index]

    def _missing_id(self, prefix: str) -> str:
        """An ID of the prefix that no row has and no append will use."""
        count = {"Н": len(self.s.mentors), "У": len(self.s.mentees), "П": len(self.s.pairs)}
        return person_id(prefix, count[prefix] + 500 + self.rng.randint(0, 99))

    def plant(self, code: str) -> bool:
        """Plant one mistake of ``code``; False when this school has no suitable target."""
        return getattr(self, "_" + code.replace("-", "_").lower())()

    # -- cells
    def _cell_001(self) -> bool:
        pair = self._pairs(lambda p: p.kind.mentee == "student" and p.kind.mentor != "student")
        if not pair:
            return False
        mentee = pair.mentees[0]
        mentee["birth_date"] = None
        return self._mistake("CELL-001", "mentees", self._row("mentees", mentee), "birth_date",
                             "required birth date of a mentee left empty")

    def _cell_002(self) -> bool:
        pair = self._pairs(lambda p: p.kind.mentor == "teacher")
        if not pair:
            return False
        mentor = pair.mentor
        mentor["birth_date"] = f"31.02.{mentor['birth_date'].year}"
        return self._mistake("CELL-002", "mentors", self._row("mentors", mentor), "birth_date",
                             f"mentor birth date is the impossible text {mentor['birth_date']!r}")

    def _cell_003(self) -> bool:
        pair = self._pairs(lambda p: not p.finished and p.row.get("stage") == STAGES[3])
        if not pair:
            return False
        pair.row["stage"] = "в процессе"
        return self._mistake("CELL-003", "pairs", self._row("pairs", pair.row), "stage",
                             "stage 'в процессе' is not in the stages dictionary")

    def _cell_004(self) -> bool:
        pair = self._pairs(lambda p: bool(p.surveys))
        if not pair:
            return False
        survey = pair.surveys[0]
        survey["satisfaction"] = 12
        return self._mistake("CELL-004", "monitoring", self._row("monitoring", survey),
                             "satisfaction", "satisfaction 12 is above the 1–10 scale")

    # -- ids and people
    def _id_001(self) -> bool:
        pair = self._pairs(lambda p: p.kind.mentee == "student")
        if not pair:
            return False
        original = pair.mentees[0]
        consent = original["consent_date"]
        full_name, birth = self.s.people.person((11, 16), consent)
        row = dict(original, full_name=full_name, birth_date=birth,
                   group=student_group(self.s, birth, mentor=False),
                   consent_by=consent_by(birth, self.s.ref))
        self.s.mentees.append(row)
        return self._mistake("ID-001", "mentees", self._row("mentees", row), "id",
                             f"a second mentee typed with the existing ID {row['id']}")

    def _person_001(self) -> bool:
        pair = self._pairs(lambda p: p.kind.mentee == "student")
        if not pair:
            return False
        original = pair.mentees[0]
        row = dict(original, id=person_id("У", len(self.s.mentees) + 1))
        self.s.mentees.append(row)
        return self._mistake("PERSON-001", "mentees", self._row("mentees", row), "full_name",
                             f"mentee {original['id']} entered again as {row['id']}")

    # -- pairs
    def _pair_001(self) -> bool:
        pair = self._pairs(lambda p: not p.finished)
        if not pair:
            return False
        pair.row["mentor_id"] = self._missing_id("Н")
        return self._mistake("PAIR-001", "pairs", self._row("pairs", pair.row), "mentor_id",
                             f"mentor {pair.row['mentor_id']} is not on the mentors sheet")

    def _pair_002(self) -> bool:
        pair = self._pairs(lambda p: not p.finished and len(p.mentees) > 1) or self._pairs(
            lambda p: not p.finished)
        if not pair:
            return False
        missing = self._missing_id("У")
        pair.row["mentee_ids"] += f", {missing}"
        return self._mistake("PAIR-002", "pairs", self._row("pairs", pair.row), "mentee_ids",
                             f"mentee {missing} is not on the mentees sheet")

    def _pair_003(self) -> bool:
        pair = self._pairs(lambda p: p.kind.mentee == "teacher")
        if not pair:
            return False
        mentee, mentor = pair.mentees[0], pair.mentor
        mentee.update(full_name=mentor["full_name"], birth_date=mentor["birth_date"],
                      category="педагог")
        return self._mistake("PAIR-003", "pairs", self._row("pairs", pair.row), "mentee_ids",
                             f"mentor {mentor['id']} is the same person as mentee {mentee['id']}")

    def _pair_004(self) -> bool:
        pair = self._pairs(lambda p: p.kind.form == "учитель – ученик")
        if not pair:
            return False
        pair.row["form"] = "учитель – учитель"
        return self._mistake("PAIR-004", "pairs", self._row("pairs", pair.row), "mentee_ids",
                             "form 'учитель – учитель' with student mentees")

    def _pair_005(self) -> bool:
        ref = self.s.ref

        def fits(p: Pair) -> bool:
            return (p.kind.form == "ученик – ученик" and not p.finished
                    and self._older_birth(p.mentor["birth_date"]) is not None)

        pair = self._pairs(fits)
        if not pair:
            return False
        mentee = pair.mentees[0]
        mentee["birth_date"] = self._older_birth(pair.mentor["birth_date"])
        mentee["group"] = student_group(self.s, mentee["birth_date"], mentor=False)
        mentee["consent_by"] = consent_by(mentee["birth_date"], ref)
        return self._mistake("PAIR-005", "pairs", self._row("pairs", pair.row), "mentor_id",
                             f"student mentor {pair.mentor['id']} is younger than mentee "
                             f"{mentee['id']}")

    def _older_birth(self, mentor_birth: date) -> date | None:
        """A birth date over a year before the mentor's that still gives a minor, or None."""
        birth = mentor_birth - timedelta(days=400 + mentor_birth.toordinal() % 150)
        ok = age_at(birth, self.s.ref) <= 17 and age_at(birth, self.s.ref) > age_at(
            mentor_birth, self.s.ref)
        return birth if ok else None

    def _pair_006(self) -> bool:
        pair = self._pairs(lambda p: not p.finished and p.kind.mentor == "teacher")
        if not pair:
            return False
        others = [m["id"] for m in self.s.mentors
                  if m["id"] != pair.mentor["id"] and m["category"] == pair.mentor["category"]]
        if not others:
            return False
        pair.row["mentor_id"] = f"{pair.mentor['id']}, {self.rng.choice(others)}"
        return self._mistake("PAIR-006", "pairs", self._row("pairs", pair.row), "mentor_id",
                             f"two mentors in one pair: {pair.row['mentor_id']}")

    def _pair_007(self) -> bool:
        pair = self._pairs(lambda p: p.finished)
        if not pair:
            return False
        end = pair.row["end_date"]
        pair.row["end_date"] = years_before(end, 1)
        return self._mistake("PAIR-007", "pairs", self._row("pairs", pair.row), "end_date",
                             "end date typed a year early, before the start date")

    def _pair_008(self) -> bool:
        pair = self._pairs(lambda p: p.finished)
        if not pair:
            return False
        pair.row["end_date"] = None
        return self._mistake("PAIR-008", "pairs", self._row("pairs", pair.row), "end_date",
                             "stage 'завершение' without an end date")

    def _pair_009(self) -> bool:
        pair = self._pairs(lambda p: not p.finished)
        if not pair:
            return False
        pair.row["agreement_date"] = None
        return self._mistake("PAIR-009", "pairs", self._row("pairs", pair.row),
                             "agreement_date", "active pair without an agreement date")

    # -- consents, mentors, ages
    def _consent_001(self) -> bool:
        pair = self._pairs(lambda p: True)
        if not pair:
            return False
        mentee = pair.mentees[0]
        mentee["consent_date"] = None
        return self._mistake("CONSENT-001", "mentees", self._row("mentees", mentee),
                             "consent_date", "mentee without a personal-data consent")

    def _consent_002(self) -> bool:
        def minor(p: Pair) -> bool:
            return p.kind.mentee == "student" and age_at(p.mentees[0]["birth_date"],
                                                         self.s.ref) <= 16
        pair = self._pairs(minor)
        if not pair:
            return False
        mentee = pair.mentees[0]
        mentee["consent_by"] = C.CONSENT_SELF
        return self._mistake("CONSENT-002", "mentees", self._row("mentees", mentee),
                             "consent_by", "a minor signed the consent without a parent")

    def _mentor_001(self) -> bool:
        def fits(p: Pair) -> bool:
            return (p.kind.mentor == "employer" and not p.finished
                    and all(age_at(m["birth_date"], self.s.ref) < 18 for m in p.mentees))
        pair = self._pairs(fits)
        if not pair:
            return False
        pair.mentor["record_cert_date"] = None
        return self._mistake("MENTOR-001", "mentors", self._row("mentors", pair.mentor),
                             "record_cert_date",
                             "employer mentor of minors without a criminal-record certificate")

    def _age_001(self) -> bool:
        pair = self._pairs(lambda p: p.kind.mentee == "student" and p.kind.mentor != "student")
        if not pair:
            return False
        mentee = pair.mentees[0]
        born = mentee["birth_date"]
        mentee["birth_date"] = born.replace(year=self.s.ref.year + self.rng.randint(1, 4),
                                            day=min(born.day, 28))
        return self._mistake("AGE-001", "mentees", self._row("mentees", mentee), "birth_date",
                             "student birth date after the reference date")

    # -- form and roadmap
    def _school_002(self) -> bool:
        form = self.s.form
        if form["students_10_19"] > form["students_total"]:
            return False
        form["students_10_19"] = form["students_total"] + self.rng.randint(10, 40)
        return self._mistake("SCHOOL-002", "school", None, "students_10_19",
                             "students aged 10–19 exceed all students")

    def _road_001(self) -> bool:
        found = self._item(lambda r: r.get("status") == C.STATUS_DONE
                           and r["deadline_text"].startswith("до ")) or self._item(
            lambda r: r.get("status") == C.STATUS_DONE)
        if not found:
            return False
        row_no, row = found
        due = min(date(self.s.ref.year, 10, 15), self.s.ref - timedelta(days=20))
        row.update(deadline_text=f"до {fmt_date(due)}", due_date=None, status="в работе",
                   done_date=None, evidence=None)
        return self._mistake("ROAD-001", "roadmap", row_no, "deadline_text",
                             "item due before the reference date is still in progress")

    def _road_002(self) -> bool:
        found = self._item(lambda r: r.get("status") == C.STATUS_DONE)
        if not found:
            return False
        row_no, row = found
        row["done_date"] = None
        return self._mistake("ROAD-002", "roadmap", row_no, "done_date",
                             "done item without a completion date")

    def _road_003(self) -> bool:
        found = self._item(lambda r: r.get("status") == C.STATUS_DONE)
        if not found:
            return False
        row_no, row = found
        row.update(evidence=None, result=None)
        return self._mistake("ROAD-003", "roadmap", row_no, "evidence",
                             "done item without a supporting document or result")

    def _road_004(self) -> bool:
        found = self._item(lambda r: r.get("status") == "не начато")
        if not found:
            return False
        row_no, row = found
        row.update(deadline_text="когда получится", due_date=None)
        return self._mistake("ROAD-004", "roadmap", row_no, "deadline_text",
                             "deadline text no parser can read")

    # -- meetings and monitoring
    def _meet_001(self) -> bool:
        def working(p: Pair) -> int:
            return sum(m["meeting_type"] == "рабочая" for m in p.meetings)

        pair = self._pairs(lambda p: working(p) >= 2) or self._pairs(lambda p: working(p) >= 1)
        if not pair:
            return False
        meeting = [m for m in pair.meetings if m["meeting_type"] == "рабочая"][-1]
        meeting["pair_id"] = self._missing_id("П")
        return self._mistake("MEET-001", "meetings", self._row("meetings", meeting), "pair_id",
                             f"meeting of an unknown pair {meeting['pair_id']}")

    def _mon_001(self) -> bool:
        pair = self._pairs(lambda p: any(s["role"] == "наставляемый" for s in p.surveys))
        if not pair:
            return False
        survey = next(s for s in pair.surveys if s["role"] == "наставляемый")
        survey["participant_id"] = self._missing_id("У")
        return self._mistake("MON-001", "monitoring", self._row("monitoring", survey),
                             "participant_id",
                             f"survey of an unknown participant {survey['participant_id']}")


#: Codes a school type cannot host (no pair of the needed form).
_UNSUPPORTED: dict[str, frozenset[str]] = {
    "СПО": frozenset({"PAIR-004", "PAIR-005"}),
    "ДО": frozenset({"MENTOR-001"}),
    "ОО": frozenset(),
}


def _deal_codes(rng: random.Random, schools: list[School]) -> dict[str, list[str]]:
    """Give each school 3–6 distinct codes so that every code is dealt at least once."""
    quota = {s.code: rng.randint(3, 6) for s in schools}
    while sum(quota.values()) < len(PLANTED_CODES):
        smallest = min(quota, key=lambda c: quota[c])
        quota[smallest] += 1
    codes = list(PLANTED_CODES)
    rng.shuffle(codes)
    codes.sort(key=lambda c: sum(c not in _UNSUPPORTED[s.org_type] for s in schools))
    codes += rng.choices(PLANTED_CODES, k=sum(quota.values()) - len(codes))
    dealt: dict[str, list[str]] = {s.code: [] for s in schools}
    for code in codes:
        fits = [s for s in schools if code not in dealt[s.code]
                and code not in _UNSUPPORTED[s.org_type] and len(dealt[s.code]) < quota[s.code]]
        if fits:
            best = max(fits, key=lambda s: (quota[s.code] - len(dealt[s.code]), -schools.index(s)))
            dealt[best.code].append(code)
    return dealt


def plant_all(rng: random.Random, schools: list[School]) -> dict[str, list[PlantedMistake]]:
    """Plant the dealt codes; a code a school cannot host moves to another school."""
    planters = {s.code: _Planter(s) for s in schools}
    leftovers = []
    for code_school, codes in _deal_codes(rng, schools).items():
        for code in codes:
            if not planters[code_school].plant(code):
                leftovers.append(code)
    for code in leftovers:
        if not any(p.plant(code) for p in planters.values()
                   if code not in {m.code for m in p.mistakes}):
            raise RuntimeError(f"no school can host a {code} mistake")
    missing = set(PLANTED_CODES) - {m.code for p in planters.values() for m in p.mistakes}
    if missing:
        raise RuntimeError(f"codes not planted: {sorted(missing)}")
    return {code: p.mistakes for code, p in planters.items()}


