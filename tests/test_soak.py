"""The fault soak, short form: two webhook instances on PostgreSQL, Telegram failing in
every way it does, instances SIGKILLed at random moments; nothing is lost, nothing is
handled twice, and every reminder sent twice is explained by a kill or a send slower than
the bot waits for, in its send-to-commit window (how many is printed). The long form is
scenario 7 of `python -m bench` (bench/soak.py)."""

from __future__ import annotations

import inspect
from pathlib import Path

import pytest

from bench.soak import Plan, run
from bot.outbox.dispatcher import Dispatcher

pytestmark = [pytest.mark.e2e, pytest.mark.postgres]


async def test_a_day_of_kills_and_faults_loses_nothing_and_handles_nothing_twice(
    pg_url: str, tmp_path: Path
) -> None:
    result = await run(pg_url, Plan(users=40, tappers=10, kills=4, faults=5, outage=4,
                                    day_hours=2, speed=120), tmp_path)
    print(result.table())
    assert len(result.kills) == 4
    assert result.reminders_due > 40  # the day really happened...
    assert result.taps > 0 and result.privacy_asked > 0  # ...with users tapping through it
    assert result.reminders_lost == 0
    # Every copy of a reminder (the same break sent twice) follows a kill or a send that
    # timed out inside its send window: an at-least-once send whose result was lost.
    assert result.unexplained == []
    assert result.twice_killed + result.twice_timed_out == result.reminders_twice
    # A kill loses at most the sends in flight and one recording group of "sent" records.
    dispatcher = inspect.signature(Dispatcher.__init__).parameters
    bound = dispatcher["concurrency"].default + dispatcher["record_group"].default
    assert max(result.kill_copies.values(), default=0) <= bound
    # No live instance ever sent a row another had taken over.
    assert result.taken_over == []
    assert result.updates > 0
    assert result.updates_lost == 0
    assert result.updates_twice == 0
    assert result.stuck == 0
