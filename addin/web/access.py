"""Who may use the page: accounts (schools and municipal staff), session cookies, CSRF tokens,
login throttling.

Access file: one line per account. A school: ``<school code>:<scrypt params>:<salt hex>:<hash
hex>``, for example ``ОО-001:n=16384,r=8,p=1:9f…:4a…``; a member of the municipal staff:
``staff:<login>:<scrypt params>:<salt hex>:<hash hex>``. Blank lines and lines starting with
``#`` are ignored. The hash is ``hashlib.scrypt(access code, salt, n, r, p, dklen=32)``; the
access code itself is never stored. The file is written atomically with mode 0600 and re-read
by a running server when it changes. A login and a school code never coincide.

Sessions need no server state: the cookie carries a random session id, the account (empty for
an anonymous visitor), a stamp of the account's current hash and an expiry, signed with
HMAC-SHA256 under a key made at process start (a restart logs everyone out). A session whose
stamp no longer matches the access file (the code was replaced or the account removed) is
void. The CSRF token of a session is an HMAC of its id.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import re
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from addin.atomic_file import write_bytes

log = logging.getLogger("nastavnik.web")

SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**14, 8, 1
SCRYPT_PARAMS = f"n={SCRYPT_N},r={SCRYPT_R},p={SCRYPT_P}"
HASH_BYTES, SALT_BYTES = 32, 16
_PARAMS_RE = re.compile(r"^n=(\d+),r=(\d+),p=(\d+)$")
#: A school code usable as a file name and in the access file: letters, digits, '-', '_', '.'.
SCHOOL_CODE_RE = re.compile(r"^[0-9A-Za-zА-Яа-яЁё][0-9A-Za-zА-Яа-яЁё_.\-]{0,63}$")
#: Alphabet of generated access codes: no 0/O, 1/I/L look-alikes.
_CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"

SESSION_COOKIE = "nastavnik_session"
SESSION_SECONDS = 8 * 3600
#: A failed login waits this long before answering.
FAILED_LOGIN_DELAY = 1.0
#: After this many failures for one school from one address within the window, refuse.
MAX_FAILURES, FAILURE_WINDOW = 10, 15 * 60


class AccessFileError(ValueError):
    """The access file or a school code cannot be used (Russian message)."""

    def __init__(self, message_ru: str) -> None:
        super().__init__(message_ru)
        self.message_ru = message_ru


def valid_school_code(code: str) -> bool:
    return bool(SCHOOL_CODE_RE.match(code or "")) and ".." not in code


def generate_code() -> str:
    """A random access code such as ``K7QM-3XPA-WZ9D`` (12 symbols of 31, about 59 bits)."""
    chars = "".join(secrets.choice(_CODE_ALPHABET) for _ in range(12))
    return "-".join(chars[i:i + 4] for i in range(0, 12, 4))


def _normalize_secret(secret: str) -> bytes:
    """Codes are compared without spaces, case or dashes: «k7qm 3xpa» equals «K7QM-3XPA»."""
    return re.sub(r"[\s\-]", "", secret).upper().encode("utf-8")


def hash_code(secret: str, salt: bytes, n: int = SCRYPT_N, r: int = SCRYPT_R,
              p: int = SCRYPT_P) -> bytes:
    return hashlib.scrypt(_normalize_secret(secret), salt=salt, n=n, r=r, p=p,
                          maxmem=256 * 1024 * 1024, dklen=HASH_BYTES)


STAFF_PREFIX = "staff"
SCHOOL, STAFF = "school", "staff"


@dataclass(frozen=True)
class Account:
    """Who logged in: a school (by its code) or a member of the municipal staff (by login)."""

    role: str  # SCHOOL or STAFF
    name: str


def add_school_code(access_file: str | Path, school_code: str, secret: str | None = None) -> str:
    """Add or replace the access code of one school; return the code to tell the school.

    A random code is made when ``secret`` is None. The file is rewritten atomically (temporary
    file + rename) with mode 0600; other accounts' lines are kept as they are. Replacing a code
    ends the school's open sessions.
    """
    code = (school_code or "").strip()
    if not valid_school_code(code):
        raise AccessFileError(
            f"Код ОО «{school_code}» не подходит: допустимы буквы, цифры, дефис, точка и "
            "подчёркивание (например, ОО-001), не длиннее 64 знаков.")
    return _add_account(Path(access_file), Account(SCHOOL, code), secret)


def add_staff(access_file: str | Path, login: str, secret: str | None = None) -> str:
    """Add or replace a municipal staff account (same hashing as the schools' codes)."""
    name = (login or "").strip()
    if not valid_school_code(name) or name.lower() == STAFF_PREFIX:
        raise AccessFileError(
            f"Логин «{login}» не подходит: допустимы латинские и русские буквы, цифры, дефис, "
            "точка и подчёркивание, не длиннее 64 знаков (например, metodist1). Не используйте "
            "ФИО: логин попадает в журнал.")
    return _add_account(Path(access_file), Account(STAFF, name), secret)


def _add_account(path: Path, account: Account, secret: str | None) -> str:
    shown = generate_code() if secret is None else secret.strip()
    if len(_normalize_secret(shown)) < 6:
        raise AccessFileError("Код доступа слишком короткий: нужно не меньше 6 знаков.")
    salt = secrets.token_bytes(SALT_BYTES)
    prefix = account.name if account.role == SCHOOL else f"{STAFF_PREFIX}:{account.name}"
    line = f"{prefix}:{SCRYPT_PARAMS}:{salt.hex()}:{hash_code(shown, salt).hex()}"
    lines: list[str] = []
    for old in _access_lines(path):
        other = _account_of_line(old)
        if other is not None and other.name.casefold() == account.name.casefold():
            if other.role != account.role:
                what = "организации" if other.role == SCHOOL else "сотрудника"
                raise AccessFileError(
                    f"«{account.name}» уже используется как код {what}: логины "
                    "сотрудников и коды ОО не должны совпадать.")
            continue
        lines.append(old)
    lines.append(line)
    write_bytes(path, ("\n".join(lines) + "\n").encode("utf-8"), mode=0o600, durable=True)
    return shown


def add_school_codes(access_file: str | Path, school_codes: list[str], *,
                     replace: bool = False,
                     before_write: Callable[[dict[str, str]], None] | None = None
                     ) -> dict[str, str]:
    """Give a random code to every school of `school_codes` that has none (every one with
    `replace`); return {school code: the code to tell it} for the schools given one now.

    One atomic rewrite of the file for the whole registry; schools that already have a code
    keep it (and their sessions) unless `replace`. A code already used as a staff login is
    refused before anything is written. `before_write` gets the new codes before the file is
    written (the printable list): if it fails, the file is left as it was.
    """
    path = Path(access_file)
    wanted: list[str] = []
    for raw in school_codes:
        code = (raw or "").strip()
        if not valid_school_code(code):
            raise AccessFileError(f"Код ОО «{raw}» не подходит: допустимы буквы, цифры, дефис, "
                                  "точка и подчёркивание (например, ОО-001).")
        if code.casefold() not in {w.casefold() for w in wanted}:
            wanted.append(code)
    lines = _access_lines(path)
    have = {a.name.casefold(): a for a in map(_account_of_line, lines) if a is not None}
    for code in wanted:
        other = have.get(code.casefold())
        if other is not None and other.role == STAFF:
            raise AccessFileError(f"«{code}» уже используется как логин сотрудника: логины "
                                  "сотрудников и коды ОО не должны совпадать.")
    issue = [c for c in wanted if replace or c.casefold() not in have]
    if not issue:
        return {}
    dropped = {c.casefold() for c in issue}
    kept = [line for line in lines
            if (a := _account_of_line(line)) is None or a.name.casefold() not in dropped]
    shown = {code: generate_code() for code in issue}
    for code, secret in shown.items():
        salt = secrets.token_bytes(SALT_BYTES)
        kept.append(f"{code}:{SCRYPT_PARAMS}:{salt.hex()}:{hash_code(secret, salt).hex()}")
    if before_write is not None:
        before_write(shown)
    write_bytes(path, ("\n".join(kept) + "\n").encode("utf-8"), mode=0o600, durable=True)
    return shown


NOT_ACCESS_FILE_RU = ("Файл {name} — не файл кодов доступа ({why}), он не изменён. Укажите "
                      "файл кодов (например, коды.txt) или имя нового файла.")


def _access_lines(path: Path) -> list[str]:
    """The lines of an access file (none if there is no file yet); another file, say the
    registry given by mistake, is refused before anything is written over it."""
    if not path.exists():
        return []
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except UnicodeDecodeError:
        raise AccessFileError(NOT_ACCESS_FILE_RU.format(
            name=path.name, why="это не текстовый файл")) from None
    for n, line in enumerate(lines, 1):
        text = line.strip()
        if text and not text.startswith("#") and _account_of_line(line) is None:
            raise AccessFileError(NOT_ACCESS_FILE_RU.format(
                name=path.name, why=f"строка {n} не похожа на запись кода: «{text[:40]}»"))
    return lines


def _account_of_line(line: str) -> Account | None:
    parts = line.strip().split(":")
    if len(parts) == 5 and parts[0].strip() == STAFF_PREFIX:
        return Account(STAFF, parts[1].strip())
    if len(parts) == 4 and not line.lstrip().startswith("#"):
        return Account(SCHOOL, parts[0].strip())
    return None


@dataclass(frozen=True)
class _Entry:
    n: int
    r: int
    p: int
    salt: bytes
    digest: bytes

    @property
    def stamp(self) -> str:
        """A short fingerprint of this hash: changes whenever the code is replaced."""
        return hashlib.sha256(self.salt + self.digest).hexdigest()[:16]


class AccessCodes:
    """The access file as read by the server (re-read when its modification time changes)."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        self._stamp: tuple[float, int, int] | None = None
        self._entries: dict[Account, _Entry] = {}
        self._dummy = _Entry(SCRYPT_N, SCRYPT_R, SCRYPT_P, secrets.token_bytes(SALT_BYTES),
                             secrets.token_bytes(HASH_BYTES))

    def _load(self) -> dict[Account, _Entry]:
        with self._lock:
            try:
                st = self.path.stat()
            except OSError:
                log.warning("access file missing; no one can log in")
                self._entries, self._stamp = {}, None
                return self._entries
            stamp = (st.st_mtime, st.st_size, st.st_ino)
            if stamp == self._stamp:
                return self._entries
            entries: dict[Account, _Entry] = {}
            text = self.path.read_text(encoding="utf-8", errors="replace")
            for number, line in enumerate(text.splitlines(), 1):
                line = line.strip()
                if not line or line.startswith("#"):
                    continue
                entry = _parse_line(line)
                if entry is None:
                    log.warning("access file line %d ignored: not code:params:salt:hash", number)
                    continue
                entries[entry[0]] = entry[1]
            self._entries, self._stamp = entries, stamp
            log.info("access file read: %d schools, %d staff",
                     sum(a.role == SCHOOL for a in entries), sum(a.role == STAFF for a in entries))
            return entries

    def schools(self) -> list[str]:
        return sorted(a.name for a in self._load() if a.role == SCHOOL)

    def staff(self) -> list[str]:
        return sorted(a.name for a in self._load() if a.role == STAFF)

    def known(self, name: str) -> bool:
        name = (name or "").strip()
        return any(a.name == name for a in self._load())

    def stamp(self, account: Account) -> str | None:
        """The current fingerprint of an account, None when it no longer exists."""
        entry = self._load().get(account)
        return entry.stamp if entry is not None else None

    def login(self, name: str, secret: str) -> Account | None:
        """The account behind a school code or a staff login and its code, if they match.

        Constant work whether or not the account exists (no enumeration by timing).
        """
        entries = self._load()
        name = (name or "").strip()
        account = next((a for a in (Account(SCHOOL, name), Account(STAFF, name))
                        if a in entries), None)
        e = entries[account] if account is not None else self._dummy
        try:
            digest = hash_code(secret or "", e.salt, e.n, e.r, e.p)
        except (ValueError, MemoryError):
            return None
        if hmac.compare_digest(digest, e.digest) and account is not None:
            return account
        return None

    def verify(self, school_code: str, secret: str) -> bool:
        """Whether this is a school's code (kept for the remote and older callers)."""
        account = self.login(school_code, secret)
        return account is not None and account.role == SCHOOL


def _parse_line(line: str) -> tuple[Account, _Entry] | None:
    parts = line.split(":")
    if len(parts) == 5 and parts[0].strip() == STAFF_PREFIX:
        role, parts = STAFF, parts[1:]
    elif len(parts) == 4:
        role = SCHOOL
    else:
        return None
    code, params, salt_hex, hash_hex = (p.strip() for p in parts)
    m = _PARAMS_RE.match(params)
    if not valid_school_code(code) or not m:
        return None
    try:
        salt, digest = bytes.fromhex(salt_hex), bytes.fromhex(hash_hex)
    except ValueError:
        return None
    n, r, p = (int(x) for x in m.groups())
    if n < 2 or n & (n - 1) or n > 2**20 or not 1 <= r <= 32 or not 1 <= p <= 16 or not digest:
        return None
    return Account(role, code), _Entry(n, r, p, salt, digest)


# -- sessions ------------------------------------------------------------------------------
@dataclass(frozen=True)
class Session:
    sid: str
    school: str  # "" for an anonymous visitor or a member of staff
    expires: int
    staff: str = ""  # the staff login, "" otherwise
    stamp: str = ""  # fingerprint of the account's hash when the session was opened

    @property
    def account(self) -> Account | None:
        if self.staff:
            return Account(STAFF, self.staff)
        if self.school:
            return Account(SCHOOL, self.school)
        return None


class Sessions:
    """Signed, stateless session cookies and the CSRF token bound to each session."""

    def __init__(self, key: bytes | None = None, lifetime: int = SESSION_SECONDS) -> None:
        self._key = key or secrets.token_bytes(32)
        self.lifetime = lifetime

    def _mac(self, payload: str) -> str:
        return hmac.new(self._key, payload.encode("ascii"), hashlib.sha256).hexdigest()

    def issue(self, school: str = "", *, staff: str = "", stamp: str = "") -> tuple[str, Session]:
        """A new session (always a new id: no session fixation across a login)."""
        session = Session(secrets.token_urlsafe(16), "" if staff else school,
                          int(time.time()) + self.lifetime, staff, stamp)
        who = "\x1f".join((session.school, session.staff, stamp))
        encoded = base64.urlsafe_b64encode(who.encode("utf-8")).decode("ascii").rstrip("=")
        payload = f"{session.sid}.{encoded}.{session.expires}"
        return f"{payload}.{self._mac(payload)}", session

    def read(self, value: str | None) -> Session | None:
        if not value or len(value) > 512:
            return None
        parts = value.split(".")
        if len(parts) != 4:
            return None
        sid, encoded, expires, mac = parts
        try:
            payload = f"{sid}.{encoded}.{expires}"
            if not hmac.compare_digest(mac, self._mac(payload)):
                return None
            who = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4)).decode()
            school, staff, stamp = who.split("\x1f")
            until = int(expires)
        except (ValueError, UnicodeError):
            return None
        if until < time.time():
            return None
        return Session(sid, school, until, staff, stamp)

    def csrf(self, session: Session) -> str:
        return self._mac(f"csrf|{session.sid}")

    def csrf_ok(self, session: Session | None, given: str | None) -> bool:
        if session is None or not given:
            return False
        return hmac.compare_digest(given.encode("utf-8", "replace"),
                                   self.csrf(session).encode("ascii"))


class LoginThrottle:
    """Counts failed logins per (address, school) and refuses after too many."""

    def __init__(self, limit: int = MAX_FAILURES, window: float = FAILURE_WINDOW) -> None:
        self.limit, self.window = limit, window
        self._fails: dict[tuple[str, str], list[float]] = {}
        self._lock = threading.Lock()

    def _recent(self, key: tuple[str, str], now: float) -> list[float]:
        times = [t for t in self._fails.get(key, []) if now - t < self.window]
        if times:
            self._fails[key] = times
        else:
            self._fails.pop(key, None)
        return times

    def blocked(self, address: str, school: str) -> bool:
        with self._lock:
            return len(self._recent((address, school), time.monotonic())) >= self.limit

    def failed(self, address: str, school: str) -> None:
        with self._lock:
            now = time.monotonic()
            self._fails[(address, school)] = [*self._recent((address, school), now), now]
            if len(self._fails) > 10_000:  # bound memory under a flood of made-up codes
                for key in list(self._fails)[:5_000]:
                    self._fails.pop(key, None)

    def succeeded(self, address: str, school: str) -> None:
        with self._lock:
            self._fails.pop((address, school), None)
