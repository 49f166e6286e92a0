"""Addresses of the registry's column «Эл. почта»: one or more, separated by ';', ',' or
spaces; each must look like an address (checked by the standard library's parser)."""

from __future__ import annotations

import re
from email.errors import HeaderParseError
from email.headerregistry import Address

#: The optional registry column with the organisation's addresses.
EMAIL_COLUMN = "Эл. почта"
_SPLIT = re.compile(r"[;,\s]+")
#: local@domain.tld with no spaces, quotes or brackets (the parser alone accepts too much).
_SHAPE = re.compile(r"^[^@\s\"'<>()\[\],;:]+@[^@\s\"'<>()\[\],;:]+\.[^@\s\"'<>()\[\],;:.]+$")


class AddressError(ValueError):
    """A piece of text that is not an e-mail address (the piece is in ``args[0]``)."""


def parse_address(text: str) -> str:
    """One address, stripped; AddressError if it is not one."""
    piece = (text or "").strip()
    if piece.lower().startswith("mailto:"):  # a link copied from a web page or Excel
        piece = piece[len("mailto:"):]
    if not _SHAPE.match(piece):
        raise AddressError(piece)
    local, _, domain = piece.rpartition("@")
    if not local.isascii():
        raise AddressError(piece)  # most mail servers take no Cyrillic before the @
    try:
        domain = domain.encode("idna").decode("ascii")  # школа.рф -> xn--...
        Address(addr_spec=f"{local}@{domain}")
    except (HeaderParseError, ValueError, IndexError, UnicodeError):
        raise AddressError(piece) from None
    return f"{local}@{domain.lower()}"


def parse_addresses(text: str) -> tuple[str, ...]:
    """Every address of a cell ('' gives ()); AddressError names the first bad piece."""
    pieces = [p for p in _SPLIT.split(text or "") if p]
    found: list[str] = []
    for piece in pieces:
        address = parse_address(piece)
        if address.lower() not in {a.lower() for a in found}:
            found.append(address)
    return tuple(found)
