"""The municipality's clock: the time zone the server shows times in and counts deadlines in.

Russia spans eleven time zones and a municipal server may run on a machine set to UTC or to
Moscow time. `nastavnik serve --timezone Asia/Vladivostok` (an IANA name) makes every time the
server records and shows, and the day a deadline falls on, the municipality's own; without it
the machine's zone is used. The zone is one per server process (`set_zone` at start-up): the
journal, the collection folder and the pages all read it from here.
"""

from __future__ import annotations

from datetime import date, datetime, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

#: None means the machine's own zone.
_zone: tzinfo | None = None

BAD_ZONE_RU = ("Часовой пояс «{name}» не найден. Укажите название из базы IANA, например "
               "Europe/Moscow, Asia/Yekaterinburg, Asia/Vladivostok.")


class UnknownZone(ValueError):
    """The name is not an IANA time zone known here (Russian message)."""

    def __init__(self, name: str) -> None:
        super().__init__(BAD_ZONE_RU.format(name=name))
        self.message_ru = str(self)


def zone_named(name: str) -> ZoneInfo:
    """The IANA zone called `name`, or UnknownZone."""
    text = (name or "").strip()
    if not text or text.startswith(("/", ".")) or ".." in text:
        raise UnknownZone(name)
    try:
        return ZoneInfo(text)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise UnknownZone(name) from None


def set_zone(name: str | None) -> None:
    """Use this zone for the rest of the process (None: the machine's)."""
    global _zone
    _zone = zone_named(name) if name else None


def local(moment: datetime) -> datetime:
    """`moment` (aware; a naive one is taken as the machine's time) in the server's zone."""
    return moment.astimezone(_zone) if _zone is not None else moment.astimezone()


def now() -> datetime:
    """The current time in the server's zone, with its offset."""
    return local(datetime.now().astimezone())


def now_iso() -> str:
    """The current time as ISO 8601 with the zone's offset, to the second."""
    return now().isoformat(timespec="seconds")


def today() -> date:
    """Today's date where the municipality is."""
    return now().date()


def from_timestamp(ts: float) -> datetime:
    """A POSIX time (a file's modification time) in the server's zone."""
    return local(datetime.fromtimestamp(ts).astimezone())


def from_iso(iso: str) -> datetime:
    """A recorded ISO time in the server's zone (a time recorded without offset is UTC)."""
    moment = datetime.fromisoformat(iso)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=ZoneInfo("UTC"))
    return local(moment)


def offset_text(moment: datetime) -> str:
    """«UTC+10:00» for an aware time."""
    offset = moment.strftime("%z") or "+0000"
    return f"UTC{offset[:3]}:{offset[3:5]}"
