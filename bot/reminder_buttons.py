"""What the buttons of a break reminder do: start now, snooze, skip."""

from __future__ import annotations

from bot import due, reminders
from bot.replies import Answer
from bot.schedule import snooze_until
from bot.sessions import own_break, start_break
from bot.timefmt import local_time
from bot.turn import Turn

SNOOZE_MINUTES = reminders.SNOOZE_MINUTES


async def on_reminder_button(turn: Turn) -> Answer:
    break_id, _sep, action = turn.text.partition(":")
    brk = await own_break(turn, int(break_id)) if break_id.isascii() and \
        break_id.isdecimal() and len(break_id) < 12 else None
    if brk is None or action not in ("go", "snooze", "skip"):
        return Answer(toast=turn.t("That button is no longer active."))
    if brk.status != "pending":
        return Answer(toast=turn.t("This break was already handled."))
    if action == "go":
        return await start_break(turn, brk)
    if action == "skip":
        brk.status, brk.ended_at = "skipped", turn.now
        next_break = await reminders.describe_next(turn)
        return Answer(toast=turn.t("Skipped")).say(
            turn.t("Skipped. {next_break}", next_break=next_break), edit=True
        )
    at = snooze_until(reminders.preferences(turn.user), brk.planned_at, turn.now, SNOOZE_MINUTES)
    if at is None:
        return Answer(toast=turn.t("Too close to the end of your work day to snooze."))
    brk.snoozes += 1
    await due.drop_pending(turn.session, turn.user.id, kinds=["expire"])
    await due.schedule(turn.session, turn.user.id, "snooze", f"snooze:{brk.id}:{brk.snoozes}",
                       at, break_id=brk.id)
    turn.wake(at)
    return Answer(toast=turn.t("Snoozed")).say(
        turn.t("Snoozed: I'll remind you again at {time}.", time=local_time(at, turn.user)),
        edit=True,
    )


BUTTONS = {"b": on_reminder_button}
