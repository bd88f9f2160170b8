"""/pause and /resume: no reminders for a while, then back on.

/pause offers buttons "pz:<kind>", kind one of PAUSE_CHOICES (see bot.domain.schedule.pause_end);
"pz:off" ends a pause like /resume. Every change plans the next reminder again at once
(reminders.reschedule), so none is due while paused and the reply can say when they start
again. A conversation step in progress (a /settings change) is left as it was.
"""

from __future__ import annotations

from sqlalchemy import select, update

from bot.domain import meetings
from bot.domain.callbacks import PauseChoice, PauseKind
from bot.domain.i18n import N_
from bot.domain.replies import Answer, Button
from bot.domain.schedule import PAUSED_INDEFINITELY, pause_end
from bot.domain.timefmt import local_day_and_time
from bot.outbox import due
from bot.storage.models import Break, DueMessage
from handlers.planning import SNOOZE_KIND, describe_next, next_arrival, preferences, replan
from handlers.turn import Turn

PAUSE_CHOICES: dict[PauseKind, str] = {
    "today": N_("Rest of today"),
    "1d": N_("1 day"),
    "3d": N_("3 days"),
    "7d": N_("1 week"),
    "until_resumed": N_("Until I /resume"),
}


def _is_paused(turn: Turn) -> bool:
    until = turn.user.paused_until
    return until is not None and turn.now < until


def _choices(turn: Turn, with_resume: bool) -> list[list[Button]]:
    buttons = [Button(turn.t(label), PauseChoice(kind)) for kind, label in PAUSE_CHOICES.items()]
    rows = [buttons[:2], buttons[2:4], buttons[4:]]
    if with_resume:
        rows.append([Button(turn.t("Resume now"), PauseChoice("off"))])
    return rows


async def _until(turn: Turn) -> str:
    """How long the pause lasts and when reminders start again."""
    user = turn.user
    until = user.paused_until
    if until is None or until >= PAUSED_INDEFINITELY:
        return turn.t("Reminders are paused until you send /resume.")
    text = turn.t("Reminders are paused until {when}.",
                  when=local_day_and_time(until, user, turn.now))
    at = await next_arrival(turn.session, user.id)
    if at is not None:
        text += " " + turn.t("They start again with your break {when}.",
                             when=local_day_and_time(at, user, turn.now))
    return text


async def pause(turn: Turn) -> Answer:
    if _is_paused(turn):
        text = await _until(turn) + "\n" + turn.t("Pause for a different time?")
        return Answer().say(text, *_choices(turn, with_resume=True))
    return Answer().say(turn.t("Pause reminders for how long?"),
                        *_choices(turn, with_resume=False))


async def _resume(turn: Turn, edit: bool) -> Answer:
    was_paused = _is_paused(turn)
    turn.user.paused_until = None
    await replan(turn)
    next_break = await describe_next(turn)
    if not was_paused:
        return Answer().say(turn.t("Reminders aren't paused. {next_break}",
                                   next_break=next_break), edit=edit)
    return Answer(toast=turn.t("Resumed")).say(
        turn.t("Welcome back: reminders are on again. {next_break}", next_break=next_break),
        edit=edit)


async def resume(turn: Turn) -> Answer:
    return await _resume(turn, edit=False)


async def _drop_put_off(turn: Turn) -> None:
    """A break snoozed or moved for a meeting does not come back during the pause: every
    pause lasts the rest of the work day at least, and a put-off break never leaves it."""
    user_id = turn.user.id
    put_off = select(DueMessage.break_id).where(
        DueMessage.user_id == user_id, DueMessage.kind == SNOOZE_KIND,
        DueMessage.status == due.PENDING)
    await turn.session.execute(
        update(Break).where(Break.id.in_(put_off), Break.status == "pending")
        .values(status=meetings.DROPPED, ended_at=turn.now))
    await due.drop_pending(turn.session, user_id, kinds=[SNOOZE_KIND])


async def on_button(turn: Turn, tap: PauseChoice) -> Answer:
    if tap.kind == "off":
        return await _resume(turn, edit=True)
    turn.user.paused_until = pause_end(tap.kind, turn.now, preferences(turn.user))
    await _drop_put_off(turn)
    await replan(turn)
    return Answer(toast=turn.t("Paused")).say(
        await _until(turn), [Button(turn.t("Resume now"), PauseChoice("off"))], edit=True)

