"""«Напомнить», return notices and results by e-mail through the REAL `nastavnik serve` and a
REAL SMTP server started here (aiosmtpd): the mail server refusing after 3 of 10 letters and a
retry that sends only the 7, servers that cannot be used (wrong password, unreachable, silent)
on the page and in `nastavnik remind`, the centre in Chromium filtering «не сдано»,
previewing and sending, a return mailed at once, each school's result after «Собрать свод»,
and no participant's name or birth date in any letter, log line or journal row.
"""

from __future__ import annotations

import calendar
import csv
import os
import re
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path

import httpx
import pytest

from addin.web.access import add_school_code, add_staff
from tests.cli import run
from tests.smtp_server import REFUSAL, MailServer, silent_server
from tests.web_bench import csrf_of, free_port, start_server

STAFF, SECRET = "metodist1", "staff-secret-001"
SCHOOL_CODE, SCHOOL_SECRET = "ОО-001", "school-one-001"
ROW_RE = re.compile(r'<tr class="board-row" data-code="([^"]+)".*?</tr>', re.S)
MAIL_RE = re.compile(r'data-mail="([^"]*)"')


def address(code: str) -> str:
    return f"school{code[-3:]}@example.ru"


def write_registry(path: Path, rows: list[tuple[str, str, str]]) -> Path:
    """registry.csv with the column «Эл. почта»: (code, name, addresses) per school."""
    with path.open("w", encoding="utf-8-sig", newline="") as fh:
        writer = csv.writer(fh, delimiter=";")
        writer.writerow(["код ОО", "наименование", "тип", "источник", "Эл. почта"])
        for code, name, emails in rows:
            writer.writerow([code, name, "ОО", f"schools/{code}.xlsx", emails])
    return path


def access_file(path: Path) -> Path:
    add_staff(path, STAFF, SECRET)
    add_school_code(path, SCHOOL_CODE, SCHOOL_SECRET)
    return path


@contextmanager
def client(url: str) -> Iterator[httpx.Client]:
    """A staff member's browser session."""
    with httpx.Client(base_url=url, follow_redirects=True, timeout=120) as c:
        token = csrf_of(c.get("/login").text)
        c.post("/login", data={"csrf": token, "school": STAFF, "code": SECRET})
        yield c


def board_mail(html: str) -> dict[str, str]:
    """School code -> the outcome of its latest letter as the board shows it."""
    found = {}
    for m in ROW_RE.finditer(html):
        mail = MAIL_RE.search(m.group(0))
        found[m.group(1)] = mail.group(1) if mail else ""
    return found


def letters_table(collect: Path) -> list[sqlite3.Row]:
    conn = sqlite3.connect(collect / "workspace" / "journal.sqlite")
    conn.row_factory = sqlite3.Row
    try:
        return conn.execute("SELECT * FROM letters ORDER BY id").fetchall()
    finally:
        conn.close()


def send(c: httpx.Client, period: str, flt: str = "missing") -> httpx.Response:
    token = csrf_of(c.get(f"/staff/remind?period={period}&filter={flt}").text)
    return c.post("/staff/remind", data={"csrf": token, "period": period, "filter": flt})


# -- ten schools, none submitted -------------------------------------------------------------------
TEN = [(f"ОО-{n:03d}", f"Школа № {n}", address(f"ОО-{n:03d}")) for n in range(1, 11)]


@pytest.fixture(scope="module")
def ten(tmp_path_factory: pytest.TempPathFactory):
    """(serve, the SMTP server, collect folder, registry, mail config) over 10 schools."""
    base = tmp_path_factory.mktemp("ten")
    collect = base / "сдача"
    (collect / "schools").mkdir(parents=True)
    registry = write_registry(base / "реестр.csv", TEN)
    with MailServer(base) as mail:
        config = mail.settings_toml(base / "почта.toml")
        server = start_server("--collect-dir", collect, "--access-file",
                              access_file(base / "коды.txt"), "--registry", registry,
                              "--mail-config", config, log_path=base / "serve.log")
        yield server, mail, collect, registry, config
        server.stop()


