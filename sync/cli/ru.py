"""Russian for click's own messages (usage errors, help headings), so that everything a user
of `nastavnik` reads is Russian.

click looks its messages up through `gettext` (the module-level `_` of each click module) and
ships no Russian catalogue. `install()` points those lookups at the small catalogue below;
messages not in it stay as click wrote them.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

import click

CATALOGUE: dict[str, str] = {
    "Usage:": "Использование:",
    "Options": "Параметры",
    "Commands": "Команды",
    "Positional arguments": "Аргументы",
    "Aborted!": "Прервано.",
    "Error: {message}": "Ошибка: {message}",
    "Try '{command} {option}' for help.": "Справка: {command} {option}",
    "Invalid value: {message}": "Неверное значение: {message}",
    "Invalid value for {param_hint}: {message}": "Неверное значение {param_hint}: {message}",
    "Missing argument": "Не указан аргумент",
    "Missing option": "Не указан параметр",
    "Missing parameter": "Не указан параметр",
    "Missing {param_type}": "Не указан {param_type}",
    "Missing parameter: {param_name}": "Не указан параметр: {param_name}",
    "Missing command.": "Не указана команда.",
    "No such option {name!r}.": "Нет параметра {name!r}.",
    "No such command {name!r}.": "Нет команды {name!r}.",
    "Did you mean {possibility}?": "Возможно, имелось в виду {possibility}?",
    "Got unexpected extra argument ({args})": "Лишний аргумент ({args})",
    "Option {name!r} requires an argument.": "Параметру {name!r} нужно значение.",
    "Option {name!r} does not take a value.": "Параметр {name!r} не принимает значения.",
    "Show this message and exit.": "Показать эту справку и выйти.",
    "Show the version and exit.": "Показать версию и выйти.",
    "default: {default}": "по умолчанию: {default}",
    "env var: {var}": "переменная окружения: {var}",
    "Choose from:\n\t{choices}": "Выберите из:\n\t{choices}",
    "{value!r} is not {choice}.": "{value!r} — не {choice}.",
    "{value!r} is not one of {choices}.": "{value!r} — не одно из {choices}.",
    "{value!r} is not a valid {number_type}.": "{value!r} — не {number_type}.",
    "{value} is not in the range {range}.": "{value} вне допустимых пределов {range}.",
    "file": "файл",
    "directory": "папка",
    "path": "путь",
    "{name} {filename!r} does not exist.": "{name} {filename!r} не существует.",
    "{name} {filename!r} is a file.": "{name} {filename!r} — файл, а нужна папка.",
    "{name} {filename!r} is a directory.": "{name} {filename!r} — папка, а нужен файл.",
    "{name} {filename!r} is not readable.": "{name} {filename!r} недоступен для чтения.",
    "{name} {filename!r} is not writable.": "{name} {filename!r} недоступен для записи.",
    "Could not open file {filename!r}: {message}": "Не удалось открыть {filename!r}: {message}",
    "integer": "целое число",
    "integer range": "целое число",
    "float": "число",
    "float range": "число",
    "boolean": "да или нет",
    "datetime": "дата и время",
}
#: click's parameter types whose `name` is shown untranslated («'x' is not a valid integer.»,
#: the metavar of --help): their names go through CATALOGUE too.
_TYPES = ("IntParamType", "IntRange", "FloatParamType", "FloatRange", "BoolParamType",
          "DateTime")
_MODULES = ("core", "exceptions", "types", "formatting", "decorators", "parser", "termui")


def translate(message: str) -> str:
    """The Russian of one click message (the message itself when there is none)."""
    return CATALOGUE.get(message, message)


def translate_plural(singular: str, plural: str, n: int) -> str:
    return translate(singular if n == 1 else plural)


def install() -> None:
    """Make every click module look its messages up in CATALOGUE."""
    for name in _MODULES:
        try:
            module = importlib.import_module(f"click.{name}")
        except ImportError:  # a click version without this module
            continue
        original: Callable[[str], str] | None = getattr(module, "_", None)
        if original is not None:
            module._ = translate  # type: ignore[attr-defined]
        if getattr(module, "ngettext", None) is not None:
            module.ngettext = translate_plural  # type: ignore[attr-defined]
    for name in _TYPES:
        kind = getattr(click.types, name, None)
        if kind is not None and isinstance(getattr(kind, "name", None), str):
            kind.name = translate(kind.name)


class RuCommand(click.Command):
    """A command whose usage line says [ПАРАМЕТРЫ] instead of [OPTIONS]."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("options_metavar", "[ПАРАМЕТРЫ]")
        super().__init__(*args, **kwargs)


class RuGroup(click.Group):
    """A group of RuCommands, with a Russian usage line."""

    command_class = RuCommand

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("options_metavar", "[ПАРАМЕТРЫ]")
        kwargs.setdefault("subcommand_metavar", "КОМАНДА [АРГУМЕНТЫ]...")
        super().__init__(*args, **kwargs)


RuGroup.group_class = RuGroup
