"""Subscribing, consent, help, privacy, unsubscribing and erasing; and the fallbacks.

Each function takes a `Turn` and returns an `Answer` (see handlers/turn.py).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from bot.domain.callbacks import Consent, Erase, ShowPictures
from bot.domain.guided_break import INTENSITY
from bot.domain.i18n import _, language_for
from bot.domain.replies import Answer, Button
from bot.domain.safety import (
    not_advice,
    red_flags_text,
    screening_reply,
    studio_line,
)
from bot.outbox import due
from bot.storage import users
from bot.storage.models import User
from handlers import groups, onboarding
from handlers.planning import describe_next, replan
from handlers.safety import screening_line
from handlers.turn import Turn


def _welcome(turn: Turn) -> Answer:
    return Answer().say(
        turn.t(
            "Hi! I'm Move Better, a stretch coach for people who sit at a desk all day "
            "and bike, run or lift the rest of the time.\n\n"
            "During your work hours I'll nudge you to take short stretch breaks for your "
            "hips, walk you through each stretch with a timer, and ask how your pain and "
            "stiffness feel, so you can watch them improve.\n\n"
            "Safety first: this is not medical advice. Stop any stretch that gives you "
            "sharp, pinching or shooting pain. If you have numbness, pain that wakes you "
            "at night, or pain after a fall or injury, see a doctor or physiotherapist "
            "before stretching (/help lists the warning signs).\n\n"
            "To remind you I need to store your time zone, work hours and your answers. "
            "/privacy explains exactly what and why. OK?"
        ),
        [Button(turn.t("I agree, let's start"), Consent())],
    )


async def start(turn: Turn) -> Answer:
    """/start, or /start <code> from a group's invitation link (handlers/groups.py)."""
    before, after = await groups.arrive(turn)
    greeting = await _greet(turn)
    return Answer([*before, *greeting.replies, *after])


async def _greet(turn: Turn) -> Answer:
    user = turn.user
    if user.consented_at is None:
        return _welcome(turn)
    if user.onboarded_at is None:
        answer = Answer().say(turn.t("Welcome back! Let's finish setting you up."))
        answer.replies.extend((await onboarding.resume(turn)).replies)
        return answer
    if not user.active:
        user.active = True
        await replan(turn)
        return Answer().say(
            turn.t("Welcome back! Reminders are on again. {next_break}",
                   next_break=await describe_next(turn))
        )
    return Answer().say(
        turn.t("You're all set and subscribed. {next_break}\n/settings changes anything, "
               "/stretch starts a break now.", next_break=await describe_next(turn))
    )


async def consent(turn: Turn, _tap: Consent) -> Answer:
    if turn.user.consented_at is not None:
        return Answer(toast=turn.t("You already agreed."))
    turn.user.consented_at = turn.now
    answer = Answer().say(turn.t("Thanks! Setup takes under a minute."), edit=False)
    if turn.user.screening is None:
        answer.replies.append(screening_reply(turn.user.language))
    answer.replies.extend((await onboarding.begin(turn)).replies)
    return answer


async def consent_first(turn: Turn) -> Answer:
    return Answer(toast=turn.t("Please agree first.")).say(
        turn.t("Before we start, please read the note above and agree, or send /start to "
               "see it again.")
    )


async def help_(turn: Turn) -> Answer:
    language = turn.user.language
    parts = [turn.t(
        "How it works: during your work hours I send a short stretch break. Press "
        "Start to be guided through it, Snooze for 10 minutes, or Skip. Each stretch "
        "starts when you tap Ready and is held about 2 minutes on each side.\n\n"
        "/stretch a break now · /routine the whole sequence (about 35 minutes) · "
        "/assess the hip self-check · /progress your charts · /report a page for your "
        "physiotherapist · /settings · /calendar breaks between your meetings · /pause · "
        "/resume · /export · /privacy · /delete · /stop"),
        turn.t(INTENSITY), red_flags_text(language)]
    if (line := studio_line(language, turn.services.studio)) is not None:
        parts.append(line)
    parts.append(not_advice(language))
    if turn.services.pictures is None:
        return Answer().say("\n\n".join(parts))
    return Answer().say("\n\n".join(parts), (Button(turn.t("🖼 What the positions look like"),
                                                    ShowPictures()),))


