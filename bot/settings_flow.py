"""Each setting's question and answer, shared by onboarding and /settings, and /settings itself.

A setting ("tz", "days", "hours", "breaks", "place") is asked with `ask(turn, field, flow)`,
where `flow` is the callback-data prefix of the conversation asking it: "ob" (onboarding) or
"set" (/settings). The user answers by typing (`take_text`) or with a button
(`take_button`); both return `Stored` once the value is valid and written to the user row,
or an `Answer` that refuses with the reason and keeps the user on the step.

Callback data of /settings ("set:…"):
  set:edit:<field>           change one setting (<field> as above, or "lang")
  set:cancel                 leave the setting as it was
  set:tz:<IANA zone>         a city picked among several of that name
  set:day:<0-6>              toggle a work day (kept in user.draft until "Done")
  set:days:ok                store the toggled days
  set:hours:<HHMM>-<HHMM>    a preset, one of HOUR_PRESETS
  set:breaks:<1-8>
  set:place:<desk|band|floor>
Onboarding uses the same value buttons with the prefix "ob".
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import time, timedelta

from bot import reminders
from bot.content import PLACES
from bot.i18n import N_
from bot.parsing import (
    HoursRefused,
    WorkHours,
    ZoneChoices,
    ZoneFound,
    format_hours,
    parse_breaks_per_day,
    parse_place,
    parse_time_zone,
    parse_work_days,
    parse_work_hours,
    zone_from_location,
)
from bot.replies import Answer, Button
from bot.schedule import MAX_BREAKS_PER_DAY, break_times, is_paused
from bot.timefmt import WEEKDAYS
from bot.turn import Turn
from bot.zones import local_time_in, tzinfo_for

FIELDS = ("tz", "days", "hours", "breaks", "place")
ALL_DAYS = 0b1111111
HOUR_PRESETS = {
    "0800-1600": WorkHours(time(8), time(16)),
    "0900-1700": WorkHours(time(9), time(17)),
    "1000-1800": WorkHours(time(10), time(18)),
}
PLACE_LABELS = {
    "desk": N_("At my desk, no equipment"),
    "band": N_("At my desk, with a band and an anchor point"),
    "floor": N_("Floor space, with a band and a kettlebell"),
}
MAX_CALLBACK_BYTES = 64


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
    prefs = dataclasses.replace(reminders.preferences(turn.user), paused_until=None)
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


def _day_rows(turn: Turn, flow: str, mask: int) -> list[list[Button]]:
    def toggle(day: int) -> Button:
        mark = "✅" if mask >> day & 1 else "▫️"
        return Button(f"{mark} {turn.t(WEEKDAYS[day])}", f"{flow}:day:{day}")

    return [[toggle(day) for day in range(4)], [toggle(day) for day in range(4, 7)],
            [Button(turn.t("Done"), f"{flow}:days:ok")]]


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


def ask(turn: Turn, field: str, flow: str, intro: str = "",
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
        rows = [[Button(format_hours(hours), f"{flow}:hours:{key}")
                 for key, hours in HOUR_PRESETS.items()]]
    elif field == "breaks":
        rows = [[Button(str(n), f"{flow}:breaks:{n}") for n in range(1, 5)],
                [Button(str(n), f"{flow}:breaks:{n}") for n in range(5, MAX_BREAKS_PER_DAY + 1)]]
    else:
        rows = [[Button(turn.t(PLACE_LABELS[place]), f"{flow}:place:{place}")]
                for place in PLACES]
    rows.extend(extra_rows)
    if flow == "set":
        rows.append([Button(turn.t("Cancel"), "set:cancel")])
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
    return Stored(turn.t("{count} breaks a day. On a work day they fall at {times}.",
                         count=count, times=break_times_text(turn)))


def _store_place(turn: Turn, place: str) -> Stored:
    turn.user.place = place
    return Stored(turn.t("Where: {place}.", place=turn.t(PLACE_LABELS[place])))


def _zone_choices(turn: Turn, flow: str, found: ZoneChoices) -> Answer:
    rows = [[Button(option.label, f"{flow}:tz:{option.zone}")]
            for option in found.options
            if len(f"{flow}:tz:{option.zone}".encode()) <= MAX_CALLBACK_BYTES]
    return Answer().say(
        turn.t("There are several places with that name. Which one is yours? Or type the "
               "city with its country, e.g. Portland, US."), *rows)


async def take_text(turn: Turn, field: str, flow: str) -> Stored | Answer:
    """A typed answer (or a shared location) to the question for `field`."""
    text = turn.text
    if turn.latitude is not None and turn.longitude is not None:
        if field != "tz":
            return Answer().say(turn.t("A location only helps with the time zone."))
        zone = zone_from_location(turn.latitude, turn.longitude)
        if zone is None:
            return Answer().say(turn.t("I couldn't place that location. Type your city "
                                       "instead, e.g. Madrid."))
        return _store_zone(turn, zone, is_offset=False)
    if not text.strip():
        return Answer().say(turn.t("I need a typed answer or a button here."))
    if field == "tz":
        found = parse_time_zone(text)
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


def _valid_zone(zone: str) -> bool:
    try:
        tzinfo_for(zone)
    except KeyError:
        return False
    return True


async def take_button(
    turn: Turn, field: str, value: str, flow: str
) -> Stored | Toggled | Answer | None:
    """A pressed value button ("day", "days", "tz", "hours", "breaks", "place").

    None means the value is not one the bot offers (forged or from an old version): the
    caller refuses it and changes nothing.
    """
    if field == "tz" and _valid_zone(value):
        return _store_zone(turn, value, is_offset=value.startswith("UTC+") or
                           value.startswith("UTC-"))
    if field == "day" and value in ("0", "1", "2", "3", "4", "5", "6"):
        mask = draft_days(turn) ^ (1 << int(value))
        if not mask:
            return Answer(toast=turn.t("At least one work day is needed."))
        turn.user.draft = {**turn.user.draft, "days": mask}
        return TOGGLED
    if field == "days" and value == "ok":
        return _store_days(turn, draft_days(turn))
    if field == "hours" and value in HOUR_PRESETS:
        return _store_hours(turn, HOUR_PRESETS[value])
    if field == "breaks" and value in {str(n) for n in range(1, MAX_BREAKS_PER_DAY + 1)}:
        return _store_breaks(turn, int(value))
    if field == "place" and value in PLACES:
        return _store_place(turn, value)
    return None


# --- /settings --------------------------------------------------------------------------------


async def overview(turn: Turn) -> Answer:
    """The current values, each with a button to change just that one."""
    user = turn.user
    lines = describe(turn)
    lines.append(turn.t("Language: English (more languages are coming)"))
    if is_paused(reminders.preferences(user), turn.now):
        lines.append(turn.t("Reminders: paused (/resume turns them back on)"))
    lines.append(await reminders.describe_next(turn))
    return Answer().say(
        turn.t("Your settings:") + "\n" + "\n".join(lines),
        [Button(turn.t("Time zone"), "set:edit:tz"), Button(turn.t("Work days"), "set:edit:days")],
        [Button(turn.t("Work hours"), "set:edit:hours"),
         Button(turn.t("Breaks per day"), "set:edit:breaks")],
        [Button(turn.t("Where"), "set:edit:place"), Button(turn.t("Language"), "set:edit:lang")],
    )


async def settings(turn: Turn) -> Answer:
    from bot import onboarding  # onboarding builds on this module

    if turn.user.onboarded_at is None:
        return await onboarding.finish_first(turn)
    # /settings again starts over: a half-made change is dropped, nothing stored changes.
    turn.user.step, turn.user.draft = None, {}
    return await overview(turn)


async def _changed(turn: Turn, stored: Stored, edit: bool) -> Answer:
    """A setting was stored: plan the next break with it at once and say when it is."""
    turn.user.step, turn.user.draft = None, {}
    await reminders.reschedule(turn)
    text = f"{stored.text}\n{await reminders.describe_next(turn)}\n" + turn.t(
        "/settings changes something else.")
    if stored.remove_keyboard:
        return Answer().say(text, remove_keyboard=True)
    return Answer().say(text, edit=edit)


async def on_step(turn: Turn) -> Answer:
    field = (turn.user.step or "").partition(":")[2]
    if field not in FIELDS:
        turn.user.step = None
        return await overview(turn)
    result = await take_text(turn, field, "set")
    if isinstance(result, Stored):
        return await _changed(turn, result, edit=False)
    return result


def _stale(turn: Turn) -> Answer:
    return Answer(toast=turn.t("That button is no longer active.")).say(
        turn.t("That button belongs to an older message. /settings shows your settings."))


async def on_button(turn: Turn) -> Answer:
    from bot import onboarding

    if turn.user.onboarded_at is None:
        return await onboarding.finish_first(turn)
    action, _sep, value = turn.text.partition(":")
    step = turn.user.step or ""
    step_field = step[4:] if step.startswith("set:") else None
    if action == "cancel":
        if step_field is None:
            return Answer(toast=turn.t("Nothing to cancel."))
        turn.user.step, turn.user.draft = None, {}
        return Answer().say(turn.t("Cancelled; nothing was changed."), edit=True)
    if action == "edit":
        if value == "lang":
            return Answer().say(turn.t("I speak English only for now; more languages are "
                                       "coming. /settings shows your settings."))
        if value not in FIELDS:
            return _stale(turn)
        turn.user.step, turn.user.draft = f"set:{value}", {}
        return ask(turn, value, "set")
    group = "days" if action == "day" else action
    if step_field is None or group != step_field:
        return _stale(turn)
    result = await take_button(turn, action, value, "set")
    if result is None:
        return joined(Answer(toast=turn.t("That choice isn't available.")),
                      ask(turn, step_field, "set"))
    if isinstance(result, Stored):
        return await _changed(turn, result, edit=True)
    if isinstance(result, Toggled):
        return ask(turn, "days", "set", edit=True)
    return result


COMMANDS = {"settings": settings}
BUTTONS = {"set": on_button}
STEPS = {"set": on_step}
