"""A small, clean school written by hand: the base that rule tests break one cell at a time."""

from __future__ import annotations

import copy
from datetime import date

PARENT = "родитель (законный представитель)"

_CLEAN = {
    "school": {
        "code": "ОО-901", "name": "МБОУ «Тестовая школа № 1»", "org_type": "ОО",
        "municipality": "Тестовый округ", "curator": "Лебедева Ольга Ивановна",
        "period": "2026-11", "students_total": 500, "students_10_19": 300,
        "students_15_19": 100, "teachers_total": 40, "young_teachers": 5, "partners_total": 2,
    },
    "roadmap": [
        {"item_no": "1", "section": "Подготовка", "activity": "Приказ о внедрении модели",
         "deadline_text": "до 30.09.2026", "responsible": "Директор", "status": "выполнено",
         "done_date": date(2026, 9, 20), "evidence": "приказ № 12 от 20.09.2026"},
        {"item_no": "2", "section": "Мониторинг", "activity": "Персонифицированный учёт",
         "deadline_text": "ежеквартально", "responsible": "Куратор", "status": "в работе"},
        {"item_no": "3", "section": "Мониторинг", "activity": "Оценка качества программ",
         "deadline_text": "май 2027 года", "responsible": "Куратор", "status": "не начато"},
    ],
    "mentors": [
        {"id": "Н-001", "full_name": "Петров Пётр Петрович", "birth_date": date(1980, 1, 10),
         "category": "педагог", "position": "учитель математики", "experience_years": 20,
         "trained": "да", "consent_date": date(2026, 9, 1), "consent_by": "сам"},
        {"id": "Н-002", "full_name": "Сидоров Иван Андреевич", "birth_date": date(2009, 3, 1),
         "category": "обучающийся", "position": "11А", "trained": "да",
         "consent_date": date(2026, 9, 1), "consent_by": PARENT},
        {"id": "Н-003", "full_name": "Орлов Максим Юрьевич", "birth_date": date(1985, 6, 2),
         "category": "представитель работодателя", "organization": "ООО «Северный завод»",
         "record_cert_date": date(2026, 8, 20), "trained": "да",
         "consent_date": date(2026, 9, 1), "consent_by": "сам"},
    ],
    "mentees": [
        {"id": "У-001", "full_name": "Козлов Кирилл Сергеевич", "birth_date": date(2013, 5, 5),
         "category": "обучающийся", "group": "7Б", "consent_date": date(2026, 9, 1),
         "consent_by": PARENT},
        {"id": "У-002", "full_name": "Новикова Анна Викторовна", "birth_date": date(2000, 5, 5),
         "category": "молодой специалист", "consent_date": date(2026, 9, 1),
         "consent_by": "сам"},
        {"id": "У-003", "full_name": "Белова Дарья Олеговна", "birth_date": date(2010, 2, 14),
         "category": "обучающийся", "group": "10А", "consent_date": date(2026, 9, 1),
         "consent_by": PARENT},
    ],
    "pairs": [
        {"id": "П-001", "form": "ученик – ученик", "mentor_id": "Н-002", "mentee_ids": "У-001",
         "start_date": date(2026, 9, 15), "order_ref": "№ 15 от 15.09.2026",
         "agreement_date": date(2026, 9, 15), "plan": "да", "plan_date": date(2026, 9, 25),
         "stage": "совместная работа", "plan_percent": 30},
        {"id": "П-002", "form": "учитель – учитель", "mentor_id": "Н-001", "mentee_ids": "У-002",
         "start_date": date(2026, 9, 15), "agreement_date": date(2026, 9, 15), "plan": "да",
         "plan_date": date(2026, 9, 25), "stage": "совместная работа", "plan_percent": 40},
        {"id": "П-003", "form": "работодатель – ученик", "mentor_id": "Н-003",
         "mentee_ids": "У-003", "start_date": date(2026, 10, 1),
         "agreement_date": date(2026, 10, 1), "plan": "да", "stage": "совместная работа"},
    ],
    "meetings": [
        {"date": date(2026, 9, 16), "pair_id": "П-001", "meeting_type": "знакомство",
         "confirmed": "да", "feedback": "да"},
        {"date": date(2026, 9, 20), "pair_id": "П-001", "meeting_type": "пробная",
         "confirmed": "да", "feedback": "да"},
        {"date": date(2026, 9, 25), "pair_id": "П-001", "meeting_type": "планирование",
         "confirmed": "да", "feedback": "да"},
    ],
    "monitoring": [
        {"participant_id": "У-001", "role": "наставляемый", "wave": "декабрь",
         "survey_date": date(2026, 11, 20), "satisfaction": 9},
        {"participant_id": "Н-001", "role": "наставник", "wave": "декабрь",
         "survey_date": date(2026, 11, 20), "satisfaction": 8},
    ],
}


def clean_school() -> dict:
    """A deep copy of the clean sample school (tests change it freely)."""
    return copy.deepcopy(_CLEAN)
