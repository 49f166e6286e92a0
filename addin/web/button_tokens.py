"""Per-school button tokens: what the server-bound school.xlsm sends as its Authorization header.

A button token is not the access code. It opens only the remote buttons (/xlwings/*), names
its school, and is signed by the server:

    nb1.<school code, base64url>.<generation>.<HMAC-SHA256, 32 hex>

The MAC covers the school code, the generation and the fingerprint of the school's current
access code (``AccessCodes.stamp``). So the same school downloads the same token again (every
copy of its book keeps working), replacing the school's code (``nastavnik serve
add-school-code``) voids every token made before, and ``revoke`` (``nastavnik serve
revoke-buttons``) raises the school's generation, which voids them too. The state file lives
beside the access file (``<access file>.buttons``, mode 0600): the signing key and the
generations, no token itself. A running server re-reads it when it changes.

``refusal`` tells why a payload may not be served with a token: the token of another school
than the one the workbook names on «Сведения об ОО», or a void one.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import secrets
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from addin.atomic_file import write_bytes
from addin.model import normalize_header
from addin.web.access import SCHOOL, AccessCodes, Account, valid_school_code
from workbook_templates import contract as C

log = logging.getLogger("nastavnik.web")

PREFIX = "nb1"
MAC_HEX = 32

VOID_RU = ("Кнопки этой книги отключены: токен кнопок отозван или код доступа организации "
           "заменён. Войдите на странице сервера с действующим кодом, откройте «Книга "
           "организации» и обновите кнопки в своей книге (или скачайте книгу заново).")
OTHER_SCHOOL_RU = ("Кнопки этой книги выданы организации {token}, а на листе «Сведения об ОО» "
                   "указан код {book}. Книгу другой организации так проверить нельзя: "
                   "скачайте книгу своей организации на странице сервера.")


@dataclass(frozen=True)
class ButtonToken:
    """A token read back: its school and whether it is still valid."""

    school: str
    valid: bool


def state_path(access_file: Path) -> Path:
    """Where the button tokens' key and generations are kept: beside the access file."""
    return access_file.with_name(access_file.name + ".buttons")


class ButtonTokens:
    """Issues, checks and revokes the schools' button tokens of one access file."""

    def __init__(self, access_file: Path, codes: AccessCodes | None = None) -> None:
        self.access_file = Path(access_file)
        self.path = state_path(self.access_file)
        self.codes = codes if codes is not None else AccessCodes(self.access_file)
        self._lock = threading.Lock()
        self._write_lock = threading.Lock()  # one writer of the state file at a time
        self._stamp: tuple[float, int, int] | None = None
        self._state: dict[str, Any] = {}

    # -- the state file
    def _load(self) -> dict[str, Any]:
        with self._lock:
            try:
                st = self.path.stat()
            except OSError:
                self._state, self._stamp = {}, None
                return self._state
            stamp = (st.st_mtime, st.st_size, st.st_ino)
            if stamp != self._stamp:
                try:
                    state = json.loads(self.path.read_text(encoding="utf-8"))
                except (OSError, ValueError):
                    log.error("button token file unreadable: every button token refused")
                    state = {}
                self._state = state if isinstance(state, dict) else {}
                self._stamp = stamp
            return self._state

    def _save(self, state: dict[str, Any]) -> None:
        write_bytes(self.path, json.dumps(state, ensure_ascii=False, indent=1).encode("utf-8"),
                    mode=0o600, durable=True)

    def _key(self) -> bytes | None:
        key = self._load().get("key")
        try:
            return bytes.fromhex(key) if isinstance(key, str) and len(key) >= 64 else None
        except ValueError:
            return None

    def _generation(self, school: str) -> int:
        value = self._load().get("generations", {}).get(school, 0)
        return value if isinstance(value, int) else 0

    def _mac(self, key: bytes, school: str, generation: int, stamp: str) -> str:
        message = "\x1f".join((school, str(generation), stamp)).encode("utf-8")
        return hmac.new(key, message, hashlib.sha256).hexdigest()[:MAC_HEX]

    # -- the API
    def issue(self, school: str) -> str | None:
        """The school's current button token (None when the access file does not know it)."""
        stamp = self.codes.stamp(Account(SCHOOL, school))
        if stamp is None:
            return None
        key = self._key()
        if key is None:
            with self._write_lock:
                if (key := self._key()) is None:
                    state = dict(self._load())
                    state["key"] = secrets.token_hex(32)
                    self._save(state)
                    key = bytes.fromhex(state["key"])
        generation = self._generation(school)
        encoded = base64.urlsafe_b64encode(school.encode("utf-8")).decode("ascii").rstrip("=")
        return f"{PREFIX}.{encoded}.{generation}.{self._mac(key, school, generation, stamp)}"

    def read(self, token: str | None) -> ButtonToken | None:
        """The token's school and validity; None when it is no button token at all."""
        parts = (token or "").strip().split(".")
        if len(parts) != 4 or parts[0] != PREFIX or not parts[2].isdigit():
            return None
        try:
            encoded = parts[1]
            school = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4)).decode()
        except (ValueError, UnicodeError):
            return None
        if not valid_school_code(school):
            return None
        key = self._key()
        stamp = self.codes.stamp(Account(SCHOOL, school))
        generation = int(parts[2])
        valid = (key is not None and stamp is not None
                 and generation == self._generation(school)
                 and hmac.compare_digest(parts[3], self._mac(key, school, generation, stamp)))
        return ButtonToken(school, valid)

    def revoke(self, school: str) -> int:
        """Void every button token of `school`; returns its new generation."""
        with self._write_lock:
            state = dict(self._load())
            if "key" not in state:
                state["key"] = secrets.token_hex(32)
            generations = dict(state.get("generations") or {})
            generations[school] = self._generation(school) + 1
            state["generations"] = generations
            self._save(state)
        log.info("button tokens revoked school=%s", school)
        return generations[school]


def authorization_token(header: str | None) -> str:
    """The token of 'Authorization: <token>' or 'Authorization: Bearer <token>'."""
    header = (header or "").strip()
    return header.split(" ", 1)[1].strip() if header.lower().startswith("bearer ") else header


def book_school_code(payload: dict[str, Any]) -> str:
    """The code on «Сведения об ОО» of a remote payload ('' when the book names none)."""
    wanted_sheet = normalize_header(C.SCHOOL.name)
    wanted_label = normalize_header(C.SCHOOL.column("code").header)
    for sheet in payload.get("sheets") or []:
        if normalize_header(str(sheet.get("name", ""))) != wanted_sheet:
            continue
        for row in sheet.get("values") or []:
            if len(row) >= 2 and normalize_header(str(row[0] or "")) == wanted_label:
                value = row[1]
                return "" if value is None else str(value).strip()
    return ""


def refusal(token: ButtonToken, payload: dict[str, Any]) -> str | None:
    """The Russian reason to refuse a payload sent with a button token, or None."""
    if not token.valid:
        return VOID_RU
    code = book_school_code(payload)
    if code and code.casefold() != token.school.casefold():
        return OTHER_SCHOOL_RU.format(token=token.school, book=code[:64])
    return None
