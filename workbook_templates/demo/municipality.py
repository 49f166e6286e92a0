"""The invented municipality: which schools are clean, fail to submit or hold mistakes,
and writing their workbooks, the registry and the manifest."""

from __future__ import annotations

import csv
import json
import random
from dataclasses import asdict
from pathlib import Path

from workbook_templates import contract as C
from workbook_templates.build import workbook_bytes, write_atomically
from workbook_templates.demo.mistakes import plant_all
from workbook_templates.demo.people import (
    COLLEGES,
    DO_NAMES,
    SCHOOL_KINDS,
    VILLAGE_SCHOOLS,
    period_end,
)
from workbook_templates.demo.school import School, build_school
from workbook_templates.demo.types import MUNICIPALITY, DemoMunicipality, DemoSchool

UNKNOWN_VERSION = "0.9-неизвестная"
SUBMISSIONS = ("ok", "missing", "corrupt", "unknown_version")
#: Share of the bytes a "corrupt" file keeps.
CORRUPT_SHARE = 0.6
REGISTRY_HEADER = C.REGISTRY_HEADER

# ----------------------------------------------------------------------------- municipality


def _school_names(rng: random.Random, types: list[str]) -> list[str]:
    """Distinct invented names for schools of the given types."""
    numbers = rng.sample(range(1, 40), len(types))
    villages, colleges, dos = (list(x) for x in (VILLAGE_SCHOOLS, COLLEGES, DO_NAMES))
    for pool in (villages, colleges, dos):
        rng.shuffle(pool)
    names = []
    for number, org_type in zip(numbers, types, strict=True):
        if org_type == "СПО":
            names.append(colleges.pop() if colleges else f"ГБПОУ «Колледж № {number}»")
        elif org_type == "ДО":
            names.append(dos.pop() if dos else f"МБУ ДО «Центр творчества № {number}»")
        elif villages and rng.random() < 0.25:
            names.append(f"МБОУ «{villages.pop()}»")
        else:
            owner, pattern = rng.choice(SCHOOL_KINDS)
            names.append(f"{owner} «{pattern.format(n=number)}»")
    return names


_SIZES = {"ОО": (30, 70), "СПО": (40, 80), "ДО": (25, 45)}
#: Participants of the one school that holds every planted code in a small municipality.
SMALL_MISTAKEN_SIZE = 100
#: Tries of drawing the schools with mistakes again when a code finds no place in them.
PLANT_ATTEMPTS = 20
#: Fewer schools than FULL_LAYOUT: what each one is, in the order schools are taken
#: (a school with mistakes first: the demo exists to show them).
SMALL_ROLES = ("mistaken", "clean", "missing", "corrupt", "clean", "unknown_version", "clean")
FULL_LAYOUT = len(SMALL_ROLES) + 1
CLEAN_TYPES = ("ОО", "ОО", "ДО")


