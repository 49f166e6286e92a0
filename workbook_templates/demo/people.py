"""Invented people and dates: names, ages, birthdays, consents (no real person)."""

from __future__ import annotations

import random
from datetime import date, timedelta

from workbook_templates import contract as C

MINOR_CONSENT, ADULT_CONSENT = C.dictionary_values("consent_givers")[1], C.CONSENT_SELF
STAGES = C.dictionary_values("stages")
MEETING_STAGE = dict(zip(C.dictionary_values("meeting_types"), STAGES, strict=True))
# ------------------------------------------------------------------------ invented word lists

_MALE_FIRST = (
    "Александр Алексей Андрей Арсений Артём Борис Вадим Виктор Владимир Глеб Даниил Денис "
    "Дмитрий Егор Иван Кирилл Константин Лев Максим Марк Матвей Михаил Никита Николай Олег "
    "Павел Роман Сергей Степан Тимофей Фёдор Ярослав"
).split()
_FEMALE_FIRST = (
    "Алина Алёна Анастасия Анна Валентина Варвара Вера Вероника Виктория Галина Дарья "
    "Екатерина Елена Елизавета Ирина Кристина Ксения Лариса Любовь Маргарита Марина Мария "
    "Наталья Нина Ольга Полина Светлана София Татьяна Ульяна Юлия Яна"
).split()
#: Patronymic stems: + «ич» (male) or + «на» (female).
_PATRONYMIC_STEMS = (
    "Александров Алексеев Анатольев Андреев Артёмов Борисов Васильев Викторов Владимиров "
    "Геннадьев Григорьев Денисов Дмитриев Евгеньев Иванов Игорев Константинов Максимов "
    "Михайлов Николаев Олегов Павлов Петров Романов Сергеев Юрьев"
).split()
#: Surnames in the male form; the female form is derived.
_SURNAMES = (
    "Смирнов Кузнецов Попов Соколов Новиков Фёдоров Морозов Волков Лебедев Семёнов Егоров "
    "Козлов Степанов Орлов Макаров Никитин Захаров Зайцев Соловьёв Яковлев Воробьёв Кузьмин "
    "Фролов Королёв Гусев Киселёв Ильин Поляков Сорокин Виноградов Ковалёв Белов Медведев "
    "Антонов Тарасов Жуков Баранов Филиппов Комаров Давыдов Беляев Герасимов Богданов Осипов "
    "Сидоров Матвеев Титов Марков Миронов Крылов Куликов Карпов Власов Мельников Гаврилов "
    "Тихонов Казаков Афанасьев Данилов Савельев Тимофеев Фомин Чернов Абрамов Мартынов Ефимов "
    "Федотов Щербаков Назаров Калинин Исаев Быков Маслов Родионов Коновалов Лазарев Воронин "
    "Климов Филатов Пономарёв Голубев Кудрявцев Прохоров Наумов Потапов Журавлёв Овчинников "
    "Трофимов Леонов Соболев Ермаков Колесников Гончаров Емельянов Никифоров Грачёв Котов "
    "Гришин Ефремов Архипов Громов Кириллов Малышев Панов Моисеев Румянцев Акимов Кондратьев "
    "Бирюков Горбунов Анисимов Ерёмин Тихомиров Галкин Лукьянов Михеев Скворцов Юдин "
    "Белоусов Нестеров Симонов Прокофьев Харитонов Князев Цветков Левин Митрофанов Воронцов "
    "Савин Жданов Блинов Игнатьев Покровский Вишневский Загорский Березовский Островский"
).split()

SCHOOL_KINDS = (
    ("МБОУ", "СОШ № {n}"), ("МАОУ", "Гимназия № {n}"), ("МБОУ", "Лицей № {n}"),
    ("МБОУ", "ООШ № {n}"), ("МАОУ", "Центр образования № {n}"), ("МКОУ", "СОШ № {n}"),
)
VILLAGE_SCHOOLS = ("Сосновская СОШ", "Кедровская ООШ", "Заречная СОШ", "Лесновская СОШ",
                    "Озерковская СОШ", "Берёзовская ООШ")
COLLEGES = ("ГАПОУ «Северо-Озёрский технологический колледж»",
             "ГБПОУ «Озёрский политехнический техникум»",
             "ГБПОУ «Северо-Озёрский аграрный колледж»")
DO_NAMES = ("МБУ ДО «Дом детского творчества «Радуга»»", "МАУ ДО «Центр юных техников «Импульс»»")
EMPLOYERS = (
    "ООО «Северный хлеб»", "АО «Озёрский машиностроительный завод»", "ПАО «Озёрскэнерго»",
    "ООО «Агрофирма «Рассвет»»", "МУП «Водоканал Северо-Озёрского округа»",
    "ГБУЗ «Северо-Озёрская районная больница»", "ООО «ТехноСервис-Север»",
    "АО «Лесопромышленный комплекс «Озёрный»»",
)
EMPLOYER_POSITIONS = ("инженер-технолог", "мастер участка", "программист", "фельдшер",
                       "главный механик", "агроном", "экономист", "электромонтёр")
