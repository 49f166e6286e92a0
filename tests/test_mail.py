"""The mail package against a REAL SMTP server started here (aiosmtpd): settings from TOML
with the password outside it, the letters' templates and their placeholders, the registry's
«Эл. почта» column, and sending over plain SMTP, STARTTLS and SSL with a certificate made in
the test — Cyrillic subjects encoded, bodies in UTF-8, one Russian error per unusable server.
"""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest
from openpyxl import Workbook

from addin.mail.letters import Letters
from addin.mail.mailer import Mailer
from addin.mail.sender import REFUSED, SENT, Letter, MailServerError, send_letters
from addin.mail.settings import MailConfigError, load_settings
from sync.sources.registry import read_registry
from tests.smtp_server import REFUSAL, MailServer, silent_server
from tests.web_bench import free_port

SUBJECT = "Напоминание: отчёт за 2026-11 — МБОУ «СОШ № 1»"


def letter(code: str = "ОО-001", to: tuple[str, ...] = ("school1@example.ru",)) -> Letter:
    return Letter(code, "reminder", to, SUBJECT, "Здравствуйте! Срок — 25.11.2026.\n",
                  "<p>Здравствуйте! Срок — <b>25.11.2026</b>.</p>")


# -- settings ---------------------------------------------------------------------------------
def test_example_settings_load_with_the_password_from_the_environment() -> None:
    example = Path(__file__).resolve().parents[1] / "addin" / "mail" / "mail.example.toml"
    s = load_settings(example, {"NASTAVNIK_SMTP_PASSWORD": "secret-from-env"})
    assert (s.host, s.port, s.security) == ("smtp.example.ru", 587, "starttls")
    assert s.password == "secret-from-env"
    assert "secret-from-env" not in repr(s)  # never in a log line that prints the settings
    with pytest.raises(MailConfigError, match="NASTAVNIK_SMTP_PASSWORD"):
        load_settings(example, {})


@pytest.mark.parametrize(("text", "expected"), [
    ('host = "h"\nsender_address = "a@b.ru"\npassword = "x"\n', "Пароль не хранится"),
    ('host = "h"\nsender_address = "a@b.ru"\nhots = "x"\n', "неизвестные настройки: hots"),
    ('host = "h"\nsender_address = "a@b.ru"\nsecurity = "tls"\n', "ssl, starttls или none"),
    ('host = "h"\nsender_address = "нет"\n', "sender_address"),
    ('sender_address = "a@b.ru"\n', "host"),
    ('host = "h\n', "не TOML"),
])
def test_bad_settings_are_one_russian_sentence(tmp_path: Path, text: str, expected: str) -> None:
    path = tmp_path / "почта.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(MailConfigError) as info:
        load_settings(path, {})
    assert expected in info.value.message_ru


def test_password_file_beside_the_settings(tmp_path: Path) -> None:
    (tmp_path / "пароль").write_text("from-file\n", encoding="utf-8")
    path = tmp_path / "почта.toml"
    path.write_text('host = "h"\nsender_address = "a@b.ru"\nlogin = "u"\n'
                    'password_file = "пароль"\n', encoding="utf-8")
    assert load_settings(path, {}).password == "from-file"


# -- templates --------------------------------------------------------------------------------
def test_a_wrong_placeholder_in_the_centres_template_is_an_error_at_start(tmp_path: Path) -> None:
    folder = tmp_path / "письма"
    folder.mkdir()
    (folder / "reminder.txt").write_text("Тема: Отчёт {{ период }}\nШкола {{ органзация }}\n",
                                         encoding="utf-8")
    with pytest.raises(MailConfigError) as info:
        Letters(folder)
    text = info.value.message_ru
    assert "reminder.txt" in text and "{{ органзация }}" in text and "{{ организация }}" in text
    (folder / "reminder.txt").write_text("Отчёт\n", encoding="utf-8")
    with pytest.raises(MailConfigError, match="Тема:"):
        Letters(folder)
    (folder / "reminder.txt").write_text("Тема: {{ период }\n", encoding="utf-8")
    with pytest.raises(MailConfigError, match="строка 1"):
        Letters(folder)


def test_the_centres_template_replaces_the_default_and_html_is_escaped(tmp_path: Path) -> None:
    folder = tmp_path / "письма"
    folder.mkdir()
    (folder / "returned.txt").write_text("Тема: Доработка — {{ код }}\n\n{{ комментарий }}\n"
                                         "{{ подпись }}\n", encoding="utf-8")
    config = tmp_path / "почта.toml"
    config.write_text('host = "h"\nsender_address = "a@b.ru"\ntemplates = "письма"\n'
                      'signature = "Центр"\n', encoding="utf-8")
    mailer = Mailer.load(config)
    values = {"организация": "Школа <b>", "код": "ОО-001", "период": "2026-11",
              "срок": "25.11.2026", "статус": "на доработке", "комментарий": "Исправьте <встречи>"}
    r = mailer.render("returned", values)
    assert r.subject == "Доработка — ОО-001"
    assert r.text == "Исправьте <встречи>\nЦентр\n"
    assert "Исправьте &lt;встречи&gt;" in r.html and "Школа &lt;b&gt;" in r.html  # the default


