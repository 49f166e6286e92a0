"""`nastavnik serve --config сервер.toml`: the keys are ServerConfig's fields (every one of
them, including fields added later), flags given on the command line win, secrets and wrong
values are refused in Russian, and the shipped example loads."""

from __future__ import annotations

import dataclasses
import typing
from pathlib import Path

import httpx
import pytest

from addin.web import config_file
from addin.web.access import add_school_code
from addin.web.config import ServerConfig, ServerConfigError
from tests.cli import run
from tests.served import serve
from tests.web_bench import free_port

REPO = Path(__file__).resolve().parents[1]
EXAMPLE = REPO / "deploy" / "server.example.toml"


def sample_value(name: str, hint: object) -> tuple[str, object]:
    """A TOML literal for a field of this type and the value it must load as."""
    kinds = [k for k in typing.get_args(hint) or (hint,) if k is not type(None)]
    kind = kinds[0] if kinds else str
    if kind is Path:
        return f'"/srv/{name}"', Path(f"/srv/{name}")
    if kind is bool:
        return "true", True
    if kind is int:
        return "7", 7
    if kind is float:
        return "2.5", 2.5
    return f'"{name}-значение"', f"{name}-значение"


def test_every_field_of_the_server_config_is_a_key(tmp_path: Path) -> None:
    """Generic over the dataclass: a field another part adds is a key with no more code."""
    hints = typing.get_type_hints(ServerConfig)
    lines, expected = ["[server]"], {}
    for f in dataclasses.fields(ServerConfig):
        if config_file.SECRET_RE.search(f.name):
            continue
        literal, value = sample_value(f.name, hints[f.name])
        lines.append(f"{f.name} = {literal}")
        expected[f.name] = value
    for name in config_file.MUST_EXIST:  # these must name a file that is there
        lines = [line for line in lines if not line.startswith(f"{name} =")]
        (tmp_path / f"{name}.toml").write_text("", encoding="utf-8")
        lines.append(f'{name} = "{name}.toml"')
        expected[name] = tmp_path / f"{name}.toml"
    path = tmp_path / "сервер.toml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert config_file.load(path) == expected
    merged = config_file.merge(ServerConfig(), expected, given={"port", "registry"})
    assert merged.port == ServerConfig().port and merged.registry_path is None  # flags win
    assert merged.collect_dir == Path("/srv/collect_dir")


def test_the_shipped_example_loads_and_is_safe() -> None:
    values = config_file.load(EXAMPLE)
    assert values["behind_proxy"] is True and values["host"] == "127.0.0.1"
    assert values["timezone"] == "Europe/Moscow"
    config = dataclasses.replace(ServerConfig(), **values)
    assert config.access_file == Path("/var/lib/nastavnik/access.txt")
    assert not any(config_file.SECRET_RE.search(k) for k in values)


@pytest.mark.parametrize(("text", "expected"), [
    ('tokn = "x"', "Неизвестный ключ «tokn»"),
    ('token = "s3cret"', "секреты"),
    ('smtp_password = "s3cret"', "секреты"),
    ('port = "восемь"', "целое число"),
    ("port = 70000", "от 1 до 65535"),
    ("behind_proxy = 1", "true или false"),
    ("collect_dir = 5", "путь"),
    ("host = 127.0.0.1", "не TOML"),
    ('targets_path = "нет-такого.toml"', "Файл целевых значений не найден"),
])
def test_wrong_files_are_refused_in_russian(tmp_path: Path, text: str, expected: str) -> None:
    path = tmp_path / "сервер.toml"
    path.write_text(f"[server]\n{text}\n", encoding="utf-8")
    with pytest.raises(ServerConfigError, match=expected):
        config_file.load(path)


def test_serve_reads_the_file_and_its_flags_win(tmp_path: Path) -> None:
    add_school_code(tmp_path / "коды.txt", "ОО-001", "school-one-001")
    file_port, flag_port = free_port(), free_port()
    config = tmp_path / "сервер.toml"
    config.write_text(f'[server]\nport = {file_port}\naccess_file = "коды.txt"\n'
                      'collect_dir = "сдача"\ntimezone = "Asia/Vladivostok"\n', encoding="utf-8")
    server = serve("--config", config, "--port", flag_port, log_path=tmp_path / "serve.log",
                   url=f"http://127.0.0.1:{flag_port}")
    try:
        # The access file of the file (relative to it) is in force: the page needs a login.
        r = httpx.get(f"{server.url}/", follow_redirects=False, timeout=30)
        assert r.status_code == 303 and r.headers["location"] == "/login"
        assert (tmp_path / "сдача" / "workspace").is_dir()
        with pytest.raises(httpx.ConnectError):
            httpx.get(f"http://127.0.0.1:{file_port}/health", timeout=5)
    finally:
        server.stop()
    proc = run("serve", "--config", tmp_path / "нет.toml", "--port", free_port(), timeout=60)
    text = " ".join((proc.stdout + proc.stderr).split())
    assert proc.returncode == 2 and "Файл настроек сервера не найден" in text, text
    assert "Traceback" not in text


def test_the_webdav_keys_of_the_file_reach_the_sync(tmp_path: Path) -> None:
    """source_webdav, webdav_login and webdav_key_file (the file of the application password)
    are read from the file as their flags are: the same refusals before the server starts."""
    def serve_with(lines: str) -> str:
        config = tmp_path / "сервер.toml"
        config.write_text(f'[server]\ncollect_dir = "сдача"\n{lines}', encoding="utf-8")
        proc = run("serve", "--config", config, "--port", free_port(), timeout=60)
        text = " ".join((proc.stdout + proc.stderr).split())
        assert proc.returncode == 2 and "Traceback" not in text, text
        return text

    assert "Укажите и --source-webdav" in serve_with(
        'webdav_login = "metodist"\nwebdav_key_file = "пароль.txt"\n')
    text = serve_with('source_webdav = "https://webdav.example.ru/Наставничество/"\n'
                      'webdav_login = "metodist"\nwebdav_key_file = "пароль.txt"\n')
    assert "Файл пароля WebDAV не найден" in text and str(tmp_path / "пароль.txt") in text
