"""Invitation links per group: /invite for operators, /start <code>, /stats per group.

In-process on SQLite and PostgreSQL through the real route table; the scenario of the
issue end to end with the real process at the bottom.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from bot.domain.clock import ManualClock
from bot.storage.models import Group, Rating, User
from standin import BotAPIStandIn
from tests.conftest import Chat, in_process, text_of
from tests.test_history import local, new_break, new_user

ADMIN = 11
LINK = re.compile(r"https://t\.me/move_better_test_bot\?start=([A-Za-z0-9_-]{8,32})")


async def _invite(admin: Chat, name: str) -> str:
    match = LINK.search(text_of(await admin.command("invite", name)))
    assert match is not None
    return match[1]


async def _group_of(chat: Chat) -> str | None:
    async with chat.database.session() as session:
        return await session.scalar(select(Group.name).join(User, User.group_id == Group.id)
                                    .where(User.id == chat.user_id))


async def test_invite_makes_one_unguessable_link_per_group(database_url: str) -> None:
    async with in_process(database_url, ManualClock(local(2, 10)),
                          admin_user_ids=str(ADMIN)) as (application, request, services):
        admin = Chat(application, request, services.database, ADMIN)
        await admin.command("start")
        assert "No groups yet" in text_of(await admin.command("invite"))
        office = await _invite(admin, "  Office   Madrid ")
        assert "Group “Office Madrid” created" in admin.seen[-1].text
        # The same name (in any case) answers the same link instead of a second group.
        assert await _invite(admin, "office madrid") == office
        assert "already exists" in admin.seen[-1].text
        morning = await _invite(admin, "morning class")
        assert len({office, morning}) == 2 and len(office) == 16
        listing = text_of(await admin.command("invite"))
        assert listing.index("Office Madrid (0 joined)") < listing.index("morning class")
        assert f"?start={morning}" in listing
        too_long = text_of(await admin.command("invite", "x" * 41))
        assert "at most 40 characters" in too_long
        async with services.database.session() as session:
            assert len(list(await session.scalars(select(Group)))) == 2


async def test_a_link_attaches_once_and_a_later_one_asks_before_moving(
        database_url: str) -> None:
    async with in_process(database_url, ManualClock(local(2, 10)),
                          admin_user_ids=str(ADMIN)) as (application, request, services):
        admin = Chat(application, request, services.database, ADMIN)
        await admin.command("start")
        office, morning = await _invite(admin, "office"), await _invite(admin, "morning")
        ana = admin.other(1001)
        seen = await ana.command("start", office)
        assert seen.replies[0].text == "You joined the group “office”."
        assert "not medical advice" in seen.replies[1].text
        assert await _group_of(ana) == "office"
        assert len((await ana.command("start", office)).replies) == 1  # same link: no news

        seen = await ana.command("start", morning)
        question = seen.replies[-1]
        assert question.text == ("You are in the group “office”. This link is for “morning”: "
                                 "move there?")
        stay, move = (key.data for key in question.buttons[0][::-1])
        assert await _group_of(ana) == "office"  # not without asking
        assert "nothing changed" in text_of(await ana.press(stay))
        assert await _group_of(ana) == "office"
        assert text_of(await ana.press(move)) == "Done: you are now in the group “morning”."
        assert await _group_of(ana) == "morning"
        # A forged move to a group that does not exist changes nothing.
        assert "no longer exists" in text_of(await ana.press("g:999999:yes"))
        assert await _group_of(ana) == "morning"


@pytest.mark.parametrize("payload", ["AAAAAAAAAAAAAAAA", "short", "x" * 33, "../../etc/passwd",
                                     "ñññññññññ", "a b c d e f g h"])
async def test_a_payload_naming_no_group_starts_as_usual(payload: str, sqlite_url: str) -> None:
    async with in_process(sqlite_url, ManualClock(local(2, 10))) as (app, request, services):
        ben = Chat(app, request, services.database, 1002)
        seen = await ben.command("start", payload)
        assert len(seen.replies) == 1 and "not medical advice" in seen.replies[0].text
        assert await _group_of(ben) is None


async def test_stats_per_group_beside_the_total(database_url: str) -> None:
    now = local(1, 10, month=12)
    async with in_process(database_url, ManualClock(now),
                          admin_user_ids=str(ADMIN)) as (application, request, services):
        admin = Chat(application, request, services.database, ADMIN)
        await admin.command("start")
        await _invite(admin, "office")
        await _invite(admin, "solo")
        async with services.database.session() as session:
            office, solo = await session.scalars(select(Group.id).order_by(Group.id))
            for user_id, group in ((21, office), (22, office), (23, office), (24, None),
                                   (25, solo)):
                session.add(new_user(user_id, created_at=now - timedelta(days=40),
                                     group_id=group))
            await session.flush()
            # Three office users and the one of "solo" rated for three weeks: pain 6 -> 4,
            # stiffness 6 -> 5.
            for user_id in (21, 22, 23, 25):
                session.add(Rating(user_id=user_id, kind="baseline", pain=6, stiffness=6,
                                   rated_at=now - timedelta(days=40)))
                for days_ago in (21, 2):
                    brk = new_break(user_id, now - timedelta(days=days_ago))
                    session.add(brk)
                    await session.flush()
                    session.add(Rating(user_id=user_id, break_id=brk.id, kind="break",
                                       rated_at=brk.planned_at, pain=4, stiffness=5))
            session.add(new_break(23, now - timedelta(days=1), "missed"))
            session.add(new_break(24, now - timedelta(days=1), "done"))
        report = text_of(await admin.command("stats"))
        assert "Users: 6 registered" in report  # the operator, the groups and user 24
        assert ("office: users 3, set up 3, active 3; breaks done 3, missed 1; pain −2.0, "
                "stiffness −1.0") in report
        one = text_of(await admin.command("stats", "OFFICE")).splitlines()
        assert one[0] == "Usage in the group “office” (last 7 days / last 30 days):"
        assert "Users: 3 registered, 3 set up and subscribed." in one
        assert "Breaks done: 3 / 6" in one and "Missed: 1 / 1" in one
        assert "over the 3 users" in one[-1]
        # One person's change is never shown as a group's.
        assert "solo: users 1, set up 1, active 1; breaks done 1, missed 0\n" in report + "\n"
        solo_report = text_of(await admin.command("stats", "solo"))
        assert solo_report.endswith("Mean change since baseline: shown once 3 users have "
                                    "rated for two weeks.")
        assert "There is no group called “nope”" in text_of(await admin.command("stats", "nope"))


@pytest.mark.e2e
async def test_invite_start_and_stats_end_to_end(standin: BotAPIStandIn,
                                                 run_bot: Any) -> None:
    bot = await run_bot(ADMIN_USER_IDS=str(ADMIN))
    admin = standin.user(ADMIN, "Olga")
    await admin.command("/start")  # the operator is a user too: the one without a code
    await admin.next_message()
    await admin.command("/invite", "office")
    link = LINK.search((await admin.next_message()).text or "")
    assert link is not None
    for user_id in (1001, 1002):
        user = standin.user(user_id)
        await user.command("/start", link[1])
        assert (await user.next_message()).text == "You joined the group “office”."
        assert "not medical advice" in ((await user.next_message()).text or "")
    await admin.command("/stats")
    report = (await admin.next_message()).text or ""
    assert "Users: 3 registered" in report
    assert "office: users 2," in report

    forger = standin.user(1003)
    await forger.command("/start", link[1][:-1] + ("A" if link[1][-1] != "A" else "B"))
    assert "not medical advice" in ((await forger.next_message()).text or "")
    outsider = standin.user(1004)
    await outsider.command("/start")
    await outsider.next_message()
    await outsider.command("/invite", "mine")
    unknown = await outsider.next_message()
    await outsider.command("/nosuchthing")
    assert unknown.text == (await outsider.next_message()).text
    assert await bot.query("select id, group_id is not null from users order by id") == [
        (ADMIN, False), (1001, True), (1002, True), (1003, False), (1004, False)]
    assert await bot.query("select count(*) from groups") == [(1,)]
