"""The shipped deployment, tested: a REAL nginx with the shipped site file (only its ports,
certificate paths and page folder changed) in front of the REAL `nastavnik serve
--behind-proxy`, a self-signed certificate made here, nginx running as this user on high ports.
A school logs in and submits through it, an upload over the limit is refused by nginx with the
Russian page, a stopped server gives the Russian «недоступен» page, and `nginx -t` accepts the
shipped file. The systemd unit is checked by `systemd-analyze verify` where systemd is."""

from __future__ import annotations

import getpass
import hashlib
import os
import re
import shutil
import ssl
import subprocess
import time
from pathlib import Path

import httpx
import pytest

from addin.web.access import add_school_code
from tests.served import self_signed, serve
from tests.web_bench import csrf_of, free_port, upload

REPO = Path(__file__).resolve().parents[1]
DEPLOY = REPO / "deploy"
SITE = DEPLOY / "nginx" / "nastavnik.conf"
SCHOOL, SECRET = "ОО-500", "school-five-500"
NGINX = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else "")


@pytest.fixture(scope="module")
def nginx_exe() -> str:
    if not NGINX:
        if os.environ.get("REQUIRE_NGINX"):
            pytest.fail("nginx is required here (apt-get install nginx)")
        pytest.skip("nginx not installed (apt-get install nginx)")
    return NGINX


def site_for_test(folder: Path, cert: Path, key: Path, https_port: int, http_port: int,
                  upstream: int) -> Path:
    """The shipped site file with only what a test machine must change; each change must find
    its line (a reshaped shipped file fails here, not silently)."""
    text = SITE.read_text(encoding="utf-8")
    changes = [("listen 443 ssl http2;", f"listen 127.0.0.1:{https_port} ssl http2;"),
               ("listen [::]:443 ssl http2;", ""),
               ("listen 80;", f"listen 127.0.0.1:{http_port};"),
               ("listen [::]:80;", ""),
               ("/etc/ssl/nastavnik/fullchain.pem", str(cert)),
               ("/etc/ssl/nastavnik/privkey.pem", str(key)),
               ("root /usr/share/nastavnik/nginx;", f"root {DEPLOY / 'nginx'};"),
               ("proxy_pass http://127.0.0.1:8000;", f"proxy_pass http://127.0.0.1:{upstream};")]
    for old, new in changes:
        assert old in text, f"the shipped {SITE.name} has no «{old}»"
        text = text.replace(old, new)
    path = folder / "site.conf"
    path.write_text(text, encoding="utf-8")
    return path


