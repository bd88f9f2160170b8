"""What a button carries back when it is pressed: one small type per button kind.

    Button(label, ReminderChoice(brk.id, "snooze"))    # packs to "b:42:snooze"
    tap = unpack(query.data)                           # a ReminderChoice, or None if forged

`unpack` is the one place callback data is read and validated: the prefix names the kind,
every field must match its pattern, numbers are ASCII digits in range, choices come from a
closed list. Anything else (forged, truncated, from an old version of the bot) is None, and
the router answers it like any stale button. Ownership (is break 42 this user's?) needs the
database and is checked by `Turn.own`. The wire format is stable: buttons already sitting in
people's chats keep working across versions.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields
from typing import ClassVar, Final, Literal, get_args

from bot.domain.content import CONDITIONS, PLACES
from bot.domain.i18n import LANGUAGES
from bot.domain.parsing import HOUR_PRESETS
from bot.domain.schedule import MAX_BREAKS_PER_DAY, MIN_BREAKS_PER_DAY
from bot.domain.zones import is_known_zone

MAX_BYTES: Final = 64  # Telegram's limit for callback data
MAX_ID: Final = 2**31 - 1  # the id columns' range: a larger number names nothing
MAX_RATING: Final = 10
_NUMBER = r"(0|[1-9][0-9]{0,9})"  # ASCII only: "²".isdigit() is True and int() fails on it
_WORD = r"([a-z][a-z0-9_]{0,11})"  # content ids (see bot.domain.content)

# The settings asked in onboarding and changed in /settings, in the order they are asked.
SETTING_FIELDS: Final = ("tz", "days", "hours", "breaks", "place")

# Next, repeat, it hurts, other variant, continue, end, ready (start the hold).
BreakAction = Literal["n", "r", "h", "v", "c", "e", "g"]
# Start now, snooze, skip; "In a meeting" (meet) and its choices: 30 min, 1 h, until the
# next free slot, back to the reminder; "I moved already" (moved).
ReminderAction = Literal["go", "snooze", "skip", "meet", "m30", "m60", "free", "back", "moved"]
# The check-in after a stop for pain, and what "worse" (or /stretch the same day) offers.
CheckInAnswer = Literal["better", "same", "worse", "gentle", "rest"]
# The check-in after three reminders in a row skipped or missed: does the plan fit?
PlanFitAnswer = Literal["fewer", "times", "pause", "keep"]
PauseKind = Literal["today", "1d", "3d", "7d", "until_resumed", "off"]


def _in_range(low: int, high: int) -> Callable[[str], bool]:
    return lambda value: value.isascii() and value.isdecimal() and str(int(value)) == value \
        and low <= int(value) <= high


def _one_of(*values: str) -> Callable[[str], bool]:
    return lambda value: value in values


# The answer buttons of one setting, shared by onboarding ("ob") and /settings ("set").
_SETTING_VALUES: Mapping[str, Callable[[str], bool]] = {
    "tz": is_known_zone,  # a city picked among several of that name
    "day": _in_range(0, 6),  # switch one work day on or off
    "days": _one_of("ok"),  # the days switched so far are right
    "hours": _one_of(*HOUR_PRESETS),
    "breaks": _in_range(MIN_BREAKS_PER_DAY, MAX_BREAKS_PER_DAY),
    "place": _one_of(*PLACES),
}


@dataclass(frozen=True)
class CallbackData:
    """A button kind: `prefix`, then its fields joined by ":"."""

    prefix: ClassVar[str]
    pattern: ClassVar[re.Pattern[str]]  # the fields after "<prefix>:"

    def pack(self) -> str:
        values = (getattr(self, field.name) for field in fields(self))
        data = ":".join((self.prefix, *(str(value) for value in values if value is not None)))
        if len(data.encode()) > MAX_BYTES:
            raise ValueError(f"callback data over {MAX_BYTES} bytes: {data!r}")
        # A button whose press would be refused must not be made in the first place.
        if unpack(data) != self:
            raise ValueError(f"not a valid {type(self).__name__}: {data!r}")
        return data

    @classmethod
    def read(cls, match: re.Match[str]) -> CallbackData | None:
        """The button behind a match of `pattern`, or None if a field is out of range."""
        raise NotImplementedError


def _fields(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern, re.ASCII)


@dataclass(frozen=True)
class _OneWord(CallbackData):
    """A button that carries nothing but its kind: "<prefix>:<word>"."""

    word: ClassVar[str]

    def __init_subclass__(cls, **kwargs: object) -> None:
        super().__init_subclass__(**kwargs)
        cls.pattern = _fields(re.escape(cls.word))

    def pack(self) -> str:
        return f"{self.prefix}:{self.word}"

    @classmethod
    def read(cls, match: re.Match[str]) -> CallbackData:
        return cls()


@dataclass(frozen=True)
class Consent(_OneWord):
    """ "I agree" under the welcome note."""

    prefix = "c"
    word = "yes"


@dataclass(frozen=True)
class Erase(CallbackData):
    """The answer to "erase everything?"."""

    prefix = "del"
    pattern = _fields("(yes|no)")
    sure: bool

    def pack(self) -> str:
        return "del:yes" if self.sure else "del:no"

    @classmethod
    def read(cls, match: re.Match[str]) -> Erase:
        return cls(match[1] == "yes")


@dataclass(frozen=True)
class SetupChoice(CallbackData):
    """A button of onboarding: a setting's answer, or one of the steps' own buttons."""

    prefix = "ob"
    pattern = _fields(r"([a-z]+):([A-Za-z0-9_+\-/]{1,50})")
    field: str
    value: str

    VALUES: ClassVar[Mapping[str, Callable[[str], bool]]] = {
        **_SETTING_VALUES,
        "redo": _one_of("tz"),  # go back to the time zone, then return to this step
        "pain": _in_range(0, MAX_RATING),  # the baseline, first tap
        "stiff": _in_range(0, MAX_RATING),  # the baseline, second tap
        "assess": _one_of("later"),  # the self-check offered at the end, declined
    }

    @classmethod
    def read(cls, match: re.Match[str]) -> SetupChoice | None:
        check = cls.VALUES.get(match[1])
        return cls(match[1], match[2]) if check is not None and check(match[2]) else None


@dataclass(frozen=True)
class SettingsChoice(CallbackData):
    """A button of /settings: pick a setting to change, answer it, or cancel."""

    prefix = "set"
    pattern = _fields(r"([a-z]+)(?::([A-Za-z0-9_+\-/]{1,50}))?")
    field: str
    value: str | None = None

    VALUES: ClassVar[Mapping[str, Callable[[str], bool]]] = {
        **_SETTING_VALUES,
        "edit": _one_of(*SETTING_FIELDS, "lang", "hold"),
        "hold": _one_of("full", "short"),  # how long each side of a hold lasts
        "lang": _one_of(*LANGUAGES),
    }

    @classmethod
    def read(cls, match: re.Match[str]) -> SettingsChoice | None:
        field, value = match[1], match[2]
        if field == "cancel":
            return cls("cancel") if value is None else None
        check = cls.VALUES.get(field)
        return cls(field, value) if check is not None and value is not None \
            and check(value) else None


@dataclass(frozen=True)
class PauseChoice(CallbackData):
    """How long to pause reminders, or "off" to resume now."""

    prefix = "pz"
    pattern = _fields("(" + "|".join(get_args(PauseKind)) + ")")
    kind: PauseKind

    @classmethod
    def read(cls, match: re.Match[str]) -> PauseChoice:
        return cls(next(kind for kind in get_args(PauseKind) if kind == match[1]))


def _id(digits: str) -> int | None:
    number = int(digits)
    return number if 0 < number <= MAX_ID else None


@dataclass(frozen=True)
class ReminderChoice(CallbackData):
    """A break reminder's buttons: start now, snooze, in a meeting, I moved already, skip."""

    prefix = "b"
    pattern = _fields(rf"{_NUMBER}:(" + "|".join(get_args(ReminderAction)) + ")")
    break_id: int
    action: ReminderAction

    @classmethod
    def read(cls, match: re.Match[str]) -> ReminderChoice | None:
        break_id = _id(match[1])
        action = next(a for a in get_args(ReminderAction) if a == match[2])
        return cls(break_id, action) if break_id is not None else None

    def pack(self) -> str:
        # Every reminder has five of these: the fields checked as `read` would check them,
        # without packing and parsing each one again.
        if (type(self.break_id) is not int or not 0 < self.break_id <= MAX_ID
                or self.action not in _REMINDER_ACTIONS):
            raise ValueError(f"not a valid ReminderChoice: {self!r}")
        return f"b:{self.break_id}:{self.action}"


