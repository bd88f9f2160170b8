"""Each setting's question and answer, shared by onboarding and /settings.

A setting ("tz", "days", "hours", "breaks", "place") is asked with `ask(turn, field, flow)`,
where `flow` is the conversation asking it: "ob" (onboarding, `SetupChoice` buttons) or
"set" (/settings, `SettingsChoice` buttons). The user answers by typing (`take_text`) or
with a button (`take_button`); both return `Stored` once the value is valid and written to
the user row, or an `Answer` that refuses with the reason and keeps the user on the step.
Work days switched on or off live in `user.draft` until "Done".
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import timedelta
from typing import Literal

from bot.domain.callbacks import SettingsChoice, SetupChoice
from bot.domain.content import PLACES
from bot.domain.i18n import N_
from bot.domain.parsing import (
    HOUR_PRESETS,
    HoursRefused,
    WorkHours,
    ZoneChoices,
    ZoneFound,
    format_hours,
    parse_breaks_per_day,
    parse_place,
    parse_work_days,
    parse_work_hours,
)
from bot.domain.replies import Answer, Button
from bot.domain.schedule import MAX_BREAKS_PER_DAY, break_times
from bot.domain.timefmt import WEEKDAYS
from bot.domain.zones import local_time_in
from handlers.planning import preferences
from handlers.turn import Turn

Flow = Literal["ob", "set"]
ALL_DAYS = 0b1111111
PLACE_LABELS = {
    "desk": N_("At my desk, no equipment"),
    "band": N_("At my desk, with a band and an anchor point"),
    "floor": N_("Floor space, with a band and a kettlebell"),
}


@dataclass(frozen=True)
class Stored:
    """The answer was valid and is written to the user row; `text` confirms it."""

    text: str
    # A zone confirmation must also take the location keyboard away.
    remove_keyboard: bool = False


@dataclass(frozen=True)
class Toggled:
    """A work day was switched in the draft: the caller shows the days question again."""


TOGGLED = Toggled()


def joined(first: Answer, *more: Answer) -> Answer:
    """`first` followed by the messages of `more` (the toast of `first` is kept)."""
    for answer in more:
        first.replies.extend(answer.replies)
    return first


# --- describing values ------------------------------------------------------------------------


def format_days(turn: Turn, mask: int) -> str:
    """ "Mon–Fri", "Mon, Wed, Fri", "every day"."""
    if mask & ALL_DAYS == ALL_DAYS:
        return turn.t("every day")
    days = [day for day in range(7) if mask >> day & 1]
    runs: list[list[int]] = []
    for day in days:
        if runs and runs[-1][-1] == day - 1:
            runs[-1].append(day)
        else:
            runs.append([day])
    parts = []
    for run in runs:
        names = [turn.t(WEEKDAYS[day]) for day in run]
        parts.append(f"{names[0]}–{names[-1]}" if len(run) >= 3 else ", ".join(names))
    return ", ".join(parts)


def zone_now(turn: Turn) -> str:
    """ "Europe/Madrid, where it's Tue 14:05 now": a wrong zone shows at a glance."""
    zone = turn.user.time_zone or "UTC"
    local = local_time_in(zone, turn.now)
    return turn.t("{zone}, where it's {day} {time} now", zone=zone,
                  day=turn.t(WEEKDAYS[local.weekday()]), time=local.strftime("%H:%M"))


def break_times_text(turn: Turn) -> str:
    """The local times of one work day's breaks: "10:01, 12:01, 14:01 and 16:01"."""
    prefs = dataclasses.replace(preferences(turn.user), paused_until=None)
    today = local_time_in(prefs.time_zone, turn.now).date()
    for offset in range(8):
        times = break_times(prefs, today + timedelta(days=offset))
        if times:
            clocks = [local_time_in(prefs.time_zone, at).strftime("%H:%M") for at in times]
            if len(clocks) == 1:
                return clocks[0]
            return turn.t("{first} and {last}", first=", ".join(clocks[:-1]), last=clocks[-1])
    return turn.t("no time (no work day is set)")


def describe(turn: Turn) -> list[str]:
    """One line per setting, as shown in /settings and in the onboarding summary."""
    user = turn.user
    hours = WorkHours(user.work_start, user.work_end)
    return [
        turn.t("Time zone: {zone}", zone=zone_now(turn)),
        turn.t("Work days: {days}", days=format_days(turn, user.work_days)),
        turn.t("Work hours: {hours}", hours=format_hours(hours)),
        turn.t("Breaks: {count} a day, at {times}", count=user.breaks_per_day,
               times=break_times_text(turn)),
        turn.t("Where: {place}", place=turn.t(PLACE_LABELS.get(user.place, user.place))),
    ]