def test_server_refusing_after_3_of_10_then_a_retry_sends_only_the_7(ten) -> None:
    server, mail, collect, _, _ = ten
    period = "2026-10"
    mail.refuse_after(3)
    with client(server.url) as c:
        preview = c.get(f"/staff/remind?period={period}&filter=missing").text
        assert preview.count('class="recipient"') == 10
        board = send(c, period)
        assert board.url.path == "/staff"
        outcomes = board_mail(board.text)
        assert sorted(outcomes.values()) == ["refused"] * 7 + ["sent"] * 3
        assert board.text.count(REFUSAL) == 7  # the server's own reason, per school
        first = {g.rcpt_tos[0] for g in mail.letters}
        assert len(first) == 3

        mail.refuse_after(None)  # the server accepts again: the retry
        again = board_mail(send(c, period).text)
        assert set(again.values()) == {"sent"}
    got = [g.rcpt_tos for g in mail.letters]
    assert len(got) == 10 and sorted(r[0] for r in got) == sorted(a for _, _, a in TEN)
    rows = [r for r in letters_table(collect) if r["period"] == period]
    assert [r["outcome"] for r in rows[:10]].count("sent") == 3  # all 10 first attempts
    assert [r["outcome"] for r in rows[:10]].count("refused") == 7
    assert len(rows) == 17 and {r["outcome"] for r in rows[10:]} == {"sent"}
    assert {r["school"] for r in rows if r["outcome"] == "sent"} == {c for c, _, _ in TEN}
    with client(server.url) as c:  # a third press the same day: nothing to send
        preview = c.get(f"/staff/remind?period={period}&filter=missing").text
        assert 'id="letter-none"' in preview and 'id="send-letters"' not in preview
        send(c, period)
    assert len(mail.letters) == 10


def test_letters_arrive_with_the_schools_values(ten) -> None:
    server, mail, _, _, _ = ten
    period = "2026-09"
    before = len(mail.letters)
    with client(server.url) as c:
        send(c, period)
    new = {g.rcpt_tos[0]: g for g in mail.letters[before:]}
    letter = new[address("ОО-004")]
    assert letter.subject == f"Напоминание: отчёт по наставничеству за {period} — Школа № 4"
    text = letter.body()
    assert "«Школа № 4» (код ОО-004)" in text and "до 25.09.2026" in text
    assert "Сейчас её статус: не сдано." in text and "https://nastavnik.example.ru/" in text
    assert "С уважением, наставнический центр" in text
    assert "до <b>25.09.2026</b>" in letter.body("html")


def cli_remind(registry: Path, collect: Path, config: Path, *extra: object, period: str = "",
               env_password: str | None = None):  # noqa: ANN202
    today = date.today()
    period = period or today.strftime("%Y-%m")
    day = min(today.day + 2, calendar.monthrange(today.year, today.month)[1])
    return run("remind", "--registry", registry, "--collect-dir", collect, "--period", period,
               "--days-before", 3, "--deadline-day", day, "--mail-config", config, *extra)


