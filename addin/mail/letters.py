"""The letters' templates: Russian plain text plus HTML, one pair per kind of letter, that the
centre may replace in its own folder (``templates`` in the mail settings).

``<kind>.txt`` starts with the line «Тема: …», then an empty line and the plain body;
``<kind>.html`` is the HTML body. Placeholders are Jinja2 (``{{ организация }}``, ``{% if
комментарий %}…{% endif %}``). Every template is parsed and tried on sample values when the
settings load, so a misspelt placeholder is one Russian error at start, not a blank in 200
letters.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jinja2 import Environment, StrictUndefined, TemplateError, TemplateSyntaxError, meta

from addin.mail.settings import MailConfigError

DEFAULTS = Path(__file__).with_name("letters")
REMINDER, RETURNED, RESULT = "reminder", "returned", "result"
KIND_RU = {REMINDER: "напоминание", RETURNED: "возврат на доработку", RESULT: "итог свода"}
SUBJECT_PREFIX = "Тема:"
#: A left-out paragraph leaves blank lines behind: never more than one in a row.
_BLANKS = re.compile(r"\n[ \t]*(?:\n[ \t]*){2,}")

#: What every letter may use: the organisation, the period and its deadline, the page's address.
COMMON = {"организация": "Школа № 1", "код": "ОО-001", "период": "2026-11",
          "срок": "25.11.2026", "статус": "не сдано", "адрес_страницы": "https://example.org/",
          "подпись": "Муниципальный наставнический центр", "центр": "Наставнический центр"}
#: What each kind adds (sample values, used to try the templates at start).
EXTRA: dict[str, dict[str, Any]] = {
    REMINDER: {"срок_текст": "осталось 3 дн.", "комментарий": "Заполните лист «Встречи»."},
    RETURNED: {"комментарий": "Заполните лист «Встречи»."},
    RESULT: {"итог": "отклонён", "причина": "ошибок: 2", "принято": False,
             "замечания": ["X-002 предупреждение: пример замечания"]},
}


@dataclass(frozen=True)
class Rendered:
    subject: str
    text: str
    html: str


@dataclass
class _Pair:
    subject: Any
    text: Any
    html: Any


class Letters:
    """The compiled templates of every kind (defaults, or the centre's files over them)."""

    def __init__(self, folder: Path | None = None) -> None:
        self.folder = folder
        self._plain = Environment(undefined=StrictUndefined, autoescape=False,
                                  trim_blocks=True, lstrip_blocks=True)
        self._html = Environment(undefined=StrictUndefined, autoescape=True)
        self._pairs = {kind: self._load(kind) for kind in KIND_RU}

    def render(self, kind: str, values: dict[str, Any]) -> Rendered:
        """Subject, plain text and HTML of one letter."""
        pair = self._pairs[kind]
        subject = " ".join(pair.subject.render(**values).split())
        text = _BLANKS.sub("\n\n", pair.text.render(**values)).strip()
        return Rendered(subject, text + "\n", pair.html.render(**values))

    # -- loading and checking
    def _source(self, name: str) -> tuple[str, str]:
        """(text, where it came from) of a template file: the centre's, else the default."""
        for folder in (self.folder, DEFAULTS):
            if folder is None:
                continue
            path = folder / name
            if path.is_file():
                try:
                    return path.read_text(encoding="utf-8"), str(path)
                except (OSError, UnicodeDecodeError):
                    raise MailConfigError(f"Шаблон письма {path} не читается (нужен текст "
                                          "UTF-8).") from None
        raise MailConfigError(f"Нет шаблона письма {name}.")

    def _load(self, kind: str) -> _Pair:
        text, where = self._source(f"{kind}.txt")
        first, _, body = text.lstrip("\ufeff").partition("\n")
        if not first.startswith(SUBJECT_PREFIX):
            raise MailConfigError(f"Шаблон письма {where}: первая строка должна начинаться с "
                                  f"«{SUBJECT_PREFIX}» (тема письма).")
        html, html_where = self._source(f"{kind}.html")
        pair = _Pair(self._compile(self._plain, first[len(SUBJECT_PREFIX):], where, kind),
                     self._compile(self._plain, body, where, kind),
                     self._compile(self._html, html, html_where, kind))
        self._try(pair, kind, where)
        return pair

    def _compile(self, env: Environment, source: str, where: str, kind: str) -> Any:
        allowed = COMMON.keys() | EXTRA[kind].keys()
        try:
            used = meta.find_undeclared_variables(env.parse(source))
        except TemplateSyntaxError as exc:
            raise MailConfigError(f"Шаблон письма {where}, строка {exc.lineno}: ошибка "
                                  f"разметки ({exc.message}).") from None
        unknown = sorted(used - allowed)
        if unknown:
            names = ", ".join("{{ " + u + " }}" for u in unknown)
            raise MailConfigError(
                f"Шаблон письма {where}: неизвестная подстановка {names}. В письме "
                f"«{KIND_RU[kind]}» допустимы: "
                f"{', '.join('{{ ' + a + ' }}' for a in sorted(allowed))}.")
        return env.from_string(source)

    def _try(self, pair: _Pair, kind: str, where: str) -> None:
        values = {**COMMON, **EXTRA[kind]}
        try:
            pair.subject.render(**values)
            pair.text.render(**values)
            pair.html.render(**values)
        except TemplateError as exc:
            raise MailConfigError(f"Шаблон письма {where} не складывается в письмо: "
                                  f"{exc}.") from None
