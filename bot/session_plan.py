"""The pure side of a guided break: which positions, when follow-ups fall, buttons, texts.

Nothing here touches the database or the clock, so it is tested on its own:

    positions, rotation = plan_desk_break(sequence_of(program), user.rotation)
    for follow_up in follow_ups(position.seconds, position.sides):
        ...  # schedule a due row at started + follow_up.offset
    control = parse_control("12:0:3:n")      # the callback data after "s:", or None
    reason = pain_alarm(pain=7, baseline_pain=2)   # "high" | "rise" | None
    reply = position_reply(program, brk, user.place, user.language)   # what to say

Texts from content/ are English and go through `_` when shown, like every other sentence.

Callback data (at most 64 bytes; every number is checked, anything else is refused):
    s:<break>:<index>:<attempt>:<action>   action: n next, r repeat, h it hurts,
                                           v other variant, c continue, e end
    r:<break>:<pain>                       the first tap of a rating
    r:<break>:<pain>:<stiffness>           the second tap
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Final, Literal

from bot.config import Settings
from bot.content import Place, Position, Program, as_place
from bot.i18n import _
from bot.models import Break
from bot.replies import Button, Reply

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
MAX_RATING: Final = 10

Stage = Literal["switch", "halfway", "done"]
Action = Literal["n", "r", "h", "v", "c", "e"]
ACTIONS: Final[tuple[Action, ...]] = ("n", "r", "h", "v", "c", "e")
Outcome = Literal["done", "partial"]


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
# Callback data

_NUMBER = r"(0|[1-9][0-9]{0,9})"  # ASCII digits only: "²".isdigit() is True, int() fails
_CONTROL = re.compile(rf"{_NUMBER}:{_NUMBER}:{_NUMBER}:([a-z])", re.ASCII)
_RATING = re.compile(rf"{_NUMBER}:{_NUMBER}(?::{_NUMBER})?", re.ASCII)


@dataclass(frozen=True)
class Control:
    """A session button: which break, which position and attempt it was made for."""

    break_id: int
    index: int
    attempt: int
    action: Action

    @property
    def data(self) -> str:
        return f"s:{self.break_id}:{self.index}:{self.attempt}:{self.action}"


def parse_control(text: str) -> Control | None:
    """The session button behind callback data (without its "s:"), or None if forged."""
    match = _CONTROL.fullmatch(text)
    action = next((known for known in ACTIONS if match is not None and known == match[4]), None)
    if match is None or action is None:
        return None
    return Control(int(match[1]), int(match[2]), int(match[3]), action)


@dataclass(frozen=True)
class RatingTap:
    break_id: int
    pain: int
    stiffness: int | None  # None after the first tap


def rating_data(break_id: int, pain: int, stiffness: int | None = None) -> str:
    tail = "" if stiffness is None else f":{stiffness}"
    return f"r:{break_id}:{pain}{tail}"


def parse_rating_tap(text: str) -> RatingTap | None:
    """A rating button's data (without its "r:"), or None if forged or out of range."""
    match = _RATING.fullmatch(text)
    if match is None:
        return None
    pain = int(match[2])
    stiffness = int(match[3]) if match[3] is not None else None
    if pain > MAX_RATING or (stiffness is not None and stiffness > MAX_RATING):
        return None
    return RatingTap(int(match[1]), pain, stiffness)


# ------------------------------------------------------------------------------------------
# What the bot says during a break


def _duration(seconds: int, language: str) -> str:
    if seconds % 60:
        return _("{n} seconds", language, n=seconds)
    minutes = seconds // 60
    return _("1 minute", language) if minutes == 1 else _("{n} minutes", language, n=minutes)


def _hurts(brk: Break, language: str) -> Button:
    return Button(_("✋ It hurts", language),
                  Control(brk.id, brk.position_index, brk.attempt, "h").data)


