"""Feeds shaped like Google's, Outlook's and a CalDAV server's exports, turned into busy
times: recurrences with their exceptions, all-day and free events not busy, time zones."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.domain.calendar_feed import NotACalendar, busy_intervals

WEEK = (datetime(2026, 12, 6, tzinfo=UTC), datetime(2026, 12, 13, tzinfo=UTC))


def utc(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 12, day, hour, minute, tzinfo=UTC)


GOOGLE = b"""BEGIN:VCALENDAR\r
PRODID:-//Google Inc//Google Calendar 70.9054//EN\r
VERSION:2.0\r
CALSCALE:GREGORIAN\r
X-WR-CALNAME:work\r
X-WR-TIMEZONE:Europe/Madrid\r
BEGIN:VTIMEZONE\r
TZID:Europe/Madrid\r
BEGIN:STANDARD\r
TZOFFSETFROM:+0200\r
TZOFFSETTO:+0100\r
TZNAME:CET\r
DTSTART:19701025T030000\r
RRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU\r
END:STANDARD\r
BEGIN:DAYLIGHT\r
TZOFFSETFROM:+0100\r
TZOFFSETTO:+0200\r
TZNAME:CEST\r
DTSTART:19700329T020000\r
RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU\r
END:DAYLIGHT\r
END:VTIMEZONE\r
BEGIN:VEVENT\r
DTSTART;TZID=Europe/Madrid:20261102T100000\r
DTEND;TZID=Europe/Madrid:20261102T110000\r
RRULE:FREQ=WEEKLY;BYDAY=MO,WE\r
EXDATE;TZID=Europe/Madrid:20261207T100000\r
UID:standup@google.com\r
SUMMARY:Team stand-up\r
END:VEVENT\r
BEGIN:VEVENT\r
DTSTART;TZID=Europe/Madrid:20261209T150000\r
DTEND;TZID=Europe/Madrid:20261209T153000\r
RECURRENCE-ID;TZID=Europe/Madrid:20261209T100000\r
UID:standup@google.com\r
SUMMARY:Team stand-up (moved)\r
END:VEVENT\r
BEGIN:VEVENT\r
DTSTART;VALUE=DATE:20261208\r
DTEND;VALUE=DATE:20261209\r
UID:holiday@google.com\r
SUMMARY:Public holiday\r
TRANSP:TRANSPARENT\r
END:VEVENT\r
BEGIN:VEVENT\r
DTSTART;VALUE=DATE:20261210\r
DTEND;VALUE=DATE:20261211\r
UID:offsite@google.com\r
SUMMARY:Offsite (all day, marked busy)\r
END:VEVENT\r
BEGIN:VEVENT\r
DTSTART:20261208T120000Z\r
DTEND:20261208T130000Z\r
TRANSP:TRANSPARENT\r
UID:lunch@google.com\r
SUMMARY:Lunch (free)\r
END:VEVENT\r
BEGIN:VEVENT\r
DTSTART:20261211T120000Z\r
DTEND:20261211T130000Z\r
STATUS:CANCELLED\r
UID:cancelled@google.com\r
END:VEVENT\r
END:VCALENDAR\r
"""


def test_google_weekly_meeting_with_an_exception_and_a_moved_occurrence() -> None:
    busy = busy_intervals(GOOGLE, *WEEK, "America/New_York")
    # Mon 7th: excluded. Wed 9th: moved to 15:00 Madrid (14:00 UTC). All-day, free and
    # cancelled events are not busy.
    assert busy == [(utc(9, 14), utc(9, 14, 30))]


OUTLOOK_UTC = b"""BEGIN:VCALENDAR
METHOD:PUBLISH
PRODID:Microsoft Exchange Server 2010
VERSION:2.0
BEGIN:VEVENT
UID:040000008200E00074C5B7101A82E008
DTSTART:20261207T090000Z
DTEND:20261207T100000Z
RRULE:FREQ=DAILY;COUNT=3
SUMMARY:Review
TRANSP:OPAQUE
X-MICROSOFT-CDO-BUSYSTATUS:BUSY
END:VEVENT
BEGIN:VEVENT
UID:tentative
DTSTART:20261207T093000Z
DURATION:PT90M
SUMMARY:Overlapping call
END:VEVENT
END:VCALENDAR
"""


def test_utc_feed_with_a_daily_count_and_a_duration_merges_overlaps() -> None:
    busy = busy_intervals(OUTLOOK_UTC, *WEEK, "Asia/Tokyo")
    assert busy == [(utc(7, 9), utc(7, 11)), (utc(8, 9), utc(8, 10)), (utc(9, 9), utc(9, 10))]


CALDAV_FLOATING_AND_TZID = b"""BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//Nextcloud//EN
BEGIN:VEVENT
UID:floating
DTSTART:20261207T140000
DTEND:20261207T150000
END:VEVENT
BEGIN:VEVENT
UID:tzid
DTSTART;TZID=Asia/Kolkata:20261208T100000
DTEND;TZID=Asia/Kolkata:20261208T103000
END:VEVENT
END:VCALENDAR
"""


def test_floating_times_are_in_the_users_zone_and_tzid_in_its_own() -> None:
    busy = busy_intervals(CALDAV_FLOATING_AND_TZID, *WEEK, "America/New_York")
    assert busy == [(utc(7, 19), utc(7, 20)), (utc(8, 4, 30), utc(8, 5))]


@pytest.mark.parametrize("data", [b"<html><body>Sign in</body></html>", b"",
                                  b"BEGIN:VCALENDAR\nBEGIN:VEVENT\nDTSTART:garbage\n"])
def test_not_a_calendar(data: bytes) -> None:
    with pytest.raises(NotACalendar):
        busy_intervals(data, *WEEK, "UTC")
