"""The registry of schools: one row per organisation (code, name, type, source), read from
.csv (UTF-8 or Windows-1251), .xlsx, .xlsm or .ods."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

from addin.mail.addresses import EMAIL_COLUMN, AddressError, parse_addresses
from addin.model import normalize_header
from sync.sources.base import SchoolEntry
from workbook_templates.contract import REGISTRY_HEADER, dictionary_values


class RegistryError(Exception):
    """The registry of schools cannot be used (missing file or column, bad row)."""

    def __init__(self, message_ru: str) -> None:
        super().__init__(message_ru)
        self.message_ru = message_ru


# ------------------------------------------------------------------------------- registry

#: Machine keys of the registry columns, in the order of ``REGISTRY_HEADER``
#: (the Russian headers live with the demo generator that writes registries).
REGISTRY_KEYS = ("code", "name", "org_type", "source")
REGISTRY_SUFFIXES_TABLE = (".xlsx", ".xlsm", ".ods")
#: An optional registry column: the municipality's code (ОКТМО), the same on every row.
REGISTRY_MUNICIPALITY = "код муниципалитета"
#: The optional column of addresses and the other headers it is known by.
REGISTRY_EMAIL_TITLES = (EMAIL_COLUMN, "эл.почта", "электронная почта", "адрес эл. почты",
                         "email", "e-mail")

def read_registry(path: Path) -> list[SchoolEntry]:
    """Entries of a registry (.csv, or the first sheet of .xlsx/.xlsm/.ods).

    The header row holds «код ОО», «наименование», «тип», «источник» (any case, any order,
    extra columns ignored). CSV may be UTF-8 (with or without BOM) or, as Excel writes it on a
    Russian Windows, cp1251; the separator (';', ',' or tab) is taken from the header line.
    """
    path = Path(path)
    if not path.is_file():
        raise RegistryError(f"Файл реестра ОО не найден: {path}")
    suffix = path.suffix.lower()
    if suffix == ".csv":
        rows = _read_csv_rows(path)
    elif suffix in REGISTRY_SUFFIXES_TABLE:
        rows = _read_table_rows(path)
    else:
        kind = path.suffix or "файл без расширения"
        raise RegistryError(f"Реестр ОО {path.name}: нужен файл .csv или .xlsx, а не «{kind}».")
    return _parse_registry(rows, path.name)


def _read_csv_rows(path: Path) -> list[tuple[int, list[str]]]:
    payload = path.read_bytes()
    try:
        text = payload.decode("utf-8-sig")
    except UnicodeDecodeError:
        # Excel on a Russian Windows saves «CSV (разделители - запятые)» in cp1251.
        try:
            text = payload.decode("cp1251")
        except UnicodeDecodeError as exc:
            raise RegistryError(
                f"Реестр ОО {path.name}: не удаётся прочитать текст. Сохраните файл как "
                "«CSV UTF-8 (разделитель — точка с запятой)».") from exc
    first = next((line for line in text.splitlines() if line.strip()), "")
    delimiter = max((";", ",", "\t"), key=first.count)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    rows = []
    try:
        for row in reader:
            rows.append((reader.line_num, row))
    except csv.Error as exc:
        raise RegistryError(f"Реестр ОО {path.name}, строка {reader.line_num}: ошибка формата "
                            f"CSV ({exc}).") from exc
    return rows


def _read_table_rows(path: Path) -> list[tuple[int, list[Any]]]:
    import python_calamine as pc

    try:
        book = pc.CalamineWorkbook.from_path(str(path))
        values = book.get_sheet_by_index(0).to_python(skip_empty_area=False)
    except Exception as exc:  # calamine raises several types for broken files
        raise RegistryError(
            f"Реестр ОО {path.name}: файл не читается (повреждён или защищён паролем). "
            "Откройте его, сохраните заново и повторите.") from exc
    return [(i + 1, list(r)) for i, r in enumerate(values)]


def _cell_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return " ".join(str(value).split())


def _parse_registry(rows: list[tuple[int, list[Any]]], name: str) -> list[SchoolEntry]:
    rows = [(n, [_cell_text(v) for v in r]) for n, r in rows]
    rows = [(n, r) for n, r in rows if any(r)]
    expected = ", ".join(f"«{h}»" for h in REGISTRY_HEADER)
    if not rows:
        raise RegistryError(f"Реестр ОО {name} пуст. Первая строка должна содержать столбцы "
                            f"{expected}, далее — по строке на каждую ОО.")
    header_line, header = rows[0]
    positions = {}
    for i, h in enumerate(header):
        positions.setdefault(normalize_header(h), i)
    index = {}
    for key, title in zip(REGISTRY_KEYS, REGISTRY_HEADER, strict=True):
        pos = positions.get(normalize_header(title))
        if pos is None:
            raise RegistryError(
                f"В реестре ОО {name} нет столбца «{title}» (строка {header_line} должна "
                f"содержать заголовки {expected}).")
        index[key] = pos
    if (pos := positions.get(normalize_header(REGISTRY_MUNICIPALITY))) is not None:
        index["municipality"] = pos
    if (pos := _email_position(positions)) is not None:
        index["emails"] = pos
    entries: list[SchoolEntry] = []
    seen: dict[str, int] = {}
    for line, row in rows[1:]:
        cells = {k: (row[p] if p < len(row) else "") for k, p in index.items()}
        code = cells["code"]
        if not code:
            raise RegistryError(
                f"Реестр ОО {name}, строка {line}: не указан код ОО (столбец "
                f"«{REGISTRY_HEADER[0]}»).")
        key = normalize_header(code)
        if key in seen:
            raise RegistryError(
                f"Реестр ОО {name}, строка {line}: код ОО «{code}» уже указан в строке "
                f"{seen[key]}. У каждой ОО должен быть свой код.")
        seen[key] = line
        cells["org_type"] = _org_type(cells["org_type"], name, line)
        emails, problem = _emails(cells.pop("emails", ""), name, line)
        entries.append(SchoolEntry(**cells, emails=emails, email_problem=problem))
    if not entries:
        raise RegistryError(f"В реестре ОО {name} нет ни одной организации: под строкой "
                            "заголовков должна быть хотя бы одна строка.")
    return entries


def _email_position(positions: dict[str, int]) -> int | None:
    for title in REGISTRY_EMAIL_TITLES:
        if (pos := positions.get(normalize_header(title))) is not None:
            return pos
    return None


def _emails(text: str, name: str, line: int) -> tuple[tuple[str, ...], str]:
    """The row's addresses, or () and the Russian reason: a bad address never stops the
    registry (the organisation simply gets no letters until it is fixed)."""
    try:
        return parse_addresses(text), ""
    except AddressError as exc:
        return (), (f"Реестр ОО {name}, строка {line}: «{str(exc)[:80]}» — не адрес эл. почты "
                    f"(столбец «{EMAIL_COLUMN}»). Письма этой организации не отправляются, "
                    "пока адрес не исправлен.")


def registry_municipality(entries: list[SchoolEntry]) -> str:
    """The municipality code the registry gives (column «код муниципалитета»), or ''."""
    codes = sorted({e.municipality for e in entries if e.municipality})
    if len(codes) > 1:
        raise RegistryError(
            f"В реестре ОО разные коды муниципалитета ({', '.join(codes)}): один реестр — "
            "один муниципалитет. Исправьте столбец «код муниципалитета».")
    return codes[0] if codes else ""


def _org_type(text: str, name: str, line: int) -> str:
    """The type as the dictionary spells it (ОО, СПО, ДО), whatever the case."""
    allowed = dictionary_values("org_types")
    for value in allowed:
        if normalize_header(value) == normalize_header(text):
            return value
    raise RegistryError(
        f"Реестр ОО {name}, строка {line}: тип «{text}» не из списка ({', '.join(allowed)}).")