def test_cli_remind_dry_run_then_sends_once_a_day(ten, tmp_path: Path) -> None:
    _, mail, _, registry, config = ten
    collect = tmp_path / "сдача"
    (collect / "schools").mkdir(parents=True)
    # a registry staff uploaded on the page does not replace the one the command is given
    (collect / "workspace").mkdir()
    write_registry(collect / "workspace" / "registry.csv", TEN[:1])
    dry = cli_remind(registry, collect, config, "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert "писем 10" in dry.stdout and address("ОО-007") in dry.stdout
    assert "Письмо первой организации" in dry.stdout and "Traceback" not in dry.stderr
    before = len(mail.letters)
    assert len(mail.letters) == before  # a dry run sends nothing
    sent = cli_remind(registry, collect, config)
    assert sent.returncode == 0, sent.stdout + sent.stderr
    assert "Отправлено 10 из 10" in sent.stdout
    assert len(mail.letters) == before + 10
    second = cli_remind(registry, collect, config)
    assert second.returncode == 0 and "уже отправлено сегодня 10" in second.stdout
    assert len(mail.letters) == before + 10
    early = run("remind", "--registry", registry, "--collect-dir", collect, "--period",
                _next_month(), "--days-before", 3, "--mail-config", config)
    assert early.returncode == 0 and "напоминания не отправлены" in early.stdout


def test_cli_remind_with_refusals_exits_1_and_names_the_reason(ten, tmp_path: Path) -> None:
    _, mail, _, registry, config = ten
    collect = tmp_path / "сдача"
    (collect / "schools").mkdir(parents=True)
    mail.refuse_after(len(mail.letters) + 4)
    try:
        r = cli_remind(registry, collect, config)
    finally:
        mail.refuse_after(None)
    assert r.returncode == 1, r.stdout + r.stderr
    assert r.stdout.count(f"отклонено почтовым сервером: {REFUSAL}") == 6
    assert "Отправлено 4 из 10" in r.stdout


def test_two_runs_at_once_send_each_letter_once(ten, tmp_path: Path) -> None:
    """The timer's run and a second one (or the page) at the same moment: one waits."""
    import subprocess

    from tests.cli import NASTAVNIK

    _, mail, _, registry, config = ten
    collect = tmp_path / "сдача"
    (collect / "schools").mkdir(parents=True)
    today = date.today()
    day = min(today.day + 2, calendar.monthrange(today.year, today.month)[1])
    args = [str(NASTAVNIK), "remind", "--registry", str(registry), "--collect-dir",
            str(collect), "--period", today.strftime("%Y-%m"), "--deadline-day", str(day),
            "--mail-config", str(config)]
    before = len(mail.letters)
    mail.handler.delay = 0.2  # ten letters take two seconds: both runs are inside the window
    try:
        runs = [subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                 text=True, env=dict(os.environ, COLUMNS="200"))
                for _ in range(2)]
        outputs = [p.communicate(timeout=300) for p in runs]
    finally:
        mail.handler.delay = 0.0
    assert [p.returncode for p in runs] == [0, 0], outputs
    assert len(mail.letters) == before + 10
    assert sorted(g.rcpt_tos[0] for g in mail.letters[before:]) == sorted(a for _, _, a in TEN)


def _next_month() -> str:
    today = date.today()
    year, month = (today.year + 1, 1) if today.month == 12 else (today.year, today.month + 1)
    return f"{year}-{month:02d}"


# -- servers that cannot be used -------------------------------------------------------------------
@pytest.fixture(params=["password", "unreachable", "timeout"])
def broken_mail(request: pytest.FixtureRequest, tmp_path: Path,
                monkeypatch: pytest.MonkeyPatch):
    """(mail config, the Russian words expected) for each way a mail server is unusable."""
    if request.param == "password":
        monkeypatch.setenv("TEST_SMTP_PASSWORD", "не-тот-пароль")
        with MailServer(tmp_path, "starttls", login="centre", password="верный") as mail:
            yield mail.settings_toml(tmp_path / "почта.toml"), "не принял логин «centre»"
            assert mail.letters == []
    elif request.param == "unreachable":
        path = tmp_path / "почта.toml"
        path.write_text(f'host = "127.0.0.1"\nport = {free_port()}\nsecurity = "none"\n'
                        'sender_address = "centre@example.ru"\n', encoding="utf-8")
        yield path, "недоступен"
    else:
        with silent_server() as port:
            path = tmp_path / "почта.toml"
            path.write_text(f'host = "127.0.0.1"\nport = {port}\nsecurity = "none"\n'
                            'sender_address = "centre@example.ru"\ntimeout = 1\n',
                            encoding="utf-8")
            yield path, "не ответил за 1 с"


