"""What users type, read back into values: zones, work hours, breaks, ratings, clock times."""

from __future__ import annotations

import zoneinfo
from datetime import UTC, datetime, time, timedelta, timezone

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.domain.parsing import (
    HoursRefused,
    Ratings,
    RatingsRefused,
    WorkHours,
    ZoneChoices,
    ZoneFound,
    ZoneUnknown,
    format_hours,
    local_time_in,
    parse_breaks_per_day,
    parse_ratings,
    parse_single_rating,
    parse_time_of_day,
    parse_time_zone,
    parse_work_hours,
    tzinfo_for,
    zone_from_location,
)

# The city index takes a couple of seconds to build on first use; no per-example deadline.
FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
SLOW = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])

HIDDEN = {"localtime", "posixrules"}
ALL_ZONES = sorted(name for name in zoneinfo.available_timezones() if name not in HIDDEN)


def hm(text: str) -> time:
    hours, minutes = text.split(":")
    return time(int(hours), int(minutes))


# ---------------------------------------------------------------------------------------------
# tzinfo_for / local_time_in


def test_tzinfo_for_iana_name() -> None:
    tz = tzinfo_for("Europe/Berlin")
    assert datetime(2024, 1, 15, 12, tzinfo=tz).utcoffset() == timedelta(hours=1)
    assert datetime(2024, 7, 15, 12, tzinfo=tz).utcoffset() == timedelta(hours=2)


@pytest.mark.parametrize(
    ("name", "offset"),
    [
        ("UTC+05:30", timedelta(hours=5, minutes=30)),
        ("UTC-03:00", timedelta(hours=-3)),
        ("UTC+00:00", timedelta(0)),
        ("UTC-09:30", timedelta(hours=-9, minutes=-30)),
        ("UTC", timedelta(0)),
    ],
)
def test_tzinfo_for_fixed_offsets(name: str, offset: timedelta) -> None:
    assert datetime(2024, 7, 1, tzinfo=tzinfo_for(name)).utcoffset() == offset


@pytest.mark.parametrize(
    "name", ["", "europe/berlin", "Mars/Olympus", "../etc/passwd", "/etc/localtime", "localtime",
             "UTC+15:00", "UTC+5", "utc+05:00"],
)  # fmt: skip
def test_tzinfo_for_refuses_names_never_produced(name: str) -> None:
    with pytest.raises(KeyError):
        tzinfo_for(name)


def test_local_time_in() -> None:
    now = datetime(2024, 7, 1, 12, 0, tzinfo=UTC)
    assert local_time_in("Europe/Berlin", now).replace(tzinfo=None) == datetime(2024, 7, 1, 14)
    assert local_time_in("UTC-03:00", now).replace(tzinfo=None) == datetime(2024, 7, 1, 9)
    # A naive time is taken as UTC.
    naive = local_time_in("Asia/Kolkata", datetime(2024, 1, 1, 0, 0))
    assert (naive.hour, naive.minute) == (5, 30)
    with pytest.raises(KeyError):
        local_time_in("Nowhere/Special", now)


# ---------------------------------------------------------------------------------------------
# parse_time_zone: names and offsets


@pytest.mark.parametrize(
    ("text", "zone"),
    [
        ("europe/berlin", "Europe/Berlin"),
        ("America/New_York", "America/New_York"),
        ("america/new york", "America/New_York"),
        ("AMERICA / NEW_YORK", "America/New_York"),
        ("America/Argentina/Buenos_Aires", "America/Argentina/Buenos_Aires"),
        ("UTC", "UTC"),
        ("utc", "UTC"),
        (" utc. ", "UTC"),
        ("Etc/GMT+5", "Etc/GMT+5"),
    ],
)
def test_iana_names(text: str, zone: str) -> None:
    assert parse_time_zone(text) == ZoneFound(zone=zone, is_offset=False)


