"""Pure parsers for what users type: work hours, clock times, breaks per day, ratings, zones.

Each parser takes the raw message text and returns a small frozen value; it never raises,
whatever the text (empty, emoji, RTL marks, 10 000 characters). A refusal carries a short
machine-readable `code` that the bot turns into a translated sentence::

    hours = parse_work_hours(text)
    if isinstance(hours, HoursRefused):
        reply(t(f"hours.{hours.code}"))   # "unclear" | "same_start_end" | "too_short"
    else:
        store(hours.start, hours.end)     # confirm with format_hours(hours)

Time-zone parsing lives in `bot.domain.zones` and is re-exported here, so callers need only this
module. Digits in any script and typographic dashes are accepted; the words understood
("to", "pain", "four", "am"...) are English.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import time
from typing import Final, Literal

from bot.domain.content import PLACES
from bot.domain.zones import (
    ZoneChoices,
    ZoneFound,
    ZoneOption,
    ZoneResult,
    ZoneUnknown,
    clean_input,
    local_time_in,
    parse_time_zone,
    preload,
    tzinfo_for,
    zone_from_location,
)

__all__ = [
    "HoursRefused",
    "Ratings",
    "RatingsRefused",
    "WorkHours",
    "ZoneChoices",
    "ZoneFound",
    "ZoneOption",
    "ZoneResult",
    "ZoneUnknown",
    "clean_input",
    "format_hours",
    "local_time_in",
    "parse_breaks_per_day",
    "parse_ratings",
    "parse_single_rating",
    "parse_time_of_day",
    "parse_time_zone",
    "parse_work_hours",
    "preload",
    "tzinfo_for",
    "zone_from_location",
]

# Nothing we parse is longer than this; longer text is refused before any regex runs.
_MAX_INPUT = 200
_DAY = 24 * 60
MIN_WORK_MINUTES = 60
# Punctuation people leave around an answer: "9-17.", "“4”", "(3 5)".
_EDGES = " .,;:!?¿¡\"'«»“”‘’()[]{}<>*_`"


def _prepare(text: str) -> str | None:
    if len(text) > _MAX_INPUT:
        return None
    return clean_input(text).strip(_EDGES) or None


def _small_int(digits: str) -> int:
    """int() for a digit string, capped so absurd lengths cannot hit int-conversion limits."""
    sign = -1 if digits.startswith("-") else 1
    digits = digits.lstrip("+-").lstrip("0") or "0"
    return sign * (10**6 if len(digits) > 6 else int(digits))


# ---------------------------------------------------------------------------------------------
# Clock times


def _clock_pattern(tag: str) -> str:
    """A clock time with groups suffixed by `tag` (a range needs two in one pattern)."""
    return (
        rf"(?:(?P<word{tag}>noon|midday|midnight)"
        rf"|(?:(?P<c{tag}>\d{{3,4}})h?"  # "0930", "1700h"
        rf"|(?P<h{tag}>\d{{1,2}})(?:[:.h](?P<m{tag}>\d\d)|h)?)"  # "9", "9:30", "9.30", "17h"
        rf"(?:\s*(?P<ap{tag}>[ap])\.?\s?m\b\.?)?)"  # "am", " p.m."
    )


@dataclass(frozen=True)
class _Clock:
    hour: int  # as written: 1-12 with a suffix, 0-24 without
    minute: int
    suffix: str | None  # "a", "p" or None
    padded: bool  # written with a leading zero ("05:00"): clearly a 24-hour time
    short: bool  # a one-digit hour or no minutes ("5", "5:30", "10"), as on a 12-hour clock

    def readings(self, allow_24: bool) -> list[int]:
        """Minutes after midnight this could mean on its own; empty when impossible."""
        if self.minute > 59:
            return []
        if self.suffix is not None:
            if not 1 <= self.hour <= 12:
                return []
            hour = self.hour % 12 + (12 if self.suffix == "p" else 0)
            return [hour * 60 + self.minute]
        if self.hour == 24 and self.minute == 0 and allow_24:
            return [_DAY]
        if self.hour > 23:
            return []
        return [self.hour * 60 + self.minute]

    def either_half(self) -> list[int]:
        """Both am and pm readings of a bare "1".."12", for a range where the other end says."""
        if self.suffix is not None or self.padded or not 1 <= self.hour <= 12:
            return []
        if self.minute > 59:
            return []
        base = self.hour % 12 * 60 + self.minute
        return [base, base + 12 * 60]


def _clock_from(match: re.Match[str], tag: str) -> _Clock:
    word = match[f"word{tag}"]
    if word:
        return _Clock(0 if word == "midnight" else 12, 0, None, True, False)
    compact = match[f"c{tag}"]
    if compact:
        hour, minute = _small_int(compact[:-2]), _small_int(compact[-2:])
        padded, short = compact.startswith("0"), False
    else:
        hours_text, minutes_text = match[f"h{tag}"], match[f"m{tag}"]
        hour, minute = _small_int(hours_text), _small_int(minutes_text or "0")
        padded = hours_text.startswith("0") and len(hours_text) == 2
        short = len(hours_text) == 1 or minutes_text is None
    return _Clock(hour, minute, match[f"ap{tag}"], padded, short)


def _as_time(minutes: int) -> time:
    return time(minutes // 60 % 24, minutes % 60)


_CLOCK = re.compile(_clock_pattern(""), re.ASCII)


def parse_time_of_day(text: str) -> time | None:
    """A clock time: "9", "09:30", "9.30", "9am", "5:30 pm", "17h", "0930", "noon"."""
    cleaned = _prepare(text)
    match = _CLOCK.fullmatch(cleaned) if cleaned else None
    if match is None:
        return None
    readings = _clock_from(match, "").readings(allow_24=False)
    return _as_time(readings[0]) if readings else None


# ---------------------------------------------------------------------------------------------
# Work hours


@dataclass(frozen=True)
class WorkHours:
    """Daily work window, minute precision; `end` before `start` means it runs past midnight.

    An `end` of 00:00 means "until midnight" (typed as "24:00" or "midnight").
    """

    start: time
    end: time

    @property
    def crosses_midnight(self) -> bool:
        return self.end < self.start

    @property
    def length_minutes(self) -> int:
        start = self.start.hour * 60 + self.start.minute
        end = self.end.hour * 60 + self.end.minute
        return (end - start) % _DAY


# The work hours offered as buttons (callback value -> hours).
HOUR_PRESETS: Final = {
    "0800-1600": WorkHours(time(8), time(16)),
    "0900-1700": WorkHours(time(9), time(17)),
    "1000-1800": WorkHours(time(10), time(18)),
}


@dataclass(frozen=True)
class HoursRefused:
    code: Literal["unclear", "same_start_end", "too_short"]


_RANGE = re.compile(
    rf"(?:(?:from|between|de|desde|entre)\s+)?{_clock_pattern('1')}"
    r"\s*(?:-|~|\.\.\.?|->|→|>|to|till?|until|and|a|hasta|y)\s*"
    rf"{_clock_pattern('2')}",
    re.ASCII,
)


def parse_work_hours(text: str) -> WorkHours | HoursRefused:
    """Work hours as typed: "9-17", "09:00–17:30", "8.30 to 16.45", "22:00-06:00", "9am-5pm",
    "9 am to 5:30 pm", "0900-1700", "9h-17h". Refusal codes: "unclear", "same_start_end",
    "too_short" (under an hour, counted across midnight).

    Where a bare hour could be morning or afternoon ("9-5pm", "9am-5", "9-5") the reading
    with the shortest window wins: 09:00–17:00. Zero-padded hours ("09:00-05:00"), two-digit
    hours with minutes ("10:00") and hours over 12 are taken as 24-hour times, so everything
    format_hours writes reads back unchanged.
    """
    cleaned = _prepare(text)
    match = _RANGE.fullmatch(cleaned) if cleaned else None
    if match is None:
        return HoursRefused("unclear")
    first, second = _clock_from(match, "1"), _clock_from(match, "2")
    starts = first.readings(allow_24=False)
    ends = second.readings(allow_24=True)
    if not starts or not ends:
        return HoursRefused("unclear")
    if first.suffix is None and second.suffix is not None:
        starts = first.either_half() or starts
    elif second.suffix is None and first.suffix is not None:
        ends = second.either_half() or ends
    elif first.suffix is None and first.hour <= 12 and second.short and ends[0] < starts[0]:
        # "9-5", "8:30-5:30": an office day on a 12-hour clock, not a 20-hour night.
        ends = ends + second.either_half()[1:]
    windows = [(start, end, (end - start) % _DAY) for start in starts for end in ends]
    positive = [window for window in windows if window[2] > 0]
    if not positive:
        return HoursRefused("same_start_end")
    start, end, length = min(positive, key=lambda window: window[2])
    if length < MIN_WORK_MINUTES:
        return HoursRefused("too_short")
    return WorkHours(start=_as_time(start), end=_as_time(end))


def format_hours(hours: WorkHours) -> str:
    """ "09:00–17:00" (en dash); parse_work_hours reads it back to the same value."""
    return f"{hours.start:%H:%M}–{hours.end:%H:%M}"


# ---------------------------------------------------------------------------------------------
# Breaks per day

MIN_BREAKS, MAX_BREAKS = 1, 8
_NUMBER_WORDS = {
    "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
}  # fmt: skip
_BREAKS = re.compile(
    r"(?P<n>\d+|[a-z]+)(?:\s*(?:x|times|breaks?))?(?:\s*(?:a|per|/)\s*day)?", re.ASCII
)


def parse_breaks_per_day(text: str) -> int | None:
    """How many breaks a day: "4", " 6 ", "four", "5 breaks", "3 a day"; 1-8, else None."""
    cleaned = _prepare(text)
    match = _BREAKS.fullmatch(cleaned) if cleaned else None
    if match is None:
        return None
    word = match["n"]
    count = _small_int(word) if word.isdigit() else _NUMBER_WORDS.get(word)
    if count is None or not MIN_BREAKS <= count <= MAX_BREAKS:
        return None
    return count


# ---------------------------------------------------------------------------------------------
# Ratings

MAX_RATING = 10


@dataclass(frozen=True)
class Ratings:
    pain: int  # 0-10
    stiffness: int  # 0-10


@dataclass(frozen=True)
class RatingsRefused:
    code: Literal["unclear", "out_of_range"]


_NUM = r"[+-]?\d+"
_OF_TEN = r"(?:\s*/\s*10)?"  # "3/10"
# English and Spanish labels: "pain"/"dolor" (p, d) and "stiffness"/"rigidez" (s, r).
_LABEL = (r"(?P<{}>p(?:ain)?|s(?:tiff[a-z]*)?|d(?:olor)?|r(?:igidez)?)\s*[:=]?\s*(?P<{}>"
          + _NUM + ")" + _OF_TEN)
_LABELLED = re.compile(
    _LABEL.format("l1", "n1") + r"\s*(?:[,;/&]|and|y)?\s*" + _LABEL.format("l2", "n2"), re.ASCII
)
_LABEL_MEANS = {"p": "p", "d": "p", "s": "s", "r": "s"}
# Two bare numbers need a separator, so "35" is not read as 3 and 5.
_BARE = re.compile(rf"(?P<n1>{_NUM})(?:\s*[,;/&]\s*|\s+(?:and|y)\s+|\s+)(?P<n2>{_NUM})",
                   re.ASCII)
_SINGLE = re.compile(rf"(?P<n>{_NUM}){_OF_TEN}", re.ASCII)


def parse_ratings(text: str) -> Ratings | RatingsRefused:
    """Pain and stiffness, 0-10 each: "3 5", "3,5", "3/5" (pain first), or labelled in any
    order: "pain 3 stiffness 5", "stiffness 5, pain 3", "p3 s5", "P: 3 S: 5", "pain=3 stiff=5".
    Refusal codes: "out_of_range", "unclear" (one number, three, decimals, words only).
    """
    cleaned = _prepare(text)
    if cleaned is None:
        return RatingsRefused("unclear")
    if match := _LABELLED.fullmatch(cleaned):
        labels = (_LABEL_MEANS[match["l1"][0]], _LABEL_MEANS[match["l2"][0]])
        if set(labels) != {"p", "s"}:
            return RatingsRefused("unclear")
        values = dict(zip(labels, (_small_int(match["n1"]), _small_int(match["n2"])), strict=True))
        pain, stiffness = values["p"], values["s"]
    elif match := _BARE.fullmatch(cleaned):
        pain, stiffness = _small_int(match["n1"]), _small_int(match["n2"])
    else:
        return RatingsRefused("unclear")
    if not (0 <= pain <= MAX_RATING and 0 <= stiffness <= MAX_RATING):
        return RatingsRefused("out_of_range")
    return Ratings(pain=pain, stiffness=stiffness)


def parse_single_rating(text: str) -> int | None:
    """One rating, 0-10: "7", " 7 ", "7/10"; anything else is None."""
    cleaned = _prepare(text)
    match = _SINGLE.fullmatch(cleaned) if cleaned else None
    if match is None:
        return None
    value = _small_int(match["n"])
    return value if 0 <= value <= MAX_RATING else None


# Work days and where the break happens

_DAY_NAMES = {
    "mon": 0, "monday": 0, "tue": 1, "tues": 1, "tuesday": 1, "wed": 2, "weds": 2,
    "wednesday": 2, "thu": 3, "thur": 3, "thurs": 3, "thursday": 3, "fri": 4, "friday": 4,
    "sat": 5, "saturday": 5, "sun": 6, "sunday": 6,
    "lun": 0, "lunes": 0, "mar": 1, "martes": 1, "mié": 2, "mie": 2, "miércoles": 2,
    "miercoles": 2, "jue": 3, "jueves": 3, "vie": 4, "viernes": 4, "sáb": 5, "sab": 5,
    "sábado": 5, "sabado": 5, "dom": 6, "domingo": 6,
}  # fmt: skip
_DAY_SETS = {
    "weekdays": 0b0011111, "weekday": 0b0011111, "weekends": 0b1100000, "weekend": 0b1100000,
    "everyday": 0b1111111, "daily": 0b1111111, "all": 0b1111111,
}  # fmt: skip
_RANGE_WORDS = re.compile(r"\s*-\s*|\s+(?:to|through|thru|till|until|a|hasta)\s+")
_DAY_SEPARATORS = re.compile(r"(?:[\s,;/&+]|\b(?:and|y)\b)+")


def parse_work_days(text: str) -> int | None:
    """Work days as typed ("mon-fri", "Mon, Wed, Fri", "weekdays", "every day", "fri to mon")
    as a bitmask (bit d = weekday d, 0 = Monday); None when unclear or empty. Never raises."""
    if len(text) > 200:
        return None
    cleaned = clean_input(text).strip(" .!?")
    cleaned = re.sub(r"\b(?:every\s*day|all\s*days|all\s*week|todos\s+los\s+d[ií]as|"
                     r"a\s+diario)(?!\w)", "everyday", cleaned)
    cleaned = re.sub(r"\b(?:entre\s+semana|laborables|d[ií]as\s+laborables)(?!\w)", "weekdays",
                     cleaned)
    cleaned = _RANGE_WORDS.sub("-", cleaned)
    mask = 0
    for token in _DAY_SEPARATORS.split(cleaned):
        if not token:
            continue
        first, dash, last = token.partition("-")
        if token in _DAY_SETS:
            mask |= _DAY_SETS[token]
        elif dash and first in _DAY_NAMES and last in _DAY_NAMES:
            day, end = _DAY_NAMES[first], _DAY_NAMES[last]
            mask |= 1 << day
            while day != end:  # "fri-mon" wraps over the weekend
                day = (day + 1) % 7
                mask |= 1 << day
        elif token in _DAY_NAMES:
            mask |= 1 << _DAY_NAMES[token]
        else:
            return None
    return mask or None


def parse_place(text: str) -> str | None:
    """"desk", "band" or "floor" from "1"/"2"/"3" or the words of the choices; else None."""
    cleaned = clean_input(text[:200]).strip(" .!?")
    if cleaned in ("1", "2", "3"):
        return PLACES[int(cleaned) - 1]
    words = set(re.findall(r"[a-z]+", cleaned))
    # The most equipped place named wins: "desk with a band" is "band".
    if words & {"floor", "kettlebell", "mat"}:
        return "floor"
    if words & {"band", "anchor"}:
        return "band"
    if words & {"desk", "chair", "office"}:
        return "desk"
    return None
