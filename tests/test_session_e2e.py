"""Guided breaks end to end: the real `python -m bot` against the Bot API stand-in.

The database is seeded before the bot starts with a set-up user (and, for the first test,
a reminder due a minute after the clock starts), so no test walks through onboarding. The
bot's clock starts on Monday 30 November 2026 at 09:00 UTC and runs fast, so a two-minute
hold takes seconds; the moments of a hold are checked on the bot's own clock, in the
database.
"""

from __future__ import annotations

import asyncio
import json
import time
from datetime import UTC, datetime, timedelta
from datetime import time as clock_time
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from bot.domain.content import load_program
from bot.domain.guided_break import sequence_of
from bot.outbox import due
from bot.storage.db import Database
from bot.storage.migrate import upgrade
from bot.storage.models import Rating, User
from standin import BotAPIStandIn, ChatMessage, SimulatedUser
from tests.simulate import as_utc

pytestmark = pytest.mark.e2e
PROGRAM = load_program()

MONDAY_9 = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
SPEED = 30.0  # a 2-minute hold lasts 4 real seconds
USER = 1001
STEP_ROWS = ("select key, due_at, done_at, status from due_messages "
             "where kind = 'step' order by due_at, id")
BREAK = ("select id, kind, status, positions, positions_done, stopped_for_pain, started_at "
         "from breaks order by id desc limit 1")


async def seed(tmp_path: Path, reminder_in: timedelta | None = None,
               place: str = "desk") -> str:
    """A migrated database holding one set-up user (baseline pain 3), and maybe a reminder."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'bot.storage.db'}"
    await asyncio.to_thread(upgrade, url)
    database = Database(url)
    try:
        async with database.session() as session:
            session.add(User(id=USER, chat_id=USER, language="en", created_at=MONDAY_9,
                             consented_at=MONDAY_9, onboarded_at=MONDAY_9, active=True,
                             draft={}, time_zone="UTC", work_start=clock_time(8),
                             work_end=clock_time(18), breaks_per_day=4, place=place, rotation=0))
            await session.flush()
            session.add(Rating(user_id=USER, kind="baseline", rated_at=MONDAY_9, pain=3,
                               stiffness=4))
            if reminder_in is not None:
                await due.schedule(session, USER, "reminder", "remind:seeded",
                                   MONDAY_9 + reminder_in)
    finally:
        await database.close()
    return url


async def start(run_bot: Any, url: str, clock_start: datetime = MONDAY_9) -> Any:
    return await run_bot(database_url=url, clock_start=clock_start, clock_speed=SPEED)


async def message_with(user: SimulatedUser, text: str, wait: float = 20) -> ChatMessage:
    """The next message whose text (or caption, under a picture) has `text`."""
    return await user.next_message(timeout=wait, predicate=lambda m: text in m.shown)


async def position_message(user: SimulatedUser, text: str, wait: float = 20) -> ChatMessage:
    """The next position message with `text` and its buttons (not the album): a picture
    with the text as its caption, or, for a text too long for one, the text right after
    its picture."""
    message = await user.next_message(
        timeout=wait, predicate=lambda m: text in m.shown and bool(m.buttons))
    if message.photo is None:
        before = [m for m in user.messages if m.message_id < message.message_id][-1]
        assert before.photo is not None and not before.caption, before.summary()
    return message


async def edited_to(user: SimulatedUser, message: ChatMessage, text: str) -> None:
    await user.wait_until(lambda: text in message.shown, timeout=20)


def as_list(value: Any) -> list[str]:
    """A JSON column as read back with plain SQL."""
    return json.loads(value) if isinstance(value, str) else list(value)


async def latest_break(bot: Any) -> Any:
    rows = await bot.query(BREAK)
    assert rows, "no break in the database"
    return rows[0]


async def step_rows(bot: Any) -> list[tuple[str, datetime, datetime | None, str]]:
    return [(key, as_utc(due_at), as_utc(done_at) if done_at else None, status)
            for key, due_at, done_at, status in await bot.query(STEP_ROWS)]


async def wait_for_sent(bot: Any, key: str) -> None:
    for _ in range(200):
        if await bot.query("select 1 from due_messages where key = :key and status = 'sent'",
                           key=key):
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"{key} was never recorded as sent")


SENDS = ("sendMessage", "sendPhoto")


def sent_texts(standin: BotAPIStandIn, since: int = 0) -> list[str]:
    """The text (or caption) of each message sent to the user, in order, from call `since`."""
    return [str(call.params.get("text") or call.params.get("caption"))
            for call in standin.calls[since:]
            if call.method in SENDS and call.ok and call.chat_id == USER]


def everything_shown(standin: BotAPIStandIn) -> str:
    """Every text the user was shown: each message as sent, and each edit of one."""
    return "\n".join(str(call.params.get("text") or call.params.get("caption"))
                     for call in standin.calls
                     if call.method in (*SENDS, "editMessageText", "editMessageCaption")
                     and call.ok and call.chat_id == USER)


async def hold_moments(bot: Any, break_id: int) -> dict[str, tuple[datetime, datetime, str]]:
    """The hold's step rows by stage and offset ("switch120"): due, sent, status."""
    rows = await step_rows(bot)
    return {key.split(":")[-1]: (due_at, done_at or due_at, status)
            for key, due_at, done_at, status in rows if key.startswith(f"step:{break_id}:")}