def _layout(rng: random.Random, n: int) -> tuple[list[str], dict[int, str], int]:
    """Types of the n schools, the positions of the non-"ok" submissions and how many of the
    first schools are clean.

    Schools 1 and 2 (ОО) and 3 (ДО) are clean; 4 is a college, and a second college sits in the
    middle of municipalities of ten or more; three other ОО do not submit properly.
    """
    if n < FULL_LAYOUT:
        return _small_layout(n)
    types = ["ОО", "ОО", "ДО", "СПО"] + ["ОО"] * (n - 4)
    if n >= 10:
        types[n // 2 + 2] = "СПО"
    candidates = [i for i in range(4, n) if types[i] == "ОО"]
    special = rng.sample(candidates, 3)
    return types, dict(zip(sorted(special), ("missing", "corrupt", "unknown_version"),
                           strict=True)), len(CLEAN_TYPES)


def _small_layout(n: int) -> tuple[list[str], dict[int, str], int]:
    """A municipality of 1–7 schools: the first n roles of SMALL_ROLES, clean schools first,
    then the one school that holds every planted mistake (an ОО, which can host them all),
    then the submissions that fail."""
    roles = SMALL_ROLES[:n]
    clean = roles.count("clean")
    broken = [r for r in roles if r not in ("clean", "mistaken")]
    types = [*CLEAN_TYPES[:clean], "ОО", *["ОО"] * len(broken)]
    return types, {clean + 1 + i: r for i, r in enumerate(broken)}, clean


def generate_municipality(n_schools: int = 12, seed: int = 2026, period: str = "2026-11",
                          participants_per_school: int | None = None) -> DemoMunicipality:
    """An invented municipality of ``n_schools`` (at least 1) with planted mistakes.

    Schools 1–3 are clean, three others are "missing", "corrupt" and "unknown_version" (with
    clean data), the rest carry 3–6 planted mistakes each (more when there are too few of them to
    hold every code once). Below 8 schools one school holds every planted code and the others
    are, in this order, clean, missing, corrupt, clean, unknown_version, clean (SMALL_ROLES).
    The same arguments always give the same data.
    """
    if n_schools < 1:
        raise ValueError("a demo municipality needs at least 1 school")
    rng = random.Random(seed)
    types, special, clean = _layout(rng, n_schools)
    names = _school_names(rng, types)
    mistaken = [i for i in range(n_schools) if i >= clean and i not in special]
    sizes = [participants_per_school or rng.randint(*_SIZES[t]) for t in types]
    if n_schools < FULL_LAYOUT:  # one school holds every code: room for all of them
        sizes = [max(n, SMALL_MISTAKEN_SIZE) if i in mistaken else n for i, n in enumerate(sizes)]

    def build(index: int, attempt: int = 0) -> School:
        code = f"ОО-{index + 1:03d}"
        ref_date = period_end(period) if types[index] == "ДО" else None
        school_seed = f"{seed}:{code}" + (f":{attempt}" if attempt else "")
        return build_school(code, random.Random(school_seed), n_participants=sizes[index],
                             org_type=types[index], name=names[index], period=period,
                             municipality=MUNICIPALITY, reference_date=ref_date)

    built = [build(i) for i in range(n_schools)]
    for attempt in range(1, PLANT_ATTEMPTS + 1):
        try:
            planted = plant_all(rng, [built[i] for i in mistaken])
            break
        except RuntimeError:
            # A school whose data cannot host a code (e.g. no roadmap item far enough ahead):
            # the same school drawn again from the next seed; the data stay reproducible.
            if attempt == PLANT_ATTEMPTS:
                raise
            for i in mistaken:
                built[i] = build(i, attempt)
    schools = []
    for index, s in enumerate(built):
        submission = special.get(index, "ok")
        mistakes = planted.get(s.code, [])
        schools.append(DemoSchool(code=s.code, name=s.form["name"], org_type=s.org_type,
                                  data=s.data(), mistakes=mistakes,
                                  clean=submission == "ok" and not mistakes,
                                  submission=submission))
    return DemoMunicipality(MUNICIPALITY, period, period_end(period), schools)


# ----------------------------------------------------------------------------- writing


def write_municipality(muni: DemoMunicipality, out_dir: Path) -> Path:
    """Write schools/<code>.xlsx, registry.csv and planted_mistakes.json into ``out_dir``."""
    from workbook_templates.build import write_school_workbook

    out_dir = Path(out_dir)
    (out_dir / "schools").mkdir(parents=True, exist_ok=True)
    for school in muni.schools:
        path = out_dir / _source(school)
        path.unlink(missing_ok=True)
        if school.submission == "missing":
            continue
        write_school_workbook(path, school.data)
        if school.submission == "corrupt":
            payload = path.read_bytes()
            path.write_bytes(payload[: int(len(payload) * CORRUPT_SHARE)])
        elif school.submission == "unknown_version":
            _set_version(path, UNKNOWN_VERSION)
    _write_registry(muni, out_dir / "registry.csv")
    (out_dir / "planted_mistakes.json").write_text(
        json.dumps(manifest(muni), ensure_ascii=False, indent=1), encoding="utf-8")
    return out_dir


def _source(school: DemoSchool) -> str:
    """Path of the school's workbook relative to the output folder."""
    return f"schools/{school.code}.xlsx"


def _set_version(path: Path, version: str) -> None:
    """Overwrite the template version on the Инструкция sheet and in the defined name."""
    from openpyxl import load_workbook
    from openpyxl.workbook.defined_name import DefinedName

    wb = load_workbook(path)
    ws = wb[C.INSTRUCTIONS.name]
    for row in ws.iter_rows(min_col=1, max_col=2):
        if row[0].value == C.VERSION_LABEL:
            row[1].value = version
    text = '"' + version.replace('"', '""') + '"'
    wb.defined_names[C.VERSION_DEFINED_NAME] = DefinedName(C.VERSION_DEFINED_NAME,
                                                           attr_text=text)
    # workbook_bytes keeps the template's fixed dates: wb.save would stamp the clock
    write_atomically(path, workbook_bytes(wb))


def _write_registry(muni: DemoMunicipality, path: Path) -> None:
    """registry.csv: UTF-8 with BOM, ';'-separated, one row per school."""
    with path.open("w", encoding="utf-8-sig", newline="") as fh:
        writer = csv.writer(fh, delimiter=";")
        writer.writerow(REGISTRY_HEADER)
        for school in muni.schools:
            writer.writerow((school.code, school.name, school.org_type, _source(school)))


def manifest(muni: DemoMunicipality) -> dict:
    """The JSON-ready manifest: municipality, schools with status, and every planted mistake."""
    return {
        "municipality": muni.name,
        "period": muni.period,
        "reference_date": muni.reference_date.isoformat(),
        "schools": [{"code": s.code, "name": s.name, "org_type": s.org_type,
                     "submission": s.submission, "clean": s.clean, "source": _source(s),
                     "mistakes": len(s.mistakes)} for s in muni.schools],
        "mistakes": [asdict(m) for m in muni.mistakes],
    }


