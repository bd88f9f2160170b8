"""The check-in instead of nagging: after three reminders in a row skipped or missed, the
next one asks once whether the plan fits (handlers/reminders.py sends it in the
reminder's place). Each answer does what it says: fewer breaks opens the breaks-per-day
setting, other times the work hours, a pause the /pause choices, keep changes nothing.
Whatever the answer, or none (an ignored check-in counts as "keep"), it is not asked
again for a week (`User.plan_fit_at`: when it was asked, then when it was answered).
An ignored check-in ends as an unanswered reminder does: when its reminder would have
expired, at the latest just before the next reminder, its buttons go (a "fit_end" row,
`CheckInEndJob`).

This is not the check-in after a stop for pain (handlers/safety.py): that one is about
the hip, this one about the plan.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bot.domain.callbacks import PlanFit
from bot.domain.i18n import _
from bot.domain.replies import Answer, Button, Reply
from bot.outbox.dispatcher import Action, Edit, Skip
from bot.storage.models import DueMessage, User
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


CHECK_IN_END_KIND = "fit_end"


def check_in_end(user: User, message_id: int, at: datetime) -> dict[str, Any]:
    """The row that ends the check-in just sent (asked at `user.plan_fit_at`) at `at`,
    unless it was answered by then (for `due.schedule_many`)."""
    assert user.plan_fit_at is not None
    asked = user.plan_fit_at.isoformat()
    return dict(user_id=user.id, kind=CHECK_IN_END_KIND, key=f"{CHECK_IN_END_KIND}:{asked}",
                due_at=at, payload={"message_id": message_id, "asked": asked})


class CheckInEndJob:
    """An ignored check-in loses its buttons: it counted as "keep" already."""

    async def prepare(self, session: AsyncSession, row: DueMessage, user: User,
                      now: datetime) -> Action:
        # The user's row is locked for this job as for a turn: an answer came first (and
        # moved `plan_fit_at` on) or comes after and finds no buttons.
        if user.plan_fit_at is None \
                or user.plan_fit_at != datetime.fromisoformat(row.payload["asked"]):
            return Skip("answered in time", status="cancelled")
        return Edit(int(row.payload["message_id"]), Reply(_(
            "This check-in has passed; your plan stays as it is. /settings changes it any "
            "time.", user.language)))

    async def delivered(self, *_args: object) -> None:
        return None

    async def undeliverable(self, *_args: object) -> None:
        return None


async def on_answer(turn: Turn, tap: PlanFit) -> Answer:
    user = turn.user
    user.plan_fit_at = turn.now  # answered: its end leaves this message as it is
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
