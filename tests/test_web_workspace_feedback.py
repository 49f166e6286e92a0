"""The sync service the staff pages run (sync/workspace_service.py): the real `run_sync` over a
folder, each school's verdict, and cross-school findings worded so that a school learns about
its own participant only, never the other school's code or person."""

from __future__ import annotations

from pathlib import Path

import pytest

from addin.web.workspace import RegistryProblem, SyncRequest
from sync.workspace_service import FolderSyncService
from workbook_templates.demo import generate_municipality, write_municipality


def _active_mentee(data: dict) -> dict:
    active = [p for p in data["pairs"] if p.get("end_date") is None]
    first = str(active[0]["mentee_ids"]).split(",")[0].strip()
    return next(m for m in data["mentees"] if m["id"] == first)


def test_a_person_in_two_schools_is_told_to_each_school_without_the_other(tmp_path) -> None:
    muni = generate_municipality(n_schools=8, seed=11)
    a, b = muni.school("ОО-001"), muni.school("ОО-002")
    ours, theirs = _active_mentee(a.data), _active_mentee(b.data)
    theirs["full_name"], theirs["birth_date"] = ours["full_name"], ours["birth_date"]
    folder = write_municipality(muni, tmp_path / "сдача")
    seen: list[tuple[int, int, str]] = []
    outcome = FolderSyncService().run_sync(
        SyncRequest(registry=folder / "registry.csv", period=muni.period, source_dir=folder,
                    master=tmp_path / "свод" / "свод.xlsx", form=tmp_path / "форма.xlsx"),
        lambda done, total, code: seen.append((done, total, code)))
    assert outcome.master.is_file() and outcome.form is not None and outcome.form.is_file()
    assert [d for d, _, _ in seen] == list(range(1, 9)) and {t for _, t, _ in seen} == {8}
    verdicts = {v.code: v for v in outcome.verdicts}
    missing = next(s.code for s in muni.schools if s.submission == "missing")
    assert verdicts[missing].status == "не представлен" and verdicts[missing].sha256 is None
    for me, other, person, foreign in (("ОО-001", "ОО-002", ours["id"], theirs["id"]),
                                       ("ОО-002", "ОО-001", theirs["id"], ours["id"])):
        notes = [n for n in verdicts[me].notes if n["code"] == "X-001"]
        assert len(notes) == 1, verdicts[me].notes
        text = notes[0]["message"]
        assert person in text and "другой организации" in text
        assert other not in text and (foreign == person or foreign not in text)
        assert ours["full_name"] not in text
    assert not any(n["code"] == "X-001" for v in outcome.verdicts if v.code not in
                   ("ОО-001", "ОО-002") for n in v.notes)


def test_registry_problems_come_back_in_russian(tmp_path: Path) -> None:
    bad = tmp_path / "реестр.csv"
    bad.write_text("код ОО;наименование\nОО-001;Школа\n", encoding="utf-8")
    with pytest.raises(RegistryProblem, match="нет столбца «тип»"):
        FolderSyncService().read_registry(bad)
    with pytest.raises(RegistryProblem, match="не найден"):
        FolderSyncService().read_registry(tmp_path / "нет.csv")


def test_the_server_reads_no_school_file_outside_the_collection_folder(tmp_path) -> None:
    """Staff upload the registry: a source «../» or an absolute path must not make the server
    read a workbook elsewhere (the CLI, run by its owner, still may)."""
    muni = generate_municipality(n_schools=8, seed=11)
    folder = write_municipality(muni, tmp_path / "сдача")
    accepted = next(s for s in muni.schools if s.submission == "ok")
    outside = tmp_path / "чужое.xlsx"
    (folder / "schools" / f"{accepted.code}.xlsx").rename(outside)
    registry = folder / "registry.csv"
    text = registry.read_text(encoding="utf-8-sig")
    for source in ("../чужое.xlsx", str(outside)):
        registry.write_text(text.replace(f"schools/{accepted.code}.xlsx", source),
                            encoding="utf-8-sig")
        outcome = FolderSyncService().run_sync(
            SyncRequest(registry=registry, period=muni.period, source_dir=folder,
                        master=tmp_path / "свод" / "свод.xlsx", form=tmp_path / "форма.xlsx"),
            lambda done, total, code: None)
        verdict = next(v for v in outcome.verdicts if v.code == accepted.code)
        assert verdict.status == "не представлен", source
        assert "вне папки сбора" in verdict.reason and verdict.sha256 is None
