"""Times as the user reads them: in their own zone, 24-hour clock."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from babel.dates import format_skeleton

from bot.domain.i18n import N_, _
from bot.domain.zones import local_time_in

WEEKDAYS = (N_("Mon"), N_("Tue"), N_("Wed"), N_("Thu"), N_("Fri"), N_("Sat"), N_("Sun"))


class Reader(Protocol):
    """Whoever reads the time: a user, with their zone and language."""

    @property
    def time_zone(self) -> str | None: ...

    @property
    def language(self) -> str: ...


def local_time(at: datetime, user: Reader) -> str:
    return local_time_in(user.time_zone or "UTC", at).strftime("%H:%M")


def local_day_and_time(at: datetime, user: Reader, now: datetime) -> str:
    """"today at 10:00", "tomorrow at 09:30" or "Mon 30 Nov at 10:00"."""
    zone = user.time_zone or "UTC"
    local, today = local_time_in(zone, at), local_time_in(zone, now).date()
    clock = local.strftime("%H:%M")
    days = (local.date() - today).days
    if days == 0:
        return _("today at {time}", user.language, time=clock)
    if days == 1:
        return _("tomorrow at {time}", user.language, time=clock)
    day = _(WEEKDAYS[local.weekday()], user.language)
    return _("{day} {date} at {time}", user.language, day=day,
             date=format_skeleton("dMMM", local.date(), locale=_date_locale(user.language)),
             time=clock)


def _date_locale(language: str) -> str:
    # The bot's English writes the day first ("Mon 30 Nov"), as British English does.
    return "en_GB" if language == "en" else language