@pytest.mark.parametrize(
    ("text", "zone"),
    [
        ("UTC+2", "UTC+02:00"),
        ("utc-5", "UTC-05:00"),
        ("GMT+1", "UTC+01:00"),
        ("+5:30", "UTC+05:30"),
        ("-05:00", "UTC-05:00"),
        ("+0530", "UTC+05:30"),
        ("UTC +12:45", "UTC+12:45"),
        ("UTC + 3", "UTC+03:00"),
        ("+14", "UTC+14:00"),
        ("-12", "UTC-12:00"),
        ("utc−3", "UTC-03:00"),  # typographic minus sign
        ("+9:45", "UTC+09:45"),
    ],
)
def test_offsets(text: str, zone: str) -> None:
    assert parse_time_zone(text) == ZoneFound(zone=zone, is_offset=True)


@pytest.mark.parametrize("text", ["UTC+0", "utc-0", "+00:00", "GMT+0", "-0000"])
def test_zero_offset_is_utc(text: str) -> None:
    found = parse_time_zone(text)
    assert isinstance(found, ZoneFound)
    assert found.is_offset is False
    assert tzinfo_for(found.zone).utcoffset(None) == timedelta(0)


@pytest.mark.parametrize(
    "text",
    ["+15", "-13", "+14:15", "-12:30", "+5:20", "+5:7", "UTC+2:60", "12", "5:30", "UTC 5",
     "", "   ", "xyzzy", "🕐", "the moon", "Europe/Atlantis"],
)  # fmt: skip
def test_unknown_zones(text: str) -> None:
    assert parse_time_zone(text) == ZoneUnknown()


def test_server_local_zone_is_not_offered() -> None:
    assert parse_time_zone("localtime") == ZoneUnknown()


@given(quarters=st.integers(min_value=-48, max_value=56), style=st.integers(0, 4))
@FAST
def test_every_valid_offset_parses_to_that_offset(quarters: int, style: int) -> None:
    minutes = quarters * 15
    sign = "-" if minutes < 0 else "+"
    hours, mins = divmod(abs(minutes), 60)
    text = [
        f"UTC{sign}{hours}:{mins:02d}",
        f"{sign}{hours:02d}:{mins:02d}",
        f"{sign}{hours:02d}{mins:02d}",
        f"gmt {sign} {hours}:{mins:02d}",
        f"utc{sign}{hours}" + (f":{mins:02d}" if mins else ""),
    ][style]
    found = parse_time_zone(text)
    assert isinstance(found, ZoneFound), text
    assert found.is_offset is (minutes != 0)
    offset = datetime(2024, 3, 31, 12, tzinfo=tzinfo_for(found.zone)).utcoffset()
    assert offset == timedelta(minutes=minutes)


@given(minutes=st.integers(min_value=-15 * 60, max_value=16 * 60))
@FAST
def test_offsets_outside_the_world_or_off_the_quarter_are_refused(minutes: int) -> None:
    valid = -12 * 60 <= minutes <= 14 * 60 and minutes % 15 == 0
    sign = "-" if minutes < 0 else "+"
    hours, mins = divmod(abs(minutes), 60)
    found = parse_time_zone(f"UTC{sign}{hours:02d}:{mins:02d}")
    assert isinstance(found, ZoneFound) is valid


def test_every_iana_zone_round_trips_in_lower_case() -> None:
    for name in ALL_ZONES:
        assert parse_time_zone(name.lower()) == ZoneFound(zone=name, is_offset=False), name
        assert parse_time_zone(name.upper().replace("_", " ")).zone == name  # type: ignore[union-attr]


# ---------------------------------------------------------------------------------------------
# parse_time_zone: cities


# A place named another way than the index names it ("Kiev", "Москва") is said back in the
# user's own words; a spelling of the same name ("krakow") as the index spells it.
@pytest.mark.usefixtures("city_lookup")  # in memory and from the city file
@pytest.mark.parametrize(
    ("text", "zone", "place", "country"),
    [
        ("Madrid", "Europe/Madrid", "Madrid", "ES"),
        ("new york", "America/New_York", "New York", "US"),
        ("São Paulo", "America/Sao_Paulo", "São Paulo", "BR"),
        ("sao paulo", "America/Sao_Paulo", "São Paulo", "BR"),
        ("  SAO   PAULO!! ", "America/Sao_Paulo", "São Paulo", "BR"),
        ("Berlin.", "Europe/Berlin", "Berlin", "DE"),
        ("tokyo", "Asia/Tokyo", "Tokyo", "JP"),
        ("Kiev", "Europe/Kyiv", "Kiev", "UA"),
        ("München", "Europe/Berlin", "München", "DE"),
        ("Москва", "Europe/Moscow", "Москва", "RU"),
        ("krakow", "Europe/Warsaw", "Kraków", "PL"),
        ("Frankfurt", "Europe/Berlin", "Frankfurt", "DE"),
        ("London", "Europe/London", "London", "GB"),
        ("Portland, OR", "America/Los_Angeles", "Portland", "US"),
        ("Valencia, Spain", "Europe/Madrid", "Valencia", "ES"),
        ("cordoba, ar", "America/Argentina/Cordoba", "Córdoba", "AR"),
    ],
)
def test_cities(text: str, zone: str, place: str, country: str) -> None:
    assert parse_time_zone(text) == ZoneFound(
        zone=zone, is_offset=False, place=place, country_code=country
    )


