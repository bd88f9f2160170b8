"""Setup, /settings and /pause end to end: the real `python -m bot` against the Bot API stand-in.

The bot's clock starts on Monday 30 November 2026 at 08:00 UTC (09:00 in Madrid), so what
it says does not depend on today's date.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from standin import BotAPIStandIn, ChatMessage, SimulatedUser
from tests.simulate import as_utc

pytestmark = pytest.mark.e2e

MONDAY_8_UTC = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)
MADRID = (40.4168, -3.7038)
REMINDERS = ("select due_at from due_messages where user_id = :id and kind = 'reminder' "
             "and status = 'pending'")


async def start(run_bot: Any, tmp_path: Path) -> Any:
    """The bot on a SQLite file in tmp_path; a second start reuses the file (a restart).

    The async URL is spelled out so BotProcess.query can open it as well.
    """
    return await run_bot(database_url=f"sqlite+aiosqlite:///{tmp_path / 'bot.storage.db'}",
                         clock_start=MONDAY_8_UTC, clock_speed=1.0)


def labels(message: ChatMessage) -> list[str]:
    return [label for row in message.buttons for label, _data in row]


def data(message: ChatMessage) -> list[str | None]:
    return [value for row in message.buttons for _label, value in row]


async def reply_to(user: SimulatedUser, containing: str) -> ChatMessage:
    """The next bot message whose text contains `containing`."""
    return await user.next_message(timeout=15, predicate=lambda m: containing in (m.text or ""))


async def edited_to(user: SimulatedUser, message: ChatMessage, containing: str) -> None:
    await user.wait_until(lambda: containing in (message.text or ""), timeout=15)


async def consent(user: SimulatedUser) -> ChatMessage:
    """/start and the consent button; returns the time zone question."""
    await user.command("/start")
    welcome = await reply_to(user, "not medical advice")
    await user.press(welcome, "c:yes")
    return await reply_to(user, "Which time zone")


async def next_reminders(bot: Any, user_id: int) -> list[datetime]:
    return sorted(as_utc(row[0]) for row in await bot.query(REMINDERS, id=user_id))


async def test_onboarding_by_buttons_with_a_location(
    standin: BotAPIStandIn, run_bot: Any, tmp_path: Path
) -> None:
    bot = await start(run_bot, tmp_path)
    ana = standin.user(1001, first_name="Ana")
    tz_question = await consent(ana)
    keyboard = tz_question.reply_keyboard or []
    assert any(button.get("request_location") for row in keyboard for button in row)

    await ana.send_location(*MADRID)
    confirmation = await reply_to(ana, "Europe/Madrid")
    assert "Mon 09:0" in (confirmation.text or "") and confirmation.removes_keyboard
    days = await reply_to(ana, "Which days")
    await ana.press_button(days, "Sat")
    await ana.wait_until(lambda: "✅ Sat" in labels(days))
    await ana.press_button(days, "Sat")
    await ana.wait_until(lambda: "▫️ Sat" in labels(days))
    await ana.press(days, "ob:days:ok")
    await edited_to(ana, days, "Work days: Mon–Fri")

    hours = await reply_to(ana, "work hours")
    await ana.press_button(hours, "09:00–17:00")
    await edited_to(ana, hours, "Work hours: 09:00–17:00")
    breaks = await reply_to(ana, "How many")
    await ana.press_button(breaks, "4")
    await edited_to(ana, breaks, "4 breaks a day")
    assert "10:0" in (breaks.text or "") and "16:0" in (breaks.text or "")
    place = await reply_to(ana, "Where will you be")
    await ana.press(place, "ob:place:band")
    await edited_to(ana, place, "anchor point")

    baseline = await reply_to(ana, "baseline")
    await ana.press(baseline, "ob:pain:3")
    await edited_to(ana, baseline, "Pain: 3/10")
    await ana.press(baseline, "ob:stiff:5")
    await edited_to(ana, baseline, "pain 3/10, stiffness 5/10")
    offer = await reply_to(ana, "self-check")
    assert "a:start" in data(offer) and "ob:assess:later" in data(offer)
    summary = await reply_to(ana, "You're all set")
    assert "Your first break: today at 10:0" in (summary.text or "")

    [row] = await bot.query("select time_zone, work_days, breaks_per_day, place, step, "
                            "onboarded_at from users where id = 1001")
    assert row[:5] == ("Europe/Madrid", 0b0011111, 4, "band", None) and row[5] is not None
    assert await bot.query("select pain, stiffness from ratings where kind = 'baseline'") == [
        (3, 5)]
    [first] = await next_reminders(bot, 1001)
    assert MONDAY_8_UTC + timedelta(hours=1) <= first < MONDAY_8_UTC + timedelta(hours=1,
                                                                                 minutes=5)
    await ana.press(offer, "ob:assess:later")
    await edited_to(ana, offer, "/assess")
    assert await bot.stop() == 0


async def test_onboarding_by_typing_only(
    standin: BotAPIStandIn, run_bot: Any, tmp_path: Path
) -> None:
    bot = await start(run_bot, tmp_path)
    ben = standin.user(1002, first_name="Ben")
    await consent(ben)
    for typed, expected in (("new york", "America/New_York"), ("mon, wed, fri", "Mon, Wed, Fri"),
                            ("8.30 to 16.45", "08:30–16:45"), ("six", "6 breaks a day"),
                            ("floor", "kettlebell"), ("3 5", "You're all set")):
        await ben.send(typed)
        await reply_to(ben, expected)
    [row] = await bot.query("select time_zone, work_days, breaks_per_day, place, step "
                            "from users where id = 1002")
    assert row == ("America/New_York", 0b0010101, 6, "floor", None)
    assert len(await next_reminders(bot, 1002)) == 1
    assert await bot.stop() == 0


async def test_a_restart_halfway_resumes_where_the_user_was(
    standin: BotAPIStandIn, run_bot: Any, tmp_path: Path
) -> None:
    bot = await start(run_bot, tmp_path)
    cleo = standin.user(1003, first_name="Cleo")
    await consent(cleo)
    await cleo.send("Madrid")
    await reply_to(cleo, "Europe/Madrid")
    days = await reply_to(cleo, "Which days")
    await cleo.press(days, "ob:day:6")  # Sunday on: kept in the database, not in memory
    await cleo.wait_until(lambda: "✅ Sun" in labels(days))
    await bot.kill()

    bot = await start(run_bot, tmp_path)
    await cleo.command("/start")
    again = await reply_to(cleo, "Which days")
    assert "✅ Sun" in labels(again) and "Step 2 of 6" in (again.text or "")
    await cleo.press(days, "ob:days:ok")  # the button from before the restart still works
    await edited_to(cleo, days, "Work days: Mon–Fri, Sun")
    await reply_to(cleo, "work hours")
    [step] = await bot.query("select step from users where id = 1003")
    assert step == ("ob:hours",)
    assert await bot.stop() == 0


async def test_anything_unexpected_keeps_the_step(
    standin: BotAPIStandIn, run_bot: Any, tmp_path: Path
) -> None:
    bot = await start(run_bot, tmp_path)
    dan = standin.user(1004, first_name="Dan")
    tz_question = await consent(dan)
    await dan.send("Atlantis-on-the-moon")
    await reply_to(dan, "UTC+2")
    await dan.send("Madrid")
    days = await reply_to(dan, "Which days")
    await dan.press(days, "ob:days:ok")
    hours = await reply_to(dan, "work hours")

    await dan.send_sticker()
    await reply_to(dan, "can't use that")
    assert "Step 3 of 6" in ((await reply_to(dan, "work hours")).text or "")
    await dan.send_photo()
    await reply_to(dan, "can't use that")
    await dan.command("/settings")
    await reply_to(dan, "finish setting you up")
    await dan.send("9-9")
    await reply_to(dan, "same time")
    await dan.send("09:00-09:30")
    await reply_to(dan, "under an hour")
    await dan.press(days, "ob:day:5", check=False)  # a button of an earlier step
    await reply_to(dan, "belongs to another step")
    answered = len(dan.callback_answers)
    await dan.press(hours, "ob:hours:99-99", check=False)  # a forged value: a stale button
    await dan.wait_until(lambda: len(dan.callback_answers) > answered)  # the spinner stops
    await reply_to(dan, "belongs to an older message")
    await dan.press(tz_question, "ob:tz:Europe/Paris", check=False)
    await reply_to(dan, "belongs to another step")

    [row] = await bot.query("select step, time_zone, work_days, work_start from users "
                            "where id = 1004")
    assert row[:3] == ("ob:hours", "Europe/Madrid", 0b0011111)
    assert str(row[3]).startswith("09:00")
    await dan.send("22:00-06:00")
    await reply_to(dan, "past midnight")
    assert await bot.stop() == 0


async def onboard(user: SimulatedUser) -> None:
    await consent(user)
    for typed, expected in (("Madrid", "Europe/Madrid"), ("weekdays", "Mon–Fri"),
                            ("9-17", "09:00–17:00"), ("4", "4 breaks"), ("desk", "desk"),
                            ("2 4", "You're all set")):
        await user.send(typed)
        await reply_to(user, expected)


async def test_a_settings_change_moves_the_next_break(
    standin: BotAPIStandIn, run_bot: Any, tmp_path: Path
) -> None:
    bot = await start(run_bot, tmp_path)
    eva = standin.user(1005, first_name="Eva")
    await onboard(eva)
    [before] = await next_reminders(bot, 1005)

    await eva.command("/settings")
    settings = await reply_to(eva, "Your settings")
    assert "09:00–17:00" in (settings.text or "") and "English" in (settings.text or "")
    await eva.press_button(settings, "Work hours")
    hours = await reply_to(eva, "work hours")
    await eva.press(hours, "set:hours:1000-1800")
    await edited_to(eva, hours, "Your next break: today at 11:0")
    [after] = await next_reminders(bot, 1005)
    assert after - before == timedelta(hours=1)

    # /cancel in the middle of a change keeps the stored days.
    await eva.command("/settings")
    settings = await reply_to(eva, "Your settings")
    await eva.press(settings, "set:edit:days")
    days = await reply_to(eva, "Which days")
    await eva.press(days, "set:day:0")
    await eva.wait_until(lambda: "▫️ Mon" in labels(days))
    await eva.command("/cancel")
    await reply_to(eva, "nothing was changed")
    assert await bot.query("select work_days from users where id = 1005") == [(0b0011111,)]

    await eva.command("/pause")
    choices = await reply_to(eva, "how long")
    await eva.press_button(choices, "Until I /resume")
    await edited_to(eva, choices, "until you send /resume")
    assert await next_reminders(bot, 1005) == []
    await eva.command("/resume")
    await reply_to(eva, "reminders are on again")
    assert await next_reminders(bot, 1005) == [after]
    assert await bot.stop() == 0