_REMINDER_ACTIONS: Final = frozenset(get_args(ReminderAction))


@dataclass(frozen=True)
class CheckIn(CallbackData):
    """ "How is the hip today?" after a stop for pain, and the choices that follow it. As a
    break's reminder it names the break: a tap can come before the message is recorded as
    sent, when the break does not know its message yet."""

    prefix = "ck"
    pattern = _fields("(" + "|".join(get_args(CheckInAnswer)) + f")(?::{_NUMBER})?")
    answer: CheckInAnswer
    break_id: int | None = None

    @classmethod
    def read(cls, match: re.Match[str]) -> CheckIn | None:
        answer = next(a for a in get_args(CheckInAnswer) if a == match[1])
        if match[2] is None:
            return cls(answer)
        break_id = _id(match[2])
        return cls(answer, break_id) if break_id is not None else None


@dataclass(frozen=True)
class StopPain(CallbackData):
    """The optional pain number after a stop for pain: 0-10, or skip."""

    prefix = "sp"
    pattern = _fields(rf"{_NUMBER}:(10|[0-9]|skip)")
    break_id: int
    pain: str

    @classmethod
    def read(cls, match: re.Match[str]) -> StopPain | None:
        break_id = _id(match[1])
        return cls(break_id, match[2]) if break_id is not None else None