# --- asking -----------------------------------------------------------------------------------


def choice(flow: Flow, field: str, value: str) -> SetupChoice | SettingsChoice:
    """The button that answers `field` with `value` in this conversation."""
    return SetupChoice(field, value) if flow == "ob" else SettingsChoice(field, value)


def _day_rows(turn: Turn, flow: Flow, mask: int) -> list[list[Button]]:
    def toggle(day: int) -> Button:
        mark = "✅" if mask >> day & 1 else "▫️"
        return Button(f"{mark} {turn.t(WEEKDAYS[day])}", choice(flow, "day", str(day)))

    return [[toggle(day) for day in range(4)], [toggle(day) for day in range(4, 7)],
            [Button(turn.t("Done"), choice(flow, "days", "ok"))]]


def draft_days(turn: Turn) -> int:
    days = turn.user.draft.get("days")
    return days if isinstance(days, int) and 0 < days <= ALL_DAYS else turn.user.work_days


def question(turn: Turn, field: str) -> str:
    if field == "tz":
        return turn.t("Which time zone are you in? Share your location with the button "
                      "below, or type your city (Madrid, New York), a zone name "
                      "(Europe/Berlin) or a UTC offset (UTC+2).")
    if field == "days":
        return turn.t("Which days do you work? Tap to switch a day on or off, then Done. "
                      "Or type them, e.g. Mon-Fri.")
    if field == "hours":
        return turn.t("What are your work hours? Pick one, or type yours, e.g. 9-17, "
                      "08:30-16:45, or 22:00-06:00 for a night shift.")
    if field == "breaks":
        return turn.t("How many stretch breaks a day? Four is a good start.")
    return turn.t("Where will you be when a break comes? I'll pick stretches that fit.")


def ask(turn: Turn, field: str, flow: Flow, intro: str = "",
        extra_rows: tuple[list[Button], ...] = (), edit: bool = False) -> Answer:
    """The question for one setting, with its buttons (and `intro` before it); `edit`
    replaces the message whose button was pressed (a day switched on or off)."""
    text = question(turn, field)
    if intro:
        text = f"{intro}\n{text}"
    rows: list[list[Button]]
    if field == "tz":
        if flow == "set":
            text += "\n" + turn.t("(/cancel keeps the one you have.)")
        return Answer().say(text, location_button=turn.t("📍 Share my location"))
    if field == "days":
        rows = _day_rows(turn, flow, draft_days(turn))
    elif field == "hours":
        rows = [[Button(format_hours(hours), choice(flow, "hours", key))
                 for key, hours in HOUR_PRESETS.items()]]
    elif field == "breaks":
        rows = [[Button(str(n), choice(flow, "breaks", str(n))) for n in range(1, 5)],
                [Button(str(n), choice(flow, "breaks", str(n)))
                 for n in range(5, MAX_BREAKS_PER_DAY + 1)]]
    else:
        rows = [[Button(turn.t(PLACE_LABELS[place]), choice(flow, "place", place))]
                for place in PLACES]
    rows.extend(extra_rows)
    if flow == "set":
        rows.append([Button(turn.t("Cancel"), SettingsChoice("cancel"))])
    return Answer().say(text, *rows, edit=edit)


def hours_refusal(turn: Turn, code: str) -> str:
    if code == "same_start_end":
        return turn.t("Your start and end are the same time, so there's no window to fit "
                      "breaks into. Type two different times, e.g. 9-17.")
    if code == "too_short":
        return turn.t("That window is under an hour; breaks need at least one hour to be "
                      "spread over. Try e.g. 9-17.")
    return turn.t("I couldn't read those hours. Type them like 9-17, 09:00-17:30, "
                  "8.30 to 16.45, or 22:00-06:00 for a night shift.")


# --- taking answers ---------------------------------------------------------------------------


def _store_zone(turn: Turn, zone: str, is_offset: bool, place: str | None = None) -> Stored:
    turn.user.time_zone = zone
    text = turn.t("Time zone: {zone}.", zone=zone_now(turn))
    if place:
        text = turn.t("Found {place}. ", place=place) + text
    text += " " + turn.t("If that time is wrong, you can change the zone.")
    if is_offset:
        text += "\n" + turn.t("Note: a fixed offset doesn't follow daylight-saving changes, "
                              "so your breaks would drift by an hour when the clocks change. "
                              "Type your city or share your location to avoid that.")
    return Stored(text, remove_keyboard=True)