@pytest.mark.parametrize("place", ["desk", "band", "floor"])
async def test_a_reminder_break_from_ready_to_rating_at_each_place(
    standin: BotAPIStandIn, run_bot: Any, tmp_path: Path, place: str
) -> None:
    url = await seed(tmp_path, reminder_in=timedelta(minutes=1), place=place)
    position = PROGRAM.position("fh_9090")
    variant = position.variant(place)  # type: ignore[arg-type]
    ana = standin.user(USER, first_name="Ana")  # the chat exists before the bot writes
    bot = await run_bot(database_url=url, clock_start=MONDAY_9, clock_speed=SPEED)
    reminder = await message_with(ana, "Time for a stretch break")
    assert f"{variant.name}: about 5 minutes" in (reminder.text or "")

    await ana.press_button(reminder, "Start now")
    # The position comes as a picture with its text as the caption; the reminder's buttons
    # are spent.
    position_shown = await position_message(ana, "Tap Ready")
    await ana.wait_until(lambda: not reminder.buttons)
    shown = position_shown.shown
    assert variant.setup in shown and variant.instructions in shown
    # The first break that needs a band (and what goes with it) lists it first (in a
    # message of its own when the caption would be too long with it).
    first = [m.shown for m in ana.messages
             if reminder.message_id < m.message_id <= position_shown.message_id]
    assert any("have these ready" in text for text in first) is (place != "desk")
    sends_before = len(standin.calls)
    await ana.press_button(position_shown, "Ready")
    await edited_to(ana, position_shown, "Side 1 of 2 · 2:00 left")
    switch = await message_with(ana, "Switch sides")
    assert variant.switch is not None and variant.switch in switch.shown
    assert switch.photo is not None  # side two shows the picture again
    await message_with(ana, "How is your pain right now")

    # Every cue and caution reached the user, in a message or an edit of one.
    seen = everything_shown(standin)
    stretch = PROGRAM.stretch_of(position.id)
    for text in (*position.cues_for(place), *stretch.cautions_for(place)):  # type: ignore[arg-type]
        assert text in seen, text
    # Two messages notified during the hold: the switch and "Time!" (the rest were edits).
    assert [text[:12] for text in sent_texts(standin, sends_before)] == [
        "Switch sides", "Time! That's"]
    assert len(position_shown.edits) >= 2  # the clock, a cue

    # On the bot's own clock: 2 minutes on each side, from the moment Ready was tapped.
    await wait_for_sent(bot, "step:1:0:0:done240")
    break_id, *_rest, hold_started = (await bot.query(
        "select id, hold_started_at from breaks where hold_started_at is not null"))[0]
    started = as_utc(hold_started)
    moments = await hold_moments(bot, break_id)
    assert moments["switch120"][0] == started + timedelta(seconds=120)
    assert moments["done240"][0] == started + timedelta(seconds=240)
    for stage in ("cue60", "switch120", "cue180", "done240"):
        due_at, sent_at, status = moments[stage]
        assert status == "sent" and timedelta(0) <= sent_at - due_at <= timedelta(seconds=30)
    assert "ready" not in moments  # Ready came first: the start by itself was dropped

    await ana.send("4")
    await message_with(ana, "Pain 4/10")
    await ana.send("6")
    await message_with(ana, "Saved: pain 4/10, stiffness 6/10")
    # This break, by its id: on a slow run the day's next break may be planned by now.
    (brk,) = await bot.query(BREAK.replace("order by id desc limit 1", "where id = :id"),
                             id=break_id)
    assert (brk[1], brk[2], as_list(brk[4])) == ("reminder", "done", ["fh_9090"])
    await bot.stop()


