"""The history of the school workbook: every released template version and the steps from
each version to the next, declared as data beside the contract.

A reader never grows a version special case. An old book is read by applying the declared
steps to its raw sheets (`addin.migrate`), and `nastavnik upgrade-book` applies the same steps
to put an old book's values into the current template. Headers and sheet names here are the
ones of the version a step starts from (a step sees the book as the steps before left it).

How a template change is released: docs/architecture.md («Releasing a template version»).
This module imports only the contract (layer 1 of design.md).
"""

from __future__ import annotations

from dataclasses import dataclass

from workbook_templates import contract as C


@dataclass(frozen=True)
class RenameSheet:
    """A sheet got a new name."""

    old: str
    new: str


@dataclass(frozen=True)
class RenameColumn:
    """A column (on a form sheet: a field label) got a new header."""

    sheet: str
    old: str
    new: str


@dataclass(frozen=True)
class AddColumn:
    """A new column (on a form sheet: a new field), filled with `default` or left blank."""

    sheet: str
    header: str
    default: object = None


@dataclass(frozen=True)
class SplitColumn:
    """One column became several: each value is cut at `separator` into the new columns in
    order; what does not fit stays, joined, in the last one. The old column goes away."""

    sheet: str
    old: str
    new: tuple[str, ...]
    separator: str = " "


@dataclass(frozen=True)
class MergeColumns:
    """Several columns became one: the non-empty values joined with `separator`. The old
    columns go away."""

    sheet: str
    old: tuple[str, ...]
    new: str
    separator: str = " "


@dataclass(frozen=True)
class RenameValue:
    """A dictionary value got a new wording: cells holding `old` in the column now hold
    `new` (the comparison ignores case, dashes and spaces, as the readers do)."""

    sheet: str
    column: str
    old: str
    new: str


@dataclass(frozen=True)
class MoveColumn:
    """A column moved to another table sheet: each row of the target gets the value of the
    source row whose `source_key` equals its `target_key` (rows without a match stay blank;
    source values whose key is nowhere in the target are kept in a new target row)."""

    source: str
    column: str
    target: str
    source_key: str
    target_key: str


Step = RenameSheet | RenameColumn | AddColumn | SplitColumn | MergeColumns | RenameValue | \
    MoveColumn


@dataclass(frozen=True)
class Release:
    """One released template version: what changed for the curator, and the steps that turn
    a book of the previous release into this one."""

    version: str
    released: str  # ГГГГ-ММ
    changes_ru: str
    steps: tuple[Step, ...] = ()


_MON = C.MONITORING.name

#: Every released version, oldest first. The last one is the contract's TEMPLATE_VERSION.
HISTORY: tuple[Release, ...] = (
    Release("1.0", "2026-09", "Первая версия шаблона."),
    Release(
        "1.1", "2026-12",
        "На листе «Мониторинг» появились столбцы анкеты: комфорт общения и польза встреч "
        "(1–5), встречи по плану и желание продолжить (да/нет). Они заполняются по мере "
        "анкетирования; в перенесённой книге они пустые.",
        (
            AddColumn(_MON, "Комфорт общения (1–5)"),
            AddColumn(_MON, "Польза встреч (1–5)"),
            AddColumn(_MON, "Встречи проходили по плану"),
            AddColumn(_MON, "Хочет продолжить"),
        ),
    ),
)

VERSIONS: tuple[str, ...] = tuple(r.version for r in HISTORY)
#: How many versions behind the current one a reader accepts (through the migration) by
#: default; the centre narrows it with `--accept-versions` or `--old-versions-until`.
DEFAULT_VERSIONS_BEHIND = 1


def version_key(version: str) -> tuple[int, ...] | None:
    """«1.10» -> (1, 10); None for text that is not a dotted version number."""
    parts = version.strip().split(".")
    if not all(p.isdigit() for p in parts):
        return None
    return tuple(int(p) for p in parts)


def is_newer(version: str, than: str = C.TEMPLATE_VERSION) -> bool:
    """Whether `version` is a version number above `than` (a book of a newer program)."""
    a, b = version_key(version), version_key(than)
    return a is not None and b is not None and a > b


def steps_between(old: str, new: str = C.TEMPLATE_VERSION) -> list[tuple[str, Step]]:
    """(version the step leads to, step) for every step from `old` up to `new`, in order.

    KeyError if either version was never released; ValueError if `old` is after `new`.
    """
    start, end = VERSIONS.index(old), VERSIONS.index(new)
    if start > end:
        raise ValueError(f"cannot go back from {old} to {new}")
    return [(r.version, s) for r in HISTORY[start + 1:end + 1] for s in r.steps]


def release(version: str) -> Release:
    """The release of this version (KeyError if there is none)."""
    for r in HISTORY:
        if r.version == version:
            return r
    raise KeyError(version)


def default_accepted() -> tuple[str, ...]:
    """The versions accepted when the centre did not say: the current one and the ones
    DEFAULT_VERSIONS_BEHIND before it."""
    end = VERSIONS.index(C.TEMPLATE_VERSION)
    return VERSIONS[max(0, end - DEFAULT_VERSIONS_BEHIND):end + 1]


# -- the transition window ---------------------------------------------------------------
class WindowError(ValueError):
    """The window options cannot be used (Russian message)."""


@dataclass(frozen=True)
class VersionWindow:
    """Versions accepted, and the last period in which the older ones are."""

    accepted: tuple[str, ...] = default_accepted()
    until: str | None = None

    def accepts(self, version: str, period: str) -> bool:
        if version == C.TEMPLATE_VERSION:
            return True
        return version in self.accepted and (self.until is None or period <= self.until)

    def reason_ru(self, version: str, period: str) -> str:
        why = (f"старые версии шаблона принимались до периода {self.until} включительно"
               if self.until is not None and version in self.accepted and period > self.until
               else "муниципальный центр принимает книги версий "
               + ", ".join(sorted({*self.accepted, C.TEMPLATE_VERSION})))
        return (f"Книга старой версии шаблона {version}: {why}. Обновите книгу до версии "
                f"{C.TEMPLATE_VERSION} (кнопка «Обновить книгу до версии {C.TEMPLATE_VERSION}» "
                "на странице проверки или nastavnik upgrade-book КНИГА --out НОВАЯ.xlsx) и "
                "пришлите её снова.")


def window_of(accept_versions: str | None, until: str | None) -> VersionWindow:
    """The window from the options (each may be None: the default of versions.py)."""
    accepted = default_accepted()
    if accept_versions is not None:
        wanted = tuple(v.strip() for v in accept_versions.replace(";", ",").split(",")
                       if v.strip())
        unknown = [v for v in wanted if v not in VERSIONS]
        if unknown:
            raise WindowError(f"неизвестная версия шаблона «{unknown[0]}»; выпущены версии "
                              + ", ".join(VERSIONS))
        accepted = tuple(dict.fromkeys((*wanted, C.TEMPLATE_VERSION)))
    return VersionWindow(accepted, until)
