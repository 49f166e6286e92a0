"""HTTPS of the REAL `nastavnik serve`: uvicorn's own TLS with a certificate made here,
Secure cookies over TLS only, a network address refused without TLS unless --behind-proxy,
X-Forwarded-Proto believed from the proxy's address only, wrong certificate files refused in
Russian before the server starts."""

from __future__ import annotations

import ssl
from pathlib import Path

import httpx
import pytest

from addin.web.access import add_school_code
from tests.cli import run
from tests.served import self_signed, serve
from tests.web_bench import csrf_of, free_port

SCHOOL, SECRET = "ОО-001", "school-one-001"


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    base = tmp_path_factory.mktemp("tls")
    codes = base / "коды.txt"
    add_school_code(codes, SCHOOL, SECRET)
    cert, key = self_signed(base)
    return {"base": base, "codes": codes, "cert": cert, "key": key}


def login_cookie(c: httpx.Client, headers: dict[str, str] | None = None) -> str:
    """The Set-Cookie of a successful login (lower case). The visitor's cookie is sent back
    by hand: a client on plain HTTP keeps a Secure cookie to itself, as a browser would."""
    first = c.get("/login", headers=headers)
    visitor = first.headers["set-cookie"].split(";", 1)[0]
    r = c.post("/login", data={"csrf": csrf_of(first.text), "school": SCHOOL, "code": SECRET},
               headers={**(headers or {}), "Cookie": visitor}, follow_redirects=False)
    assert r.status_code == 303, r.text
    return r.headers["set-cookie"].lower()


def test_https_with_the_servers_own_certificate_and_secure_cookies(setup) -> None:
    port = free_port()
    server = serve("--port", port, "--access-file", setup["codes"], "--tls-cert", setup["cert"],
                   "--tls-key", setup["key"], log_path=setup["base"] / "tls.log",
                   url=f"https://127.0.0.1:{port}",
                   verify=ssl.create_default_context(cafile=str(setup["cert"])))
    try:
        trust = ssl.create_default_context(cafile=str(setup["cert"]))
        with httpx.Client(base_url=server.url, verify=trust, timeout=30) as c:
            cookie = login_cookie(c)
            assert "; secure" in cookie and "httponly" in cookie
            assert c.get("/", follow_redirects=False).status_code == 200
        with pytest.raises(httpx.ConnectError):  # an unknown certificate is not trusted
            httpx.get(f"{server.url}/health", timeout=10)
        with pytest.raises(httpx.HTTPError):  # plain HTTP on the TLS port gets no page
            httpx.get(f"http://127.0.0.1:{port}/health", timeout=10)
        assert "https://127.0.0.1" in server.log()
    finally:
        server.stop()


def test_forwarded_proto_only_from_the_proxy_address(setup) -> None:
    """Without --behind-proxy no one's X-Forwarded-Proto counts; with it, only the proxy's."""
    https = {"X-Forwarded-Proto": "https"}
    cases = {(): False, ("--behind-proxy",): True,
             ("--behind-proxy", "--proxy-address", "10.20.30.40"): False}
    for extra, secure in cases.items():
        port = free_port()
        server = serve("--port", port, "--access-file", setup["codes"], *extra,
                       log_path=setup["base"] / f"proxy-{port}.log",
                       url=f"http://127.0.0.1:{port}")
        try:
            with httpx.Client(base_url=server.url, timeout=30) as c:
                cookie = login_cookie(c, headers=https)
                assert ("; secure" in cookie) is secure, (extra, cookie)
        finally:
            server.stop()


def transport_cases(setup: dict[str, Path], tmp_path: Path) -> dict[str, tuple[list, str]]:
    """Configurations that must not start: their flags and a phrase of the Russian reason."""
    codes, cert, key = setup["codes"], setup["cert"], setup["key"]
    _, other_key = self_signed(tmp_path, "other")
    junk = tmp_path / "junk.pem"
    junk.write_text("это не сертификат", encoding="utf-8")
    return {
        "network without tls": (["--host", "0.0.0.0", "--access-file", codes], "без HTTPS"),
        "proxy without codes": (["--behind-proxy"], "--access-file"),
        "cert only": (["--access-file", codes, "--tls-cert", cert], "оба файла"),
        "missing cert": (["--access-file", codes, "--tls-cert", tmp_path / "нет.pem",
                          "--tls-key", key], "не найден"),
        "key of another cert": (["--access-file", codes, "--tls-cert", cert, "--tls-key",
                                 other_key], "не подходят"),
        "not pem": (["--access-file", codes, "--tls-cert", junk, "--tls-key", junk],
                    "не подходят"),
        "bad proxy address": (["--access-file", codes, "--behind-proxy", "--proxy-address",
                               "nginx"], "IP-адрес"),
        "bad timezone": (["--timezone", "Europe/Примерск"], "Часовой пояс"),
    }


@pytest.mark.parametrize("case", ["network without tls", "key of another cert"])
def test_the_command_refuses_in_russian(setup, tmp_path, case) -> None:
    args, expected = transport_cases(setup, tmp_path)[case]
    proc = run("serve", "--port", free_port(), *args, timeout=60)
    text = " ".join((proc.stdout + proc.stderr).split())
    assert proc.returncode == 2 and "Сервер не запущен" in text and expected in text, text
    assert "Traceback" not in text


def test_every_unsafe_or_wrong_transport_is_refused(setup, tmp_path) -> None:
    """The same check the command runs, for each case (in this process: fast)."""
    from addin.web.config import ServerConfig, ServerConfigError

    names = {"--host": "host", "--access-file": "access_file", "--tls-cert": "tls_cert",
             "--tls-key": "tls_key", "--proxy-address": "proxy_address",
             "--timezone": "timezone"}
    for args, expected in transport_cases(setup, tmp_path).values():
        values: dict = {"behind_proxy": "--behind-proxy" in args}
        flags = [a for a in args if a != "--behind-proxy"]
        for flag, value in zip(flags[::2], flags[1::2], strict=True):
            values[names[flag]] = value
        with pytest.raises(ServerConfigError, match=expected):
            ServerConfig(**values).check()
