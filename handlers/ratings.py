"""Pain and stiffness after a break: two taps on one message, or typed ("3 5", "p3 s5").

The rating question comes when the last hold ends (handlers/breaks.py); the break waits in
status "rating" with user.step "rate:<break>" so typed numbers find it. A pain of 7 or more,
or 2 or more above the latest baseline, stops the session like "it hurts".
"""

from __future__ import annotations

import re

from sqlalchemy import Select, select

from bot.domain import guided_break as plan
from bot.domain.callbacks import MAX_ID, RatingTap
from bot.domain.parsing import Ratings, parse_ratings, parse_single_rating
from bot.domain.replies import Answer
from bot.storage.models import Break, Rating
from handlers.breaks import (
    RATING,
    answer_with,
    clear_step,
    drop_rows,
    no_longer_active,
    stop_for_pain,
)
from handlers.planning import next_break_facts, say_next
from handlers.turn import Turn


async def on_rating_button(turn: Turn, tap: RatingTap) -> Answer:
    brk = await turn.own(Break, tap.break_id)
    if brk is None:
        return no_longer_active(turn)
    if brk.status != RATING:
        return Answer(toast=turn.t("This break is already saved."))
    if tap.stiffness is None:
        return answer_with(plan.stiffness_prompt(brk, tap.pain, turn.user.language))
    return await record_ratings(turn, brk, Ratings(tap.pain, tap.stiffness), edit=True)


_ONE_NUMBER = re.compile(r"\s*[-+−]?\s*\d+\s*")


async def on_rating_text(turn: Turn) -> Answer:
    """Typed ratings while a break waits for them: both ("3 5", "p3 s5"), or one number at a
    time, pain first ("5", then stiffness: step "rate:<break>:<pain>")."""
    _prefix, _sep, rest = (turn.user.step or "").partition(":")
    break_id, _sep, typed_pain = rest.partition(":")
    brk = await turn.own(Break, int(break_id)) if break_id.isascii() \
        and break_id.isdecimal() and 0 < int(break_id) <= MAX_ID else None
    if brk is None or brk.status != RATING:
        turn.user.step = None
        return Answer().say(plan.rating_help("saved", turn.user.language))
    ratings = parse_ratings(turn.text)
    if isinstance(ratings, Ratings):
        return await record_ratings(turn, brk, ratings, edit=False)
    single = parse_single_rating(turn.text)
    if single is not None:
        if typed_pain.isdecimal():  # the pain came first: this is the stiffness
            return await record_ratings(turn, brk, Ratings(int(typed_pain), single), edit=False)
        turn.user.step = f"rate:{brk.id}:{single}"
        return answer_with(plan.stiffness_prompt(brk, single, turn.user.language), edit=False)
    if _ONE_NUMBER.fullmatch(turn.text):  # "11", "-1": one number, out of range
        return Answer().say(plan.rating_help("one_out_of_range", turn.user.language))
    return Answer().say(plan.rating_help(ratings.code, turn.user.language))


def _baseline_pain(user_id: int) -> Select[int]:
    return (select(Rating.pain).where(Rating.user_id == user_id, Rating.kind == "baseline")
            .order_by(Rating.rated_at.desc(), Rating.id.desc()).limit(1))


async def record_ratings(turn: Turn, brk: Break, ratings: Ratings, edit: bool) -> Answer:
    turn.session.add(Rating(user_id=turn.user.id, break_id=brk.id, kind="break",
                            rated_at=turn.now, pain=ratings.pain, stiffness=ratings.stiffness))
    brk.status = plan.outcome(brk.positions, brk.positions_done)
    clear_step(turn.user, brk)
    await drop_rows(turn.session, brk)
    # The baseline and what to say about the next break, in one statement.
    baseline, live, at = (await turn.session.execute(select(
        _baseline_pain(turn.user.id).scalar_subquery(), *next_break_facts(turn.user.id)))).one()
    alarm = plan.pain_alarm(ratings.pain, baseline)
    if alarm is not None:
        saved = turn.t("Saved: pain {pain}/10, stiffness {stiffness}/10.",
                       pain=ratings.pain, stiffness=ratings.stiffness)
        stopped = await stop_for_pain(turn, brk, alarm, ratings.pain, baseline)
        return Answer(toast=stopped.toast).say(saved, edit=edit).say(stopped.replies[0].text)
    return Answer(toast=turn.t("Saved")).say(
        turn.t("Saved: pain {pain}/10, stiffness {stiffness}/10. Nice work! /progress shows "
               "your trend. {next_break}", pain=ratings.pain, stiffness=ratings.stiffness,
               next_break=say_next(turn, live, at)),
        edit=edit,
    )
