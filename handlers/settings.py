"""/settings: every value with a button to change just that one, asked like in onboarding.

A change is stored at once and the next break planned again with it; /cancel or "Cancel"
leaves the value as it was. The questions and their answers are handlers/questions.py's.
"""

from __future__ import annotations

from bot.domain.callbacks import SETTING_FIELDS, Screen, SettingsChoice
from bot.domain.i18n import LANGUAGE_NAMES, LANGUAGES
from bot.domain.replies import Answer, Button
from bot.domain.safety import mask_of
from bot.domain.schedule import is_paused
from handlers.planning import describe_next, preferences, replan
from handlers.questions import (
    Stored,
    Toggled,
    ask,
    describe,
    take_button,
    take_text,
)
from handlers.safety import screening_line
from handlers.turn import Turn


async def overview(turn: Turn) -> Answer:
    """The current values, each with a button to change just that one."""
    lines = describe(turn)
    lines.append(turn.t("Language: {name}", name=LANGUAGE_NAMES[turn.user.language]))
    lines.append(_hold_line(turn))
    lines.append(screening_line(turn))
    if is_paused(preferences(turn.user), turn.now):
        lines.append(turn.t("Reminders: paused (/resume turns them back on)"))
    lines.append(await describe_next(turn))

    def edit(label: str, field: str) -> Button:
        return Button(label, SettingsChoice("edit", field))

    return Answer().say(
        turn.t("Your settings:") + "\n" + "\n".join(lines),
        [edit(turn.t("Time zone"), "tz"), edit(turn.t("Work days"), "days")],
        [edit(turn.t("Work hours"), "hours"), edit(turn.t("Breaks per day"), "breaks")],
        [edit(turn.t("Where"), "place"), edit(turn.t("Language"), "lang")],
        [edit(turn.t("Hold length"), "hold"),
         Button(turn.t("Safety questions"), Screen(mask_of(turn.user.screening or ()), "ask"))],
    )


def _hold_line(turn: Turn) -> str:
    if turn.user.short_holds:
        return turn.t("Holds: short, 1 minute a side (the article suggests at least 2)")
    return turn.t("Holds: 2 minutes a side, as the article suggests")


def _ask_language(turn: Turn) -> Answer:
    # Each language is offered in its own name, so a user who cannot read the other finds it.
    return Answer().say(
        turn.t("Which language should I speak?"),
        *[[Button(LANGUAGE_NAMES[code], SettingsChoice("lang", code))] for code in LANGUAGES],
        [Button(turn.t("Cancel"), SettingsChoice("cancel"))],
        edit=True)


def _ask_hold(turn: Turn) -> Answer:
    return Answer().say(
        turn.t("How long should each side of a stretch be held? The article behind these "
               "stretches suggests at least 2 minutes in each position."),
        [Button(turn.t("2 minutes a side (suggested)"), SettingsChoice("hold", "full"))],
        [Button(turn.t("Short: 1 minute a side"), SettingsChoice("hold", "short"))],
        [Button(turn.t("Cancel"), SettingsChoice("cancel"))],
    )


async def settings(turn: Turn) -> Answer:
    # /settings again starts over: a half-made change is dropped, nothing stored changes.
    turn.user.step, turn.user.draft = None, {}
    return await overview(turn)


async def _changed(turn: Turn, stored: Stored, edit: bool) -> Answer:
    """A setting was stored: plan the next break with it at once and say when it is."""
    turn.user.step, turn.user.draft = None, {}
    await replan(turn)
    text = f"{stored.text}\n{await describe_next(turn)}\n" + turn.t(
        "/settings changes something else.")
    if stored.remove_keyboard:
        return Answer().say(text, remove_keyboard=True)
    return Answer().say(text, edit=edit)


async def on_step(turn: Turn) -> Answer:
    """A typed answer (or a shared location) to the setting being changed."""
    field = (turn.user.step or "").partition(":")[2]
    if field not in SETTING_FIELDS:
        turn.user.step = None
        return await overview(turn)
    result = await take_text(turn, field, "set")
    if isinstance(result, Stored):
        return await _changed(turn, result, edit=False)
    return result


def _stale(turn: Turn) -> Answer:
    return Answer(toast=turn.t("That button is no longer active.")).say(
        turn.t("That button belongs to an older message. /settings shows your settings."))


async def on_button(turn: Turn, tap: SettingsChoice) -> Answer:
    step = turn.user.step or ""
    step_field = step[4:] if step.startswith("set:") else None
    if tap.field == "cancel":
        if step_field is None:
            return Answer(toast=turn.t("Nothing to cancel."))
        turn.user.step, turn.user.draft = None, {}
        return Answer().say(turn.t("Cancelled; nothing was changed."), edit=True)
    if tap.field == "edit":
        if tap.value == "lang":
            return _ask_language(turn)
        field = tap.value or ""
        turn.user.step, turn.user.draft = f"set:{field}", {}
        return _ask_hold(turn) if field == "hold" else ask(turn, field, "set")
    if tap.field == "lang" and tap.value in LANGUAGES:
        # Changed at once: this very answer is already in the new language.
        turn.user.language = tap.value
        turn.user.step, turn.user.draft = None, {}
        # Said in the new language, so each catalogue names its own language here.
        return Answer().say(turn.t("I'll speak English from now on. /settings shows your "
                                   "settings."), edit=True)
    if tap.field == "hold":
        if step_field != "hold":
            return _stale(turn)
        turn.user.short_holds = tap.value == "short"
        text = _hold_line(turn) + "." + ("\n" + turn.t(
            "Breaks get shorter from the next one; the article suggests longer holds for "
            "greater results.") if turn.user.short_holds else "")
        return await _changed(turn, Stored(text), edit=True)
    group = "days" if tap.field == "day" else tap.field
    if step_field is None or group != step_field or tap.value is None:
        return _stale(turn)
    result = take_button(turn, tap.field, tap.value)
    if isinstance(result, Stored):
        return await _changed(turn, result, edit=True)
    if isinstance(result, Toggled):
        return ask(turn, "days", "set", edit=True)
    return result