@pytest.mark.usefixtures("city_lookup")  # in memory and from the city file
@pytest.mark.parametrize(
    ("text", "first", "also"),
    [
        ("Portland", "America/Los_Angeles", "America/New_York"),
        ("Valencia", "America/Caracas", "Europe/Madrid"),
        ("Santiago", "America/Santiago", "America/Santo_Domingo"),
        ("Cordoba", "America/Argentina/Cordoba", "Europe/Madrid"),
        ("springfield", "America/Chicago", "America/New_York"),
    ],
)
def test_ambiguous_cities_offer_choices(text: str, first: str, also: str) -> None:
    result = parse_time_zone(text)
    assert isinstance(result, ZoneChoices)
    zones = [option.zone for option in result.options]
    assert 2 <= len(zones) <= 5
    assert len(set(zones)) == len(zones)
    assert zones[0] == first
    assert also in zones
    top = result.options[0]
    assert first in top.label and top.country_code in top.label
    for option in result.options:
        tzinfo_for(option.zone)  # every offered zone can be stored


@pytest.mark.usefixtures("city_lookup")  # in memory and from the city file
def test_us_choices_name_the_state() -> None:
    result = parse_time_zone("Portland")
    assert isinstance(result, ZoneChoices)
    assert result.options[0].label == "Portland, US-OR (America/Los_Angeles)"
    assert result.options[1].label == "Portland, US-ME (America/New_York)"


# ---------------------------------------------------------------------------------------------
# zone_from_location


@pytest.mark.parametrize(
    ("lat", "lng", "zone"),
    [
        (52.52, 13.405, "Europe/Berlin"),
        (40.71, -74.0, "America/New_York"),
        (-33.87, 151.21, "Australia/Sydney"),
        (28.61, 77.21, "Asia/Kolkata"),
    ],
)
def test_zone_from_location(lat: float, lng: float, zone: str) -> None:
    assert zone_from_location(lat, lng) == zone


def test_zone_from_location_open_sea_is_a_storable_zone() -> None:
    zone = zone_from_location(0.0, -30.0)
    assert zone is not None and zone.startswith("Etc/GMT")
    assert datetime(2024, 1, 1, tzinfo=tzinfo_for(zone)).utcoffset() == timedelta(hours=-2)


@pytest.mark.parametrize(
    ("lat", "lng"),
    [(float("nan"), 0.0), (0.0, float("nan")), (float("inf"), 0.0), (91.0, 0.0), (0.0, 181.0),
     (-90.5, 10.0), (0.0, -1e308)],
)  # fmt: skip
def test_zone_from_location_refuses_impossible_points(lat: float, lng: float) -> None:
    assert zone_from_location(lat, lng) is None


@given(lat=st.floats(allow_nan=True), lng=st.floats(allow_nan=True))
@FAST
def test_zone_from_location_is_total(lat: float, lng: float) -> None:
    zone = zone_from_location(lat, lng)
    if zone is not None:
        assert -90 <= lat <= 90 and -180 <= lng <= 180
        tzinfo_for(zone)


# ---------------------------------------------------------------------------------------------
# Work hours


