"""A simulated Telegram user in a private chat with the bot.

Get one from the stand-in and act as the user; read what the bot did::

    ana = standin.user(1001, first_name="Ana")
    await ana.command("/start")
    welcome = await ana.next_message()          # waits for the bot's reply
    await ana.press_button(welcome, "Settings")  # a callback_query update
    await ana.wait_until(lambda: welcome.edited)
    ana.block()                                  # sends now fail with 403

Every action creates the Update Telegram would (message with from/chat/date,
bot_command entities, callback_query with a fresh id, my_chat_member on
block/unblock) and hands it to the bot through getUpdates or the webhook.
"""

from __future__ import annotations

import asyncio
import base64
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from standin.state import CallbackAnswer, ChatMessage, Signal, StoredFile, image_size

if TYPE_CHECKING:
    from standin.methods import ApiMethods

JSON = dict[str, Any]

# A valid 1x1 PNG, used when a test sends a photo without caring about its content.
TINY_PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
)


class SimulatedUser:
    """One user and their private chat (chat id == user id)."""

    def __init__(self, standin: ApiMethods, user_id: int, first_name: str,
                 last_name: str | None = None, username: str | None = None,
                 language_code: str = "en") -> None:
        self._standin = standin
        self.id = user_id
        self.first_name = first_name
        self.blocked = False
        self.user_dict: JSON = {"id": user_id, "is_bot": False, "first_name": first_name}
        self.chat_dict: JSON = {"id": user_id, "type": "private", "first_name": first_name}
        for key, value in (("last_name", last_name), ("username", username)):
            if value:
                self.user_dict[key] = self.chat_dict[key] = value
        self.user_dict["language_code"] = language_code
        self.history: list[ChatMessage] = []  # both sides, in order
        self.messages: list[ChatMessage] = []  # the bot's messages, in order
        self.callback_answers: list[CallbackAnswer] = []
        self.chat_actions: list[str] = []
        self.reply_keyboard: list[list[JSON]] | None = None  # keyboard currently shown
        self.changed = Signal()
        self._cursor = 0
        self._chat_instance = str(user_id * 7919 + 104729)

    def __repr__(self) -> str:
        return f"<SimulatedUser {self.id} {self.first_name!r}>"

    # -- bookkeeping used by the API methods
    def _add_bot_message(self, msg: ChatMessage) -> None:
        self.history.append(msg)
        self.messages.append(msg)
        markup = msg.reply_markup or {}
        if "keyboard" in markup:
            self.reply_keyboard = msg.reply_keyboard
        elif markup.get("remove_keyboard"):
            self.reply_keyboard = None
        self.changed.notify()

    @property
    def last_message(self) -> ChatMessage | None:
        return self.messages[-1] if self.messages else None

    # -- acting as the user
    def _check_can_write(self) -> None:
        if self.blocked:
            raise RuntimeError(f"user {self.id} has blocked the bot; call unblock() first")

    def _message(self, *, text: str | None = None, entities: list[JSON] | None = None,
                 extra: JSON | None = None, file: StoredFile | None = None,
                 media_kind: str | None = None, caption: str | None = None,
                 reply_to: ChatMessage | int | None = None,
                 image_size: tuple[int, int] = (0, 0)) -> JSON:
        self._check_can_write()
        standin = self._standin
        msg = ChatMessage(
            chat_id=self.id, message_id=standin._next_message_id(), date=int(time.time()),
            from_bot=False, sender=self.user_dict, chat=self.chat_dict, text=text,
            raw_text=text, entities=entities, caption=caption, raw_caption=caption, file=file,
            media_kind=media_kind, image_size=image_size, extra=extra or {},
            reply_to=self._resolve(reply_to) if reply_to is not None else None,
        )
        standin._register_message(msg)
        self.history.append(msg)
        return standin.inject_update({"message": msg.to_dict()})

    async def send(self, text: str, *, entities: list[JSON] | None = None,
                   reply_to: ChatMessage | int | None = None) -> JSON:
        """Send a text message; returns the Update."""
        return self._message(text=text, entities=entities, reply_to=reply_to)

    async def command(self, command: str, args: str | Sequence[str] | None = None) -> JSON:
        """Send "/command [args]" with its bot_command entity; returns the Update."""
        cmd = command if command.startswith("/") else f"/{command}"
        name = cmd.split()[0]
        if isinstance(args, str):
            args = [args] if args else []
        text = " ".join([cmd, *(args or [])])
        entity = {"type": "bot_command", "offset": 0, "length": len(name.encode("utf-16-le")) // 2}
        return self._message(text=text, entities=[entity])

    async def send_location(self, latitude: float, longitude: float) -> JSON:
        return self._message(extra={"location": {"latitude": latitude, "longitude": longitude}})

    async def send_sticker(self, emoji: str = "👍") -> JSON:
        file = self._standin._store_file(b"", "sticker.webp", "image/webp")
        sticker = {"file_id": file.file_id, "file_unique_id": file.file_unique_id,
                   "type": "regular", "width": 512, "height": 512, "is_animated": False,
                   "is_video": False, "emoji": emoji}
        return self._message(extra={"sticker": sticker})

    async def send_photo(self, data: bytes | None = None, caption: str | None = None) -> JSON:
        """Send a photo (a tiny PNG by default); the bot can fetch it with getFile."""
        payload = TINY_PNG if data is None else data
        file = self._standin._store_file(payload, "photo.jpg", "image/jpeg")
        return self._message(file=file, media_kind="photo", caption=caption,
                             image_size=image_size(payload) or (1, 1))

    async def send_document(self, data: bytes, filename: str,
                            mime_type: str = "application/octet-stream",
                            caption: str | None = None) -> JSON:
        file = self._standin._store_file(data, filename, mime_type)
        return self._message(file=file, media_kind="document", caption=caption)

    def _resolve(self, message: ChatMessage | int) -> ChatMessage:
        if isinstance(message, ChatMessage):
            return message
        for msg in self.history:
            if msg.message_id == message:
                return msg
        raise LookupError(f"no message {message} in chat {self.id}")

    async def press(self, message: ChatMessage | int, data: str, *, check: bool = True) -> str:
        """Press the inline button carrying `data`; returns the callback query id.

        With check=True the button must exist on the (not deleted) message, as in the app.
        """
        self._check_can_write()
        msg = self._resolve(message)
        if check:
            if msg.deleted:
                raise LookupError(f"message {msg.message_id} was deleted")
            if data not in {d for row in msg.buttons for _, d in row if d is not None}:
                raise LookupError(
                    f"no button with callback_data {data!r} on message {msg.message_id}; "
                    f"buttons: {msg.buttons}"
                )
        query_id = self._standin._issue_callback_query(self)
        self._standin.inject_update({"callback_query": {
            "id": query_id, "from": self.user_dict, "message": msg.to_dict(),
            "chat_instance": self._chat_instance, "data": data,
        }})
        return query_id

    async def press_button(self, message: ChatMessage | int, text: str) -> str:
        """Press the inline button labelled `text`; returns the callback query id."""
        button = self._resolve(message).find_button(text)
        if "callback_data" not in button:
            raise LookupError(f"button {button['text']!r} has no callback_data: {button}")
        return await self.press(message, button["callback_data"])

    def _member_update(self, old: str, new: str) -> None:
        bot = self._standin.bot_user

        def member(status: str) -> JSON:
            info: JSON = {"user": bot, "status": status}
            if status == "kicked":
                info["until_date"] = 0
            return info

        self._standin.inject_update({"my_chat_member": {
            "chat": self.chat_dict, "from": self.user_dict, "date": int(time.time()),
            "old_chat_member": member(old), "new_chat_member": member(new),
        }})

    def block(self, emit_update: bool = True) -> None:
        """Block the bot: every send* to this chat now gets 403 Forbidden."""
        if not self.blocked:
            self.blocked = True
            if emit_update:
                self._member_update("member", "kicked")

    def unblock(self, emit_update: bool = True) -> None:
        if self.blocked:
            self.blocked = False
            if emit_update:
                self._member_update("kicked", "member")

    # -- waiting for the bot
    async def next_message(self, timeout: float = 10.0,  # noqa: ASYNC109
                           predicate: Callable[[ChatMessage], bool] | None = None
                           ) -> ChatMessage:
        """The next bot message not yet returned here (skipping ones failing `predicate`)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            while self._cursor < len(self.messages):
                msg = self.messages[self._cursor]
                self._cursor += 1
                if predicate is None or predicate(msg):
                    return msg
            remaining = deadline - loop.time()
            if remaining <= 0:
                what = "matching message" if predicate else "message"
                raise TimeoutError(
                    f"no new bot {what} in chat {self.id} within {timeout}s\n{self.dump()}"
                )
            await self.changed.wait(remaining)

    async def wait_until(self, condition: Callable[[], Any],
                         timeout: float = 10.0) -> None:  # noqa: ASYNC109
        """Wait until `condition()` is truthy, re-checking on every change in this chat."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not condition():
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise TimeoutError(f"condition not met within {timeout}s\n{self.dump()}")
            # Short slices also catch conditions on state outside this chat.
            await self.changed.wait(min(remaining, 0.05))

    def dump(self, calls: int = 10) -> str:
        """Readable state of the chat and its latest API calls, for failure messages."""
        lines = [f"chat {self.id} ({self.first_name}){' [blocked]' if self.blocked else ''}:"]
        lines += [f"  {m.summary()}" for m in self.history[-30:]] or ["  (no messages)"]
        if self.callback_answers:
            lines.append(f"  callback answers: {[a.text for a in self.callback_answers]}")
        recent = [c for c in self._standin.calls if c.chat_id == self.id][-calls:]
        if recent:
            lines.append("latest API calls for this chat:")
            lines += [f"  {c.method} -> {c.status}" + (f" {c.description}" if c.description
                                                       else "") for c in recent]
        return "\n".join(lines)
