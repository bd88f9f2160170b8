"""Setting a new user up after consent: time zone, work days, hours, breaks, place, baseline.

`begin(turn)` starts the setup (account.consent calls it); `resume(turn)` asks again
whatever question the user is on, onboarding or /settings, after a restart, /start, a
sticker or anything else out of place. Each answer is written to the user row as it comes
and `user.step` ("ob:<field>") moves on, so nothing lives in handler memory. At the end
`onboarded_at` is set, the first reminder is planned and a summary says when it comes.

Steps: ob:tz → ob:days → ob:hours → ob:breaks → ob:place → ob:pain → ob:stiff.
Buttons are `SetupChoice(field, value)`, accepted only on the step they belong to: the
settings' answers (handlers/questions.py), "redo tz" (back to the time zone, then on to
the current step), the baseline's "pain" and "stiff", and "assess later".
"""

from __future__ import annotations

from bot.domain.callbacks import SETTING_FIELDS, SelfCheckStart, SetupChoice
from bot.domain.guided_break import PAIN_STOP
from bot.domain.parsing import Ratings, parse_ratings, parse_single_rating
from bot.domain.replies import Answer, Button
from bot.domain.timefmt import local_day_and_time
from bot.storage.models import Rating
from handlers.planning import replan
from handlers.questions import (
    Stored,
    Toggled,
    ask,
    describe,
    joined,
    take_button,
    take_text,
)
from handlers.turn import Turn

ORDER = ("tz", "days", "hours", "breaks", "place", "pain", "stiff")
TOTAL_STEPS = 6  # pain and stiffness are one step, the baseline
RATINGS = tuple(str(n) for n in range(11))


def _step_field(turn: Turn) -> str | None:
    step = turn.user.step or ""
    return step[3:] if step.startswith("ob:") else None


def _header(turn: Turn, field: str) -> str:
    number = min(ORDER.index(field) + 1, TOTAL_STEPS)
    return turn.t("Step {number} of {total}", number=number, total=TOTAL_STEPS)


def _rating_rows(kind: str) -> tuple[list[Button], list[Button]]:
    return ([Button(n, SetupChoice(kind, n)) for n in RATINGS[:6]],
            [Button(n, SetupChoice(kind, n)) for n in RATINGS[6:]])


def _ask_pain(turn: Turn, edit: bool = False) -> Answer:
    text = _header(turn, "pain") + "\n" + turn.t(
        "Last one: a baseline, so you can see the change later. How much pain do you feel "
        "in your hips, lower back or knees today? 0 = none, 10 = the worst you can imagine. "
        "(Or type both numbers, pain then stiffness, e.g. 3 5.)")
    return Answer().say(text, *_rating_rows("pain"), edit=edit)


def _ask_stiffness(turn: Turn, pain: int, edit: bool = False) -> Answer:
    text = turn.t("Pain: {pain}/10. And how stiff do your hips feel today? 0 = not at all, "
                  "10 = as stiff as they get.", pain=pain)
    return Answer().say(text, *_rating_rows("stiff"), edit=edit)


def _ask(turn: Turn, field: str, edit: bool = False) -> Answer:
    """The question of onboarding step `field`, as it stands in the user's draft."""
    if field in SETTING_FIELDS:
        extra = ([Button(turn.t("↩ Wrong time zone? Change it"), SetupChoice("redo", "tz"))],)
        return ask(turn, field, "ob", intro=_header(turn, field),
                   extra_rows=extra if field == "days" else (), edit=edit)
    if field == "stiff":
        pain = turn.user.draft.get("pain")
        if isinstance(pain, int) and 0 <= pain <= 10:
            return _ask_stiffness(turn, pain)
        turn.user.step = "ob:pain"
    return _ask_pain(turn)


async def begin(turn: Turn) -> Answer:
    turn.user.step, turn.user.draft = "ob:tz", {}
    return _ask(turn, "tz")


async def resume(turn: Turn) -> Answer:
    """Asks again the question the user is on (onboarding or a /settings change)."""
    user = turn.user
    field = _step_field(turn)
    if field in ORDER:
        return _ask(turn, field)
    step = user.step or ""
    if step.startswith("set:") and step[4:] in SETTING_FIELDS:
        return ask(turn, step[4:], "set")
    if user.onboarded_at is None:
        return await begin(turn)
    if not step:
        return Answer().say(turn.t("Nothing is waiting for an answer. /help lists what I "
                                   "can do."))
    return Answer().say(turn.t("Please answer the question above, or send /cancel."))


async def finish_first(turn: Turn) -> Answer:
    """For commands that need a set-up user: finish setting up, on the same step."""
    return joined(Answer().say(turn.t("Let's finish setting you up first; it takes under a "
                                      "minute.")), await resume(turn))


async def _advance(turn: Turn, stored: Stored, edit: bool) -> Answer:
    """An answer was stored: confirm it and ask the next question."""
    field = _step_field(turn) or "tz"
    back_to = turn.user.draft.get("back_to")
    if field == "tz" and isinstance(back_to, str) and back_to[3:] in ORDER[1:]:
        following = back_to[3:]
        turn.user.draft = {k: v for k, v in turn.user.draft.items() if k != "back_to"}
    else:
        following = ORDER[ORDER.index(field) + 1]
    turn.user.step = f"ob:{following}"
    answer = Answer().say(stored.text, edit=edit and not stored.remove_keyboard,
                          remove_keyboard=stored.remove_keyboard)
    return joined(answer, _ask(turn, following))