@dataclass(frozen=True)
class PlanFit(CallbackData):
    """ "Does the plan fit?" after three reminders in a row skipped or missed."""

    prefix = "pf"
    pattern = _fields("(" + "|".join(get_args(PlanFitAnswer)) + ")")
    answer: PlanFitAnswer

    @classmethod
    def read(cls, match: re.Match[str]) -> PlanFit:
        return cls(next(a for a in get_args(PlanFitAnswer) if a == match[1]))


@dataclass(frozen=True)
class Screen(CallbackData):
    """The safety questions: `chosen` is the set of conditions ticked so far (bit i = the
    i-th of content.CONDITIONS), so the message needs no stored draft; `action` ticks one
    (its index), or is done / safe (go on with the safe positions) / pause / ask (again)."""

    prefix = "sc"
    pattern = _fields(r"(\d{1,2}):([0-9]|done|safe|pause|ask)")
    chosen: int
    action: str

    @classmethod
    def read(cls, match: re.Match[str]) -> Screen | None:
        chosen, action = int(match[1]), match[2]
        if chosen >= 1 << len(CONDITIONS) or (action.isdigit() and int(action) >= len(CONDITIONS)):
            return None
        return cls(chosen, action)


@dataclass(frozen=True)
class BreakControl(CallbackData):
    """A button inside a guided break, made for one position and attempt of it."""

    prefix = "s"
    pattern = _fields(rf"{_NUMBER}:{_NUMBER}:{_NUMBER}:([nrhvceg])")
    break_id: int
    index: int
    attempt: int
    action: BreakAction

    @classmethod
    def read(cls, match: re.Match[str]) -> BreakControl | None:
        break_id = _id(match[1])
        action = next(a for a in get_args(BreakAction) if a == match[4])
        return cls(break_id, int(match[2]), int(match[3]), action) \
            if break_id is not None else None


@dataclass(frozen=True)
class RatingTap(CallbackData):
    """A rating button: pain first, then the same message asks stiffness."""

    prefix = "r"
    pattern = _fields(rf"{_NUMBER}:{_NUMBER}(?::{_NUMBER})?")
    break_id: int
    pain: int
    stiffness: int | None = None  # None after the first tap

    @classmethod
    def read(cls, match: re.Match[str]) -> RatingTap | None:
        break_id, pain = _id(match[1]), int(match[2])
        stiffness = int(match[3]) if match[3] is not None else None
        if break_id is None or pain > MAX_RATING or (stiffness or 0) > MAX_RATING:
            return None
        return cls(break_id, pain, stiffness)


@dataclass(frozen=True)
class SelfCheckStart(_OneWord):
    """Start the hip self-check (offered after setup and every two weeks)."""

    prefix = "a"
    word = "start"


@dataclass(frozen=True)
class SelfCheckAnswer(CallbackData):
    """One answer of the self-check: which check, which question, which answer."""

    prefix = "a"
    pattern = _fields(rf"{_NUMBER}:{_WORD}:{_WORD}")
    assessment_id: int
    question: str
    answer: str

    @classmethod
    def read(cls, match: re.Match[str]) -> SelfCheckAnswer | None:
        assessment_id = _id(match[1])
        return cls(assessment_id, match[2], match[3]) if assessment_id is not None else None


@dataclass(frozen=True)
class ShowPictures(_OneWord):
    """ "What the positions look like" under /help: an album of the user's positions."""

    prefix = "p"
    word = "show"


class CalendarChoice(_OneWord):
    """ "Remove this calendar" under /calendar's status."""

    prefix = "cal"
    word = "rm"


@dataclass(frozen=True)
class GroupMove(CallbackData):
    """The answer to "move to the group of this new invitation link?"."""

    prefix = "g"
    pattern = _fields(rf"{_NUMBER}:(yes|no)")
    group_id: int
    move: bool

    def pack(self) -> str:
        data = f"g:{self.group_id}:{'yes' if self.move else 'no'}"
        if unpack(data) != self:
            raise ValueError(f"not a valid GroupMove: {data!r}")
        return data

    @classmethod
    def read(cls, match: re.Match[str]) -> GroupMove | None:
        group_id = _id(match[1])
        return cls(group_id, match[2] == "yes") if group_id is not None else None


KINDS: Final[tuple[type[CallbackData], ...]] = (
    Consent, Erase, SetupChoice, SettingsChoice, PauseChoice, ReminderChoice, CheckIn,
    StopPain, PlanFit, Screen, BreakControl,
    RatingTap, SelfCheckStart, SelfCheckAnswer, GroupMove, ShowPictures, CalendarChoice,
)
_BY_PREFIX: Final[dict[str, list[type[CallbackData]]]] = {}
for _kind in KINDS:
    _BY_PREFIX.setdefault(_kind.prefix, []).append(_kind)


def unpack(data: str | None) -> CallbackData | None:
    """The button behind callback data, or None for anything this bot did not make."""
    if not data or len(data.encode()) > MAX_BYTES:
        return None
    prefix, _sep, fields = data.partition(":")
    for kind in _BY_PREFIX.get(prefix, ()):
        match = kind.pattern.fullmatch(fields)
        if match is not None:
            return kind.read(match)
    return None
