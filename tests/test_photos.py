"""Pictures as Telegram photos: when a text fits under one, and the sender for due messages
(`TelegramSender` with `Photos`) over real HTTP against the Bot API stand-in, on SQLite and
PostgreSQL: a text too long for a caption follows its picture, a failed upload is tried
again by the dispatcher's rules, and two first sends at once keep one file_id.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
from sqlalchemy import select
from telegram import Bot

from bot.adapter.photos import Photos, album_chunks
from bot.adapter.sender import TelegramSender
from bot.domain.callbacks import BreakControl
from bot.domain.content import load_program
from bot.domain.pictures import load_pictures
from bot.domain.replies import (
    CAPTION_LIMIT,
    Button,
    Reply,
    caption_fits,
    clip_caption,
    telegram_length,
)
from bot.outbox.delivery import TryLater
from bot.storage.db import Database
from bot.storage.models import PictureUpload
from standin import BotAPIStandIn

CHAT = 1001
PICTURES = load_pictures(load_program())
KEY = PICTURES.keys()[0]
READY = ((Button("▶ Ready", BreakControl(1, 0, 0, "g")),),)


# ------------------------------------------------------------------------------------------
# The caption-length decision


def test_a_caption_is_measured_as_telegram_counts_it() -> None:
    assert caption_fits("x" * CAPTION_LIMIT)
    assert not caption_fits("x" * (CAPTION_LIMIT + 1))
    # An emoji outside the basic plane counts twice (UTF-16), one inside it once.
    assert telegram_length("💬") == 2 and telegram_length("⏱") == 1
    assert not caption_fits("💬" * 513) and caption_fits("⏱" * CAPTION_LIMIT)


def test_a_clipped_caption_fits_and_says_it_was_cut() -> None:
    assert clip_caption("short") == "short"
    clipped = clip_caption("💬" + "y" * 2000)
    assert caption_fits(clipped) and clipped.endswith("…") and clipped.startswith("💬y")
    # Cut between the two halves of an emoji: the half is dropped, not garbled.
    odd = clip_caption("a" + "💬" * 600)
    assert caption_fits(odd) and "\ufffd" not in odd


def test_which_replies_can_take_the_place_of_the_pressed_message() -> None:
    pictured = Reply("Tap Ready", picture=KEY)
    assert pictured.replaces(pressed_photo=True)
    assert not pictured.replaces(pressed_photo=False)  # a text message cannot become a photo
    assert not Reply("x" * 1100, picture=KEY).replaces(pressed_photo=True)
    assert Reply("x" * 1100).replaces(pressed_photo=False)
    assert not Reply("x" * 1100).replaces(pressed_photo=True)  # too long for the caption
    assert Reply("Break ended.").replaces(pressed_photo=True)
    assert not Reply("", album=((KEY, "1/9"),)).replaces(pressed_photo=True)


def test_albums_hold_ten_at_most_and_never_one_alone() -> None:
    assert album_chunks(0) == [] and album_chunks(1) == [1] and album_chunks(9) == [9]
    assert album_chunks(10) == [10] and album_chunks(11) == [6, 5]
    assert album_chunks(21) == [7, 7, 7]
    for count in range(2, 60):
        sizes = album_chunks(count)
        assert sum(sizes) == count and all(2 <= size <= 10 for size in sizes)


# ------------------------------------------------------------------------------------------
# The sender against the stand-in


@pytest.fixture
async def bot(standin: BotAPIStandIn) -> AsyncIterator[Bot]:
    standin.user(CHAT)
    async with Bot("123456789:AAEtestTOKENtestTOKENtestTOKEN12345",
                   base_url=standin.base_url) as telegram:
        yield telegram


def _photos(database: Database) -> Photos:
    return Photos(PICTURES, database, lambda: datetime.now(UTC))


async def _stored(database: Database) -> list[str]:
    async with database.session() as session:
        return list(await session.scalars(select(PictureUpload.file_id)))


async def test_a_text_too_long_for_a_caption_follows_its_picture_with_the_buttons(
    standin: BotAPIStandIn, bot: Bot, database: Database
) -> None:
    sender = TelegramSender(bot, photos=_photos(database))
    text = "Before you start, have these ready:" + "\n• a band" * 130
    assert not caption_fits(text)
    message_id = await sender.send(CHAT, Reply(text, READY, picture=KEY))
    picture, shown = standin.users[CHAT].messages[-2:]
    assert picture.photo is not None and picture.caption is None and not picture.buttons
    assert shown.message_id == message_id and shown.text == text
    assert shown.buttons == [[("▶ Ready", "s:1:0:0:g")]]
    # One notification for the pair: the picture comes silently.
    (photo_call,) = standin.calls_to("sendPhoto")
    assert photo_call.params.get("disable_notification") in (True, "true", "True")
    # The countdown then edits the text message.
    await sender.edit(CHAT, message_id, Reply("⏱ 1:40 left", READY))
    assert shown.text == "⏱ 1:40 left" and shown.buttons == [[("▶ Ready", "s:1:0:0:g")]]


async def test_a_failed_upload_is_tried_again_and_a_caption_edit_keeps_the_buttons(
    standin: BotAPIStandIn, bot: Bot, database: Database
) -> None:
    photos = _photos(database)
    sender = TelegramSender(bot, photos=photos)
    standin.fail_next("sendPhoto", status=502)
    with pytest.raises(TryLater):  # the dispatcher sends the row back to try later
        await sender.send(CHAT, Reply("1/1 · Tap Ready", READY, picture=KEY))
    assert standin.users[CHAT].messages == [] and await _stored(database) == []
    message_id = await sender.send(CHAT, Reply("1/1 · Tap Ready", READY, picture=KEY))
    (shown,) = standin.users[CHAT].messages
    assert shown.message_id == message_id and shown.caption == "1/1 · Tap Ready"
    assert await _stored(database) == [shown.file.file_id]  # type: ignore[union-attr]
    await sender.edit(CHAT, message_id, Reply("⏱ Side 1 of 2 · 1:40 left", READY,
                                              caption=True))
    assert shown.caption == "⏱ Side 1 of 2 · 1:40 left" and shown.buttons
    assert shown.photo is not None


async def test_first_sends_at_once_keep_one_file_id_and_a_forgotten_one_is_replaced(
    standin: BotAPIStandIn, bot: Bot, database: Database
) -> None:
    # Two processes, each with its own memory of file_ids, share the database.
    first, second = _photos(database), _photos(database)
    standin.slow("sendPhoto", 0.5)  # both uploads are in flight together
    sent = await asyncio.gather(first.send(bot, CHAT, KEY, "a"), second.send(bot, CHAT, KEY, "b"))
    standin.clear_faults()
    assert len(standin.uploads) == 2
    (kept,) = await _stored(database)
    assert kept in {message.photo[-1].file_id for message in sent}
    assert await first.file_id(KEY) == kept == await second.file_id(KEY)
    await first.send(bot, CHAT, KEY, "c")
    assert len(standin.uploads) == 2
    # Telegram forgot it: the next send uploads again and stores the new file_id.
    standin.forget_file(kept)
    again = await second.send(bot, CHAT, KEY, "d")
    assert len(standin.uploads) == 3 and again.caption == "d"
    assert await _stored(database) == [again.photo[-1].file_id] != [kept]


async def test_an_edit_that_finds_the_other_kind_of_message_edits_that_instead(
    standin: BotAPIStandIn, bot: Bot, database: Database
) -> None:
    # A break's live message can be replaced (a photo by a text or back) while one of its
    # moments is due: the edit that was meant for the other kind still reaches the user.
    sender = TelegramSender(bot, photos=_photos(database))
    text_id = await sender.send(CHAT, Reply("1/1 · Tap Ready", READY))
    photo_id = await sender.send(CHAT, Reply("1/1 · Tap Ready", READY, picture=KEY))
    text, photo = standin.users[CHAT].messages
    await sender.edit(CHAT, text_id, Reply("⏱ 1:40 left", READY, caption=True))
    await sender.edit(CHAT, photo_id, Reply("⏱ 1:20 left", READY, caption=False))
    assert (text.text, photo.caption) == ("⏱ 1:40 left", "⏱ 1:20 left")
    assert text.buttons and photo.buttons
