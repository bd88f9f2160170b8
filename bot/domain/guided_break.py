"""The pure side of a guided break: which positions, when follow-ups fall, buttons, texts.

Nothing here touches the database or the clock, so it is tested on its own:

    positions, rotation = plan_desk_break(sequence_of(program), user.rotation)
    for follow_up in follow_ups(position.seconds, position.sides):
        ...  # schedule a due row at started + follow_up.offset
    reason = pain_alarm(pain=7, baseline_pain=2)   # "high" | "rise" | None
    reply = position_reply(program, brk, user.place, user.language)   # what to say

Texts from content/ are English and go through `_` when shown, like every other sentence.
The buttons are `BreakControl` and `RatingTap` (bot.domain.callbacks).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Final, Literal, Protocol

from bot.domain.callbacks import MAX_RATING, BreakAction, BreakControl, RatingTap
from bot.domain.content import Place, Position, Program, as_place
from bot.domain.i18n import _
from bot.domain.replies import Button, Reply

# A desk break is short: one or two positions, at most five minutes.
DESK_BREAK_MAX_POSITIONS: Final = 2
DESK_BREAK_MAX_SECONDS: Final = 300
# A break nobody continues ends on its own this long after its current hold ended.
ABANDON_AFTER: Final = timedelta(minutes=15)
# How long the rating question stays open before the break is saved without one.
RATING_WAIT: Final = timedelta(minutes=30)
# Safety: a pain rating this high, or this far above the baseline, stops the session.
PAIN_STOP: Final = 7
PAIN_RISE_STOP: Final = 2

Stage = Literal["switch", "halfway", "done"]
Outcome = Literal["done", "partial"]


class BreakState(Protocol):
    """What a break's messages are made from (a stored `Break` has all of it)."""

    id: int
    place: str
    positions: list[str]
    positions_done: list[str]
    position_index: int
    attempt: int


@dataclass(frozen=True)
class Studio:
    """The operator's studio, named in safety messages when configured."""

    name: str | None = None
    contact: str | None = None


@dataclass(frozen=True)
class FollowUp:
    stage: Stage
    offset: timedelta  # from the moment the position message went out


