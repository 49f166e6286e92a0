"""HTTPS of `nastavnik serve`: the certificate and key checked before uvicorn is started
(so a wrong file is a Russian sentence, not a traceback), and the proxy's address."""

from __future__ import annotations

import ipaddress
import ssl
from pathlib import Path


def pair_problem(cert: Path, key: Path) -> str | None:
    """Why this certificate and key cannot serve HTTPS (Russian), or None when they can."""
    for path, what in ((cert, "сертификата"), (key, "закрытого ключа")):
        if not path.is_file():
            return f"Файл {what} не найден: {path}"
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    try:
        context.load_cert_chain(str(cert), str(key))
    except PermissionError:
        return (f"Нет прав на чтение {cert.name} или {key.name}: запустите сервер от "
                "пользователя, которому они доступны.")
    except (ssl.SSLError, OSError, ValueError):
        return (f"Сертификат {cert.name} и ключ {key.name} не подходят для HTTPS: нужны файлы "
                "PEM, ключ без пароля и именно от этого сертификата.")
    return None


def valid_address(text: str) -> bool:
    """An IP address or network (what uvicorn's forwarded_allow_ips accepts from us)."""
    try:
        ipaddress.ip_network(text.strip(), strict=False)
    except ValueError:
        return False
    return True


def scheme(config: object) -> str:
    """The scheme the server is reached by: https with a certificate or behind the proxy."""
    tls = getattr(config, "tls_cert", None) is not None
    return "https" if tls or getattr(config, "behind_proxy", False) else "http"