def _store_hours(turn: Turn, hours: WorkHours) -> Stored:
    turn.user.work_start, turn.user.work_end = hours.start, hours.end
    text = turn.t("Work hours: {hours}.", hours=format_hours(hours))
    if hours.crosses_midnight:
        text += " " + turn.t("Your shift runs past midnight; it counts for the day it starts.")
    return Stored(text)


def _store_days(turn: Turn, mask: int) -> Stored:
    turn.user.work_days = mask
    turn.user.draft = {key: value for key, value in turn.user.draft.items() if key != "days"}
    return Stored(turn.t("Work days: {days}.", days=format_days(turn, mask)))


def _store_breaks(turn: Turn, count: int) -> Stored:
    turn.user.breaks_per_day = count
    if count == 1:  # a sentence of its own, as "1 minute": Spanish says "1 pausa" too
        return Stored(turn.t("1 break a day. On a work day it falls at {times}.",
                             times=break_times_text(turn)))
    return Stored(turn.t("{count} breaks a day. On a work day they fall at {times}.",
                         count=count, times=break_times_text(turn)))


def _store_place(turn: Turn, place: str) -> Stored:
    turn.user.place = place
    return Stored(turn.t("Where: {place}.", place=turn.t(PLACE_LABELS[place])))


def _fits(button: SetupChoice | SettingsChoice) -> bool:
    try:
        button.pack()
    except ValueError:  # a zone name too long for callback data
        return False
    return True


def _zone_choices(turn: Turn, flow: Flow, found: ZoneChoices) -> Answer:
    rows = [[Button(option.label, choice(flow, "tz", option.zone))]
            for option in found.options if _fits(choice(flow, "tz", option.zone))]
    return Answer().say(
        turn.t("There are several places with that name. Which one is yours? Or type the "
               "city with its country, e.g. Portland, US."), *rows)


async def take_text(turn: Turn, field: str, flow: Flow) -> Stored | Answer:
    """A typed answer (or a shared location) to the question for `field`."""
    text = turn.text
    if turn.latitude is not None and turn.longitude is not None:
        if field != "tz":
            return Answer().say(turn.t("A location only helps with the time zone."))
        zone = await turn.services.places.zone_at(turn.latitude, turn.longitude)
        if zone is None:
            return Answer().say(turn.t("I couldn't place that location. Type your city "
                                       "instead, e.g. Madrid."))
        return _store_zone(turn, zone, is_offset=False)
    if not text.strip():
        return Answer().say(turn.t("I need a typed answer or a button here."))
    if field == "tz":
        found = await turn.services.places.time_zone(text)
        if isinstance(found, ZoneFound):
            return _store_zone(turn, found.zone, found.is_offset, found.place)
        if isinstance(found, ZoneChoices):
            return _zone_choices(turn, flow, found)
        return Answer().say(turn.t("I don't know that place or zone. Type a city like "
                                   "Madrid or São Paulo, a zone like Europe/Berlin, an "
                                   "offset like UTC+2, or share your location."))
    if field == "days":
        mask = parse_work_days(text)
        if mask is None:
            return Answer().say(turn.t("I couldn't read those days. Type them like Mon-Fri, "
                                       "Mon, Wed, Fri or every day, or use the buttons "
                                       "above."))
        return _store_days(turn, mask)
    if field == "hours":
        hours = parse_work_hours(text)
        if isinstance(hours, HoursRefused):
            return Answer().say(hours_refusal(turn, hours.code))
        return _store_hours(turn, hours)
    if field == "breaks":
        count = parse_breaks_per_day(text)
        if count is None:
            return Answer().say(turn.t("Type a number of breaks from 1 to 8, e.g. 4."))
        return _store_breaks(turn, count)
    place = parse_place(text)
    if place is None:
        return Answer().say(turn.t("Type 1 (desk only), 2 (desk with a band) or 3 (floor "
                                   "space), or use the buttons above."))
    return _store_place(turn, place)


def take_button(turn: Turn, field: str, value: str) -> Stored | Toggled | Answer:
    """A pressed answer button ("tz", "day", "days", "hours", "breaks", "place"); its value
    was checked when its callback data was read (bot.domain.callbacks)."""
    if field == "tz":
        return _store_zone(turn, value, is_offset=value.startswith(("UTC+", "UTC-")))
    if field == "day":
        mask = draft_days(turn) ^ (1 << int(value))
        if not mask:
            return Answer(toast=turn.t("At least one work day is needed."))
        turn.user.draft = {**turn.user.draft, "days": mask}
        return TOGGLED
    if field == "days":
        return _store_days(turn, draft_days(turn))
    if field == "hours":
        return _store_hours(turn, HOUR_PRESETS[value])
    if field == "breaks":
        return _store_breaks(turn, int(value))
    return _store_place(turn, value)
