"""The address guard: only https, never the bot's own network (checked after DNS and on
every redirect, IPv6 forms included), at most 5 MB; errors never carry the address. A
version already read is asked for with its validators and not downloaded again."""

from __future__ import annotations

import ipaddress
from collections.abc import AsyncIterator

import pytest
from aiohttp import web

from bench.common import local_http
from bot.domain.addresses import BadAddress, IPAddress, feed_address, forbidden, shown
from handlers.calendar_fetch import MAX_BYTES, FeedError, Validators, fetch_feed, new_client

FORBIDDEN = ["127.0.0.1", "127.8.9.1", "10.1.2.3", "172.16.0.1", "192.168.1.1", "169.254.169.254",
             "100.64.0.1", "0.0.0.0", "224.0.0.1", "239.255.255.250", "240.0.0.1",
             "255.255.255.255", "198.18.0.1", "::1", "::", "fe80::1", "fc00::1", "fd12::1",
             "ff02::1", "::ffff:127.0.0.1", "::ffff:10.0.0.1", "64:ff9b::a00:1",
             "2002:a00:1::1", "2001:db8::1"]
PUBLIC = ["8.8.8.8", "142.250.184.14", "2a00:1450:4003:80e::200e", "::ffff:8.8.8.8"]


@pytest.mark.parametrize("ip", FORBIDDEN)
def test_forbidden_ranges(ip: str) -> None:
    assert forbidden(ipaddress.ip_address(ip))


@pytest.mark.parametrize("ip", PUBLIC)
def test_public_addresses_pass(ip: str) -> None:
    assert not forbidden(ipaddress.ip_address(ip))


@pytest.mark.parametrize(("text", "reason"), [
    ("hello", "not_url"), ("calendar.google.com/x.ics", "not_url"),
    ("http://calendar.example.com/x.ics", "not_https"), ("ftp://example.com/x", "not_https"),
    ("https://10.0.0.5/x.ics", "refused"), ("https://[::1]/x.ics", "refused"),
    ("https://[::ffff:192.168.0.1]/x.ics", "refused"), ("https://localhost/x.ics", "refused"),
    ("https://user:pw@example.com/x.ics", "refused"), ("http://127.0.0.1:8000/x", "not_https"),
])
def test_bad_addresses(text: str, reason: str) -> None:
    with pytest.raises(BadAddress) as caught:
        feed_address(text)
    assert caught.value.reason == reason


def test_webcal_is_https_and_loopback_only_when_allowed() -> None:
    assert feed_address("webcal://p01-caldav.icloud.com/published/2/abc").url \
        == "https://p01-caldav.icloud.com/published/2/abc"
    assert feed_address("http://127.0.0.1:8000/x", allow_loopback=True).port == 8000
    with pytest.raises(BadAddress):
        feed_address("http://127.0.0.2:8000/x", allow_loopback=True)


def test_shown_is_host_and_last_four() -> None:
    url = "https://calendar.google.com/calendar/ical/me/private-0123456789abcdef/basic.ics"
    assert shown(url) == "calendar.google.com ….ics"
    assert "private" not in shown(url)


ICS = b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nEND:VCALENDAR\r\n"
ETAG = '"3f2a-1"'
MODIFIED = "Mon, 30 Nov 2026 07:00:00 GMT"
ASKED: list[dict[str, str]] = []  # the conditional headers of each request to /tagged.ics


