"""Fetching a calendar feed from a user-given address, safely.

    fetched = await fetch_feed(client, url, allow_loopback=False)   # raises FeedError(reason)
    fetched.body, fetched.validators    # the bytes, and what names their version (ETag, ...)
    again = await fetch_feed(client, url, validators=fetched.validators)
    again.body is None                  # the server answered 304: nothing new since

- https only; at most MAX_REDIRECTS redirects, each followed by hand and checked again;
- the host name is resolved here and every address it resolves to is checked (bot/domain/
  addresses.py): one forbidden address refuses the feed. The request then goes to the
  checked address itself (the name only travels in the Host header and TLS's SNI, where the
  certificate is verified against it), so a second DNS answer cannot swap in another
  address between the check and the connection;
- the body is streamed and the fetch stops past MAX_BYTES;
- given the validators of the version last read, it asks only for something newer
  (If-None-Match, If-Modified-Since): a 304 comes back without the body.

No error raised here carries the address: httpx puts URLs in its messages, so they are
turned into a short reason before anything can log them.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit, urlunsplit

import httpx

from bot.domain.addresses import BadAddress, FeedAddress, IPAddress, feed_address, forbidden

MAX_BYTES = 5 * 1024 * 1024
MAX_REDIRECTS = 3
TIMEOUT = httpx.Timeout(10.0, connect=5.0)
# The whole fetch, redirects included: a server trickling bytes cannot hold a slot longer.
DEADLINE_SECONDS = 30.0
_REDIRECTS = (301, 302, 303, 307, 308)
# Longer validators are not kept (the columns' sizes): that feed is simply read in full.
ETAG_CHARS = 200
LAST_MODIFIED_CHARS = 64

Resolver = Callable[[str, int], Awaitable[list[IPAddress]]]


class FeedError(Exception):
    """Why a feed could not be fetched: "not_url", "not_https", "refused", "unreachable",
    "timeout", "too_big", "too_many_redirects", "http_<status>"."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Validators:
    """What the server said names the version it sent: sent back on the next fetch, a server
    with nothing newer answers 304 without the body."""

    etag: str | None = None
    last_modified: str | None = None

    def headers(self) -> dict[str, str]:
        asked = {"If-None-Match": self.etag, "If-Modified-Since": self.last_modified}
        return {name: value for name, value in asked.items() if value is not None}


@dataclass(frozen=True)
class Fetched:
    body: bytes | None  # None: unchanged since the version the validators name (a 304)
    validators: Validators


def _header(response: httpx.Response, name: str, limit: int) -> str | None:
    value = response.headers.get(name)
    if value is None or len(value) > limit or not (value.isascii() and value.isprintable()):
        return None
    return value


def _validators(response: httpx.Response) -> Validators:
    return Validators(_header(response, "ETag", ETAG_CHARS),
                      _header(response, "Last-Modified", LAST_MODIFIED_CHARS))


async def system_resolve(host: str, port: int) -> list[IPAddress]:
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [ipaddress.ip_address(str(info[4][0]).split("%")[0]) for info in infos]


async def _checked_ip(address: FeedAddress, allow_loopback: bool,
                      resolve: Resolver) -> IPAddress:
    if address.literal is not None:
        ips = [address.literal]
    else:
        try:
            ips = await resolve(address.host, address.port)
        except (OSError, UnicodeError, ValueError):
            raise FeedError("unreachable") from None
    if not ips:
        raise FeedError("unreachable")
    if any(forbidden(ip, allow_loopback) for ip in ips):
        raise FeedError("refused")
    return ips[0]


def _pinned(address: FeedAddress, ip: IPAddress, asked: dict[str, str]) -> httpx.Request:
    """A GET of `address` sent to `ip`, with the name in Host and in TLS's SNI."""
    parts = urlsplit(address.url)
    literal = f"[{ip}]" if ip.version == 6 else str(ip)
    url = urlunsplit((parts.scheme, f"{literal}:{address.port}", parts.path or "/",
                      parts.query, ""))
    default_port = 443 if parts.scheme == "https" else 80
    host = address.host if address.port == default_port else f"{address.host}:{address.port}"
    if address.literal is not None and address.literal.version == 6:
        host = f"[{address.host}]" if address.port == default_port \
            else f"[{address.host}]:{address.port}"
    extensions = {"sni_hostname": address.host} if parts.scheme == "https" \
        and address.literal is None else {}
    return httpx.Request("GET", url, headers={
        "Host": host, "Accept": "text/calendar, */*;q=0.5", "User-Agent": "MoveBetter/1",
        **asked,
    }, extensions=extensions)


async def _body(response: httpx.Response) -> bytes:
    declared = response.headers.get("Content-Length")
    if declared is not None and declared.isdigit() and int(declared) > MAX_BYTES:
        raise FeedError("too_big")
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.aiter_bytes():
        size += len(chunk)
        if size > MAX_BYTES:
            raise FeedError("too_big")
        chunks.append(chunk)
    return b"".join(chunks)


async def _fetch(client: httpx.AsyncClient, url: str, allow_loopback: bool,
                 resolve: Resolver, validators: Validators | None) -> Fetched:
    asked = validators.headers() if validators is not None else {}
    for _hop in range(MAX_REDIRECTS + 1):
        try:
            address = feed_address(url, allow_loopback)
        except BadAddress as exc:
            raise FeedError(exc.reason) from None
        ip = await _checked_ip(address, allow_loopback, resolve)
        response = await client.send(_pinned(address, ip, asked), stream=True)
        try:
            if response.status_code in _REDIRECTS:
                location = response.headers.get("Location")
                if not location:
                    raise FeedError(f"http_{response.status_code}")
                url = urljoin(address.url, location)
                continue
            if response.status_code == 304 and asked and validators is not None:
                return Fetched(None, validators)
            if response.status_code != 200:
                raise FeedError(f"http_{response.status_code}")
            return Fetched(await _body(response), _validators(response))
        finally:
            await response.aclose()
    raise FeedError("too_many_redirects")


async def fetch_feed(client: httpx.AsyncClient, url: str, *, allow_loopback: bool = False,
                     resolve: Resolver = system_resolve,
                     validators: Validators | None = None) -> Fetched:
    """The feed's bytes and validators, no bytes if the server says the version `validators`
    name is still current, or FeedError with a reason (never the address)."""
    try:
        async with asyncio.timeout(DEADLINE_SECONDS):
            return await _fetch(client, url, allow_loopback, resolve, validators)
    except FeedError:
        raise
    except (TimeoutError, httpx.TimeoutException):
        raise FeedError("timeout") from None
    except (httpx.HTTPError, OSError, ValueError, UnicodeError):
        # httpx's messages name the URL: only the kind of failure leaves this function.
        raise FeedError("unreachable") from None


def new_client() -> httpx.AsyncClient:
    """The client feeds are fetched with: no redirects of its own, no proxies from the
    environment (they would bypass the address check), no cookies kept between users."""
    return httpx.AsyncClient(timeout=TIMEOUT, follow_redirects=False, trust_env=False,
                             limits=httpx.Limits(max_connections=32,
                                                 max_keepalive_connections=0))