def main_conf(folder: Path, site: Path) -> Path:
    """nginx.conf of a prefix of our own: pid, logs and buffers in `folder`, no root needed."""
    temp = "\n".join(f"    {kind}_temp_path {folder / kind};"
                     for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
    user = f"user {getpass.getuser()};\n" if os.geteuid() == 0 else ""  # root: keep our files
    text = (f"{user}worker_processes 1;\npid {folder / 'nginx.pid'};\n"
            f"error_log {folder / 'error.log'} notice;\nevents {{ worker_connections 64; }}\n"
            f"http {{\n    include /etc/nginx/mime.types;\n"
            f"    access_log {folder / 'access.log'};\n{temp}\n    include {site};\n}}\n")
    path = folder / "nginx.conf"
    path.write_text(text, encoding="utf-8")
    return path


def nginx_cmd(exe: str, folder: Path, conf: Path, *extra: str) -> list[str]:
    return [exe, "-p", str(folder), "-e", str(folder / "error.log"), "-c", str(conf), *extra]


def test_nginx_accepts_the_shipped_site_file(nginx_exe, tmp_path: Path) -> None:
    """`nginx -t` on the shipped file, its listens and directives as shipped (only the
    certificate, which a test cannot put in /etc/ssl, and the page folder point here)."""
    cert, key = self_signed(tmp_path)
    text = SITE.read_text(encoding="utf-8")
    for old, new in (("/etc/ssl/nastavnik/fullchain.pem", str(cert)),
                     ("/etc/ssl/nastavnik/privkey.pem", str(key))):
        assert old in text
        text = text.replace(old, new)
    site = tmp_path / "site.conf"
    site.write_text(text, encoding="utf-8")
    proc = subprocess.run(nginx_cmd(nginx_exe, tmp_path, main_conf(tmp_path, site), "-t"),
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0 and "test is successful" in proc.stderr, proc.stderr


@pytest.fixture(scope="module")
def stack(nginx_exe, tmp_path_factory: pytest.TempPathFactory):
    """nastavnik serve --behind-proxy on 127.0.0.1 and the shipped nginx site in front."""
    import random

    from workbook_templates.build import write_school_workbook
    from workbook_templates.demo import make_school

    base = tmp_path_factory.mktemp("deploy")
    codes = base / "access.txt"
    add_school_code(codes, SCHOOL, SECRET)
    collect = base / "collect"
    book = write_school_workbook(base / "книга.xlsx",
                                 make_school(SCHOOL, random.Random(7), n_participants=40))
    cert, key = self_signed(base)
    upstream, https_port, http_port = free_port(), free_port(), free_port()
    server = serve("--port", upstream, "--behind-proxy", "--access-file", codes,
                   "--collect-dir", collect, log_path=base / "serve.log",
                   url=f"http://127.0.0.1:{upstream}")
    conf = main_conf(base, site_for_test(base, cert, key, https_port, http_port, upstream))
    nginx = subprocess.Popen(nginx_cmd(nginx_exe, base, conf, "-g", "daemon off;"),
                             stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT,
                             stdin=subprocess.DEVNULL)
    trust = ssl.create_default_context(cafile=str(cert))
    url = f"https://127.0.0.1:{https_port}"
    try:
        for _ in range(300):
            try:
                if httpx.get(f"{url}/health", verify=trust, timeout=5).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        else:
            raise RuntimeError((base / "error.log").read_text(errors="replace"))
        yield {"url": url, "http": f"http://127.0.0.1:{http_port}", "trust": trust,
               "server": server, "collect": collect, "book": book, "base": base}
    finally:
        nginx.terminate()
        nginx.wait(timeout=30)
        server.stop()


def test_a_school_logs_in_and_submits_through_nginx(stack) -> None:
    with httpx.Client(base_url=stack["url"], verify=stack["trust"], follow_redirects=True,
                      timeout=120) as c:
        first = c.get("/login")
        assert "secure" in first.headers["set-cookie"].lower()  # https seen through the proxy
        r = c.post("/login", data={"csrf": csrf_of(first.text), "school": SCHOOL,
                                   "code": SECRET}, follow_redirects=False)
        assert r.status_code == 303 and "; secure" in r.headers["set-cookie"].lower()
        assert r.headers["strict-transport-security"].startswith("max-age=")
        r = upload(c, stack["book"])
        token = r.text.split('name="submit_token" value="')[1].split('"')[0]
        r = c.post("/submit", data={"csrf": csrf_of(r.text), "submit_token": token})
        assert r.status_code == 200, r.text[:1000]
        digest = re.search(r'id="receipt-sha256">([0-9a-f]{64})<', r.text).group(1)
    stored = stack["collect"] / "schools" / f"{SCHOOL}.xlsx"
    assert hashlib.sha256(stored.read_bytes()).hexdigest() == digest
    assert httpx.get(f"{stack['http']}/login").status_code == 301  # plain HTTP is sent away


def test_nginx_overwrites_a_forged_client_address(stack) -> None:
    """The server counts failed logins per client address: a forged X-Forwarded-For must not
    reach it through nginx (the shipped site overwrites the header)."""
    forged = "203.0.113.9"
    r = httpx.get(f"{stack['url']}/login?forged=1", headers={"X-Forwarded-For": forged},
                  verify=stack["trust"], timeout=60)
    assert r.status_code == 200
    deadline = time.monotonic() + 10
    while "forged=1" not in stack["server"].log() and time.monotonic() < deadline:
        time.sleep(0.1)
    line = next(x for x in stack["server"].log().splitlines() if "forged=1" in x)
    assert forged not in line and "127.0.0.1" in line


def test_an_upload_over_the_limit_is_refused_by_nginx_in_russian(stack) -> None:
    before = stack["server"].log().count("POST /check")
    with httpx.Client(base_url=stack["url"], verify=stack["trust"], timeout=120) as c:
        token = csrf_of(c.get("/login").text)
        big = os.urandom(27 * 1024 * 1024)
        r = c.post("/check", data={"csrf": token}, files={"file": ("книга.xlsx", big)},
                   headers={"Accept": "text/html"})
    assert r.status_code == 413
    assert "Файл слишком большой" in r.text and "25&nbsp;МБ" in r.text
    assert stack["server"].log().count("POST /check") == before  # never reached the server


def test_a_stopped_server_gives_the_russian_page(stack) -> None:
    """Last: stops the server behind nginx."""
    stack["server"].stop()
    r = httpx.get(f"{stack['url']}/login", verify=stack["trust"], timeout=60)
    assert r.status_code == 502 and "Сервер временно недоступен" in r.text


def test_the_systemd_unit_is_valid() -> None:
    unit = DEPLOY / "nastavnik.service"
    text = unit.read_text(encoding="utf-8")
    assert "serve --config /etc/nastavnik/server.toml" in text
    assert "ReadWritePaths=/var/lib/nastavnik" in text and "User=nastavnik" in text
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze not here: the unit was read, not verified")
    proc = subprocess.run([analyze, "verify", str(unit)], capture_output=True, text=True,
                          timeout=60)
    # The program exists only on a server; any other complaint (an unknown key, a bad value)
    # is a defect of the shipped unit.
    problems = [line for line in proc.stderr.splitlines() if line.strip() and
                "/opt/nastavnik/venv/bin/nastavnik is not executable" not in line]
    assert not problems, proc.stderr
