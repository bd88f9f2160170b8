"""A local stand-in for the Telegram Bot API over HTTP, plus its test-side controls.

Point python-telegram-bot at it and drive the conversation from the test::

    standin = BotAPIStandIn(token=TOKEN)
    await standin.start()                       # 127.0.0.1, free port
    app = ApplicationBuilder().token(TOKEN).base_url(standin.base_url).build()
    ana = standin.user(1001, first_name="Ana")
    await ana.command("/start")
    reply = await ana.next_message()
    standin.fail_next("sendMessage", status=429, retry_after=2)
    standin.enforce_limits(per_second=30, per_chat_per_second=1)
    await standin.stop()

Requests are `POST /bot<TOKEN>/<method>` (form, multipart or JSON bodies) and
files are served from `/file/bot<TOKEN>/<file_path>`. Every call is logged in
`standin.calls`; counters (calls, per-status counts, "limited", webhook
deliveries) are in `standin.stats`.
"""

from __future__ import annotations

import asyncio
import math
import re
import socket
import time
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass
from types import TracebackType
from typing import Any

from aiohttp import BodyPartReader, hdrs, web

from standin.api import BLOCKED, CANONICAL, ApiError, Params, Upload, error_body, ok_body
from standin.methods import ApiMethods, Handler
from standin.state import CallRecord, Signal
from standin.updates import UpdateHub, Webhook

JSON = dict[str, Any]

TOKEN_RE = re.compile(r"\d+:[A-Za-z0-9_-]{30,}")
# Methods that count against Telegram's flood limits.
LIMITED_METHODS = frozenset({
    "sendmessage", "sendphoto", "senddocument", "editmessagetext", "editmessagereplymarkup",
    "editmessagecaption", "sendmediagroup", "editmessagemedia",
})


@dataclass
class _Fault:
    status: int
    retry_after: int | None
    remaining: int
    description: str | None
    chat_id: int | None


