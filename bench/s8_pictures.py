"""Scenario 8, a position message with its picture: what the picture costs once uploaded.

The bot's own sender for due messages (`TelegramSender` with its `Photos`) sends the first
position of a desk break to a chat of the stand-in over real HTTP, `repeats` times as a
photo with its text as the caption and, alternately, the same reply as a text message:
the baseline. The first photo send uploads the picture (timed on its own); every later one
sends the stored file_id, so what remains is one Bot API call either way. Also measured:
the countdown's edit of a caption beside the same edit of a text, and how many uploads
the stand-in received (1).
"""

from __future__ import annotations

import statistics
import time
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from bench.common import TOKEN, BenchDatabases, Figure, migrate, standin_server

NAME = "8 position pictures"
CHAT = 8_000_001


def _ms(started: float) -> float:
    return 1000 * (time.perf_counter() - started)


async def run(dbs: BenchDatabases, *, repeats: int) -> list[Figure]:
    from telegram import Bot
    from telegram.request import HTTPXRequest

    from bot.adapter.photos import Photos
    from bot.adapter.sender import TelegramSender
    from bot.domain import guided_break as plan
    from bot.domain.content import load_program
    from bot.domain.pictures import load_pictures
    from bot.storage.db import Database

    program = load_program()
    pictures = load_pictures(program)
    url = dbs.sqlite_url("s8")
    await migrate(url)
    database = Database(url)
    first = plan.sequence_of(program)[0].position_id
    brk = _Break(positions=[first])
    reply = plan.position_reply(program, brk, "desk", "en")
    pictured = replace(reply, picture=pictures.key_for(first, "desk"))
    hold = plan.hold_reply(program, brk, "desk", "en", 30)
    try:
        async with standin_server() as standin:
            bot = Bot(TOKEN, base_url=standin.base_url,
                      request=HTTPXRequest(connection_pool_size=4))
            await bot.initialize()
            photos = Photos(pictures, database, lambda: datetime.now(UTC))
            sender = TelegramSender(bot, per_second=10_000, photos=photos)
            await sender.send(CHAT, reply)  # warm: the connection, PTB's first call
            started = time.perf_counter()
            photo_id = await sender.send(CHAT, pictured)
            upload_ms = _ms(started)
            text_id = await sender.send(CHAT, reply)
            texts: list[float] = []
            photo: list[float] = []
            text_edits: list[float] = []
            caption_edits: list[float] = []
            for n in range(repeats):
                started = time.perf_counter()
                await sender.send(CHAT, reply)
                texts.append(_ms(started))
                started = time.perf_counter()
                await sender.send(CHAT, pictured)
                photo.append(_ms(started))
                # The countdown's edit: a time left that changes every round.
                edit = replace(hold, text=hold.text.replace("1:30", f"1:{n % 60:02d}"))
                started = time.perf_counter()
                await sender.edit(CHAT, text_id, edit)
                text_edits.append(_ms(started))
                started = time.perf_counter()
                await sender.edit(CHAT, photo_id, replace(edit, caption=True))
                caption_edits.append(_ms(started))
            uploads = len(standin.uploads)
            await bot.shutdown()
    finally:
        await database.close()
    text_median = statistics.median(texts)
    detail: dict[str, Any] = {"repeats": repeats, "uploads": uploads,
                              "caption_chars": len(reply.text)}
    return [
        Figure(NAME, "position message with its picture, once uploaded: median send",
               statistics.median(photo), "ms", text_median, "the same message as text",
               goal="ratio <= 1.5", met=statistics.median(photo) <= 1.5 * text_median,
               samples=photo, baseline_samples=texts, extra=detail,
               note=f"{repeats} of each, alternated; {uploads} upload in all"),
        Figure(NAME, "the first send, uploading the picture", upload_ms, "ms", text_median,
               "the same message as text (median)"),
        Figure(NAME, "countdown edit of the caption: median", statistics.median(caption_edits),
               "ms", statistics.median(text_edits), "the same edit of a text message",
               samples=caption_edits, baseline_samples=text_edits),
    ]


class _Break:
    """The first position of a desk break, as `guided_break` reads a break."""

    def __init__(self, positions: list[str]) -> None:
        self.id, self.place, self.positions = 1, "desk", positions
        self.positions_done: list[str] = []
        self.position_index, self.attempt, self.short = 0, 0, False