def follow_ups(seconds: int, sides: str) -> tuple[FollowUp, ...]:
    """The timed messages of one hold: one cue at half time, then "done" at the end.

    A two-sided hold switches sides at half time; a one-sided hold gets a "halfway" cue.
    """
    middle: Stage = "switch" if sides == "both" else "halfway"
    return (
        FollowUp(middle, timedelta(seconds=seconds // 2)),
        FollowUp("done", timedelta(seconds=seconds)),
    )


def abandon_offset(seconds: int) -> timedelta:
    """When an un-continued position ends the break, from the start of its hold."""
    return timedelta(seconds=seconds) + ABANDON_AFTER


def sequence_of(program: Program) -> list[tuple[str, int]]:
    """The whole sequence as (position id, seconds), bonus stretches last."""
    return [(position.id, position.seconds) for _stretch, position in program.positions()]


def plan_desk_break(sequence: Sequence[tuple[str, int]], rotation: int) -> tuple[list[str], int]:
    """The positions of the next desk break, starting where the last one stopped.

    Returns the position ids and the rotation for the break after it. A break takes one or
    two consecutive positions (two when they fit in five minutes) and never runs past the
    end of the sequence, so bonus stretches stay last; the next break starts again at the
    top. A few breaks cover every position.
    """
    if not sequence:
        return [], 0
    start = rotation % len(sequence)
    chosen: list[str] = []
    total = 0
    for position_id, seconds in sequence[start:start + DESK_BREAK_MAX_POSITIONS]:
        if chosen and total + seconds > DESK_BREAK_MAX_SECONDS:
            break
        chosen.append(position_id)
        total += seconds
    return chosen, (start + len(chosen)) % len(sequence)


def cue_for(cues: Sequence[str], number: int, attempt: int = 0) -> str | None:
    """The cue for the `number`-th message of a hold (0: the position message itself).

    The position message carries the breathing cue; the follow-ups take the other cues in
    turn, starting further along on each new attempt so a repeat does not say the same.
    """
    if not cues:
        return None
    breathing = next((i for i, cue in enumerate(cues) if "breath" in cue.lower()), 0)
    if number == 0:
        return cues[breathing]
    others = [cue for i, cue in enumerate(cues) if i != breathing] or list(cues)
    return others[(number - 1 + attempt) % len(others)]


def other_place(current: str, preferred: str) -> Place:
    """The variant one button switches to: the no-band desk version or the band one."""
    if current != "desk":
        return "desk"
    return "band" if preferred == "desk" else as_place(preferred)


def outcome(positions: Sequence[str], positions_done: Sequence[str]) -> Outcome:
    return "done" if positions and set(positions) <= set(positions_done) else "partial"


def pain_alarm(pain: int, baseline_pain: int | None) -> Literal["high", "rise"] | None:
    """Why a pain rating stops the session, or None: 7 or more, or 2 over the baseline."""
    if pain >= PAIN_STOP:
        return "high"
    if baseline_pain is not None and pain - baseline_pain >= PAIN_RISE_STOP:
        return "rise"
    return None


# ------------------------------------------------------------------------------------------
# What the bot says during a break


def _duration(seconds: int, language: str) -> str:
    if seconds % 60:
        return _("{n} seconds", language, n=seconds)
    minutes = seconds // 60
    return _("1 minute", language) if minutes == 1 else _("{n} minutes", language, n=minutes)


def _hurts(brk: BreakState, language: str) -> Button:
    return Button(_("✋ It hurts", language),
                  BreakControl(brk.id, brk.position_index, brk.attempt, "h"))


def position_reply(program: Program, brk: BreakState, preferred_place: str, language: str) -> Reply:
    """One position: what to do, where, for how long, one cue, and the buttons."""
    index, total = brk.position_index, len(brk.positions)
    stretch = program.stretch_of(brk.positions[index])
    position = program.position(brk.positions[index])
    place = as_place(brk.place)
    first_of_stretch = index == 0 or program.stretch_of(brk.positions[index - 1]) != stretch
    lines: list[str] = []
    if index == 0 and total > 1:
        seconds = sum(program.position(p).seconds for p in brk.positions)
        lines += [_("{count} positions, about {minutes} minutes in all.", language,
                    count=total, minutes=max(1, round(seconds / 60))), ""]
    lines.append(_("{number}/{total} · {stretch}: {position}", language, number=index + 1,
                   total=total, stretch=_(stretch.name, language),
                   position=_(position.name, language)))
    if first_of_stretch:
        lines.append(_(stretch.setup_for(place), language))
    lines.append(_(position.variant(place).instructions, language))
    duration = _duration(position.seconds, language)
    lines.append("")
    if position.sides == "both":
        lines.append(_("Hold for {duration}, switching sides halfway: I'll tell you when.",
                       language, duration=duration))
    else:
        lines.append(_("Hold for {duration}; I'll check in halfway.", language,
                       duration=duration))
    cue = cue_for(position.cues_for(place), 0, brk.attempt)
    if cue:
        lines.append(_(cue, language))
    if first_of_stretch:
        lines.append("⚠️ " + _(stretch.cautions[0], language))
    last = index + 1 >= total
    go_on = _("✓ Finish", language) if last else _("✓ Next", language)
    switch_to = other_place(brk.place, preferred_place)
    switch_label = (_("No band here: desk version", language) if switch_to == "desk"
                    else _("I have my band: band version", language))

    def control(action: BreakAction) -> BreakControl:
        return BreakControl(brk.id, index, brk.attempt, action)

    return Reply("\n".join(lines), (
        (Button(go_on, control("n")), Button(_("↺ Repeat", language), control("r"))),
        (_hurts(brk, language),),
        (Button(switch_label, control("v")),),
    ))


def follow_up_reply(program: Program, brk: BreakState, stage: str, number: int,
                    language: str) -> Reply:
    """The cue in the middle of a hold: switch sides, or halfway."""
    position = program.position(brk.positions[brk.position_index])
    opener = _("Switch sides now.", language) if stage == "switch" \
        else _("Halfway there.", language)
    cue = cue_for(position.cues_for(as_place(brk.place)), number, brk.attempt)
    text = f"{opener} {_(cue, language)}" if cue else opener
    return Reply(text, ((_hurts(brk, language),),))


def done_reply(program: Program, brk: BreakState, position: Position, language: str) -> Reply:
    """A hold is over and another follows: go on, repeat, or stop."""
    following = program.position(brk.positions[brk.position_index + 1])
    text = _("Time! {done} is done. Next up: {following}.", language,
             done=_(position.name, language), following=_(following.name, language))

    def control(action: BreakAction) -> BreakControl:
        return BreakControl(brk.id, brk.position_index, brk.attempt, action)

    return Reply(text, (
        (Button(_("▶ Next", language), control("n")),
         Button(_("↺ Repeat", language), control("r"))),
        (_hurts(brk, language),),
    ))


def _scale(taps: list[RatingTap]) -> tuple[tuple[Button, ...], ...]:
    buttons = [Button(str(value), tap) for value, tap in enumerate(taps)]
    return tuple(buttons[:6]), tuple(buttons[6:])


def rating_prompt(brk: BreakState, language: str, finished: bool,
                  repeat: BreakControl | None) -> Reply:
    """The first of two taps: pain now (the message is then edited to ask stiffness)."""
    opener = _("Well done!", language) if finished \
        else _("Time! That's the whole break, well done!", language)
    text = opener + " " + _("How is your pain right now, from 0 (none) to 10 (worst)? You can "
                            "also type both numbers, pain first, like: 3 5", language)
    rows = _scale([RatingTap(brk.id, pain) for pain in range(MAX_RATING + 1)])
    if repeat is not None:
        rows += ((Button(_("↺ Repeat the last one", language), repeat),),)
    return Reply(text, rows)


def stiffness_prompt(brk: BreakState, pain: int, language: str) -> Reply:
    text = _("Pain {pain}/10. And how stiff do you feel, from 0 (not at all) to 10 (very "
             "stiff)?", language, pain=pain)
    return Reply(text, _scale([RatingTap(brk.id, pain, s) for s in range(MAX_RATING + 1)]))


def rating_help(problem: str, language: str) -> str:
    """The answer to typed ratings that cannot be used: out of range, unclear, too late."""
    if problem == "saved":
        return _("That break is already saved. /stretch starts a new one; /help lists "
                 "everything else.", language)
    if problem == "out_of_range":
        return _("Both numbers go from 0 to 10, pain first. For example: 3 5 (pain 3, "
                 "stiffness 5).", language)
    return _("I didn't catch that. Tap the numbers above, or type pain then stiffness from 0 "
             "to 10, for example: 3 5, or: pain 3, stiffness 5.", language)


def already_going(brk: BreakState, language: str) -> Reply:
    text = _("You're in the middle of a break (position {number} of {total}). Carry on, or "
             "end it?", language, number=min(brk.position_index + 1, len(brk.positions)),
             total=len(brk.positions))
    index = brk.position_index
    return Reply(text, ((
        Button(_("▶ Continue", language), BreakControl(brk.id, index, brk.attempt, "c")),
        Button(_("■ End it", language), BreakControl(brk.id, index, brk.attempt, "e")),
    ),))


def abandoned_reply(brk: BreakState, language: str) -> Reply:
    text = _("This break ended here: {done} of {total} positions done, saved as partial. "
             "/stretch starts a new one whenever you like.", language,
             done=len(set(brk.positions_done) & set(brk.positions)), total=len(brk.positions))
    return Reply(text)


def safety_text(language: str, studio: Studio, reason: str, pain: int | None = None,
                baseline: int | None = None) -> str:
    """Why the session stopped, what to do now, and who can help."""
    if reason == "high":
        why = _("Let's stop here: a pain of {pain} out of 10 is too much to keep stretching "
                "today.", language, pain=pain)
    elif reason == "rise":
        why = _("Let's stop here: your pain is {pain} out of 10, {rise} points above where you "
                "started ({baseline}).", language, pain=pain,
                rise=(pain or 0) - (baseline or 0), baseline=baseline)
    else:
        why = _("Let's stop here: you said it hurts.", language)
    lines = [why, _(
        "A stretch should feel like a strong pull, never like pain, so don't push through "
        "it. Rest for today. If the pain stays, comes back with every break, or comes with "
        "any of the warning signs in /help, please see a doctor or physiotherapist before "
        "you stretch again. /pause stops reminders for a while.", language)]
    name, contact = studio.name, studio.contact
    if name and contact:
        lines.append(_("{studio} can help too: {contact}", language, studio=name,
                       contact=contact))
    elif name or contact:
        lines.append(_("{studio} can help too.", language, studio=name) if name
                     else _("The studio can help too: {contact}", language, contact=contact))
    return "\n\n".join(lines)