@pytest.mark.parametrize(
    ("text", "start", "end"),
    [
        ("9-17", "9:00", "17:00"),
        ("9 - 17", "9:00", "17:00"),
        ("09:00–17:30", "9:00", "17:30"),
        ("09:00—17:30", "9:00", "17:30"),
        ("09:00-17:30", "9:00", "17:30"),
        ("8.30 to 16.45", "8:30", "16:45"),
        ("8:30 till 16:45", "8:30", "16:45"),
        ("8:30 until 16:45", "8:30", "16:45"),
        ("22:00-06:00", "22:00", "6:00"),
        ("9am-5pm", "9:00", "17:00"),
        ("9 am to 5:30 pm", "9:00", "17:30"),
        ("9 a.m. - 5 p.m.", "9:00", "17:00"),
        ("12pm-8pm", "12:00", "20:00"),
        ("12am-8am", "0:00", "8:00"),
        ("0900-1700", "9:00", "17:00"),
        ("9h-17h", "9:00", "17:00"),
        ("9h30-17h", "9:30", "17:00"),
        ("from 9 to 17", "9:00", "17:00"),
        ("18:00-24:00", "18:00", "0:00"),
        ("noon - 8pm", "12:00", "20:00"),
        ("9-17.", "9:00", "17:00"),
        ("١٠-١٨", "10:00", "18:00"),  # Arabic-Indic digits
        ("\u200f9-17\u200f", "9:00", "17:00"),  # RTL marks around the text
        # A bare hour takes the reading with the shorter day.
        ("9-5", "9:00", "17:00"),
        ("9-5pm", "9:00", "17:00"),
        ("9am-5", "9:00", "17:00"),
        ("1-5pm", "13:00", "17:00"),
        ("11-7am", "23:00", "7:00"),
        ("9pm-5", "21:00", "5:00"),
        ("8:30-5:30", "8:30", "17:30"),
        ("10-2", "10:00", "14:00"),
        ("09:00-05:00", "9:00", "5:00"),  # zero-padded: a 24-hour time
        ("11:00-10:00", "11:00", "10:00"),  # two-digit hour with minutes: a 24-hour time
        ("13-5", "13:00", "5:00"),
        ("17:00-16:30", "17:00", "16:30"),  # 23.5 hours across midnight, not 30 minutes
    ],
)
def test_work_hours(text: str, start: str, end: str) -> None:
    assert parse_work_hours(text) == WorkHours(hm(start), hm(end))


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("9-9", "same_start_end"),
        ("17:00 - 17:00", "same_start_end"),
        ("0:00-24:00", "same_start_end"),
        ("12pm-noon", "same_start_end"),
        ("9:00-9:59", "too_short"),
        ("23:30-00:15", "too_short"),
        ("9", "unclear"),
        ("9 17", "unclear"),
        ("25-17", "unclear"),
        ("9:60-17", "unclear"),
        ("24:00-8:00", "unclear"),
        ("13pm-5pm", "unclear"),
        ("0am-5am", "unclear"),
        ("nine to five", "unclear"),
        ("", "unclear"),
        ("💼", "unclear"),
        ("9-17 and 18-20", "unclear"),
    ],
)
def test_work_hours_refused(text: str, code: str) -> None:
    result = parse_work_hours(text)
    assert isinstance(result, HoursRefused) and result.code == code  # type: ignore[arg-type]


def test_work_hours_properties() -> None:
    day = WorkHours(time(9), time(17, 30))
    night = WorkHours(time(22), time(6))
    assert (day.crosses_midnight, day.length_minutes) == (False, 510)
    assert (night.crosses_midnight, night.length_minutes) == (True, 480)
    assert WorkHours(time(18), time(0)).length_minutes == 360


def test_format_hours() -> None:
    assert format_hours(WorkHours(time(9), time(17))) == "09:00–17:00"
    assert format_hours(WorkHours(time(22, 30), time(6, 5))) == "22:30–06:05"


minute_of_day = st.integers(min_value=0, max_value=24 * 60 - 1)