# -- the registry's addresses -----------------------------------------------------------------
def test_registry_addresses_from_csv_and_a_bad_one_names_its_row(tmp_path: Path) -> None:
    path = tmp_path / "реестр.csv"
    path.write_text("код ОО;наименование;тип;источник;Эл. почта\n"
                    "ОО-001;Школа 1;ОО;schools/ОО-001.xlsx;\"a@school1.ru; b@school1.ru\"\n"
                    "ОО-002;Школа 2;ОО;schools/ОО-002.xlsx;директор школы 2\n"
                    "ОО-003;Школа 3;ОО;schools/ОО-003.xlsx;\n", encoding="utf-8")
    entries = read_registry(path)
    assert [e.code for e in entries] == ["ОО-001", "ОО-002", "ОО-003"]  # all still load
    assert entries[0].emails == ("a@school1.ru", "b@school1.ru")
    assert entries[1].emails == () and "строка 3" in entries[1].email_problem
    assert "«директор»" in entries[1].email_problem and "Эл. почта" in entries[1].email_problem
    assert entries[2].emails == () and entries[2].email_problem == ""


@pytest.mark.parametrize(("cell", "expected"), [
    ("mailto:Info@School1.RU", ("Info@school1.ru",)),
    ("info@школа.рф", ("info@xn--80atdl2c.xn--p1ai",)),
    ("a@s.ru, a@s.ru;b@s.ru", ("a@s.ru", "b@s.ru")),
])
def test_addresses_of_a_cell(cell: str, expected: tuple[str, ...]) -> None:
    from addin.mail.addresses import parse_addresses

    assert parse_addresses(cell) == expected


@pytest.mark.parametrize("cell", ["иванов@school.ru", "a@b", "a@@b.ru", "<a@b.ru>", "тел. 22"])
def test_not_addresses(cell: str) -> None:
    from addin.mail.addresses import AddressError, parse_addresses

    with pytest.raises(AddressError):
        parse_addresses(cell)


def test_registry_addresses_from_xlsx(tmp_path: Path) -> None:
    wb = Workbook()
    ws = wb.active
    ws.append(["код ОО", "наименование", "тип", "источник", "эл. почта"])
    ws.append(["ОО-001", "Школа 1", "ОО", "schools/ОО-001.xlsx", "info@school1.ru,x@school1.ru"])
    ws.append(["ОО-002", "Школа 2", "ОО", "schools/ОО-002.xlsx", "info@@school2"])
    wb.save(tmp_path / "реестр.xlsx")
    entries = read_registry(tmp_path / "реестр.xlsx")
    assert entries[0].emails == ("info@school1.ru", "x@school1.ru")
    assert entries[1].emails == () and "строка 3" in entries[1].email_problem


# -- sending ----------------------------------------------------------------------------------
@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
@pytest.mark.parametrize("mode", ["none", "starttls", "ssl"])
def test_letters_arrive_over_plain_starttls_and_ssl(tmp_path: Path, mode: str,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TEST_SMTP_PASSWORD", "пароль-1")
    with MailServer(tmp_path, mode, login="centre", password="пароль-1") as server:
        settings = load_settings(server.settings_toml(tmp_path / "почта.toml"))
        outcomes = send_letters(settings, [letter(), letter("ОО-002", ("a@s2.ru", "b@s2.ru"))])
        assert [o.status for o in outcomes] == [SENT, SENT]
        got = server.letters
    assert [g.rcpt_tos for g in got] == [["school1@example.ru"], ["a@s2.ru", "b@s2.ru"]]
    assert got[0].mail_from == "centre@example.ru"
    raw_subject = re.search(rb"^Subject: (.*(?:\r?\n[ \t].*)*)", got[0].raw, re.M).group(1)
    assert raw_subject.isascii() and b"=?utf-8?" in raw_subject.lower()  # RFC 2047 encoded
    assert got[0].subject == SUBJECT
    assert got[0].body() == "Здравствуйте! Срок — 25.11.2026.\n"
    assert "<b>25.11.2026</b>" in got[0].body("html")
    assert "Наставнический центр" in str(got[0].message["From"])


def test_refusals_are_per_letter_with_the_servers_reason(tmp_path: Path) -> None:
    with MailServer(tmp_path) as server:
        server.refuse_after(1)
        settings = load_settings(server.settings_toml(tmp_path / "почта.toml"))
        outcomes = send_letters(settings, [letter(), letter("ОО-002"), letter("ОО-003")])
    assert [o.status for o in outcomes] == [SENT, REFUSED, REFUSED]
    assert outcomes[1].reason == REFUSAL


def test_wrong_password_unreachable_and_silent_servers(tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TEST_SMTP_PASSWORD", "не тот")
    with MailServer(tmp_path, "starttls", login="centre", password="верный") as server:
        settings = load_settings(server.settings_toml(tmp_path / "почта.toml"))
        with pytest.raises(MailServerError, match="не принял логин «centre» и пароль"):
            send_letters(settings, [letter()])
        assert server.letters == []
    closed = tmp_path / "closed.toml"
    closed.write_text(f'host = "127.0.0.1"\nport = {free_port()}\nsecurity = "none"\n'
                      'sender_address = "a@b.ru"\n', encoding="utf-8")
    with pytest.raises(MailServerError, match="недоступен: соединение отклонено"):
        send_letters(load_settings(closed), [letter()])
    with silent_server() as port:
        silent = tmp_path / "silent.toml"
        silent.write_text(f'host = "127.0.0.1"\nport = {port}\nsecurity = "none"\n'
                          'sender_address = "a@b.ru"\ntimeout = 1\n', encoding="utf-8")
        started = time.monotonic()
        with pytest.raises(MailServerError, match="не ответил за 1 с"):
            send_letters(load_settings(silent), [letter()])
        assert time.monotonic() - started < 5
