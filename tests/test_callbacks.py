"""Callback data: every button kind packs and unpacks in one place, and nothing else gets in."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.domain.callbacks import (
    KINDS,
    MAX_BYTES,
    MAX_ID,
    BreakControl,
    CalendarChoice,
    CallbackData,
    CheckIn,
    Consent,
    Erase,
    GroupMove,
    PauseChoice,
    PlanFit,
    RatingTap,
    ReminderChoice,
    Screen,
    SelfCheckAnswer,
    SelfCheckStart,
    SettingsChoice,
    SetupChoice,
    ShowPictures,
    StopPain,
    unpack,
)

EXAMPLES: list[tuple[CallbackData, str]] = [
    (Consent(), "c:yes"),
    (Erase(sure=True), "del:yes"),
    (Erase(sure=False), "del:no"),
    (SetupChoice("tz", "America/Argentina/ComodRivadavia"),
     "ob:tz:America/Argentina/ComodRivadavia"),
    (SetupChoice("day", "6"), "ob:day:6"),
    (SetupChoice("days", "ok"), "ob:days:ok"),
    (SetupChoice("hours", "0900-1700"), "ob:hours:0900-1700"),
    (SetupChoice("breaks", "8"), "ob:breaks:8"),
    (SetupChoice("place", "floor"), "ob:place:floor"),
    (SetupChoice("redo", "tz"), "ob:redo:tz"),
    (SetupChoice("pain", "10"), "ob:pain:10"),
    (SetupChoice("stiff", "0"), "ob:stiff:0"),
    (SetupChoice("assess", "later"), "ob:assess:later"),
    (SettingsChoice("edit", "lang"), "set:edit:lang"),
    (SettingsChoice("cancel"), "set:cancel"),
    (SettingsChoice("tz", "Europe/Madrid"), "set:tz:Europe/Madrid"),
    (SettingsChoice("day", "0"), "set:day:0"),
    (PauseChoice("until_resumed"), "pz:until_resumed"),
    (PauseChoice("off"), "pz:off"),
    (ReminderChoice(MAX_ID, "snooze"), f"b:{MAX_ID}:snooze"),
    (ReminderChoice(7, "m60"), "b:7:m60"),
    (ReminderChoice(7, "moved"), "b:7:moved"),
    (CheckIn("worse"), "ck:worse"),
    (CheckIn("same", MAX_ID), f"ck:same:{MAX_ID}"),
    (PlanFit("fewer"), "pf:fewer"),
    (Screen(31, "done"), "sc:31:done"),
    (StopPain(42, "10"), "sp:42:10"),
    (StopPain(42, "skip"), "sp:42:skip"),
    (BreakControl(MAX_ID, 99, 999, "h"), f"s:{MAX_ID}:99:999:h"),
    (RatingTap(5, 3), "r:5:3"),
    (RatingTap(5, 3, 10), "r:5:3:10"),
    (SelfCheckStart(), "a:start"),
    (SelfCheckAnswer(MAX_ID, "abcdefghijkl", "mnopqrstuvwx"),
     f"a:{MAX_ID}:abcdefghijkl:mnopqrstuvwx"),
    (GroupMove(7, move=True), "g:7:yes"),
    (GroupMove(MAX_ID, move=False), f"g:{MAX_ID}:no"),
    (ShowPictures(), "p:show"),
    (CalendarChoice(), "cal:rm"),
]


@pytest.mark.parametrize(("button", "data"), EXAMPLES, ids=[data for _b, data in EXAMPLES])
def test_every_kind_packs_to_its_wire_format_and_back(button: CallbackData, data: str) -> None:
    assert button.pack() == data
    assert len(data.encode()) <= MAX_BYTES
    assert unpack(data) == button


def test_every_kind_has_an_example() -> None:
    assert {type(button) for button, _data in EXAMPLES} == set(KINDS)


@pytest.mark.parametrize("forged", [
    None, "", "c", "c:no", "del:maybe", "sp:1:11", "sp:0:5", "sp:1:-1", "sp:1:05",
    "ob:day:7", "ob:day:-1", "ob:breaks:9", "ob:breaks:04",
    "ob:breaks:0", "ob:pain:11", "ob:hours:99-99", "ob:hours:0900-1701", "ob:place:space",
    "ob:days:no", "ob:tz:Not/AZone", "ob:redo:days", "ob:edit:tz", "set:edit:nonsense",
    "set:cancel:now", "set:redo:tz", "pz:forever", "pz:", "b:0:go", f"b:{MAX_ID + 1}:go",
    "b:1:later", "b:01:go", "s:1:0:0:x", "s:1:0:0:n:", "s:١:0:0:n", "r:5:11", "r:5:3:11",
    "r:0:3", "a:1:Q:x", "a:start:now", "a:0:q:a", "zz:1", "g:0:yes", "g:7:maybe", "g:7",
    "ck:same:0", "ck:same:", f"ck:same:{MAX_ID + 1}", "ck:same:07", "ck:sometimes:7",
    "ob:tz:" + "A" * 70,
])
def test_forged_or_stale_data_unpacks_to_nothing(forged: str | None) -> None:
    assert unpack(forged) is None


@given(st.text(max_size=80))
def test_anything_unpacks_without_raising_and_only_to_what_it_packs_back_to(data: str) -> None:
    button = unpack(data)
    if button is not None:
        assert button.pack() == data


@given(st.sampled_from(["b", "s", "r", "a", "ob", "set", "pz", "del", "c", "g", "ck"]),
       st.text(alphabet="0123456789:abcdefghijklmnopqrstuvwxyz_/-+", max_size=60))
def test_data_near_the_real_formats_never_raises(prefix: str, fields: str) -> None:
    data = f"{prefix}:{fields}"
    button = unpack(data)
    if button is not None:
        assert button.pack() == data and len(data.encode()) <= MAX_BYTES


def test_a_button_that_would_be_refused_cannot_be_made() -> None:
    with pytest.raises(ValueError, match="64 bytes"):
        SetupChoice("tz", "Europe/" + "X" * 60).pack()
    for invalid in (BreakControl(MAX_ID + 1, 0, 0, "n"), RatingTap(1, 11),
                    SetupChoice("breaks", "9"), SettingsChoice("edit", "nonsense"),
                    GroupMove(0, move=True), ReminderChoice(0, "go"),
                    ReminderChoice(MAX_ID + 1, "go"), ReminderChoice(True, "go"),
                    ReminderChoice(7, "later")):  # type: ignore[arg-type]
        with pytest.raises(ValueError, match="not a valid"):
            invalid.pack()
