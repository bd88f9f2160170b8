"""Place names and shared locations turned into time zones, off the event loop.

    places = Places()            # one per process (Services.places)
    places.start()               # at start-up: the indexes load in a thread
    await places.ready()         # before a turn that may look one up (no connection held)
    found = await places.time_zone("Madrid")

The city index and the location finder take seconds of CPU to build (bot/domain/zones.py);
built on the event loop, the first user to type a city would stop the bot for everyone.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import time
from collections.abc import Callable

from bot.domain import zones
from bot.domain.zones import ZoneResult

log = logging.getLogger(__name__)


class Places:
    def __init__(self, load: Callable[[], None] = zones.preload) -> None:
        self._load = load
        self._loading: asyncio.Future[None] | None = None

    def start(self) -> None:
        """Starts loading the indexes in a worker thread; returns at once."""
        if self._loading is None:
            self._loading = asyncio.ensure_future(asyncio.to_thread(self._timed_load))

    def _timed_load(self) -> None:
        started = time.monotonic()
        self._load()
        # The indexes are ~400,000 objects that live as long as the process: out of the
        # garbage collector's sight, or every full collection walks them (60 ms each).
        gc.freeze()
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
        return await asyncio.to_thread(zones.parse_time_zone, text)

    async def zone_at(self, latitude: float, longitude: float) -> str | None:
        await self.ready()
        return await asyncio.to_thread(zones.zone_from_location, latitude, longitude)
