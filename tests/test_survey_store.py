"""The survey store (addin.web.survey_store) on a real SQLite file: one answer per code even
when two phones send at the same moment, corrections only with the edit token and only while
the wave is open, waves deleted with their codes and answers."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import pytest

from addin.web.survey_store import Saved, SurveyStore, WaveExists, normalize_code, shown_code
from workbook_templates import surveys as S

PEOPLE = [("Н-001", S.MENTOR), ("У-001", S.MENTEE), ("У-002", S.MENTEE)]


@pytest.fixture
def store(tmp_path: Path) -> SurveyStore:
    return SurveyStore(tmp_path / "workspace" / "surveys.sqlite")


def test_codes_are_typed_as_people_type_them() -> None:
    assert normalize_code("4821 0937-5512") == "482109375512"
    assert normalize_code(" 482109375512 ") == "482109375512"
    assert normalize_code("4821 0937 551") == ""  # 11 digits
    assert normalize_code("'; DROP TABLE codes; --") == ""
    assert shown_code("482109375512") == "4821 0937 5512"


def test_one_code_per_participant_and_one_open_wave_per_month(store: SurveyStore) -> None:
    wave = store.open_wave("ОО-001", S.DECEMBER, 2026, S.ROLES, PEOPLE, "ОО-001")
    codes = store.codes(wave.id)
    assert sorted((c.participant_id, c.role) for c in codes) == sorted(PEOPLE)
    assert len({c.code for c in codes}) == 3 and all(len(c.code) == 12 for c in codes)
    with pytest.raises(WaveExists):
        store.open_wave("ОО-001", S.DECEMBER, 2026, S.ROLES, PEOPLE, "ОО-001")
    store.open_wave("ОО-001", S.MAY, 2026, S.ROLES, PEOPLE, "ОО-001")  # another month: fine
    assert store.add_participants(wave.id, [*PEOPLE, ("У-003", S.MENTEE)]) == 1
    assert store.progress(wave.id) == {S.MENTOR: (0, 1), S.MENTEE: (0, 3)}


def test_two_phones_sending_one_code_at_once_store_one_answer(store: SurveyStore) -> None:
    wave = store.open_wave("ОО-001", S.DECEMBER, 2026, S.ROLES, PEOPLE, "ОО-001")
    code = store.codes(wave.id)[0].code
    barrier = threading.Barrier(8)
    results: list[Saved] = []

    def send(n: int) -> None:
        barrier.wait()
        results.append(store.save_answer(code, {"satisfaction": n}, "", f"token-{n}"))

    threads = [threading.Thread(target=send, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == sorted([Saved.NEW] + [Saved.USED] * 7)
    winner = next(n for n in range(8) if store.answered(wave.id)[0].editable_by(f"token-{n}"))
    assert store.answered(wave.id)[0].answers == {"satisfaction": winner}


def test_a_correction_needs_the_edit_token_and_an_open_wave(store: SurveyStore) -> None:
    wave = store.open_wave("ОО-001", S.DECEMBER, 2026, S.ROLES, PEOPLE, "ОО-001")
    code = store.codes(wave.id)[0].code
    assert store.save_answer(code, {"satisfaction": 3}, "", "mine") is Saved.NEW
    assert store.save_answer(code, {"satisfaction": 1}, "not mine", "x") is Saved.USED
    assert store.save_answer(code, {"satisfaction": 9}, "mine", "x") is Saved.CORRECTED
    assert store.answered(wave.id)[0].answers == {"satisfaction": 9}
    store.close(wave.id)
    assert store.save_answer(code, {"satisfaction": 5}, "mine", "x") is Saved.CLOSED
    other = store.codes(wave.id)[1].code
    assert store.save_answer(other, {"satisfaction": 5}, "", "y") is Saved.CLOSED
    assert store.save_answer("000000000000", {}, "", "z") is Saved.UNKNOWN
    assert store.answered(wave.id)[0].answers == {"satisfaction": 9}


def test_a_wave_goes_with_its_codes_and_answers(store: SurveyStore) -> None:
    keep = store.open_wave("ОО-002", S.DECEMBER, 2026, S.ROLES, PEOPLE, "ОО-002")
    wave = store.open_wave("ОО-001", S.DECEMBER, 2026, S.ROLES, PEOPLE, "ОО-001")
    code = store.codes(wave.id)[0].code
    store.save_answer(code, {"satisfaction": 7, "comment": "=1+1"}, "", "t")
    store.delete(wave.id)
    assert store.wave(wave.id) is None and store.lookup(code) is None
    with sqlite3.connect(store.path) as db:
        assert db.execute("SELECT COUNT(*) FROM codes WHERE wave=?", (wave.id,)).fetchone() \
            == (0,)
    # a closed wave transferred long ago is purged; an open one, or a recent one, is kept
    store.close(keep.id)
    store.mark_transferred(keep.id, 0)
    assert store.purge() == 0
    with sqlite3.connect(store.path) as db:
        db.execute("UPDATE waves SET transferred_at='2020-01-01T00:00:00+00:00'")
    assert store.purge() == 1 and store.waves(None) == []