async def _finish(turn: Turn, ratings: Ratings, edit: bool) -> Answer:
    """The baseline is in: the user is set up, and the first break is planned."""
    user = turn.user
    turn.session.add(Rating(user_id=user.id, break_id=None, kind="baseline", rated_at=turn.now,
                            pain=ratings.pain, stiffness=ratings.stiffness))
    user.onboarded_at, user.step, user.draft = turn.now, None, {}
    first = await replan(turn)
    baseline = turn.t("Baseline: pain {pain}/10, stiffness {stiffness}/10.",
                      pain=ratings.pain, stiffness=ratings.stiffness)
    if first is None:
        when = turn.t("No break is planned: check your work days in /settings.")
    else:
        when = turn.t("Your first break: {when}.",
                      when=local_day_and_time(first, user, turn.now))
    summary = "\n".join([turn.t("You're all set!"), "", *describe(turn), baseline, "", when,
                         turn.t("/settings changes any of this, /pause stops reminders for a "
                                "while, /stretch starts a break now.")])
    answer = Answer().say(baseline + " " + turn.t("Thanks!"), edit=edit)
    if ratings.pain >= PAIN_STOP:  # every rated break would end in a stop
        user.short_holds = True
        answer.say(turn.t(
            "A pain of {pain} out of 10 is high for stretching on your own. Please see a GP "
            "or physiotherapist before you start, and check /help for the warning signs. If "
            "you go ahead, your breaks use short, gentle holds (1 minute a side; /settings "
            "changes that): stay well short of pain and stop at the first twinge. This is "
            "not medical advice.", pain=ratings.pain))
    return (
        answer
        .say(turn.t("Would you like to do the hip self-check from the article now? Three "
                    "quick questions, about three minutes; repeating it every two weeks shows "
                    "your progress. You can also do it later with /assess."),
             [Button(turn.t("Do the self-check now"), SelfCheckStart()),
              Button(turn.t("Later"), SetupChoice("assess", "later"))])
        .say(summary)
    )


async def _take_ratings(turn: Turn, field: str) -> Answer:
    if turn.latitude is not None:
        return joined(Answer().say(turn.t("A location only helps with the time zone.")),
                      _ask(turn, field))
    both = parse_ratings(turn.text)
    if isinstance(both, Ratings):
        return await _finish(turn, both, edit=False)
    single = parse_single_rating(turn.text)
    if single is not None and field == "pain":
        turn.user.draft = {**turn.user.draft, "pain": single}
        turn.user.step = "ob:stiff"
        return _ask_stiffness(turn, single)
    pain = turn.user.draft.get("pain")
    if single is not None and isinstance(pain, int):
        return await _finish(turn, Ratings(pain=pain, stiffness=single), edit=False)
    return Answer().say(turn.t("Tap a number from 0 to 10, or type one (e.g. 3). Pain and "
                               "stiffness together work too, e.g. 3 5."))


async def on_step(turn: Turn) -> Answer:
    """Typed text or a shared location during onboarding."""
    field = _step_field(turn)
    if turn.user.onboarded_at is not None or field not in ORDER:
        turn.user.step = None
        return await resume(turn)
    if field in ("pain", "stiff"):
        return await _take_ratings(turn, field)
    result = await take_text(turn, field, "ob")
    if isinstance(result, Stored):
        return await _advance(turn, result, edit=False)
    return result


def _not_this_step(turn: Turn) -> Answer:
    return joined(
        Answer(toast=turn.t("That button isn't for this step.")).say(
            turn.t("That button belongs to another step; nothing was changed. You can change "
                   "any answer in /settings once we're done. Here's where we are:")),
        _ask(turn, _step_field(turn) or "tz"),
    )


async def on_button(turn: Turn, tap: SetupChoice) -> Answer:
    field, value = tap.field, tap.value
    if field == "assess":
        return Answer(toast=turn.t("OK, later")).say(
            turn.t("No problem: send /assess whenever you like."), edit=True)
    if turn.user.onboarded_at is not None:
        return Answer(toast=turn.t("That button is no longer active.")).say(
            turn.t("You're already set up. /settings changes anything."))
    current = _step_field(turn)
    if current not in ORDER:
        return Answer(toast=turn.t("That button is no longer active.")).say(
            turn.t("Setup is on hold. Send /start to pick up where you left off."))
    if field == "redo":
        if current != "tz":
            turn.user.draft = {**turn.user.draft, "back_to": turn.user.step}
            turn.user.step = "ob:tz"
        return _ask(turn, "tz")
    if ("days" if field == "day" else field) != current:
        return _not_this_step(turn)
    if field in ("pain", "stiff"):
        if field == "pain":
            turn.user.draft = {**turn.user.draft, "pain": int(value)}
            turn.user.step = "ob:stiff"
            return _ask_stiffness(turn, int(value), edit=True)
        pain = turn.user.draft.get("pain")
        if not isinstance(pain, int):
            return _not_this_step(turn)
        return await _finish(turn, Ratings(pain=pain, stiffness=int(value)), edit=True)
    result = take_button(turn, field, value)
    if isinstance(result, Stored):
        return await _advance(turn, result, edit=True)
    if isinstance(result, Toggled):
        return _ask(turn, "days", edit=True)
    return result