def position_reply(program: Program, brk: Break, preferred_place: str, language: str) -> Reply:
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

    def control(action: Action) -> str:
        return Control(brk.id, index, brk.attempt, action).data

    return Reply("\n".join(lines), (
        (Button(go_on, control("n")), Button(_("↺ Repeat", language), control("r"))),
        (_hurts(brk, language),),
        (Button(switch_label, control("v")),),
    ))


def follow_up_reply(program: Program, brk: Break, stage: str, number: int,
                    language: str) -> Reply:
    """The cue in the middle of a hold: switch sides, or halfway."""
    position = program.position(brk.positions[brk.position_index])
    opener = _("Switch sides now.", language) if stage == "switch" \
        else _("Halfway there.", language)
    cue = cue_for(position.cues_for(as_place(brk.place)), number, brk.attempt)
    text = f"{opener} {_(cue, language)}" if cue else opener
    return Reply(text, ((_hurts(brk, language),),))


def done_reply(program: Program, brk: Break, position: Position, language: str) -> Reply:
    """A hold is over and another follows: go on, repeat, or stop."""
    following = program.position(brk.positions[brk.position_index + 1])
    text = _("Time! {done} is done. Next up: {following}.", language,
             done=_(position.name, language), following=_(following.name, language))

    def control(action: Action) -> str:
        return Control(brk.id, brk.position_index, brk.attempt, action).data

    return Reply(text, (
        (Button(_("▶ Next", language), control("n")),
         Button(_("↺ Repeat", language), control("r"))),
        (_hurts(brk, language),),
    ))


def _scale(data: list[str]) -> tuple[tuple[Button, ...], ...]:
    buttons = [Button(str(value), item) for value, item in enumerate(data)]
    return tuple(buttons[:6]), tuple(buttons[6:])


def rating_prompt(brk: Break, language: str, finished: bool,
                  repeat: Control | None) -> Reply:
    """The first of two taps: pain now (the message is then edited to ask stiffness)."""
    opener = _("Well done!", language) if finished \
        else _("Time! That's the whole break, well done!", language)
    text = opener + " " + _("How is your pain right now, from 0 (none) to 10 (worst)? You can "
                            "also type both numbers, pain first, like: 3 5", language)
    rows = _scale([rating_data(brk.id, pain) for pain in range(MAX_RATING + 1)])
    if repeat is not None:
        rows += ((Button(_("↺ Repeat the last one", language), repeat.data),),)
    return Reply(text, rows)


def stiffness_prompt(brk: Break, pain: int, language: str) -> Reply:
    text = _("Pain {pain}/10. And how stiff do you feel, from 0 (not at all) to 10 (very "
             "stiff)?", language, pain=pain)
    return Reply(text, _scale([rating_data(brk.id, pain, s) for s in range(MAX_RATING + 1)]))


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


def already_going(brk: Break, language: str) -> Reply:
    text = _("You're in the middle of a break (position {number} of {total}). Carry on, or "
             "end it?", language, number=min(brk.position_index + 1, len(brk.positions)),
             total=len(brk.positions))
    index = brk.position_index
    return Reply(text, ((
        Button(_("▶ Continue", language), Control(brk.id, index, brk.attempt, "c").data),
        Button(_("■ End it", language), Control(brk.id, index, brk.attempt, "e").data),
    ),))


def abandoned_reply(brk: Break, language: str) -> Reply:
    text = _("This break ended here: {done} of {total} positions done, saved as partial. "
             "/stretch starts a new one whenever you like.", language,
             done=len(set(brk.positions_done) & set(brk.positions)), total=len(brk.positions))
    return Reply(text)


def safety_text(language: str, settings: Settings, reason: str, pain: int | None = None,
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
    name, contact = settings.studio_name, settings.studio_contact
    if name and contact:
        lines.append(_("{studio} can help too: {contact}", language, studio=name,
                       contact=contact))
    elif name or contact:
        lines.append(_("{studio} can help too.", language, studio=name) if name
                     else _("The studio can help too: {contact}", language, contact=contact))
    return "\n\n".join(lines)
