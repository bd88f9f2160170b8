"""The pure side of a guided break: which positions, when each moment of a hold falls,
buttons, texts.

Nothing here touches the database or the clock, so it is tested on its own:

    positions, rotation = plan_desk_break(sequence_of(program, short), user.rotation)
    reply = position_reply(program, brk, ...)      # set-up, how-to, cautions, Ready
    for step in hold_steps(position, place, short):  # once the hold has started
        ...  # a due row at hold start + step.at: a cue edit, the switch, "Time!"
    live = hold_reply(program, brk, ..., elapsed)    # the live message at any moment
    reason = pain_alarm(pain=7, baseline_pain=2)   # "high" | "rise" | None
    reply = position_reply(program, brk, user.place, user.language)   # what to say

Texts from content/ are English and go through `_` when shown, like every other sentence.
The buttons are `BreakControl` and `RatingTap` (bot.domain.callbacks).
"""

from __future__ import annotations

import math
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Final, Literal, Protocol

from bot.domain.callbacks import MAX_RATING, BreakAction, BreakControl, RatingTap
from bot.domain.content import Place, Position, Program, as_place
from bot.domain.i18n import N_, _
from bot.domain.replies import Button, Reply
from bot.domain.safety import Studio, not_advice, studio_line

# A desk break is short: one two-sided position or two one-sided ones, about 4-5 minutes
# (the bonus, which only ever closes the mobility work, may take it to about 6).
DESK_BREAK_MAX_SECONDS: Final = 300
# "Short: 1 minute a side" in /settings.
SHORT_SECONDS: Final = 60
# Time to read and set up before the hold starts by itself (Ready starts it sooner).
SETUP_WAIT: Final = timedelta(seconds=60)
# A break nobody continues ends on its own this long after its current hold ended.
ABANDON_AFTER: Final = timedelta(minutes=15)
# How long the rating question stays open before the break is saved without one.
RATING_WAIT: Final = timedelta(minutes=30)
# Safety: a pain rating this high, or this far above the baseline, stops the session.
PAIN_STOP: Final = 7
PAIN_RISE_STOP: Final = 2
# The scale for "firmly" and "strong", shown at the first hold of a break and in /help.
INTENSITY: Final = N_("How hard? A pull of about 6 out of 10: clearly there, yet you can "
                      "breathe calmly and could talk. Never pain: if it pinches or hurts, ease "
                      "off.")

Stage = Literal["cue", "switch", "done"]
Outcome = Literal["done", "partial"]


class BreakState(Protocol):
    """What a break's messages are made from (a stored `Break` has all of it)."""

    id: int
    place: str
    positions: list[str]
    positions_done: list[str]
    position_index: int
    attempt: int
    short: bool


def side_seconds(position: Position, short: bool) -> int:
    """One side's hold: the content's (the article's 2 minutes), or 1 minute when short."""
    return min(position.seconds, SHORT_SECONDS) if short else position.seconds


def hold_seconds(position: Position, short: bool) -> int:
    return side_seconds(position, short) * position.side_count


@dataclass(frozen=True)
class Step:
    """One timed moment of a hold, `at` seconds after it started."""

    stage: Stage  # "cue": edit the live message; "switch", "done": a new message
    at: int
    cue: int  # the cue shown from then on


