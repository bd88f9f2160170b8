"""Places typed in Spanish or with their country."""

from __future__ import annotations

import pytest

from bot.domain.zones import ZoneChoices, ZoneFound, ZoneUnknown, parse_time_zone

# Each test runs with the in-memory city index and with the city file.
pytestmark = pytest.mark.usefixtures("city_lookup")


@pytest.mark.parametrize(("typed", "zone", "country"), [
    ("Nueva York", "America/New_York", "US"),
    ("Londres", "Europe/London", "GB"),
    ("Ciudad de México", "America/Mexico_City", "MX"),
    ("Sevilla, España", "Europe/Madrid", "ES"),
    ("Valencia, Venezuela", "America/Caracas", "VE"),
    ("Portland, Estados Unidos", "America/Los_Angeles", "US"),
    # Naming the country settles it for the biggest Portland there; the state still picks.
    ("Portland, US", "America/Los_Angeles", "US"),
    ("Portland, Maine", "America/New_York", "US"),
])
def test_places_typed_in_spanish_or_with_a_country(typed: str, zone: str, country: str) -> None:
    found = parse_time_zone(typed)
    assert isinstance(found, ZoneFound)
    assert (found.zone, found.country_code) == (zone, country)


def test_a_city_name_alone_in_several_zones_is_still_a_question() -> None:
    assert isinstance(parse_time_zone("Portland"), ZoneChoices)
    assert isinstance(parse_time_zone("Sevilla, Francia"), ZoneUnknown)


@pytest.mark.parametrize(("typed", "said"), [
    ("Londres", "Londres"), ("nueva york", "Nueva York"),
    ("ciudad de méxico", "Ciudad de México"), ("Sevilla, España", "Sevilla"),
    ("London", "London"), ("sao paulo", "São Paulo"),
])
def test_a_place_is_said_back_in_the_users_own_words(typed: str, said: str) -> None:
    # "Found Londres", not "Found London", when a Spanish speaker typed Londres.
    found = parse_time_zone(typed)
    assert isinstance(found, ZoneFound) and found.place == said
