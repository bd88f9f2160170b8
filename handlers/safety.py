"""Safety in a conversation: typed pain words and red flags, and the check-in after a stop.

Typed text that says it hurts ("ouch", "me duele") acts like the "It hurts" button on the
break going on, the one waiting for its rating, or a reminder waiting above; text that
mentions a red-flag symptom gets the emergency guidance at once, whatever step the user
is on (bot/domain/safety.py has the words). The first reminder after a stop for pain is a
check-in (handlers/reminders.py); its buttons land here.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable

from sqlalchemy import select

from bot.domain.callbacks import CheckIn, PauseChoice, Screen, StopPain
from bot.domain.replies import Answer, Button
from bot.domain.safety import (
    QUESTIONS,
    conditions_of,
    emergency_text,
    red_flag,
    says_it_hurts,
    screening_advice,
    screening_reply,
    worse_text,
)
from bot.domain.schedule import PAUSED_INDEFINITELY
from bot.storage.models import Break
from handlers import breaks
from handlers.breaks import answer_with
from handlers.pause import PAUSE_CHOICES
from handlers.planning import replan, rest_after_stop
from handlers.reminders import reminder_buttons, reminder_reply
from handlers.turn import Turn

Action = Callable[[Turn], Awaitable[Answer]]

_DIGIT = re.compile(r"\d")
ANSWERED_HERE = ("active", "rating", "pending")


async def _open_break(turn: Turn) -> Break | None:
    """The break "it hurts" is about: going on, waiting for its rating, or a reminder still
    showing its buttons."""
    found: Break | None = await turn.session.scalar(
        select(Break).where(Break.user_id == turn.user.id, Break.status.in_(ANSWERED_HERE))
        .order_by(Break.id.desc()).limit(1).with_for_update())
    if found is not None and found.status == "pending" and found.message_id is None:
        return None  # planned, not shown yet
    return found


def heard(answer: Action) -> Action:
    """A typed-text route that hears red flags first, then pain words, then `answer`."""

    async def listening(turn: Turn) -> Answer:
        if red_flag(turn.text):
            return Answer().say(emergency_text(turn.user.language))
        # "pain 3, stiffness 5" in the rating step is a rating, not a stop.
        rating = (turn.user.step or "").startswith("rate:") and _DIGIT.search(turn.text)
        if turn.user.onboarded_at is not None and not rating and says_it_hurts(turn.text):
            brk = await _open_break(turn)
            if brk is not None:
                return await breaks.stop_for_pain(turn, brk, "words")
        return await answer(turn)

    return listening


async def _reminded_break(turn: Turn, tap: CheckIn) -> Break | None:
    """The pending break this check-in is the reminder of: the one its button names, or (a
    button from before they named it) the one sent as this message."""
    if tap.break_id is not None:
        brk = await turn.own(Break, tap.break_id)
        return brk if brk is not None and brk.status == "pending" else None
    if turn.message_id is None:
        return None
    return await turn.session.scalar(
        select(Break).where(Break.user_id == turn.user.id, Break.status == "pending",
                            Break.message_id == turn.message_id).with_for_update())


async def on_check_in(turn: Turn, tap: CheckIn) -> Answer:
    user = turn.user
    reminder = await _reminded_break(turn, tap)
    if tap.answer in ("better", "same"):
        user.pain_stop_at = None
        if reminder is None:
            return Answer(toast=turn.t("Thanks!"))
        reply = reminder_reply(turn.services.program, user, reminder)
        lead = turn.t("Good to hear.") if tap.answer == "better" else \
            turn.t("Thanks. Ease off at the first twinge.")
        return Answer(toast=turn.t("Thanks!")).say(lead + "\n\n" + reply.text,
                                                    *reminder_buttons(user, reminder.id),
                                                    edit=True)
    if tap.answer == "worse":
        pauses = [Button(turn.t(PAUSE_CHOICES[kind]), PauseChoice(kind))
                  for kind in ("3d", "7d", "until_resumed")]
        return Answer().say(worse_text(user.language, turn.services.studio),
                            [Button(turn.t("Rest today"), CheckIn("rest", tap.break_id)),
                             Button(turn.t("A gentle break"), CheckIn("gentle", tap.break_id))],
                            pauses, edit=True)
    if tap.answer == "rest":
        if reminder is not None:
            reminder.status, reminder.ended_at = "skipped", turn.now
        await rest_after_stop(turn)
        return Answer(toast=turn.t("Resting")).say(
            turn.t("Rest it is. No more reminders today; I'll ask how the hip is at your next "
                   "break."), edit=True)
    # A gentle break: the check-in is answered once the user chooses to go on.
    if reminder is not None:
        user.pain_stop_at = None
        return await breaks.start_break(turn, reminder, gentle=True)
    return await breaks.gentle_break(turn)


async def on_stop_pain(turn: Turn, tap: StopPain) -> Answer:
    """The optional number after a stop for pain: it goes on the stop, once."""
    brk = await turn.own(Break, tap.break_id)
    if brk is None or not brk.stopped_for_pain:
        return Answer(toast=turn.t("That button is no longer active."))
    if brk.stop_pain is not None:
        return Answer(toast=turn.t("Already noted: pain {pain}/10.", pain=brk.stop_pain))
    if tap.pain == "skip":
        return Answer(toast=turn.t("OK")).say(
            turn.t("OK, no number. The stop is saved and shows in /progress."), edit=True)
    brk.stop_pain = int(tap.pain)
    return Answer(toast=turn.t("Noted")).say(
        turn.t("Noted: pain {pain}/10 when you stopped. It shows in /progress. Rest well.",
               pain=brk.stop_pain), edit=True)


async def on_screen(turn: Turn, tap: Screen) -> Answer:
    """The safety questions: tick, done, then go on with the safe positions or pause."""
    user, language = turn.user, turn.user.language
    if tap.action.isdigit():
        return answer_with(screening_reply(language, tap.chosen ^ 1 << int(tap.action)))
    if tap.action == "ask":
        return answer_with(screening_reply(language, tap.chosen), edit=False)
    conditions = conditions_of(tap.chosen)
    if tap.action == "done":
        user.screening = list(conditions)
        if "high_pain" in conditions:
            user.short_holds = True
        if not conditions:
            return Answer(toast=turn.t("Thanks!")).say(
                turn.t("Thanks: nothing there changes your breaks. /settings lets you "
                       "change these answers any time."), edit=True)
        left_out = [position.name for _stretch, position in turn.services.program.positions()
                    if set(position.avoid_with) & set(conditions)]
        return answer_with(screening_advice(language, conditions, left_out,
                                            turn.services.studio))
    if tap.action == "pause":
        user.paused_until = PAUSED_INDEFINITELY
        await replan(turn)
        return Answer(toast=turn.t("Paused")).say(
            turn.t("Paused: no reminders until you send /resume. Come back once you're "
                   "cleared; /settings changes your answers."), edit=True)
    return Answer(toast=turn.t("OK")).say(
        turn.t("OK: your breaks keep to the positions that are safe for you. Stop at the "
               "first twinge. /settings changes these answers."), edit=True)


def screening_line(turn: Turn) -> str:
    """The stored answers to the safety questions, as /privacy and /settings show them."""
    answers = turn.user.screening
    if answers is None:
        said = turn.t("not answered yet")
    elif not answers:
        said = turn.t("none of them applies")
    else:
        said = "; ".join(turn.t(QUESTIONS[c]) for c in QUESTIONS if c in answers)
    return turn.t("Your answers to the safety questions (kept to leave out positions that "
                  "are not safe for you): {answers}.", answers=said)