async def privacy(turn: Turn) -> Answer:
    return Answer().say(
        turn.t(
            "What I store, and why:\n"
            "• your Telegram id and chat id: to send you messages;\n"
            "• when you agreed to this note;\n"
            "• your time zone, work days and hours, breaks per day, where you take your "
            "breaks, and any pause: to remind you at the right time;\n"
            "• each break (when, which stretches, done or not) and your pain and "
            "stiffness ratings and self-assessment answers: to show your progress and "
            "your weekly summary;\n"
            "• the messages planned for you (your next break, the weekly summary): to "
            "send them on time.\n"
            "• the group whose invitation link you started through, if any: so the studio "
            "sees its figures per group.\n"
            "• if you gave /calendar an address: that address (it is secret, so it is never "
            "shown or logged in full) and when you are busy over the next two weeks (start "
            "and end only, never what the event is): to plan your breaks between meetings. "
            "Removing the calendar erases both.\n"
            "Not your name, phone number, messages or location (a shared location is "
            "only turned into a time zone).\n"
            "/export sends you your breaks, ratings and self-check answers as a CSV file "
            "(/settings shows the rest); /delete erases all of it."
        ) + "\n\n" + screening_line(turn)
    )


async def unsubscribe(session: AsyncSession, user: User, now: datetime) -> None:
    """Stops every future message; settings and history stay for when they come back. Also
    what happens when Telegram says the user blocked the bot (the dispatcher calls it)."""
    user.active = False
    user.step = None
    await due.drop_pending(session, user.id)
    await users.end_open_breaks(session, user.id, now)


async def blocked(turn: Turn) -> Answer:
    """The user blocked the bot: nothing can reach them now, so everything stops at once."""
    await unsubscribe(turn.session, turn.user, turn.now)
    return Answer()


async def stop(turn: Turn) -> Answer:
    await unsubscribe(turn.session, turn.user, turn.now)
    return Answer().say(
        turn.t("You're unsubscribed: no more reminders. Your settings and history are kept; "
               "/start brings you back, /delete erases everything.")
    )


async def delete(turn: Turn) -> Answer:
    return Answer().say(
        turn.t("This erases everything about you: settings, breaks, ratings, "
               "assessments and your calendar address. It cannot be undone. Are you sure?"),
        [Button(turn.t("Yes, erase everything"), Erase(sure=True)),
         Button(turn.t("No, keep it"), Erase(sure=False))],
    )


async def delete_confirmed(turn: Turn, tap: Erase) -> Answer:
    if not tap.sure:
        return Answer().say(turn.t("Nothing was deleted."), edit=True)
    await users.erase(turn.session, turn.user.id)
    return Answer().say(
        turn.t("Done: everything about you is erased. Send /start if you ever want to "
               "begin again."),
        edit=True,
    )


async def cancel(turn: Turn) -> Answer:
    if turn.user.step is None:
        return Answer().say(turn.t("There's nothing to cancel."))
    turn.user.step = None
    turn.user.draft = {}
    if turn.user.onboarded_at is None and turn.user.consented_at is not None:
        return Answer().say(turn.t("Cancelled. Send /start when you want to finish setting "
                                   "up."), remove_keyboard=True)
    return Answer().say(turn.t("Cancelled; nothing was changed."), remove_keyboard=True)


def unknown_user(language_code: str | None = None) -> Answer:
    # Not stored yet, so the language is the one Telegram gives with the message.
    return Answer().say(_("Hi! Send /start to begin.", language_for(language_code)))


async def unknown_command(turn: Turn) -> Answer:
    return Answer().say(turn.t("I don't know that command. /help lists what I can do."))


async def unknown_text(turn: Turn) -> Answer:
    if turn.user.onboarded_at is None:
        return Answer().say(turn.t("Send /start to continue setting up."))
    return Answer().say(
        turn.t("I only understand buttons and commands here. /stretch starts a break now; "
               "/help lists everything.")
    )


async def unknown_message(turn: Turn) -> Answer:
    step = turn.user.step
    if step is not None:
        answer = Answer().say(turn.t("I can't use that here."))
        answer.replies.extend((await onboarding.resume(turn)).replies)
        return answer
    return Answer().say(
        turn.t("Nice, but I can only read text and buttons. /help lists what I can do.")
    )


async def stale_button(turn: Turn) -> Answer:
    return Answer(toast=turn.t("That button is no longer active.")).say(
        turn.t("That button belongs to an older message. /help lists what you can do now.")
    )

