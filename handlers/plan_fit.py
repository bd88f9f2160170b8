"""The check-in instead of nagging: after three reminders in a row skipped or missed, the
next one asks once whether the plan fits (handlers/reminders.py sends it in the
reminder's place). Each answer does what it says: fewer breaks opens the breaks-per-day
setting, other times the work hours, a pause the /pause choices, keep changes nothing.
Whatever the answer, or none (an ignored check-in counts as "keep"), it is not asked
again for a week (`User.plan_fit_at`).

This is not the check-in after a stop for pain (handlers/safety.py): that one is about
the hip, this one about the plan.
"""

from __future__ import annotations

from dataclasses import replace

from bot.domain.callbacks import PlanFit
from bot.domain.i18n import _
from bot.domain.replies import Answer, Button, Reply
from handlers import pause
from handlers.questions import ask
from handlers.turn import Turn


def plan_fit_reply(language: str) -> Reply:
    return Reply(
        _("The last few breaks didn't happen, and that's fine. Does the plan fit your days, "
          "or shall we change it?", language),
        ((Button(_("Fewer breaks", language), PlanFit("fewer")),
          Button(_("Other times", language), PlanFit("times"))),
         (Button(_("Pause for a while", language), PlanFit("pause")),
          Button(_("Keep as is", language), PlanFit("keep")))),
    )


async def on_answer(turn: Turn, tap: PlanFit) -> Answer:
    user = turn.user
    if tap.answer == "fewer":
        user.step, user.draft = "set:breaks", {}
        return ask(turn, "breaks", "set", edit=True, intro=turn.t(
            "Now you get {count} a day.", count=user.breaks_per_day))
    if tap.answer == "times":
        user.step, user.draft = "set:hours", {}
        return ask(turn, "hours", "set", edit=True)
    if tap.answer == "pause":
        choices = await pause.pause(turn)
        return replace(choices, replies=[replace(r, edit=True) for r in choices.replies])
    return Answer(toast=turn.t("OK")).say(
        turn.t("Keeping your plan as it is. Breaks keep coming; skip any that don't suit."),
        edit=True)
