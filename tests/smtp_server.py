"""A real SMTP server for the mail tests (aiosmtpd on 127.0.0.1): plain, STARTTLS or SSL with
a certificate made here, an optional login, and a switch that makes it refuse letters after N.

`MailServer.letters` are the letters as they arrived (envelope and parsed message);
`silent_server()` accepts connections and never answers (the timeout case).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import ipaddress
import socket
import ssl
import threading
from contextlib import contextmanager
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from tests.web_bench import free_port

REFUSAL = "550 5.7.1 Sending limit exceeded"


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    raw: bytes

    @property
    def message(self) -> EmailMessage:
        return message_from_bytes(self.raw, policy=policy.default)  # type: ignore[return-value]

    @property
    def subject(self) -> str:
        return str(self.message["Subject"])

    def body(self, subtype: str = "plain") -> str:
        part = self.message.get_body(preferencelist=(subtype,))
        assert part is not None, f"no text/{subtype} part"
        return part.get_content().replace("\r\n", "\n")  # CRLF on the wire


@dataclass
class _Handler:
    letters: list[Received] = field(default_factory=list)
    #: Refuse every letter once this many were accepted (None: accept all).
    refuse_after: int | None = None
    #: Seconds each letter takes (a slow server widens the window for races).
    delay: float = 0.0
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_DATA(self, server, session, envelope) -> str:  # noqa: ANN001
        if self.delay:
            await asyncio.sleep(self.delay)
        with self.lock:
            if self.refuse_after is not None and len(self.letters) >= self.refuse_after:
                return REFUSAL
            self.letters.append(Received(envelope.mail_from, list(envelope.rcpt_tos),
                                         envelope.original_content or envelope.content))
        return "250 OK"


class MailServer:
    """aiosmtpd in a thread; `mode` is "none", "starttls" or "ssl"."""

    def __init__(self, folder: Path, mode: str = "none", login: str = "",
                 password: str = "") -> None:
        self.mode, self.login, self.password = mode, login, password
        self.handler = _Handler()
        self.port = free_port()
        self.cert = make_certificate(folder) if mode != "none" else None
        kwargs: dict = {}
        if login:
            kwargs.update(authenticator=self._auth, auth_required=True,
                          # aiosmtpd sees TLS only after STARTTLS; SSL is encrypted throughout
                          auth_require_tls=mode == "starttls")
        if mode == "starttls":
            kwargs.update(tls_context=self._context(), require_starttls=True)
        elif mode == "ssl":
            kwargs.update(ssl_context=self._context())
        self.controller = Controller(self.handler, hostname="127.0.0.1", port=self.port,
                                     **kwargs)

    def _context(self) -> ssl.SSLContext:
        assert self.cert is not None
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(str(self.cert[0]), str(self.cert[1]))
        return context

    def _auth(self, server, session, envelope, mechanism, auth_data) -> AuthResult:  # noqa: ANN001
        ok = (isinstance(auth_data, LoginPassword)
              and auth_data.login.decode() == self.login
              and auth_data.password.decode() == self.password)
        return AuthResult(success=ok, handled=False)

    @property
    def letters(self) -> list[Received]:
        with self.handler.lock:
            return list(self.handler.letters)

    def refuse_after(self, n: int | None) -> None:
        self.handler.refuse_after = n

    def __enter__(self) -> MailServer:
        self.controller.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.controller.stop()

    def settings_toml(self, path: Path, *, password_env: str = "TEST_SMTP_PASSWORD",
                      timeout: int = 10, extra: str = "") -> Path:
        """A --mail-config file for this server (the CA is the test's own certificate)."""
        lines = ["[mail]", 'host = "127.0.0.1"' if self.mode == "none" else 'host = "localhost"',
                 f"port = {self.port}", f'security = "{self.mode}"',
                 'sender_name = "Наставнический центр Северо-Озёрского округа"',
                 'sender_address = "centre@example.ru"',
                 'signature = "С уважением, наставнический центр"',
                 'page_url = "https://nastavnik.example.ru/"', f"timeout = {timeout}"]
        if self.login:
            lines += [f'login = "{self.login}"', f'password_env = "{password_env}"']
        if self.cert is not None:
            lines.append(f'ca_file = "{self.cert[0]}"')
        path.write_text("\n".join(lines) + "\n" + extra, encoding="utf-8")
        return path


def make_certificate(folder: Path) -> tuple[Path, Path]:
    """A self-signed certificate for localhost and 127.0.0.1: (cert.pem, key.pem)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    folder.mkdir(parents=True, exist_ok=True)
    cert_path, key_path = folder / "smtp-cert.pem", folder / "smtp-key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


@contextmanager
def silent_server():
    """A port that accepts connections and never answers: yields the port."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        sock.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(sock.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield sock.getsockname()[1]
    finally:
        stop.set()
        thread.join(timeout=5)
        for s in held:
            s.close()
        sock.close()


def bench_letters(n: int = 200) -> float:
    """Seconds to render and send `n` reminders over one connection to a local server
    (scripts/bench: the mail server's own speed is the real limit; this is ours)."""
    import tempfile
    import time

    from addin.mail.mailer import Mailer
    from addin.mail.sender import Letter, send_letters

    with tempfile.TemporaryDirectory() as d, MailServer(Path(d)) as server:
        mailer = Mailer.load(server.settings_toml(Path(d) / "почта.toml"))
        started = time.perf_counter()
        letters = []
        for i in range(n):
            r = mailer.render("reminder", {"организация": f"Школа № {i}", "код": f"ОО-{i:03d}",
                                           "период": "2026-11", "срок": "25.11.2026",
                                           "статус": "не сдано", "срок_текст": "осталось 3 дн.",
                                           "комментарий": ""})
            letters.append(Letter(f"ОО-{i:03d}", "reminder", (f"s{i}@example.ru",),
                                  r.subject, r.text, r.html))
        outcomes = send_letters(mailer.settings, letters)
        took = time.perf_counter() - started
        assert len(server.letters) == n and all(o.status == "sent" for o in outcomes)
    return took