def at(minutes: int) -> time:
    return time(minutes // 60, minutes % 60)


@given(
    start=minute_of_day,
    length=st.integers(min_value=60, max_value=24 * 60 - 1),
    separator=st.sampled_from(["–", "-", " - ", "—", " to ", " till ", "~"]),
)
@FAST
def test_formatted_hours_parse_back(start: int, length: int, separator: str) -> None:
    hours = WorkHours(at(start), at((start + length) % (24 * 60)))
    assert hours.length_minutes == length
    assert parse_work_hours(format_hours(hours)) == hours
    assert parse_work_hours(format_hours(hours).replace("–", separator)) == hours


def twelve_hour(value: time) -> str:
    return f"{value.hour % 12 or 12}:{value.minute:02d} {'am' if value.hour < 12 else 'pm'}"


@given(start=minute_of_day, length=st.integers(min_value=60, max_value=24 * 60 - 1))
@FAST
def test_twelve_hour_hours_parse_back(start: int, length: int) -> None:
    hours = WorkHours(at(start), at((start + length) % (24 * 60)))
    assert parse_work_hours(f"{twelve_hour(hours.start)} to {twelve_hour(hours.end)}") == hours


@given(start=minute_of_day, length=st.integers(min_value=0, max_value=59))
@FAST
def test_windows_under_an_hour_are_refused(start: int, length: int) -> None:
    text = f"{at(start):%H:%M}-{at((start + length) % (24 * 60)):%H:%M}"
    expected = HoursRefused("same_start_end" if length == 0 else "too_short")
    assert parse_work_hours(text) == expected


# ---------------------------------------------------------------------------------------------
# Clock times


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("9", "9:00"),
        ("09:30", "9:30"),
        ("9.30", "9:30"),
        ("9am", "9:00"),
        ("9 AM", "9:00"),
        ("5:30 pm", "17:30"),
        ("5:30p.m.", "17:30"),
        ("17h", "17:00"),
        ("17h30", "17:30"),
        ("0930", "9:30"),
        ("12am", "0:00"),
        ("12pm", "12:00"),
        ("noon", "12:00"),
        ("midnight", "0:00"),
        ("0", "0:00"),
        ("23:59", "23:59"),
    ],
)
def test_time_of_day(text: str, expected: str) -> None:
    assert parse_time_of_day(text) == hm(expected)


@pytest.mark.parametrize(
    "text", ["24", "24:00", "25:00", "9:60", "13pm", "0am", "9:5", "abc", "", "9-17", "-9"]
)
def test_time_of_day_refused(text: str) -> None:
    assert parse_time_of_day(text) is None


@given(minutes=minute_of_day)
@FAST
def test_every_clock_time_parses(minutes: int) -> None:
    value = at(minutes)
    assert parse_time_of_day(f"{value:%H:%M}") == value
    assert parse_time_of_day(f"{value.hour}.{value.minute:02d}") == value
    assert parse_time_of_day(twelve_hour(value)) == value


# ---------------------------------------------------------------------------------------------
# Breaks per day


@pytest.mark.parametrize(
    ("text", "expected"),
    [("4", 4), (" 6 ", 6), ("1", 1), ("8", 8), ("08", 8), ("four", 4), ("Eight", 8),
     ("5 breaks", 5), ("3 a day", 3), ("2x", 2), ("٤", 4),
     ("0", None), ("9", None), ("-3", None), ("nine", None), ("zero", None), ("4.5", None),
     ("", None), ("lots", None), ("4 5", None), ("9" * 5000, None)],
)  # fmt: skip
def test_breaks_per_day(text: str, expected: int | None) -> None:
    assert parse_breaks_per_day(text) == expected


# ---------------------------------------------------------------------------------------------
# Ratings


@pytest.mark.parametrize(
    "text",
    ["3 5", "3,5", "3, 5", "3/5", "3 / 5", "3;5", "3 and 5", "pain 3 stiffness 5",
     "pain 3, stiffness 5", "stiffness 5 pain 3", "Stiffness: 5, Pain: 3", "p3 s5", "s5 p3",
     "P: 3 S: 5", "pain=3 stiff=5", "pain 3/10 stiffness 5/10", " 3 5. "],
)  # fmt: skip
def test_ratings(text: str) -> None:
    assert parse_ratings(text) == Ratings(pain=3, stiffness=5)


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("11 3", "out_of_range"),
        ("-1 2", "out_of_range"),
        ("3 11", "out_of_range"),
        ("pain 12 stiffness 1", "out_of_range"),
        ("99999999999999999999999 1", "out_of_range"),
        ("3", "unclear"),
        ("3 4 5", "unclear"),
        ("pain stiffness", "unclear"),
        ("bad", "unclear"),
        ("3.5 4", "unclear"),
        ("35", "unclear"),
        ("pain 3 pain 5", "unclear"),
        ("", "unclear"),
    ],
)
def test_ratings_refused(text: str, code: str) -> None:
    result = parse_ratings(text)
    assert isinstance(result, RatingsRefused) and result.code == code