def cue_index(elapsed: float, total: int, count: int) -> int:
    """Which of `count` cues is shown `elapsed` seconds into a `total`-second hold: they are
    spread evenly over the whole hold, every side."""
    if count <= 1 or total <= 0:
        return 0
    return min(count - 1, max(0, int(elapsed * count // total)))


def hold_steps(position: Position, place: Place, short: bool) -> tuple[Step, ...]:
    """The hold's timeline: each cue as an edit, the side switch and "Time!" as messages.

    Two messages notify per side at most: the position message and the switch on side one
    (or the start of the clock, when nobody tapped Ready), the switch and "Time!" on side
    two. Everything else arrives as a silent edit of the live message.
    """
    side, total = side_seconds(position, short), hold_seconds(position, short)
    count = len(position.cues_for(place))
    switch_at = side if position.side_count == 2 else None
    steps = [Step("cue", total * i // count + (1 if total * i % count else 0), i)
             for i in range(1, count)]
    # A cue falling at the switch travels in the switch message itself.
    steps = [step for step in steps if step.at != switch_at]
    if switch_at is not None:
        steps.append(Step("switch", switch_at, cue_index(switch_at, total, count)))
    steps.append(Step("done", total, count - 1))
    return tuple(sorted(steps, key=lambda step: (step.at, step.stage != "cue")))


def abandon_offset(total_seconds: int) -> timedelta:
    """When an un-continued position ends the break, from the start of its hold."""
    return timedelta(seconds=total_seconds) + ABANDON_AFTER


@dataclass(frozen=True)
class Item:
    position_id: str
    seconds: int  # the whole hold, every side
    bonus: bool


def sequence_of(program: Program, short: bool = False,
                conditions: Collection[str] = (), eased: Collection[str] = ()) -> list[Item]:
    """The whole sequence in order, bonus stretches last, without the positions that are not
    safe with any of the user's `conditions` (their screening answers) and those `eased`
    off because the latest self-check found them painful."""
    return [Item(position.id, hold_seconds(position, short), stretch.bonus)
            for stretch, position in program.positions()
            if not set(position.avoid_with) & set(conditions) and position.id not in eased]


def plan_desk_break(sequence: Sequence[Item], rotation: int) -> tuple[list[str], int]:
    """The positions of the next desk break, starting where the last one stopped.

    Returns the position ids and the rotation for the break after it. A break takes
    consecutive mobility positions while they fit in five minutes (at least one). The bonus
    never comes alone: it joins the break that finishes the mobility work. The next break
    then starts again at the top, and a few breaks cover every position.
    """
    mobility = [item for item in sequence if not item.bonus]
    if not mobility:
        return [], 0
    start = rotation % len(mobility)
    chosen: list[Item] = []
    for item in mobility[start:]:
        if chosen and sum(c.seconds for c in chosen) + item.seconds > DESK_BREAK_MAX_SECONDS:
            break
        chosen.append(item)
    end = start + len(chosen)
    if end == len(mobility):
        chosen += [item for item in sequence if item.bonus]
    return [item.position_id for item in chosen], end % len(mobility)


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


def _clock(seconds: int) -> str:
    return f"{seconds // 60}:{seconds % 60:02d}"


def _hurts(brk: BreakState, language: str) -> Button:
    return Button(_("✋ It hurts", language),
                  BreakControl(brk.id, brk.position_index, brk.attempt, "h"))


def break_minutes(program: Program, positions: Sequence[str], short: bool) -> int:
    """About how long a break takes, setting up included (what the reminder promises)."""
    seconds = sum(hold_seconds(program.position(p), short) + SETUP_WAIT.total_seconds() / 2
                  for p in positions)
    return max(1, math.ceil(seconds / 60))


def break_summary(program: Program, positions: Sequence[str], place: str, short: bool,
                  language: str) -> str:
    """What a coming break holds, e.g. for the reminder: names and minutes, truthfully."""
    names = ", ".join(_(program.position(p).variant(as_place(place)).name, language)
                      for p in positions)
    return _("{names}: about {minutes} minutes, setting up included.", language, names=names,
             minutes=break_minutes(program, positions, short))


def checklist(program: Program, items: Sequence[str], language: str) -> str:
    """The equipment to have ready, each with why."""
    lines = [_("Before you start, have these ready:", language)]
    for item_id in items:
        item = program.equipment_item(item_id)
        note = f" ({_(item.note, language)})" if item.note else ""
        lines.append(f"• {_(item.name, language)}{note}")
    return "\n".join(lines)


def numbered_name(program: Program, position_id: str, place: Place, number: int, total: int,
                  language: str) -> str:
    """"2/8 · Name of the variant": a position's place in its break."""
    name = program.position(position_id).variant(place).name
    return _("{number}/{total} · {name}", language, number=number, total=total,
             name=_(name, language))


def _header(program: Program, brk: BreakState, language: str) -> list[str]:
    index = brk.position_index
    return [numbered_name(program, brk.positions[index], as_place(brk.place), index + 1,
                          len(brk.positions), language)]


def _cautions(program: Program, brk: BreakState, language: str) -> list[str]:
    stretch = program.stretch_of(brk.positions[brk.position_index])
    return ["⚠️ " + _(text, language) for text in stretch.cautions_for(as_place(brk.place))]


def _break_buttons(brk: BreakState, preferred_place: str, language: str,
                   first: tuple[Button, ...]) -> tuple[tuple[Button, ...], ...]:
    switch_to = other_place(brk.place, preferred_place)
    switch_label = (_("No band here: desk version", language) if switch_to == "desk"
                    else _("I have my band: band version", language))
    control = BreakControl(brk.id, brk.position_index, brk.attempt, "v")
    return (first, (_hurts(brk, language),), (Button(switch_label, control),))


def position_reply(program: Program, brk: BreakState, preferred_place: str, language: str,
                   ready_in: timedelta = SETUP_WAIT) -> Reply:
    """One position before its hold: what it is for, how to set up, how to do it, every
    caution, how long, and Ready."""
    index, total = brk.position_index, len(brk.positions)
    stretch = program.stretch_of(brk.positions[index])
    position = program.position(brk.positions[index])
    variant = position.variant(as_place(brk.place))
    lines: list[str] = []
    if index == 0 and total > 1:
        lines += [_("{count} positions, about {minutes} minutes in all.", language,
                    count=total, minutes=break_minutes(program, brk.positions, brk.short)), ""]
    lines += _header(program, brk, language)
    lines.append(_("For: {targets}", language, targets=_(stretch.targets, language)))
    lines += ["", _("Set up: {text}", language, text=_(variant.setup, language)),
              _("Then: {text}", language, text=_(variant.instructions, language))]
    lines += _cautions(program, brk, language)
    side = _duration(side_seconds(position, brk.short), language)
    lines.append("")
    if position.side_count == 2:
        lines.append(_("Hold for {duration} on each side; I'll tell you when to switch.",
                       language, duration=side))
    else:
        lines.append(_("Hold for {duration}.", language, duration=side))
    if brk.short and side_seconds(position, True) < position.seconds:
        lines.append(_("Short holds are on (/settings); the article suggests {duration} or "
                       "more.", language, duration=_duration(position.seconds, language)))
    lines.append(_("Tap Ready once you're in position: the clock starts then, or by itself "
                   "in {wait}.", language, wait=_duration(int(ready_in.total_seconds()),
                                                          language)))
    ready = BreakControl(brk.id, index, brk.attempt, "g")
    return Reply("\n".join(lines), _break_buttons(
        brk, preferred_place, language, (Button(_("▶ Ready", language), ready),)))


def hold_reply(program: Program, brk: BreakState, preferred_place: str, language: str,
               elapsed: float) -> Reply:
    """The live message of a hold `elapsed` seconds in: the side, the time left and the cue
    of the moment. Side one keeps the how-to and cautions; side two opens with the switch."""
    index, total = brk.position_index, len(brk.positions)
    position = program.position(brk.positions[index])
    place = as_place(brk.place)
    variant = position.variant(place)
    cues = position.cues_for(place)
    side, whole = side_seconds(position, brk.short), hold_seconds(position, brk.short)
    elapsed = max(0.0, min(elapsed, float(whole)))
    on_side = min(position.side_count, int(elapsed // side) + 1)
    if on_side == 1:
        lines = _header(program, brk, language)
        lines.append(_(variant.instructions, language))
        lines += _cautions(program, brk, language)
    else:
        lines = [_("Switch sides: {text}", language, text=_(variant.switch or "", language))]
    left = int(side * on_side - elapsed)
    lines.append("")
    if position.side_count == 2:
        lines.append(_("⏱ Side {side} of 2 · {left} left", language, side=on_side,
                       left=_clock(left)))
    else:
        lines.append(_("⏱ {left} left", language, left=_clock(left)))
    lines.append("💬 " + _(cues[cue_index(elapsed, whole, len(cues))], language))
    if index == 0 and on_side == 1:
        lines += ["", _(INTENSITY, language)]
    last = index + 1 >= total
    go_on = _("✓ Finish", language) if last else _("✓ Next", language)
    return Reply("\n".join(lines), _break_buttons(brk, preferred_place, language, (
        Button(go_on, BreakControl(brk.id, index, brk.attempt, "n")),
        Button(_("↺ Repeat", language), BreakControl(brk.id, index, brk.attempt, "r")))))


def done_reply(program: Program, brk: BreakState, position: Position, language: str) -> Reply:
    """A hold is over and another follows: go on, repeat, or stop."""
    place = as_place(brk.place)
    following = program.position(brk.positions[brk.position_index + 1])
    text = _("Time! {done} is done. Next up: {following}.", language,
             done=_(position.variant(place).name, language),
             following=_(following.variant(place).name, language))

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
    text = opener + " " + _("How is your pain right now, from 0 (none) to 10 (worst)? Tap or "
                            "type a number; or both, pain first, like: 3 5", language)
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
    if problem == "one_out_of_range":
        return _("0 to 10, please. For example: 3 (a little pain), or 0 for none.", language)
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
                baseline: int | None = None, stops_this_week: int = 1) -> str:
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
        "it. Rest for today: no more reminders until your next work day, when I'll ask how "
        "the hip is.", language), _(
        "If the pain stays, keeps coming back, or comes with a warning sign from /help, see "
        "a GP or physiotherapist before you stretch again.", language)]
    if stops_this_week >= 2:
        lines.append(_(
            "That's {count} stops for pain in 7 days. Please see a GP or physiotherapist "
            "before you go on with these stretches. To stop reminders until then, send /pause "
            "and choose \"Until I /resume\".", language, count=stops_this_week))
    else:
        lines.append(_("/pause stops reminders for a while.", language))
    if (line := studio_line(language, studio)) is not None:
        lines.append(line)
    lines.append(not_advice(language))
    return "\n\n".join(lines)
