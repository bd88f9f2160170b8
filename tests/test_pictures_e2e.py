"""Pictures end to end: the real `python -m bot` against the Bot API stand-in, on SQLite
and PostgreSQL.

A position arrives as a photo with its text as the caption, and its countdown edits the
caption; each picture is uploaded once and its file_id reused for everyone after; a
file_id Telegram forgot is replaced; a checklist too long to share the caption comes
first; /routine and /help show albums; the self-assessment shows each test's picture.
Behaviours that need no bot of their own share one run: each start costs seconds.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from datetime import time as clock_time
from typing import Any

import pytest

from bot.domain.content import load_program
from bot.domain.guided_break import sequence_of
from bot.domain.replies import caption_fits
from bot.storage.db import Database
from bot.storage.models import Rating, User
from standin import BotAPIStandIn, ChatMessage, SimulatedUser

pytestmark = pytest.mark.e2e
PROGRAM = load_program()
MONDAY_9 = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
SPEED = 30.0  # a 2-minute hold lasts 4 real seconds
ANA, BOB, CLEO, DAVE = 1001, 1002, 1003, 1004


async def seed(url: str, *users: tuple[int, str]) -> None:
    """Set-up users (id, place), each with a baseline rating."""
    database = Database(url)
    try:
        async with database.session() as session:
            for user_id, place in users:
                session.add(User(id=user_id, chat_id=user_id, language="en",
                                 created_at=MONDAY_9, consented_at=MONDAY_9,
                                 onboarded_at=MONDAY_9, active=True, draft={},
                                 time_zone="UTC", work_start=clock_time(8),
                                 work_end=clock_time(18), breaks_per_day=4, place=place,
                                 rotation=0, screening=[]))
                await session.flush()
                session.add(Rating(user_id=user_id, kind="baseline", rated_at=MONDAY_9,
                                   pain=3, stiffness=4))
    finally:
        await database.close()


async def position_photo(user: SimulatedUser, text: str) -> ChatMessage:
    """The next photo whose caption has `text` and that has buttons."""
    return await user.next_message(timeout=20, predicate=lambda m: m.photo is not None
                                   and text in (m.caption or "") and bool(m.buttons))


async def stored_file_ids(bot: Any, expected: int = 1) -> list[tuple[str, str]]:
    """The stored (key, file_id) pairs, once `expected` are stored (the bot stores a
    file_id right after Telegram answered the upload)."""
    for _ in range(200):
        rows = [(key, file_id) for key, file_id in
                await bot.query("select key, file_id from picture_uploads order by key")]
        if len(rows) >= expected:
            return rows
        await asyncio.sleep(0.05)
    raise AssertionError(f"fewer than {expected} file_ids stored: {rows}")


async def test_a_position_arrives_as_a_photo_uploaded_once_and_its_countdown_edits_the_caption(
    standin: BotAPIStandIn, run_bot: Any, database_url: str
) -> None:
    await seed(database_url, (ANA, "desk"), (BOB, "desk"), (CLEO, "desk"), (DAVE, "band"))
    ana, bob, cleo, dave = (standin.user(u) for u in (ANA, BOB, CLEO, DAVE))
    bot = await run_bot(database_url=database_url, clock_start=MONDAY_9, clock_speed=SPEED,
                        COUNTDOWN_SECONDS="10")
    first = sequence_of(PROGRAM)[0].position_id
    name = PROGRAM.position(first).variant("desk").name

    await ana.command("/stretch")
    shown = await position_photo(ana, f"1/1 · {name}")
    assert "Tap Ready" in (shown.caption or "")
    assert [label for row in shown.buttons for label, _data in row][0] == "▶ Ready"
    assert len(standin.uploads) == 1
    (key, file_id), = await stored_file_ids(bot)
    assert key.startswith(first) and file_id == shown.file.file_id  # type: ignore[union-attr]

    # Ready, the cues and the countdown change the caption; the picture and buttons stay.
    await ana.press_button(shown, "Ready")
    await ana.wait_until(lambda: "Side 1 of 2 · 2:00 left" in (shown.caption or ""))
    await ana.wait_until(lambda: "Side 1 of 2 · 1:" in (shown.caption or ""), timeout=20)
    edits = [c for c in standin.calls_to("editMessageCaption") if c.chat_id == ANA and c.ok]
    assert len(edits) >= 2
    assert not [c for c in standin.calls_to("editMessageText") if c.chat_id == ANA]
    assert shown.photo is not None and shown.find_button("Finish")

    # Bob's identical position reuses the stored file_id: nothing is uploaded again.
    await bob.command("/stretch")
    bobs = await position_photo(bob, f"1/1 · {name}")
    assert bobs.file is shown.file and len(standin.uploads) == 1

    # Telegram forgot the file_id: Cleo's send uploads it again and the new id is stored.
    standin.forget_file(file_id)
    await cleo.command("/stretch")
    cleos = await position_photo(cleo, f"1/1 · {name}")
    assert len(standin.uploads) == 2
    fresh = cleos.file.file_id  # type: ignore[union-attr]
    for _ in range(200):
        if await stored_file_ids(bot) == [(key, fresh)]:
            break
        await asyncio.sleep(0.05)
    assert await stored_file_ids(bot) == [(key, fresh)]
    assert "Telegram forgot picture" in bot.log

    await a_checklist_too_long_for_the_caption_comes_first_on_its_own(dave)
    await bot.stop()


async def test_first_sends_at_once_both_arrive_and_one_file_id_is_kept(
    standin: BotAPIStandIn, run_bot: Any, database_url: str
) -> None:
    await seed(database_url, (ANA, "desk"), (BOB, "desk"))
    ana, bob = standin.user(ANA), standin.user(BOB)
    bot = await run_bot(database_url=database_url, clock_start=MONDAY_9, clock_speed=SPEED)
    # Each upload takes a second: both users' first sends are in flight together.
    standin.slow("sendPhoto", 1.0)
    await asyncio.gather(ana.command("/stretch"), bob.command("/stretch"))
    mine, theirs = await asyncio.gather(position_photo(ana, "1/1"), position_photo(bob, "1/1"))
    assert len(standin.uploads) == 2  # neither knew the other's upload
    stored = await stored_file_ids(bot)
    assert len(stored) == 1
    assert stored[0][1] in (mine.file.file_id, theirs.file.file_id)  # type: ignore[union-attr]
    await bot.stop()


async def a_checklist_too_long_for_the_caption_comes_first_on_its_own(
    user: SimulatedUser,
) -> None:
    """The first band break lists the band and anchor first: with them, the first
    position's text is longer than a caption may be, so they come as a message of their
    own and the position keeps its caption (bot/adapter/sender.py sends a text too long by
    itself after its picture: tests/test_photos.py). `user` works with a band."""
    await user.command("/stretch")
    shown = await position_photo(user, "Tap Ready")
    checklist = [m for m in user.messages if m.message_id < shown.message_id][-1]
    assert (checklist.text or "").startswith("Before you start, have these ready:")
    assert not checklist.buttons and "have these ready" not in (shown.caption or "")
    assert not caption_fits(f"{checklist.text}\n\n{shown.caption}")
    await user.press_button(shown, "Ready")
    # The countdown edits the caption as the hold runs (every 10 s of the bot's clock here).
    await user.wait_until(lambda: "Side 1 of 2 · " in (shown.caption or "")
                          and " left" in (shown.caption or ""))


async def test_routine_and_help_show_albums_and_the_self_check_its_tests(
    standin: BotAPIStandIn, run_bot: Any, database_url: str
) -> None:
    await seed(database_url, (ANA, "floor"))
    ana = standin.user(ANA)
    bot = await run_bot(database_url=database_url, clock_start=MONDAY_9, clock_speed=SPEED)
    ids = [item.position_id for item in sequence_of(PROGRAM)]
    names = [PROGRAM.position(p).variant("floor").name for p in ids]
    expected = [f"{n}/{len(ids)} · {name}" for n, name in enumerate(names, start=1)]

    await ana.command("/routine")
    await ana.next_message(timeout=20, predicate=lambda m: "Tap Ready" in m.shown)
    album = [m for m in ana.messages if m.photo is not None and m.caption in expected]
    assert [m.caption for m in album] == expected
    assert len({m.extra.get("media_group_id") for m in album}) == 1  # one album of 9
    assert album[0].message_id < min(m.message_id for m in ana.messages if m.buttons)
    uploads = len(standin.uploads)
    assert uploads == len(ids)  # each picture once, the first position's reused

    # /help's button sends the same album again, without uploading anything.
    await ana.command("/help")
    help_text = await ana.next_message(timeout=20, predicate=lambda m: "How it works" in m.shown)
    await ana.press_button(help_text, "What the positions look like")
    await ana.next_message(timeout=20, predicate=lambda m: "Every position" in m.shown)
    again = [m for m in ana.messages if m.message_id > help_text.message_id and m.photo]
    assert [m.caption for m in again] == expected
    assert len(standin.uploads) == uploads

    # The self-check: each question under its test's picture, swapped in place.
    await ana.command("/assess")
    question = await ana.next_message(timeout=20,
                                       predicate=lambda m: "Question 1 of" in m.shown)
    assert question.photo is not None
    first_picture = question.photo
    answer = question.buttons[0][0][0]
    await ana.press_button(question, answer)
    await ana.wait_until(lambda: "Question 2 of" in (question.caption or ""))
    assert question.photo is not None and question.photo != first_picture
    await bot.stop()
