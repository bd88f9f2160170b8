"""Flood control end to end: the real `python -m bot` against the Bot API stand-in, on
SQLite and PostgreSQL. When Telegram answers one user's edit with a 429, that user's edit
comes once its retry_after is over, and every other user is answered meanwhile."""

from __future__ import annotations

from typing import Any

import pytest

from standin import BotAPIStandIn, CallRecord, ChatMessage, SimulatedUser

pytestmark = pytest.mark.e2e

ANA, BEN = 1001, 1002
RETRY_AFTER = 10  # seconds: Telegram's wait for Ana's chat
KEPT = "Nothing was deleted."


async def consented(user: SimulatedUser) -> None:
    await user.command("/start")
    welcome = await user.next_message(predicate=lambda m: "not medical advice" in (m.text or ""))
    await user.press(welcome, "c:yes")
    await user.next_message(predicate=lambda m: "time zone" in (m.text or ""))


async def asked_to_delete(user: SimulatedUser) -> ChatMessage:
    await user.command("/delete")
    return await user.next_message(predicate=lambda m: "Are you sure" in (m.text or ""))


def edits(standin: BotAPIStandIn, chat_id: int, status: int) -> list[CallRecord]:
    return [call for call in standin.calls if call.method == "editMessageText"
            and call.chat_id == chat_id and call.status == status]


async def test_a_429_on_one_users_edit_holds_no_other_users_replies(
    standin: BotAPIStandIn, run_bot: Any, database_url: str
) -> None:
    await run_bot(database_url=database_url)
    ana, ben = standin.user(ANA, "Ana"), standin.user(BEN, "Ben")
    for user in (ana, ben):
        await consented(user)
    ana_question, ben_question = await asked_to_delete(ana), await asked_to_delete(ben)

    # Ana taps "No, keep it": Telegram answers the bot's edit of her message with a 429.
    standin.fail_next("editMessageText", status=429, retry_after=RETRY_AFTER, chat_id=ANA)
    await ana.press_button(ana_question, "No, keep it")
    await ana.wait_until(lambda: edits(standin, ANA, 429))
    (flooded,) = edits(standin, ANA, 429)

    # Meanwhile Ben is answered: a reply to his command, and the edit of his own question.
    await ben.command("/help")
    help_reply = await ben.next_message(timeout=RETRY_AFTER + 30,
                                        predicate=lambda m: "How it works" in (m.text or ""))
    await ben.press_button(ben_question, "No, keep it")
    await ben.wait_until(lambda: ben_question.text == KEPT, timeout=RETRY_AFTER + 30)
    # ... all of it while Ana's edit was still waiting, well within her retry_after.
    assert ana_question.text != KEPT and not edits(standin, ANA, 200)
    ben_edit = edits(standin, BEN, 200)[-1]
    assert ben_edit.at - flooded.at < RETRY_AFTER
    assert help_reply.text and help_reply.chat_id == BEN

    # Ana's edit arrives once her wait is over, not before, tried once more.
    await ana.wait_until(lambda: ana_question.text == KEPT, timeout=RETRY_AFTER + 30)
    (ana_edit,) = edits(standin, ANA, 200)
    assert ana_edit.at - flooded.at >= RETRY_AFTER
    assert len(edits(standin, ANA, 429)) == 1
