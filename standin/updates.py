"""Update delivery: the getUpdates queue with long polling, and webhooks.

`UpdateHub.inject(payload)` numbers an update and either queues it for
getUpdates (waking a waiting long poll at once) or POSTs it to the webhook.
getUpdates follows Telegram: `offset` confirms every update below it, a newer
concurrent getUpdates ends the older one with 409, and getUpdates is refused
with 409 while a webhook is set. Webhook deliveries run one at a time per chat
(so a chat's updates arrive in order), carry the secret token header, and are
retried a few times before being dropped.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections import Counter, deque
from dataclasses import dataclass
from typing import Any

import aiohttp

from standin.api import ApiError

JSON = dict[str, Any]

CONFLICT_OTHER_POLL = ("Conflict: terminated by other getUpdates request; "
                       "make sure that only one bot instance is running")
CONFLICT_WEBHOOK_ACTIVE = ("Conflict: can't use getUpdates method while webhook is active; "
                           "use deleteWebhook to delete the webhook first")
CONFLICT_SET_WEBHOOK = "Conflict: terminated by setWebhook request"
# Telegram leaves these out unless allowed_updates names them explicitly.
_OPT_IN_UPDATES = frozenset({"chat_member", "message_reaction", "message_reaction_count"})


@dataclass
class Webhook:
    url: str
    secret_token: str | None
    max_connections: int
    ip_address: str | None = None
    last_error_date: int | None = None
    last_error_message: str | None = None


def _chat_key(update: JSON) -> int | None:
    """The chat an update belongs to, so deliveries for one chat stay ordered."""
    for kind, body in update.items():
        if kind == "update_id" or not isinstance(body, dict):
            continue
        chat = body.get("chat") or (body.get("message") or {}).get("chat")
        if chat:
            return int(chat["id"])
        sender = body.get("from")
        return int(sender["id"]) if sender else None
    return None


class UpdateHub:
    def __init__(self, stats: Counter[str], *, webhook_retries: int = 3,
                 webhook_retry_delay: float = 0.2, webhook_timeout: float = 10.0) -> None:
        self.stats = stats
        self.pending: deque[JSON] = deque()
        self.allowed: list[str] | None = None
        self.webhook: Webhook | None = None
        self.webhook_retries = webhook_retries
        self.webhook_retry_delay = webhook_retry_delay
        self.webhook_timeout = webhook_timeout
        self._next_id = 1
        self._pollers: dict[str, asyncio.Future[str]] = {}
        self._queues: dict[int | None, deque[JSON]] = {}
        self._tasks: dict[int | None, asyncio.Task[None]] = {}
        self._slots = asyncio.Semaphore(40)
        self._session: aiohttp.ClientSession | None = None
        self._closed = False

    # -- lifecycle
    async def close(self) -> None:
        self._closed = True
        self._wake("closed")
        tasks = list(self._tasks.values())
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self._session is not None:
            await self._session.close()
            self._session = None

    def _wake(self, reason: str) -> None:
        for fut in self._pollers.values():
            if not fut.done():
                fut.set_result(reason)

    # -- injecting
    def is_allowed(self, kind: str) -> bool:
        if self.allowed:
            return kind in self.allowed
        return kind not in _OPT_IN_UPDATES

    def inject(self, payload: JSON) -> JSON:
        update: JSON = {"update_id": self._next_id, **payload}
        self._next_id += 1
        kind = next(k for k in payload if k != "update_id")
        if not self.is_allowed(kind):
            self.stats["updates_filtered"] += 1
            return update
        self.stats["updates"] += 1
        if self.webhook is not None:
            self._enqueue(update)
        else:
            self.pending.append(update)
            self._wake("update")
        return update

    # -- getUpdates
    @property
    def polling(self) -> bool:
        """Whether a getUpdates request is being held open right now."""
        return any(not fut.done() for fut in self._pollers.values())

    def _confirm(self, offset: int | None) -> None:
        pending = self.pending
        if offset is None or offset == 0:
            return
        if offset < 0:
            while len(pending) > -offset:
                pending.popleft()
            return
        while pending and pending[0]["update_id"] < offset:
            pending.popleft()

    async def get_updates(self, token: str, offset: int | None, limit: int,
                          wait_seconds: float) -> list[JSON]:
        if self.webhook is not None:
            raise ApiError(409, CONFLICT_WEBHOOK_ACTIVE)
        self._confirm(offset)
        previous = self._pollers.pop(token, None)
        if previous is not None and not previous.done():
            previous.set_result("conflict")
        loop = asyncio.get_running_loop()
        deadline = loop.time() + wait_seconds
        while not self.pending:
            remaining = deadline - loop.time()
            if remaining <= 0 or self._closed:
                return []
            fut: asyncio.Future[str] = loop.create_future()
            self._pollers[token] = fut
            try:
                reason = await asyncio.wait_for(fut, remaining)
            except TimeoutError:
                return []
            finally:
                if self._pollers.get(token) is fut:
                    del self._pollers[token]
            if reason == "conflict":
                raise ApiError(409, CONFLICT_OTHER_POLL)
            if reason == "webhook":
                raise ApiError(409, CONFLICT_SET_WEBHOOK)
            if reason == "closed":
                return []
        return [self.pending[i] for i in range(min(limit, len(self.pending)))]

    # -- webhooks
    def set_webhook(self, url: str, secret_token: str | None, max_connections: int,
                    drop_pending: bool, ip_address: str | None) -> None:
        if drop_pending:
            self._drop_all()
        self.webhook = Webhook(url, secret_token, max_connections, ip_address)
        self._slots = asyncio.Semaphore(max_connections)
        self._wake("webhook")
        waiting, self.pending = self.pending, deque()
        for update in waiting:
            self._enqueue(update)

    def delete_webhook(self, drop_pending: bool) -> None:
        # Workers hand undelivered updates back to the getUpdates queue.
        self.webhook = None
        if drop_pending:
            self._drop_all()

    def _drop_all(self) -> None:
        self.pending.clear()
        for queue in self._queues.values():
            queue.clear()

    def webhook_info(self) -> JSON:
        hook = self.webhook
        if hook is None:
            return {"url": "", "has_custom_certificate": False,
                    "pending_update_count": len(self.pending)}
        info: JSON = {
            "url": hook.url, "has_custom_certificate": False,
            "pending_update_count": sum(len(q) for q in self._queues.values()),
            "max_connections": hook.max_connections,
        }
        if hook.ip_address:
            info["ip_address"] = hook.ip_address
        if hook.last_error_date is not None:
            info["last_error_date"] = hook.last_error_date
            info["last_error_message"] = hook.last_error_message
        if self.allowed:
            info["allowed_updates"] = self.allowed
        return info

    def _enqueue(self, update: JSON) -> None:
        key = _chat_key(update)
        self._queues.setdefault(key, deque()).append(update)
        if key not in self._tasks:
            self._tasks[key] = asyncio.create_task(self._deliver_chat(key))

    async def _deliver_chat(self, key: int | None) -> None:
        queue = self._queues[key]
        try:
            while queue:
                update = queue[0]
                hook = self.webhook
                if hook is None:  # webhook deleted: hand the rest back to getUpdates
                    self._return_to_pending(queue)
                    break
                delivered = await self._post(hook, update)
                if not delivered and self.webhook is not hook:
                    continue  # the webhook changed mid-delivery; not this update's fault
                if queue and queue[0] is update:
                    queue.popleft()
        finally:
            self._tasks.pop(key, None)
            if not queue:
                self._queues.pop(key, None)

    def _return_to_pending(self, queue: deque[JSON]) -> None:
        self.pending = deque(sorted([*self.pending, *queue], key=lambda u: u["update_id"]))
        queue.clear()
        self._wake("update")

    async def _post(self, hook: Webhook, update: JSON) -> bool:
        """Deliver one update with retries; False if it was dropped or the hook changed."""
        if self._session is None:
            self._session = aiohttp.ClientSession()
        headers = {"Content-Type": "application/json"}
        if hook.secret_token:
            headers["X-Telegram-Bot-Api-Secret-Token"] = hook.secret_token
        body = json.dumps(update).encode()
        timeout = aiohttp.ClientTimeout(total=self.webhook_timeout)
        for attempt in range(self.webhook_retries + 1):
            if attempt:
                await asyncio.sleep(self.webhook_retry_delay)
            if self.webhook is not hook:
                return False
            try:
                async with self._slots, self._session.post(
                    hook.url, data=body, headers=headers, timeout=timeout
                ) as resp:
                    await resp.read()
                    if 200 <= resp.status < 300:
                        self.stats["webhook_delivered"] += 1
                        return True
                    error = f"Wrong response from the webhook: {resp.status} {resp.reason}"
            except aiohttp.ClientConnectorError:
                error = "Connection refused"
            except (aiohttp.ClientError, TimeoutError) as exc:
                error = f"{type(exc).__name__}: {exc}"
            hook.last_error_date = int(time.time())
            hook.last_error_message = error
            self.stats["webhook_errors"] += 1
        self.stats["webhook_dropped"] += 1
        return False