def test_unusable_mail_server_is_one_russian_message_and_nothing_is_sent(
        broken_mail, tmp_path: Path) -> None:
    config, words = broken_mail
    collect = tmp_path / "сдача"
    (collect / "schools").mkdir(parents=True)
    registry = write_registry(tmp_path / "реестр.csv", TEN[:3])
    server = start_server("--collect-dir", collect, "--access-file",
                          access_file(tmp_path / "коды.txt"), "--registry", registry,
                          "--mail-config", config, log_path=tmp_path / "serve.log")
    try:
        with client(server.url) as c:
            r = send(c, "2026-11")
            assert r.status_code == 502
            message = re.search(r'id="mail-error">([^<]*)<', r.text).group(1)
            assert words in message and "Ни одно письмо не отмечено отправленным" in message
            assert set(board_mail(c.get("/staff?period=2026-11").text).values()) == {""}
        secret = os.environ.get("TEST_SMTP_PASSWORD", "no-password-set")
        assert "Traceback" not in server.log() and secret not in server.log()
        assert secret not in r.text
    finally:
        server.stop()
    cli = cli_remind(registry, collect, config)
    assert cli.returncode == 2
    assert words in cli.stderr and "Напоминания не отправлены" in cli.stderr
    assert "Traceback" not in cli.stderr + cli.stdout and secret not in cli.stderr + cli.stdout
    assert [r for r in letters_table(collect) if r["outcome"] == "sent"] == []


def test_a_bad_placeholder_stops_the_server_with_a_russian_error(tmp_path: Path) -> None:
    folder = tmp_path / "письма"
    folder.mkdir()
    (folder / "result.txt").write_text("Тема: Итог {{ итоги }}\n\nТекст\n", encoding="utf-8")
    config = tmp_path / "почта.toml"
    config.write_text('host = "h"\nsender_address = "a@b.ru"\ntemplates = "письма"\n',
                      encoding="utf-8")
    (tmp_path / "сдача").mkdir()
    r = run("serve", "--port", free_port(), "--collect-dir", tmp_path / "сдача",
            "--mail-config", config, timeout=60)
    assert r.returncode == 2
    assert "result.txt" in r.stderr and "{{ итоги }}" in r.stderr and "Traceback" not in r.stderr


def test_registry_upload_with_addresses_and_a_bad_one(ten, tmp_path: Path) -> None:
    """Last in this module: it replaces the server's registry."""
    from openpyxl import Workbook

    server, _, _, _, _ = ten
    wb = Workbook()
    ws = wb.active
    ws.append(["код ОО", "наименование", "тип", "источник", "Эл. почта"])
    ws.append(["ОО-001", "Школа № 1", "ОО", "schools/ОО-001.xlsx", "a@s1.ru; b@s1.ru"])
    ws.append(["ОО-002", "Школа № 2", "ОО", "schools/ОО-002.xlsx", "секретарь"])
    wb.save(tmp_path / "реестр.xlsx")
    with client(server.url) as c:
        token = csrf_of(c.get("/staff/registry").text)
        with (tmp_path / "реестр.xlsx").open("rb") as fh:
            r = c.post("/staff/registry", data={"csrf": token},
                       files={"file": ("реестр.xlsx", fh)})
        assert r.status_code == 200 and "Реестр загружен: организаций 2" in r.text
        problems = re.search(r'id="email-problems">(.*?)</div>', r.text, re.S).group(1)
        assert "строка 3" in problems and "«секретарь»" in problems
        assert '<td data-label="Эл. почта" class="emails">a@s1.ru, b@s1.ru</td>' in r.text
        preview = c.get("/staff/remind?period=2026-08&filter=missing").text
        states = dict(re.findall(r'class="recipient" data-code="([^"]+)" data-state="([^"]+)"',
                                 preview))
        assert states == {"ОО-001": "to-send", "ОО-002": "no-address"}
        assert "«секретарь»" in preview  # why ОО-002 gets nothing
