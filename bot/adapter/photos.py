"""Pictures as Telegram photos, each uploaded once: the file_id Telegram gives the first
upload is stored (bot/storage/uploads.py) and every later send reuses it.

    photos = Photos(pictures, database, clock)
    message = await photos.send(bot, chat_id, key, caption="…", markup=keyboard)
    messages = await photos.send_album(bot, chat_id, [(key, caption), …])

A picture is drawn only when it has to be uploaded (the first send after a deployment
whose drawing changed, or after Telegram forgot a file_id), in a thread: the bot keeps
answering meanwhile. A process whose pictures are all uploaded never loads the drawing
library at all. Two users sending the same picture for the first time at once may
both upload it; the first file_id stored is kept and the other upload is simply unused.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from typing import Any

from telegram import Bot, InputMediaPhoto, Message
from telegram.error import BadRequest

from bot.domain.clock import Clock
from bot.domain.pictures import Pictures
from bot.domain.replies import clip_caption
from bot.storage import uploads
from bot.storage.db import Database

log = logging.getLogger(__name__)

ALBUM_MAX = 10  # Telegram's limit for one sendMediaGroup (and its minimum is 2)


def forgotten(exc: BadRequest) -> bool:
    """Whether Telegram no longer knows a file_id we sent (it can forget them)."""
    text = exc.message.lower()
    return "wrong file identifier" in text or "file reference" in text or \
        "wrong remote file" in text


def album_chunks(count: int) -> list[int]:
    """Sizes of the albums for `count` pictures: at most 10 each, as even as can be, so a
    lone picture never ends up in an album of its own (11 → 6 + 5)."""
    if count <= 0:
        return []
    albums = -(-count // ALBUM_MAX)
    size, extra = divmod(count, albums)
    return [size + 1] * extra + [size] * (albums - extra)


class Photos:
    def __init__(self, pictures: Pictures, database: Database, clock: Clock) -> None:
        self.pictures = pictures
        self.database = database
        self.clock = clock
        # (key, digest) -> file_id: the database is asked once per picture and process.
        self._ids: dict[tuple[str, str], str] = {}
        self.uploads = 0  # pictures this process uploaded (logs, the benchmark)
        self._ahead: dict[str, bytes] = {}  # drawn at start-up, until uploaded

    async def file_id(self, key: str) -> str | None:
        """The stored file_id of the picture as drawn now, if uploaded before."""
        slot = (key, self.pictures.digest(key))
        if slot not in self._ids:
            async with self.database.session() as session:
                found = await uploads.stored_file_id(session, *slot)
            if found is None:
                return None
            self._ids[slot] = found
        return self._ids[slot]

    async def prepare(self) -> int:
        """Reads the stored file_ids; when some picture is not uploaded yet (a new drawing),
        draws one ahead, so that the drawing library is loaded before a user waits for
        it. The others are drawn when first sent: drawing all ahead would compete with
        the first due messages for the CPU. Returns how many are not uploaded."""
        keys = self.pictures.keys()
        digests = {key: self.pictures.digest(key) for key in keys}
        async with self.database.session() as session:
            stored = await uploads.stored_file_ids(session)
        self._ids.update((slot, file_id) for slot, file_id in stored.items()
                         if digests.get(slot[0]) == slot[1])
        missing = [key for key, digest in digests.items() if (key, digest) not in self._ids]
        if missing:
            self._ahead[missing[0]] = await asyncio.to_thread(self.pictures.render, missing[0])
        return len(missing)

    async def _png(self, key: str) -> bytes:
        ahead = self._ahead.pop(key, None)
        return ahead if ahead is not None else await asyncio.to_thread(self.pictures.render, key)

    async def _learned(self, key: str, message: Message, stale: str | None) -> None:
        """Stores the file_id of a picture just uploaded (or of one replacing a stale id)."""
        if not message.photo:
            return
        self.uploads += 1
        fresh = message.photo[-1].file_id
        slot = (key, self.pictures.digest(key))
        async with self.database.session() as session:
            if stale is not None:
                await uploads.replace_file_id(session, *slot, stale, fresh, self.clock())
            kept = await uploads.remember_file_id(session, *slot, fresh, self.clock())
        self._ids[slot] = kept
        log.info("uploaded picture %s", key)

    def _forget(self, key: str) -> None:
        self._ids.pop((key, self.pictures.digest(key)), None)

    async def send(self, bot: Bot, chat_id: int, key: str, caption: str | None,
                   **options: Any) -> Message:
        """Sends a picture, by its file_id once Telegram has it."""
        caption = clip_caption(caption) if caption else None
        known = await self.file_id(key)
        if known is not None:
            try:
                return await bot.send_photo(chat_id, known, caption=caption, **options)
            except BadRequest as exc:
                if not forgotten(exc):
                    raise
                log.warning("Telegram forgot picture %s (%s); uploading it again", key,
                            exc.message)
                self._forget(key)
        message = await bot.send_photo(chat_id, await self._png(key), caption=caption,
                                       filename=f"{key}.png", **options)
        await self._learned(key, message, known)
        return message

    async def replace(self, bot: Bot, chat_id: int, message_id: int, key: str, caption: str,
                      **options: Any) -> None:
        """Turns a photo message into another picture with a new caption."""
        known = await self.file_id(key)
        caption = clip_caption(caption)
        if known is not None:
            try:
                await bot.edit_message_media(InputMediaPhoto(known, caption=caption),
                                             chat_id=chat_id, message_id=message_id, **options)
                return
            except BadRequest as exc:
                if not forgotten(exc):
                    raise
                self._forget(key)
        edited = await bot.edit_message_media(
            InputMediaPhoto(await self._png(key), caption=caption, filename=f"{key}.png"),
            chat_id=chat_id, message_id=message_id, **options)
        if isinstance(edited, Message):
            await self._learned(key, edited, known)

    async def _media(self, key: str, caption: str, file_id: str | None) -> InputMediaPhoto:
        if file_id is not None:
            return InputMediaPhoto(file_id, caption=clip_caption(caption))
        return InputMediaPhoto(await self._png(key), caption=clip_caption(caption),
                               filename=f"{key}.png")

    async def send_album(self, bot: Bot, chat_id: int,
                         items: Sequence[tuple[str, str]]) -> list[Message]:
        """Sends pictures as albums of up to 10 (a single one as a photo)."""
        sent: list[Message] = []
        start = 0
        for size in album_chunks(len(items)):
            chunk = items[start:start + size]
            start += size
            if size == 1:
                key, caption = chunk[0]
                sent.append(await self.send(bot, chat_id, key, caption))
                continue
            sent += await self._send_chunk(bot, chat_id, chunk)
        return sent

    async def _send_chunk(self, bot: Bot, chat_id: int,
                          chunk: Sequence[tuple[str, str]]) -> Sequence[Message]:
        known = [await self.file_id(key) for key, _caption in chunk]
        media = [await self._media(key, caption, file_id)
                 for (key, caption), file_id in zip(chunk, known, strict=True)]
        try:
            messages = await bot.send_media_group(chat_id, media)
        except BadRequest as exc:
            if not forgotten(exc) or not any(known):
                raise
            # Which file_id Telegram forgot is not said: upload the whole album again.
            for key, _caption in chunk:
                self._forget(key)
            media = [await self._media(key, caption, None) for key, caption in chunk]
            messages = await bot.send_media_group(chat_id, media)
            for (key, _caption), stale, message in zip(chunk, known, messages, strict=True):
                await self._learned(key, message, stale)
            return messages
        for (key, _caption), file_id, message in zip(chunk, known, messages, strict=True):
            if file_id is None:
                await self._learned(key, message, None)
        return messages
