"""Which calendar addresses the bot may fetch: pure checks, no I/O.

    url = feed_address(text, allow_loopback=False)   # raises BadAddress(reason)
    if forbidden(ip_address("10.0.0.1")): ...

A user-given address must never reach the bot's own network (the database, a cloud
metadata service, the admin page of a router): every address a host name resolves to is
checked, and on every redirect. Only https is fetched. `allow_loopback` (for tests, never
in production) lets http://127.0.0.1:<port>/ through and nothing else.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from urllib.parse import urlsplit

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
MAX_ADDRESS_LENGTH = 2048
# NAT64's well-known prefix embeds an IPv4 address in its last 32 bits.
_NAT64 = ipaddress.ip_network("64:ff9b::/96")


class BadAddress(ValueError):
    """Why an address is refused: one of "not_url", "not_https", "refused"."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class FeedAddress:
    url: str  # as fetched: https (or, for tests, http to loopback), never a webcal: scheme
    host: str  # lower case; an IP literal without brackets
    port: int
    literal: IPAddress | None  # the host, when it is an IP address


def forbidden(ip: IPAddress, allow_loopback: bool = False) -> bool:
    """Whether the bot must not connect to `ip`: anything but an ordinary public address."""
    if isinstance(ip, ipaddress.IPv6Address):
        embedded = ip.ipv4_mapped or ip.sixtofour
        if embedded is None and ip in _NAT64:
            embedded = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
        if embedded is None and ip.teredo is not None:
            embedded = ip.teredo[1]
        if embedded is not None:
            return forbidden(embedded, allow_loopback)
    if allow_loopback and ip == ipaddress.IPv4Address("127.0.0.1"):
        return False
    return (not ip.is_global or ip.is_loopback or ip.is_private or ip.is_link_local
            or ip.is_multicast or ip.is_reserved or ip.is_unspecified)


def feed_address(text: str, allow_loopback: bool = False) -> FeedAddress:
    """The address a user pasted, checked for its form (not yet for where it resolves)."""
    text = text.strip()
    if not text or len(text) > MAX_ADDRESS_LENGTH or any(c.isspace() for c in text):
        raise BadAddress("not_url")
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError:
        raise BadAddress("not_url") from None
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower().rstrip(".")
    if host == "localhost" or host.endswith((".localhost", ".local", ".internal")):
        raise BadAddress("refused")
    if not scheme or not host or "." not in host and ":" not in host:
        raise BadAddress("not_url")
    if parts.username is not None or parts.password is not None:
        raise BadAddress("refused")  # credentials in an address: not a calendar link
    try:
        literal: IPAddress | None = ipaddress.ip_address(host)
    except ValueError:
        literal = None
    if scheme == "webcal":  # Apple's and some servers' name for the same https link
        scheme = "https"
        text = "https" + text[len(parts.scheme):]
    if scheme == "http" and allow_loopback and literal == ipaddress.IPv4Address("127.0.0.1"):
        return FeedAddress(text, host, port or 80, literal)
    if scheme != "https":
        raise BadAddress("not_https")
    if literal is not None and forbidden(literal, allow_loopback):
        raise BadAddress("refused")
    return FeedAddress(text, host, port or 443, literal)


def shown(url: str) -> str:
    """How an address is shown and logged: its host and last 4 characters, nothing more."""
    host = (urlsplit(url).hostname or "?") if url else "?"
    return f"{host} …{url[-4:]}"
