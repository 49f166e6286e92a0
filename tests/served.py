"""`nastavnik serve` as a subprocess with the environment, scheme and port the test chooses
(HTTPS with the test's own certificate, a fake clock, a configuration file), and a
self-signed certificate made on the spot."""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
import subprocess
import time
from pathlib import Path

import httpx

from tests.web_bench import NASTAVNIK, Server


def self_signed(folder: Path, name: str = "localhost") -> tuple[Path, Path]:
    """A certificate for `name` and 127.0.0.1 (valid a day) and its key, PEM, in `folder`."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName(
                [x509.DNSName(name), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                critical=False)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    key_path.chmod(0o600)
    return cert_path, key_path


def serve(*args: object, log_path: Path, url: str, env: dict[str, str] | None = None,
          verify: object = True, timeout: float = 60) -> Server:
    """`nastavnik serve ARGS` (the caller gives --port or --config), ready when `url`/health
    answers 200 (over HTTPS verified with `verify`)."""
    cmd = [str(NASTAVNIK), "serve", *map(str, args)]
    full_env = dict(os.environ, PYTHONUNBUFFERED="1", NO_COLOR="1", COLUMNS="200",
                    **(env or {}))
    with log_path.open("wb") as log:
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, env=full_env)
    server = Server(proc, url, log_path, cmd)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"nastavnik serve exited with {proc.returncode}:\n{server.log()}")
        try:
            if httpx.get(f"{url}/health", verify=verify, timeout=5).status_code == 200:
                return server
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    server.stop()
    raise RuntimeError(f"nastavnik serve did not answer {url}/health:\n{server.log()}")