class _Bucket:
    """Token bucket: `rate` requests per second, bursts up to `capacity`."""

    __slots__ = ("capacity", "rate", "stamp", "tokens")

    def __init__(self, rate: float, capacity: float, now: float) -> None:
        self.rate, self.capacity, self.tokens, self.stamp = rate, capacity, capacity, now

    def refill(self, now: float) -> None:
        self.tokens = min(self.capacity, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now


@dataclass
class _Limits:
    per_chat_per_second: float
    per_chat_burst: float
    slack: float
    overall: _Bucket
    chats: dict[int, _Bucket]


class BotAPIStandIn(ApiMethods):
    """The Bot API on a loopback port; all methods run on the current event loop."""

    def __init__(self, token: str | None = None, *, host: str = "127.0.0.1", port: int = 0,
                 bot_name: str = "Move Better", bot_username: str = "move_better_test_bot",
                 create_unknown_chats: bool = False, record_calls: bool = True,
                 webhook_retries: int = 3, webhook_retry_delay: float = 0.2) -> None:
        if token is not None and not TOKEN_RE.fullmatch(token):
            raise ValueError(f"not a well-formed bot token: {token!r}")
        stats: Counter[str] = Counter()
        hub = UpdateHub(stats, webhook_retries=webhook_retries,
                        webhook_retry_delay=webhook_retry_delay)
        super().__init__(token, bot_name=bot_name, bot_username=bot_username,
                         create_unknown_chats=create_unknown_chats, stats=stats, hub=hub)
        self.host = host
        self.port = port
        # Long benchmarks can switch the call log off; stats keep counting.
        self.record_calls = record_calls
        self.changed = Signal()  # notified after every API call
        self._faults: dict[str, deque[_Fault]] = {}
        self._slow: dict[str, float] = {}
        self._limits: _Limits | None = None
        self._outage: tuple[float, int] | None = None  # (until, status) on time.monotonic()
        self._runner: web.AppRunner | None = None
        self._opening: asyncio.Task[None] | None = None

    # -- lifecycle
    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def base_url(self) -> str:
        """For ApplicationBuilder().base_url(...) / Bot(base_url=...)."""
        return f"{self.url}/bot"

    @property
    def base_file_url(self) -> str:
        return f"{self.url}/file/bot"

    async def start(self, port: int | None = None, *,
                    refuse_for: float = 0) -> BotAPIStandIn:
        """Listen on `port` (default: the one given, or a free one). With `refuse_for`, the
        port is reserved at once but connections are refused for that many seconds, like a
        network that is not up yet (or a Bot API that is down)."""
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, access_log=None, handle_signals=False,
                                     shutdown_timeout=1.0)
        await self._runner.setup()
        # Bound but not listening: the kernel answers connection attempts with a reset.
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self.host, self.port if port is None else port))
        self.port = int(sock.getsockname()[1])
        site = web.SockSite(self._runner, sock)
        if refuse_for > 0:
            self._opening = asyncio.create_task(self._open_later(site, refuse_for))
        else:
            await site.start()
        return self

    async def _open_later(self, site: web.SockSite, seconds: float) -> None:
        await asyncio.sleep(seconds)
        await site.start()
        self.stats["opened"] += 1

    async def stop(self) -> None:
        if self._opening is not None:
            self._opening.cancel()
        await self.hub.close()  # ends held getUpdates requests and webhook deliveries
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> BotAPIStandIn:
        return await self.start()

    async def __aexit__(self, exc_type: type[BaseException] | None,
                        exc: BaseException | None, tb: TracebackType | None) -> None:
        await self.stop()

    # -- faults and limits
    def fail_next(self, method: str = "*", *, status: int = 429, retry_after: int = 2,
                  times: int = 1, description: str | None = None,
                  chat_id: int | None = None) -> None:
        """Answer the next `times` calls of `method` ("*" = any) with an error instead.

        429 carries parameters.retry_after; 403 defaults to "bot was blocked by the user";
        502/503/504 come back as nginx HTML pages. Failed calls change nothing.
        """
        key = method.lower()
        if key != "*" and key not in CANONICAL:
            raise ValueError(f"unknown Bot API method {method!r}")
        fault = _Fault(status, retry_after if status == 429 else None, times, description,
                       chat_id)
        self._faults.setdefault(key, deque()).append(fault)

    def slow(self, method: str = "*", seconds: float = 1.0) -> None:
        """Delay every reply to `method` ("*" = any) by `seconds`; 0 switches it off."""
        if seconds > 0:
            self._slow[method.lower()] = seconds
        else:
            self._slow.pop(method.lower(), None)

    def enforce_limits(self, per_second: float = 30, per_chat_per_second: float = 1, *,
                       per_chat_burst: float = 1, slack: float = 0.05) -> None:
        """Answer sends beyond Telegram's flood limits with 429 + retry_after (seconds >= 1).

        Sends and edits count. Each chat may send `per_chat_burst` messages back to back
        (Telegram tolerates short bursts; 1 is the strict reading of its limit), all chats
        together `per_second`. `slack` forgives that much timing jitter, in seconds.
        """
        overall = _Bucket(per_second, max(per_second, 1.0), time.monotonic())
        self._limits = _Limits(per_chat_per_second, max(per_chat_burst, 1.0), slack, overall, {})

    def outage(self, seconds: float, status: int = 502) -> None:
        """Answer every call with `status` for the next `seconds` (Telegram down); the
        calls change nothing. 0 ends an outage at once."""
        self._outage = (time.monotonic() + seconds, status) if seconds > 0 else None

    def clear_faults(self) -> None:
        """Drop pending fail_next faults, slow replies and flood limits."""
        self._faults.clear()
        self._slow.clear()
        self._limits = None
        self._outage = None

    def _take_fault(self, key: str, p: Params) -> ApiError | None:
        for name in (key, "*"):
            queue = self._faults.get(name)
            if not queue:
                continue
            for fault in queue:
                if fault.chat_id is None or fault.chat_id == p.peek_chat_id():
                    fault.remaining -= 1
                    if fault.remaining <= 0:
                        queue.remove(fault)
                    return ApiError(fault.status, fault.description, fault.retry_after)
        return None

    def _check_limits(self, limits: _Limits, chat_id: int | None) -> ApiError | None:
        now = time.monotonic()
        buckets = [limits.overall]
        if chat_id is not None:
            bucket = limits.chats.get(chat_id)
            if bucket is None:
                rate = limits.per_chat_per_second
                bucket = limits.chats[chat_id] = _Bucket(rate, limits.per_chat_burst, now)
            buckets.append(bucket)
        wait = 0.0
        for bucket in buckets:
            bucket.refill(now)
            if bucket.tokens < 1.0 - limits.slack * bucket.rate:
                wait = max(wait, (1.0 - bucket.tokens) / bucket.rate)
        if wait > 0:
            self.stats["limited"] += 1
            return ApiError(429, retry_after=max(1, math.ceil(wait)))
        for bucket in buckets:
            bucket.tokens -= 1.0
        return None

    # -- HTTP
    async def _handle(self, request: web.Request) -> web.StreamResponse:
        path = request.match_info["tail"]
        if path.startswith("file/bot"):
            return self._serve_file(path[len("file/bot"):])
        token, _, method = path[3:].partition("/") if path.startswith("bot") else ("", "", "")
        if not TOKEN_RE.fullmatch(token) or not method or "/" in method:
            return self._error(ApiError(404))
        if self.token is not None and token != self.token:
            return self._error(ApiError(401))
        if self.token is None and self.bot_user["id"] != int(token.split(":")[0]):
            self._set_bot_id(int(token.split(":")[0]))
        started = time.perf_counter()
        key = method.lower()
        params = Params({})
        try:
            params = await self._read_params(request)
            handler = self.handlers.get(key)
            if handler is None:
                raise ApiError(404)
            result = await self._call(key, handler, token, params)
        except ApiError as err:
            self._record(CANONICAL.get(key, method), params, err.status, err.description, started)
            return self._error(err)
        self._record(CANONICAL[key], params, 200, None, started)
        return web.Response(body=ok_body(result), content_type="application/json")

    async def _call(self, key: str, handler: Handler, token: str, p: Params) -> Any:
        if self._outage is not None and time.monotonic() < self._outage[0]:
            self.stats["outage"] += 1
            raise ApiError(self._outage[1])
        fault = self._take_fault(key, p) if self._faults else None
        if self._slow:
            delay = self._slow.get(key) or self._slow.get("*")
            if delay:
                await asyncio.sleep(delay)
        if fault is not None:
            raise fault
        if key.startswith("send"):
            chat_id = p.peek_chat_id()
            user = self.users.get(chat_id) if chat_id is not None else None
            if user is not None and user.blocked:
                raise ApiError(403, BLOCKED)
        if self._limits is not None and key in LIMITED_METHODS:
            limited = self._check_limits(self._limits, p.peek_chat_id())
            if limited is not None:
                raise limited
        return await handler(token, p)

    @staticmethod
    async def _read_params(request: web.Request) -> Params:
        raw: JSON = dict(request.query) if request.query_string else {}
        files: dict[str, Upload] = {}
        if request.body_exists:
            ctype = request.content_type
            if ctype == "application/json":
                try:
                    body = await request.json()
                except ValueError:
                    raise ApiError(400, "Bad Request: can't parse JSON") from None
                if isinstance(body, dict):
                    raw.update(body)
            elif ctype == "multipart/form-data":
                reader = await request.multipart()
                while (part := await reader.next()) is not None:
                    if not isinstance(part, BodyPartReader) or part.name is None:
                        continue
                    if part.filename is not None:
                        files[part.name] = Upload(bytes(await part.read()), part.filename,
                                                  part.headers.get(hdrs.CONTENT_TYPE))
                    else:
                        raw[part.name] = await part.text()
            else:
                form = await request.post()
                raw.update((k, v) for k, v in form.items() if isinstance(v, str))
        return Params(raw, files)

    def _record(self, method: str, p: Params, status: int, description: str | None,
                started: float) -> None:
        if self.record_calls:
            self.calls.append(CallRecord(method, p.for_log(), time.time(), status, description,
                                         p.peek_chat_id(), time.perf_counter() - started))
        self.stats["calls"] += 1
        self.stats[str(status)] += 1
        self.changed.notify()

    @staticmethod
    def _error(err: ApiError) -> web.Response:
        body, ctype = error_body(err)
        return web.Response(body=body, status=err.status, content_type=ctype)

    def _serve_file(self, rest: str) -> web.StreamResponse:
        token, _, file_path = rest.partition("/")
        if not TOKEN_RE.fullmatch(token) or (self.token is not None and token != self.token):
            return self._error(ApiError(404))
        unique_id = file_path.rsplit("/", 1)[-1]
        for file in self.files.values():
            if file.file_unique_id == unique_id:
                return web.Response(body=file.data,
                                    content_type=file.mime_type or "application/octet-stream")
        return self._error(ApiError(404))

    # -- reading what the bot did
    @property
    def pending_updates(self) -> list[JSON]:
        """Updates waiting for getUpdates (not yet confirmed by an offset)."""
        return list(self.hub.pending)

    @property
    def polling(self) -> bool:
        """Whether a getUpdates long poll is currently waiting for updates."""
        return self.hub.polling

    @property
    def webhook(self) -> Webhook | None:
        return self.hub.webhook

    def calls_to(self, method: str) -> list[CallRecord]:
        name = CANONICAL.get(method.lower(), method)
        return [c for c in self.calls if c.method == name]

    def get_commands(self, scope: str = "default", chat_id: int | None = None,
                     language_code: str | None = None) -> list[JSON]:
        """The command list setMyCommands stored for a scope (BotCommandScope type)."""
        key = scope + (f":{chat_id}" if chat_id is not None else "")
        return self.commands.get(f"{key}/{language_code}" if language_code else key, [])

    async def wait_until(self, condition: Callable[[], Any],
                         timeout: float = 10.0) -> None:  # noqa: ASYNC109
        """Wait until `condition()` is truthy, re-checking after every API call."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not condition():
            remaining = deadline - loop.time()
            if remaining <= 0:
                last = [f"{c.method} -> {c.status}" for c in self.calls[-10:]]
                raise TimeoutError(f"condition not met within {timeout}s; last calls: {last}")
            await self.changed.wait(min(remaining, 0.05))

    async def wait_for_call(self, method: str,
                            predicate: Callable[[CallRecord], bool] | None = None,
                            timeout: float = 10.0,  # noqa: ASYNC109
                            start: int = 0) -> CallRecord:
        """The first call to `method` (matching `predicate`) at index >= `start` in `calls`."""
        name = CANONICAL.get(method.lower(), method)
        found: list[CallRecord] = []
        index = start

        def seen() -> bool:
            nonlocal index
            while index < len(self.calls):
                call = self.calls[index]
                index += 1
                if call.method == name and (predicate is None or predicate(call)):
                    found.append(call)
                    return True
            return False

        await self.wait_until(seen, timeout)
        return found[0]