async def test_the_whole_routine_with_its_checklist(
    standin: BotAPIStandIn, run_bot: Any, tmp_path: Path
) -> None:
    url = await seed(tmp_path, place="floor")
    ana = standin.user(USER, first_name="Ana")
    bot = await run_bot(database_url=url, clock_start=MONDAY_9, clock_speed=40.0)
    # At this speed the set-up minute is 1.5 s: the pictures are uploaded beforehand (as
    # they are once anyone has seen them), so that the first position is not still
    # uploading when its hold starts by itself.
    await ana.command("/help")
    help_text = await message_with(ana, "How it works")
    await ana.press_button(help_text, "What the positions look like")
    await message_with(ana, "Every position")
    await ana.command("/routine")
    await message_with(ana, "The whole routine, in order:")
    checklist = (await message_with(ana, "have these ready")).shown
    await position_message(ana, "1/9")
    assert checklist.startswith("Before you start, have these ready:")
    for item in ("Strong elastic bands", "anchor", "mat", "kettlebell", "towel"):
        assert item in checklist
    ids = [item.position_id for item in sequence_of(PROGRAM)]
    # Nobody taps Ready: each hold starts by itself after the set-up time.
    for number, position_id in enumerate(ids[:-1], start=1):
        name = PROGRAM.position(position_id).variant("floor").name
        done = await message_with(ana, f"Time! {name} is done", wait=30)
        await ana.press_button(done, "Next")
        await position_message(ana, f"{number + 1}/9")
    prompt = await message_with(ana, "How is your pain right now", wait=30)
    await ana.press_button(prompt, "2")
    await edited_to(ana, prompt, "Pain 2/10")
    await ana.press_button(prompt, "3")
    await edited_to(ana, prompt, "Saved: pain 2/10, stiffness 3/10")
    brk = await latest_break(bot)
    assert (brk[1], brk[2], as_list(brk[4])) == ("routine", "done", ids)
    seen = everything_shown(standin)
    for stretch, position in PROGRAM.positions():
        for text in stretch.cautions_for("floor"):
            assert text in seen, (position.id, text)
    # Cues are edits the bot drops when they would come after the next moment of the hold
    # (late on a busy machine, whatever the speed): each position had its cues due, none
    # failed, and each one sent was seen.
    cues = [(int(key.split(":")[2]), status) for key, _due, _done, status
            in await step_rows(bot) if key.split(":")[-1].startswith("cue")]
    for index, position_id in enumerate(ids):
        statuses = {status for at, status in cues if at == index}
        assert statuses and "failed" not in statuses, (position_id, statuses)
        if "sent" in statuses:
            assert any(cue in seen for cue in PROGRAM.position(position_id).cues_for("floor")), \
                position_id
    await bot.stop()


async def test_a_reminder_due_during_a_break_arrives_after_it(
    standin: BotAPIStandIn, run_bot: Any, tmp_path: Path
) -> None:
    url = await seed(tmp_path)
    ana = standin.user(USER, first_name="Ana")
    bot = await start(run_bot, url)
    await ana.command("/stretch")
    position = await position_message(ana, "1/1")
    await ana.press_button(position, "Ready")
    await edited_to(ana, position, "Side 1 of 2")
    # A reminder falls due one minute into the four-minute hold.
    hold_started = as_utc((await bot.query("select hold_started_at from breaks"))[0][0])
    database = Database(url)
    try:
        async with database.session() as session:
            await due.schedule(session, USER, "reminder", "remind:during",
                               hold_started + timedelta(minutes=1))
    finally:
        await database.close()
    prompt = await message_with(ana, "How is your pain right now", wait=30)
    reminder = await message_with(ana, "Time for a stretch break", wait=30)
    assert reminder.message_id > prompt.message_id
    # Nothing arrived between Ready and the rating but the switch.
    between = [m for m in ana.messages
               if position.message_id < m.message_id < prompt.message_id]
    assert [m.shown[:12] for m in between] == ["Switch sides"]
    waited = await bot.query("select status, outcome from due_messages "
                             "where key = 'remind:during'")
    assert waited == [("expired", "a break is going on: waits for it to end")]
    await ana.send("2 3")
    answer = await message_with(ana, "Saved: pain 2/10")
    assert "A break reminder is waiting above" in (answer.text or "")
    await bot.stop()


