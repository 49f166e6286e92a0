"""Pseudonyms of participants for the master workbook.

A pseudonym is a keyed hash of the school code and the school-local person ID: the same person
gets the same pseudonym every month (so the municipality can follow a person across periods),
and nobody without the key can link a pseudonym back to an ID or compute one from an ID.

The key is 32 random bytes kept in a file with mode 0600 next to the history store, created on
the first pseudonymized run and reused afterwards. The environment variable
``NASTAVNIK_PSEUDONYM_KEY`` (hex) overrides the file, e.g. to share one key between machines.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import os
import stat
from pathlib import Path

log = logging.getLogger(__name__)

KEY_ENV = "NASTAVNIK_PSEUDONYM_KEY"
KEY_BYTES = 32
#: The shortest key accepted from the environment variable.
MIN_KEY_BYTES = 16
PREFIX = "P-"
LENGTH = 12  # base32 characters after the prefix: 60 bits


class PseudonymKeyError(Exception):
    """The pseudonymization key cannot be used (bad file or bad environment variable)."""

    def __init__(self, message_ru: str) -> None:
        super().__init__(message_ru)
        self.message_ru = message_ru


def pseudonym(school_code: str, person_id: str, key: bytes) -> str:
    """``P-`` + 12 base32 characters of HMAC-SHA256(key, school code + US + person ID)."""
    message = f"{str(school_code).strip()}\x1f{str(person_id).strip()}".encode()
    digest = hmac.new(key, message, hashlib.sha256).digest()
    return PREFIX + base64.b32encode(digest).decode("ascii")[:LENGTH]


def load_or_create_key(path: Path) -> bytes:
    """The key from ``NASTAVNIK_PSEUDONYM_KEY``, else from ``path`` (created once, mode 0600)."""
    env = os.environ.get(KEY_ENV, "").strip()
    if env:
        return _parse_hex(env, f"переменной окружения {KEY_ENV}", MIN_KEY_BYTES)
    path = Path(path)
    try:
        return _create(path)
    except FileExistsError:
        return _read(path)


def _create(path: Path) -> bytes:
    """Write a new random key; FileExistsError when a key is already there."""
    key = os.urandom(KEY_BYTES)
    path.parent.mkdir(parents=True, exist_ok=True)
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    fd = os.open(path, flags, 0o600)
    try:
        os.write(fd, (key.hex() + "\n").encode("ascii"))
        os.fsync(fd)
    except BaseException:
        os.close(fd)
        path.unlink(missing_ok=True)
        raise
    os.close(fd)
    log.info("created pseudonymization key %s", path)
    return key


def _read(path: Path) -> bytes:
    mode = path.stat().st_mode
    if os.name == "posix" and mode & (stat.S_IRWXG | stat.S_IRWXO):
        log.warning("pseudonymization key %s is readable by other users (mode %o)", path,
                    stat.S_IMODE(mode))
    text = path.read_text(encoding="ascii", errors="replace").strip()
    return _parse_hex(text, f"файле {path}", KEY_BYTES)


def _parse_hex(text: str, where: str, min_bytes: int) -> bytes:
    try:
        key = bytes.fromhex(text)
    except ValueError:
        key = b""
    if len(key) < min_bytes:
        raise PseudonymKeyError(
            f"Ключ псевдонимизации в {where} повреждён: нужна шестнадцатеричная строка не "
            f"короче {min_bytes * 2} символов. Восстановите ключ из резервной копии — с новым "
            "ключом псевдонимы участников не совпадут с прошлыми периодами.")
    return key
