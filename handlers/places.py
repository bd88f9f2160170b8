"""Place names and shared locations turned into time zones, off the event loop.

    places = Places(cache_dir)   # one per process (Services.places); None: ~/.cache/move-better
    places.start()               # at start-up: the city file is opened (or built) meanwhile
    await places.ready()         # before a turn that may look one up (no connection held)
    found = await places.time_zone("Madrid")

The city index takes 2 s of CPU and 180 MB to build (bot/domain/zones.py): built in this
process, even in a thread, it would hold the interpreter lock and the memory for as long as
the bot runs. A child process builds it once into a file (bot.storage.cities) that every
later start opens at once; lookups are one indexed query in a worker thread. The location
finder is cheap (0.15 s, 10 MB) and loads in a thread here.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from pathlib import Path

from bot.domain import zones
from bot.domain.zones import CityLookup, ZoneResult
from bot.storage import cities

log = logging.getLogger(__name__)


class Places:
    def __init__(self, load: Callable[[], None] | None = None,
                 cache_dir: Path | None = None) -> None:
        """`load`: run in a thread instead of opening the city file (lookups then use the
        in-memory index); `cache_dir`: where the city file lives (None: the default)."""
        self._load = load
        self._cache_dir = cache_dir
        self._cities: CityLookup | None = None
        self._loading: asyncio.Future[None] | None = None

    def start(self) -> None:
        """Starts opening (or building) the city file and loading the location finder;
        returns at once."""
        if self._loading is None:
            self._loading = asyncio.ensure_future(self._timed_load())

    async def _timed_load(self) -> None:
        started = time.monotonic()
        if self._load is not None:
            await asyncio.to_thread(self._load)
        else:
            finder = asyncio.ensure_future(asyncio.to_thread(zones.preload_locations))
            try:
                self._cities = await cities.open_cities(self._cache_dir)
            except Exception:  # an unforeseen failure: the index still loads, in memory
                log.exception("the city file could not be opened")
            if self._cities is None:
                log.warning("no city file: the city index is built in this process")
                await asyncio.to_thread(zones.memory_cities)
            await finder
        log.info("place indexes loaded in %.1f s", time.monotonic() - started)

    @property
    def loaded(self) -> bool:
        return self._loading is not None and self._loading.done()

    async def ready(self) -> None:
        """Waits, without blocking the loop, until the indexes are loaded. A failed load is
        logged; lookups then load what they need themselves (in their thread)."""
        self.start()
        assert self._loading is not None
        try:
            await asyncio.shield(self._loading)
        except Exception:  # an index that cannot load must not stop every typed answer
            log.exception("the place indexes did not load at start-up")

    async def time_zone(self, text: str) -> ZoneResult:
        await self.ready()
        return await asyncio.to_thread(zones.parse_time_zone, text, self._cities)

    async def zone_at(self, latitude: float, longitude: float) -> str | None:
        await self.ready()
        return await asyncio.to_thread(zones.zone_from_location, latitude, longitude)