async def test_a_restart_mid_position_resumes_on_time_and_sends_nothing_twice(
    standin: BotAPIStandIn, run_bot: Any, tmp_path: Path
) -> None:
    url = await seed(tmp_path)
    ana = standin.user(USER, first_name="Ana")  # the chat exists before the bot writes
    bot = await start(run_bot, url)
    await ana.command("/stretch")
    position = await position_message(ana, "1/1")
    await ana.press_button(position, "Ready")
    pressed_at = time.monotonic()
    await message_with(ana, "Switch sides")
    # Telegram has the switch; once the bot has recorded that too, it is killed in the
    # middle of the hold: the rest is in the database, not in memory. (A kill between the
    # two is the one window where a message could go twice; see bot/outbox/dispatcher.py.)
    await wait_for_sent(bot, "step:1:0:0:switch120")
    await bot.kill()
    hold_started = as_utc((await bot.query("select hold_started_at from breaks"))[0][0])
    restarted_at = time.monotonic()
    fake_now = hold_started + timedelta(seconds=(restarted_at - pressed_at) * SPEED)
    bot = await start(run_bot, url, clock_start=fake_now)
    # The new clock runs from its process's start, a little after `restarted_at`: no later
    # than this when the bot began polling (on a busy machine, many seconds of real time).
    up_at = fake_now + timedelta(seconds=(time.monotonic() - restarted_at) * SPEED)

    prompt = await message_with(ana, "How is your pain right now", wait=30)
    await ana.press_button(prompt, "2")
    await edited_to(ana, prompt, "Pain 2/10")
    await ana.press_button(prompt, "3")
    await edited_to(ana, prompt, "Saved: pain 2/10, stiffness 3/10")

    texts = sent_texts(standin)
    assert sum(t.startswith("Switch sides") for t in texts) == 1
    assert sum("How is your pain right now" in t for t in texts) == 1
    moments = await hold_moments(bot, 1)
    sent = [stage for stage, (*_times, status) in moments.items() if status == "sent"]
    assert moments["done240"][0] == hold_started + timedelta(seconds=240)
    # Every moment went out, except on a start so slow (a busy machine) that the new
    # process came up after "done" was due: the cue before it is then left out, never
    # sent after the moment that follows it.
    slow_start = up_at >= moments["done240"][0]
    assert sent == ["cue60", "switch120", "cue180", "done240"] \
        or (slow_start and sent == ["cue60", "switch120", "done240"]), (sent, up_at)
    # The new process's clock took over where the old one stopped: none early, each within
    # a minute of this clock (2 real seconds) of its due time or, for one due while the
    # new process was starting, of the moment it was up.
    for stage, (due_at, sent_at, status) in moments.items():
        if status == "sent":
            assert due_at <= sent_at <= max(due_at, up_at) + timedelta(seconds=60), stage
    assert (await latest_break(bot))[2] == "done"
    await bot.stop()


async def test_it_hurts_ends_the_break_with_the_safety_message(
    standin: BotAPIStandIn, run_bot: Any, tmp_path: Path
) -> None:
    url = await seed(tmp_path)
    ana = standin.user(USER, first_name="Ana")  # the chat exists before the bot writes
    bot = await start(run_bot, url)
    await ana.command("/stretch")
    position = await position_message(ana, "1/1")
    await ana.press_button(position, "It hurts")
    safety = await message_with(ana, "you said it hurts")
    assert "physiotherapist" in (safety.text or "")
    brk = await latest_break(bot)
    assert (brk[2], bool(brk[5])) == ("partial", True)
    # Nothing else of this break arrives, and its old buttons do nothing.
    await asyncio.sleep(5)  # 150 s of the bot's clock: past the set-up time
    assert not any("Side 1 of 2" in m.shown for m in ana.messages)
    await ana.press_button(position, "Ready")
    await ana.wait_until(lambda: any(m.text == "This break has already ended."
                                     for m in ana.messages))
    assert (await latest_break(bot))[2] == "partial"
    await bot.stop()


async def test_an_abandoned_break_ends_on_its_own(
    standin: BotAPIStandIn, run_bot: Any, tmp_path: Path
) -> None:
    url = await seed(tmp_path)
    ana = standin.user(USER, first_name="Ana")
    bot = await run_bot(database_url=url, clock_start=MONDAY_9, clock_speed=200.0)
    await ana.command("/routine")
    done = await message_with(ana, "is done")
    # 15 minutes after the hold ended is 4.5 real seconds at this speed.
    await edited_to(ana, done, "saved as partial")
    assert done.buttons == []
    brk = await latest_break(bot)
    assert brk[2] == "partial" and as_list(brk[4]) == ["fh_9090"]
    database = Database(url)
    try:
        async with database.session() as session:
            assert await session.scalar(select(Rating).where(Rating.kind == "break")) is None
    finally:
        await database.close()
    await bot.stop()
