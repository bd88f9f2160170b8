"""The injectable clock: code that asks what time it is takes a `Clock`."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

Clock = Callable[[], datetime]


def system_clock() -> datetime:
    return datetime.now(UTC)


class FastClock:
    """A clock that starts at a given instant and runs `speed` times faster than real time.

    Used by the playground and end-to-end tests to live through a work day in minutes.
    It reads `start` now, or at the real instant `started_at` if given: processes given the
    same one agree on the time however far apart they started.
    """

    def __init__(self, start: datetime, speed: float = 1.0,
                 started_at: datetime | None = None) -> None:
        self.start = start
        self.speed = speed
        self._origin = time.monotonic()
        if started_at is not None:
            self._origin -= time.time() - started_at.timestamp()

    def __call__(self) -> datetime:
        return self.start + timedelta(seconds=(time.monotonic() - self._origin) * self.speed)


def real_seconds(clock: Clock, delta: timedelta) -> float:
    """How long to really wait for `delta` of this clock's time to pass."""
    return delta.total_seconds() / getattr(clock, "speed", 1.0)


def clock_delta(clock: Clock, real: timedelta) -> timedelta:
    """How much of this clock's time passes in `real` time (Telegram's waits are real)."""
    return real * getattr(clock, "speed", 1.0)


class ManualClock:
    """A clock that stands still until moved: `clock.now = …`. For tests and simulations."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now
