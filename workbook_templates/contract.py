"""The one declarative contract of the school workbook.

Every sheet, column, type, dictionary and help text lives here and only here. The template
builder, the readers, the rules, the buttons and the sync read columns from this module; no
other module writes a Russian header literally.

This module imports nothing of the project (layer 1 of design.md).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

#: Version of the workbook layout. Bump it when a sheet or column changes (and declare the
#: steps from the previous version in workbook_templates/versions.py).
TEMPLATE_VERSION = "1.1"
#: Versions a reader knows: older ones are read through the steps of versions.py.
KNOWN_VERSIONS: tuple[str, ...] = ("1.0", "1.1")
#: Workbook-level defined name that carries the version (Excel, LibreOffice).
VERSION_DEFINED_NAME = "NASTAVNIK_TEMPLATE_VERSION"
#: Label of the cell on the Инструкция sheet that carries the version too
#: (python-calamine cannot read defined names, see notes/libreoffice.md).
VERSION_LABEL = "Версия шаблона"


class ColType(StrEnum):
    """Kinds of cell values the readers convert to and the rules check."""

    TEXT = "text"
    ID = "id"  # a school-local identifier such as Н-001
    REF = "ref"  # an ID of another sheet
    REFS = "refs"  # several IDs of another sheet, separated by commas or semicolons
    INTEGER = "integer"
    NUMBER = "number"
    DATE = "date"
    ENUM = "enum"  # one value of a dictionary
    YESNO = "yesno"  # «да» / «нет» (never Excel booleans: LibreOffice breaks them)
    PERIOD = "period"  # reporting period ГГГГ-ММ


@dataclass(frozen=True)
class Column:
    """One column of a table sheet, or one field of a form sheet."""

    key: str
    header: str
    type: ColType = ColType.TEXT
    required: bool = False
    dictionary: str | None = None
    help: str = ""
    width: int = 18
    min: float | None = None
    max: float | None = None
    ref: str | None = None  # sheet key an ID refers to (REF, REFS)
    personal: bool = False  # personal data: never logged, dropped when pseudonymizing


class SheetKind(StrEnum):
    TEXT = "text"  # free text written by the builder (Инструкция)
    FORM = "form"  # label in column A, value in column B, one row per field
    TABLE = "table"  # header in row 1, one record per row from row 2
    OUTPUT = "output"  # a table written by the program (Показатели, Проверка)
    HIDDEN = "hidden"  # Справочники


@dataclass(frozen=True)
class Sheet:
    """One sheet of the school workbook."""

    key: str
    name: str
    kind: SheetKind
    purpose: str
    columns: tuple[Column, ...] = ()
    how_to_fill: str = ""

    def column(self, key: str) -> Column:
        """The column with this machine key (KeyError if absent)."""
        for col in self.columns:
            if col.key == key:
                return col
        raise KeyError(f"{self.key}.{key}")

    @property
    def headers(self) -> dict[str, str]:
        """Machine key -> Russian header."""
        return {c.key: c.header for c in self.columns}


#: Columns of the municipality's registry of schools (CSV or xlsx), in order.
REGISTRY_HEADER: tuple[str, ...] = ("код ОО", "наименование", "тип", "источник")

#: Row of the header on TABLE and OUTPUT sheets; data start on the next row.
HEADER_ROW = 1
FIRST_DATA_ROW = HEADER_ROW + 1

YES, NO = "да", "нет"

#: Every dictionary: key -> (title on Справочники, values). Drives drop-downs and checks.
DICTIONARIES: dict[str, tuple[str, tuple[str, ...]]] = {
    "org_types": ("Тип организации", ("ОО", "СПО", "ДО")),
    "mentor_categories": (
        "Категория наставника",
        ("педагог", "обучающийся", "выпускник", "родитель", "представитель работодателя", "иное"),
    ),
    "mentee_categories": (
        "Категория наставляемого",
        ("обучающийся", "молодой специалист", "педагог"),
    ),
    "special_categories": (
        "Особая категория",
        ("ОВЗ", "ТЖС", "одарённые", "сироты", "малоимущие", "сельские"),
    ),
    "consent_givers": ("Кто дал согласие", ("сам", "родитель (законный представитель)")),
    "forms": (
        "Форма наставничества",
        (
            "ученик – ученик",
            "учитель – учитель",
            "студент – студент",
            "работодатель – ученик",
            "работодатель – студент",
            "студент – ученик",
            "преподаватель – преподаватель",
            "учитель – ученик",
        ),
    ),
    "stages": (
        "Этап",
        (
            "встреча-знакомство",
            "пробная встреча",
            "встреча-планирование",
            "совместная работа",
            "завершение",
        ),
    ),
    "meeting_types": (
        "Вид встречи",
        ("знакомство", "пробная", "планирование", "рабочая", "итоговая"),
    ),
    "roadmap_statuses": ("Статус мероприятия", ("не начато", "в работе", "выполнено", "отменено")),
    "roles": ("Роль", ("наставник", "наставляемый")),
    "waves": ("Волна мониторинга", ("декабрь", "май")),
    "yesno": ("Да / нет", (YES, NO)),
}

#: Mentor categories that are not staff or students of the school: they need the
#: criminal-record certificate before working with minors.
EXTERNAL_MENTOR_CATEGORIES = ("выпускник", "родитель", "представитель работодателя", "иное")
#: Who may be mentor and mentee in each form of mentoring: (mentor categories, mentee
#: categories). Р-145 and the local variants of the seeds; «родитель» and «иное» are in no
#: form: Р-145 names no such pairs, and a school that mentors that way lists them here.
FORM_ROLES: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "ученик – ученик": (("обучающийся", "выпускник"), ("обучающийся",)),
    "студент – студент": (("обучающийся", "выпускник"), ("обучающийся",)),
    "студент – ученик": (("обучающийся",), ("обучающийся",)),
    "учитель – учитель": (("педагог",), ("молодой специалист", "педагог")),
    "преподаватель – преподаватель": (("педагог",), ("молодой специалист", "педагог")),
    "учитель – ученик": (("педагог",), ("обучающийся",)),
    "работодатель – ученик": (("представитель работодателя",), ("обучающийся",)),
    "работодатель – студент": (("представитель работодателя",), ("обучающийся",)),
}
#: Forms of peers: the mentor must be the older one (unless both are adults, as in a college).
PEER_FORMS = ("ученик – ученик", "студент – студент", "студент – ученик")
#: The organisation type whose students may be adults (СПО: colleges, evening groups).
ADULT_STUDENTS_ORG = "СПО"
STAGE_FINAL = "завершение"
STATUS_DONE = "выполнено"
STATUS_CANCELLED = "отменено"
CONSENT_SELF = "сам"


def _c(key: str, header: str, type_: ColType = ColType.TEXT, **kw) -> Column:
    return Column(key=key, header=header, type=type_, **kw)


T = ColType

INSTRUCTIONS = Sheet(
    key="instructions",
    name="Инструкция",
    kind=SheetKind.TEXT,
    purpose="Что это за книга, как её заполнять и когда сдавать.",
)

SCHOOL = Sheet(
    key="school",
    name="Сведения об ОО",
    kind=SheetKind.FORM,
    purpose="Реквизиты организации и численность (знаменатели показателей).",
    how_to_fill="Заполните столбец B. Численность указывается на дату отчёта.",
    columns=(
        _c("code", "Код ОО", T.ID, required=True, help="Код организации в реестре муниципалитета."),
        _c("name", "Наименование ОО", required=True, help="Краткое наименование по уставу."),
        _c("org_type", "Тип организации", T.ENUM, required=True, dictionary="org_types",
           help="ОО — школа, СПО — колледж/техникум, ДО — дополнительное образование."),
        _c("municipality", "Муниципалитет", required=True),
        _c("curator", "Куратор (ФИО)", required=True, personal=True,
           help="Ответственный за внедрение целевой модели в организации."),
        _c("period", "Отчётный период", T.PERIOD, required=True,
           help="Месяц отчёта в виде ГГГГ-ММ, например 2026-11."),
        _c("reference_date", "Дата, на которую даны сведения", T.DATE,
           help="Если пусто — последний день отчётного периода."),
        _c("students_total", "Численность обучающихся, всего", T.INTEGER, required=True, min=0),
        _c("students_10_19", "Обучающихся в возрасте 10–19 лет", T.INTEGER, required=True, min=0),
        _c("students_15_19", "Обучающихся в возрасте 15–19 лет", T.INTEGER, required=True, min=0),
        _c("teachers_total", "Педагогических работников, всего", T.INTEGER, required=True, min=0),
        _c("young_teachers", "Молодых специалистов (стаж 0–3 года)", T.INTEGER, required=True,
           min=0),
        _c("partners_total", "Организаций-партнёров", T.INTEGER, required=True, min=0,
           help="Предприятия и организации, с которыми заключены соглашения о наставничестве."),
    ),
)

ROADMAP = Sheet(
    key="roadmap",
    name="Дорожная карта",
    kind=SheetKind.TABLE,
    purpose="План мероприятий по внедрению целевой модели и отметки о выполнении.",
    how_to_fill=(
        "Срок переносите как в документе; «Срок (дата)» и «Периодичность» можно оставить "
        "пустыми — программа прочитает срок сама. Выполненное мероприятие отмечайте статусом "
        "«выполнено», датой и ссылкой на документ."
    ),
    columns=(
        _c("item_no", "№", width=7, help="Номер пункта как в документе: 1, 1.1, 2.3 …"),
        _c("section", "Раздел (этап)", width=30),
        _c("activity", "Мероприятие", required=True, width=50),
        _c("deadline_text", "Срок (как в документе)", width=24,
           help="Например: «до 30.09.2026», «ежеквартально», «в течение года»."),
        _c("due_date", "Срок (дата)", T.DATE, width=13,
           help="Дата, к которой мероприятие должно быть выполнено (ДД.ММ.ГГГГ)."),
        _c("recurrence", "Периодичность", width=18),
        _c("responsible", "Ответственные", width=28),
        _c("result", "Результат / документ", width=30),
        _c("indicator", "Показатель", width=20),
        _c("status", "Статус", T.ENUM, dictionary="roadmap_statuses", width=13),
        _c("done_date", "Дата выполнения", T.DATE, width=13),
        _c("evidence", "Ссылка на подтверждение", width=30,
           help="Номер и дата приказа, протокола или ссылка на страницу сайта."),
    ),
)

MENTORS = Sheet(
    key="mentors",
    name="Наставники",
    kind=SheetKind.TABLE,
    purpose="База наставников.",
    how_to_fill="Одна строка — один наставник. ID вида Н-001 не меняется после присвоения.",
    columns=(
        _c("id", "ID наставника", T.ID, required=True, width=12, help="Например Н-001."),
        _c("full_name", "ФИО", required=True, width=30, personal=True),
        _c("birth_date", "Дата рождения", T.DATE, required=True, width=13, personal=True),
        _c("category", "Категория", T.ENUM, required=True, dictionary="mentor_categories",
           width=22),
        _c("position", "Должность или класс/группа", width=22),
        _c("organization", "Организация (для внешних наставников)", width=28),
        _c("record_cert_date", "Справка об отсутствии судимости (дата)", T.DATE, width=16,
           help="Обязательна для внешних наставников, работающих с несовершеннолетними."),
        _c("experience_years", "Стаж (лет)", T.NUMBER, min=0, max=70, width=10),
        _c("trained", "Обучение наставников пройдено", T.YESNO, dictionary="yesno", width=14),
        _c("consent_date", "Согласие на обработку ПД (дата)", T.DATE, width=16),
        _c("consent_by", "Согласие дал", T.ENUM, dictionary="consent_givers", width=20,
           help="За несовершеннолетнего согласие даёт родитель (законный представитель)."),
    ),
)

MENTEES = Sheet(
    key="mentees",
    name="Наставляемые",
    kind=SheetKind.TABLE,
    purpose="База наставляемых.",
    how_to_fill="Одна строка — один наставляемый. ID вида У-001 не меняется после присвоения.",
    columns=(
        _c("id", "ID наставляемого", T.ID, required=True, width=12, help="Например У-001."),
        _c("full_name", "ФИО", required=True, width=30, personal=True),
        _c("birth_date", "Дата рождения", T.DATE, required=True, width=13, personal=True),
        _c("category", "Категория", T.ENUM, required=True, dictionary="mentee_categories",
           width=20),
        _c("group", "Класс/группа", width=12),
        _c("special_category", "Особая категория", T.ENUM, dictionary="special_categories",
           width=16),
        _c("consent_date", "Согласие на обработку ПД (дата)", T.DATE, width=16),
        _c("consent_by", "Согласие дал", T.ENUM, dictionary="consent_givers", width=20,
           help="За несовершеннолетнего согласие даёт родитель (законный представитель)."),
        _c("request", "Запрос наставляемого", width=30),
    ),
)

PAIRS = Sheet(
    key="pairs",
    name="Пары и группы",
    kind=SheetKind.TABLE,
    purpose="Наставнические пары и группы (один наставник, один или несколько наставляемых).",
    how_to_fill="В «ID наставляемых» перечислите ID через запятую, если это группа.",
    columns=(
        _c("id", "ID пары/группы", T.ID, required=True, width=12, help="Например П-001."),
        _c("form", "Форма наставничества", T.ENUM, required=True, dictionary="forms", width=24),
        _c("mentor_id", "ID наставника", T.REF, required=True, ref="mentors", width=12),
        _c("mentee_ids", "ID наставляемых", T.REFS, required=True, ref="mentees", width=18),
        _c("start_date", "Дата начала", T.DATE, required=True, width=13),
        _c("order_ref", "Приказ о закреплении (№, дата)", width=20),
        _c("agreement_date", "Соглашение (дата)", T.DATE, width=13,
           help="Соглашение наставника и наставляемого; за несовершеннолетнего подписывает "
                "родитель."),
        _c("plan", "Индивидуальный план", T.YESNO, dictionary="yesno", width=12),
        _c("plan_date", "Дата плана", T.DATE, width=13),
        _c("stage", "Этап", T.ENUM, dictionary="stages", width=20),
        _c("plan_percent", "% выполнения плана", T.NUMBER, min=0, max=100, width=11),
        _c("end_date", "Дата окончания", T.DATE, width=13),
        _c("result", "Результат", width=30),
    ),
)

MEETINGS = Sheet(
    key="meetings",
    name="Встречи",
    kind=SheetKind.TABLE,
    purpose="Встречи пар и групп, подтверждённые формой и обратной связью.",
    columns=(
        _c("date", "Дата встречи", T.DATE, required=True, width=13),
        _c("pair_id", "ID пары/группы", T.REF, required=True, ref="pairs", width=12),
        _c("meeting_type", "Вид встречи", T.ENUM, required=True, dictionary="meeting_types",
           width=16),
        _c("confirmed", "Подтверждена формой", T.YESNO, dictionary="yesno", width=12),
        _c("feedback", "Обратная связь получена", T.YESNO, dictionary="yesno", width=12),
    ),
)

MONITORING = Sheet(
    key="monitoring",
    name="Мониторинг",
    kind=SheetKind.TABLE,
    purpose="Анкеты удовлетворённости наставников и наставляемых (декабрь и май).",
    columns=(
        _c("participant_id", "ID участника", T.ID, required=True, width=12),
        _c("role", "Роль", T.ENUM, required=True, dictionary="roles", width=14),
        _c("wave", "Волна", T.ENUM, required=True, dictionary="waves", width=10),
        _c("survey_date", "Дата анкеты", T.DATE, width=13),
        _c("satisfaction", "Удовлетворённость (1–10)", T.INTEGER, min=1, max=10, width=14),
        _c("comment", "Комментарий", width=40),
        # 1.1: the survey's own questions (see versions.py)
        _c("comfort", "Комфорт общения (1–5)", T.INTEGER, min=1, max=5, width=14),
        _c("usefulness", "Польза встреч (1–5)", T.INTEGER, min=1, max=5, width=14),
        _c("meetings_held", "Встречи проходили по плану", T.YESNO, dictionary="yesno", width=14),
        _c("wish_to_continue", "Хочет продолжить", T.YESNO, dictionary="yesno", width=14),
    ),
)

INDICATORS = Sheet(
    key="indicators",
    name="Показатели",
    kind=SheetKind.OUTPUT,
    purpose="Показатели внедрения и их целевые значения. Заполняется кнопкой «Показатели».",
    columns=(
        _c("title", "Показатель", width=50),
        _c("numerator", "Числитель", T.NUMBER, width=11),
        _c("denominator", "Знаменатель", T.NUMBER, width=12),
        _c("value", "Значение, %", T.NUMBER, width=12),
        _c("target", "Цель, %", T.NUMBER, width=10),
        _c("met", "Достигнуто", width=12),
        _c("note", "Примечание", width=40),
    ),
)

CHECK = Sheet(
    key="check",
    name="Проверка",
    kind=SheetKind.OUTPUT,
    purpose="Замечания проверки. Заполняется кнопкой «Проверить»; щёлкните строку, чтобы "
    "перейти к ячейке.",
    columns=(
        _c("severity", "Важность", width=15),
        _c("code", "Код", width=11),
        _c("sheet", "Лист", width=18),
        _c("row", "Строка", T.INTEGER, width=8),
        _c("column", "Столбец", width=24),
        _c("value", "Значение", width=20),
        _c("message", "Описание", width=60),
        _c("hint", "Что сделать", width=60),
    ),
)

DICTIONARY_SHEET = Sheet(
    key="dictionaries",
    name="Справочники",
    kind=SheetKind.HIDDEN,
    purpose="Значения выпадающих списков. Скрытый лист, не редактируйте.",
)

#: All sheets in workbook order.
SHEETS: tuple[Sheet, ...] = (
    INSTRUCTIONS,
    SCHOOL,
    ROADMAP,
    MENTORS,
    MENTEES,
    PAIRS,
    MEETINGS,
    MONITORING,
    INDICATORS,
    CHECK,
    DICTIONARY_SHEET,
)
SHEETS_BY_KEY: dict[str, Sheet] = {s.key: s for s in SHEETS}
#: Sheets whose data the readers load into SchoolWorkbook.
DATA_SHEETS: tuple[Sheet, ...] = tuple(
    s for s in SHEETS if s.kind in (SheetKind.FORM, SheetKind.TABLE)
)


def sheet(key: str) -> Sheet:
    """The sheet with this machine key."""
    return SHEETS_BY_KEY[key]


def dictionary_values(key: str) -> tuple[str, ...]:
    """Allowed values of one dictionary."""
    return DICTIONARIES[key][1]


@dataclass(frozen=True)
class CalendarItem:
    """A reporting date of the mentoring calendar, shown on the Инструкция sheet."""

    what: str
    when: str


#: The reporting calendar of domain.md, in our own words.
CALENDAR: tuple[CalendarItem, ...] = (
    CalendarItem("Муниципальный мониторинг (сдача книги в МНЦ)", "ежемесячно, 25 числа"),
    CalendarItem("Персонифицированный учёт участников", "ежеквартально"),
    CalendarItem("Внутренний мониторинг программы", "до 20 декабря и до 20 мая"),
    CalendarItem("Анкетирование удовлетворённости наставников и наставляемых", "декабрь и май"),
    CalendarItem("Оценка качества реализации программ", "май"),
    CalendarItem("Сведения о численности участников для федеральной статистики",
                 "ежегодно, до 30 декабря"),
)


@dataclass(frozen=True)
class Contract:
    """The whole contract as one object, for code that wants to pass it around."""

    version: str = TEMPLATE_VERSION
    sheets: tuple[Sheet, ...] = field(default=SHEETS)
    dictionaries: dict[str, tuple[str, tuple[str, ...]]] = field(
        default_factory=lambda: DICTIONARIES)


CONTRACT = Contract()
