"""/pause and /resume: no reminders for a while, then back on.

/pause offers buttons "pz:<kind>", kind one of PAUSE_CHOICES (see bot.schedule.pause_end);
"pz:off" ends a pause like /resume. Every change plans the next reminder again at once
(reminders.reschedule), so none is due while paused and the reply can say when they start
again. A conversation step in progress (a /settings change) is left as it was.
"""

from __future__ import annotations

from bot import onboarding, reminders
from bot.i18n import N_
from bot.replies import Answer, Button
from bot.schedule import PAUSED_INDEFINITELY, pause_end
from bot.timefmt import local_day_and_time
from bot.turn import Turn

PAUSE_CHOICES = {
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
    buttons = [Button(turn.t(label), f"pz:{kind}") for kind, label in PAUSE_CHOICES.items()]
    rows = [buttons[:2], buttons[2:4], buttons[4:]]
    if with_resume:
        rows.append([Button(turn.t("Resume now"), "pz:off")])
    return rows


async def _until(turn: Turn) -> str:
    """How long the pause lasts and when reminders start again."""
    user = turn.user
    until = user.paused_until
    if until is None or until >= PAUSED_INDEFINITELY:
        return turn.t("Reminders are paused until you send /resume.")
    text = turn.t("Reminders are paused until {when}.",
                  when=local_day_and_time(until, user, turn.now))
    at = await reminders.next_planned(turn.session, user.id)
    if at is not None:
        text += " " + turn.t("They start again with your break {when}.",
                             when=local_day_and_time(at, user, turn.now))
    return text


async def pause(turn: Turn) -> Answer:
    if turn.user.onboarded_at is None:
        return await onboarding.finish_first(turn)
    if _is_paused(turn):
        text = await _until(turn) + "\n" + turn.t("Pause for a different time?")
        return Answer().say(text, *_choices(turn, with_resume=True))
    return Answer().say(turn.t("Pause reminders for how long?"),
                        *_choices(turn, with_resume=False))


async def _resume(turn: Turn, edit: bool) -> Answer:
    was_paused = _is_paused(turn)
    turn.user.paused_until = None
    await reminders.reschedule(turn)
    next_break = await reminders.describe_next(turn)
    if not was_paused:
        return Answer().say(turn.t("Reminders aren't paused. {next_break}",
                                   next_break=next_break), edit=edit)
    return Answer(toast=turn.t("Resumed")).say(
        turn.t("Welcome back: reminders are on again. {next_break}", next_break=next_break),
        edit=edit)


async def resume(turn: Turn) -> Answer:
    if turn.user.onboarded_at is None:
        return await onboarding.finish_first(turn)
    return await _resume(turn, edit=False)


async def on_button(turn: Turn) -> Answer:
    if turn.user.onboarded_at is None:
        return await onboarding.finish_first(turn)
    if turn.text == "off":
        return await _resume(turn, edit=True)
    if turn.text not in PAUSE_CHOICES:
        return Answer(toast=turn.t("That choice isn't available.")).say(
            turn.t("That button isn't one I know. Send /pause to choose again."))
    turn.user.paused_until = pause_end(turn.text, turn.now, reminders.preferences(turn.user))
    await reminders.reschedule(turn)
    return Answer(toast=turn.t("Paused")).say(
        await _until(turn), [Button(turn.t("Resume now"), "pz:off")], edit=True)


COMMANDS = {"pause": pause, "resume": resume}
BUTTONS = {"pz": on_button}