RATING_FORMATS = [
    "{p} {s}", "{p},{s}", "{p}/{s}", "pain {p} stiffness {s}", "pain {p}, stiffness {s}",
    "stiffness {s} pain {p}", "p{p} s{s}", "P: {p} S: {s}", "pain={p} stiff={s}",
]  # fmt: skip


@pytest.mark.parametrize("form", RATING_FORMATS)
def test_every_rating_pair_in_every_format(form: str) -> None:
    for pain in range(11):
        for stiffness in range(11):
            text = form.format(p=pain, s=stiffness)
            assert parse_ratings(text) == Ratings(pain, stiffness), text


@given(
    pain=st.integers(-50, 200),
    stiffness=st.integers(-50, 200),
    form=st.sampled_from(RATING_FORMATS),
)
@FAST
def test_ratings_out_of_range(pain: int, stiffness: int, form: str) -> None:
    result = parse_ratings(form.format(p=pain, s=stiffness))
    if 0 <= pain <= 10 and 0 <= stiffness <= 10:
        assert result == Ratings(pain, stiffness)
    else:
        assert result == RatingsRefused("out_of_range")


@pytest.mark.parametrize(
    ("text", "expected"),
    [("0", 0), ("7", 7), (" 10 ", 10), ("7/10", 7), ("٧", 7),
     ("11", None), ("-1", None), ("7.5", None), ("seven", None), ("3 4", None), ("", None)],
)  # fmt: skip
def test_single_rating(text: str, expected: int | None) -> None:
    assert parse_single_rating(text) == expected


# ---------------------------------------------------------------------------------------------
# No input makes a parser raise

PARSERS = [
    parse_time_zone,
    parse_work_hours,
    parse_time_of_day,
    parse_breaks_per_day,
    parse_ratings,
    parse_single_rating,
]
NASTY = [
    "", " ", "\x00", "\n\t\r", "\u200f\u202e", "🧘" * 3000, "9" * 10_000, "-" * 10_000,
    "9:" * 5000, "+" * 9000 + "5", "p" * 10_000, "a" * 10_000 + "-" + "b", "\ud800",
    "utc+" + "0" * 5000, "٩" * 5000, ",".join(["Portland"] * 2000), "ǅ" * 100, "İstanbul",
]  # fmt: skip


@pytest.mark.parametrize("parser", PARSERS, ids=lambda parser: parser.__name__)
@pytest.mark.parametrize("text", NASTY, ids=range(len(NASTY)))
def test_nasty_input_never_raises(parser: object, text: str) -> None:
    parser(text)  # type: ignore[operator]


@given(text=st.text(max_size=300))
@SLOW
def test_any_text_never_raises(text: str) -> None:
    for parser in PARSERS:
        parser(text)


@given(text=st.text(alphabet="0123456789:.-–apmh toPSUTCG+,/ ", max_size=40))
@SLOW
def test_near_miss_text_never_raises_and_results_are_consistent(text: str) -> None:
    hours = parse_work_hours(text)
    if isinstance(hours, WorkHours):
        assert 60 <= hours.length_minutes < 24 * 60
        assert parse_work_hours(format_hours(hours)) == hours
    ratings = parse_ratings(text)
    if isinstance(ratings, Ratings):
        assert 0 <= ratings.pain <= 10 and 0 <= ratings.stiffness <= 10
    zone = parse_time_zone(text)
    if isinstance(zone, ZoneFound):
        tzinfo_for(zone.zone)
    breaks = parse_breaks_per_day(text)
    assert breaks is None or 1 <= breaks <= 8


def test_offset_names_are_fixed_offsets() -> None:
    found = parse_time_zone("UTC+05:45")
    assert isinstance(found, ZoneFound)
    assert tzinfo_for(found.zone) == timezone(timedelta(hours=5, minutes=45), "UTC+05:45")