TEACHER_POSITIONS = {
    "ОО": ("учитель математики", "учитель русского языка и литературы", "учитель физики",
           "учитель начальных классов", "учитель истории", "учитель английского языка",
           "учитель информатики", "учитель биологии", "учитель химии", "педагог-психолог"),
    "СПО": ("преподаватель", "мастер производственного обучения", "преподаватель информатики",
            "преподаватель электротехники"),
    "ДО": ("педагог дополнительного образования", "педагог-организатор", "методист"),
}
COLLEGE_GROUPS = ("ТМ", "ЭС", "ПК", "АГ", "СВ")
DO_CLUBS = ("Робототехника", "Юный журналист", "Хореография", "Шахматы", "Экология",
             "Театральная студия", "3D-моделирование")
STUDENT_REQUESTS = ("повышение успеваемости по математике", "подготовка к олимпиаде",
                     "адаптация в новом коллективе", "проектная деятельность",
                     "профессиональная ориентация", "помощь в изучении предметов",
                     "развитие лидерских качеств")
TEACHER_REQUESTS = ("адаптация в профессии", "методика проведения урока",
                     "работа с родителями", "классное руководство", "подготовка к аттестации")
RESULTS = ("индивидуальный план выполнен", "проект защищён на школьной конференции",
            "повышение успеваемости", "успешная адаптация в коллективе",
            "участие в муниципальном конкурсе")
COMMENTS = ("всё понравилось", "хотелось бы больше встреч", "полезно и интересно",
             "нужно больше практики", None, None, None)

# ----------------------------------------------------------------------------- dates


def period_end(period: str) -> date:
    """Last day of a ГГГГ-ММ period."""
    year, month = (int(p) for p in period.split("-"))
    first_next = date(year + month // 12, month % 12 + 1, 1)
    return first_next - timedelta(days=1)


def age_at(birth: date, when: date) -> int:
    """Full years of a person born on ``birth`` at ``when``."""
    return when.year - birth.year - ((when.month, when.day) < (birth.month, birth.day))


def years_before(day: date, years: int) -> date:
    """The same calendar day ``years`` earlier (28 Feb for 29 Feb)."""
    try:
        return day.replace(year=day.year - years)
    except ValueError:
        return day.replace(year=day.year - years, day=28)


def school_year_start(ref: date) -> date:
    """1 September of the school year ``ref`` falls in."""
    return date(ref.year if ref.month >= 9 else ref.year - 1, 9, 1)


def fmt_date(day: date) -> str:
    """ДД.ММ.ГГГГ."""
    return day.strftime("%d.%m.%Y")


def random_days(rng: random.Random, lo: int, hi: int) -> timedelta:
    """A random whole number of days in [lo, hi]."""
    return timedelta(days=rng.randint(lo, hi))


# ----------------------------------------------------------------------------- people


def _female_surname(surname: str) -> str:
    """Female form of a male surname (Смирнов -> Смирнова, Островский -> Островская)."""
    if surname.endswith("ский"):
        return surname[:-2] + "ая"
    return surname + "а"


class People:
    """Invents people with unique (full name, birth date) inside one school."""

    def __init__(self, rng: random.Random, ref: date) -> None:
        self.rng, self.ref = rng, ref
        self.used: set[tuple[str, date]] = set()

    def name(self) -> str:
        """A full name «Фамилия Имя Отчество» with male/female agreement."""
        rng = self.rng
        surname, stem = rng.choice(_SURNAMES), rng.choice(_PATRONYMIC_STEMS)
        if rng.random() < 0.5:
            return f"{surname} {rng.choice(_MALE_FIRST)} {stem}ич"
        return f"{_female_surname(surname)} {rng.choice(_FEMALE_FIRST)} {stem}на"

    def birth(self, age: int) -> date:
        """A birth date giving exactly ``age`` full years at the reference date."""
        return years_before(self.ref, age) - random_days(self.rng, 0, 364)

    def person(self, ages: tuple[int, int], consent: date) -> tuple[str, date]:
        """A new unique person aged within ``ages`` whose minority is the same at ``consent``."""
        while True:
            full_name, birth = self.name(), self.birth(self.rng.randint(*ages))
            adult_now, adult_then = age_at(birth, self.ref) >= 18, age_at(birth, consent) >= 18
            if adult_now == adult_then and (full_name, birth) not in self.used:
                self.used.add((full_name, birth))
                return full_name, birth


def consent_by(birth: date, ref: date) -> str:
    """Who signs the consent: a parent for a minor, the person otherwise."""
    return MINOR_CONSENT if age_at(birth, ref) < 18 else ADULT_CONSENT