@pytest.fixture
async def server() -> AsyncIterator[str]:
    async def feed(_request: web.Request) -> web.Response:
        return web.Response(body=ICS, content_type="text/calendar")

    async def tagged(request: web.Request) -> web.Response:
        ASKED.append({k: v for k, v in request.headers.items() if k.startswith("If-")})
        if request.headers.get("If-None-Match") == ETAG:
            return web.Response(status=304, headers={"ETag": ETAG})
        return web.Response(body=ICS, content_type="text/calendar",
                            headers={"ETag": ETAG, "Last-Modified": MODIFIED})

    async def unasked(_request: web.Request) -> web.Response:
        return web.Response(status=304)

    async def odd(_request: web.Request) -> web.Response:
        return web.Response(body=ICS, content_type="text/calendar",
                            headers={"ETag": '"' + "x" * 300 + '"'})

    async def huge(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse()  # no Content-Length: streamed, and cut off
        await response.prepare(request)
        chunk = b"X" * 65536
        for _ in range(MAX_BYTES // len(chunk) + 2):
            await response.write(chunk)
        return response

    async def to_private(_request: web.Request) -> web.Response:
        raise web.HTTPFound("https://10.0.0.7/secret.ics")

    async def to_feed(_request: web.Request) -> web.Response:
        raise web.HTTPFound("/feed.ics")

    async def loop(_request: web.Request) -> web.Response:
        raise web.HTTPFound("/loop")

    app = web.Application()
    app.router.add_get("/feed.ics", feed)
    app.router.add_get("/tagged.ics", tagged)
    app.router.add_get("/odd.ics", odd)
    app.router.add_get("/unasked", unasked)
    app.router.add_get("/huge.ics", huge)
    app.router.add_get("/private", to_private)
    app.router.add_get("/moved", to_feed)
    app.router.add_get("/loop", loop)
    app.router.add_get("/gone", lambda _r: web.HTTPNotFound())
    async with local_http(app) as base:
        yield base


async def _reason(url: str, **options: object) -> str:
    async with new_client() as client:
        with pytest.raises(FeedError) as caught:
            await fetch_feed(client, url, **options)  # type: ignore[arg-type]
    assert url not in str(caught.value) and "127.0.0.1" not in str(caught.value)
    return caught.value.reason


async def test_fetch_follows_a_redirect_and_reads_the_feed(server: str) -> None:
    async with new_client() as client:
        fetched = await fetch_feed(client, f"{server}/moved", allow_loopback=True)
    assert fetched.body == ICS and fetched.validators == Validators()


async def test_a_version_already_read_is_not_downloaded_again(server: str) -> None:
    ASKED.clear()
    async with new_client() as client:
        first = await fetch_feed(client, f"{server}/tagged.ics", allow_loopback=True)
        assert first.body == ICS and first.validators == Validators(ETAG, MODIFIED)
        again = await fetch_feed(client, f"{server}/tagged.ics", allow_loopback=True,
                                 validators=first.validators)
        assert again.body is None and again.validators == first.validators
        # Validators the server no longer knows: the body, as before.
        changed = await fetch_feed(client, f"{server}/tagged.ics", allow_loopback=True,
                                   validators=Validators('"old"', None))
        assert changed.body == ICS
    assert ASKED == [{}, {"If-None-Match": ETAG, "If-Modified-Since": MODIFIED},
                     {"If-None-Match": '"old"'}]


async def test_validators_too_long_are_not_kept_and_an_unasked_304_is_an_error(
        server: str) -> None:
    async with new_client() as client:
        odd = await fetch_feed(client, f"{server}/odd.ics", allow_loopback=True)
    assert odd.body == ICS and odd.validators == Validators()
    assert await _reason(f"{server}/unasked", allow_loopback=True) == "http_304"


async def test_loopback_is_refused_unless_allowed(server: str) -> None:
    assert await _reason(f"{server}/feed.ics") == "not_https"


async def test_a_redirect_to_a_private_address_is_refused(server: str) -> None:
    assert await _reason(f"{server}/private", allow_loopback=True) == "refused"


async def test_redirects_are_limited_bodies_capped_errors_named(server: str) -> None:
    assert await _reason(f"{server}/loop", allow_loopback=True) == "too_many_redirects"
    assert await _reason(f"{server}/huge.ics", allow_loopback=True) == "too_big"
    assert await _reason(f"{server}/gone", allow_loopback=True) == "http_404"


@pytest.mark.parametrize("answer", ["10.0.0.1", "fd00::1", "::ffff:127.0.0.1", "169.254.169.254"])
async def test_a_name_resolving_to_a_private_address_is_refused(answer: str) -> None:
    async def resolve(_host: str, _port: int) -> list[IPAddress]:
        return [ipaddress.ip_address("93.184.216.34"), ipaddress.ip_address(answer)]

    assert await _reason("https://calendar.example.com/x.ics", resolve=resolve) == "refused"
