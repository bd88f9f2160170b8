"""The fault soak: a work day on two webhook instances while Telegram misbehaves and
instances are killed.

Two `python -m bot web` processes share one PostgreSQL database behind a round-robin
balancer. The stand-in delivers updates by webhook (redelivering until it gets a 2xx, as
Telegram does) and answers with 429 bursts, 5xx, slow replies (timeouts) and an outage.
Seeded users get their reminders on a fast clock; some users tap quickly through their
breaks and ask for /privacy. A random instance is SIGKILLed at random moments and started
again. At the end everything is counted from the database and the stand-in's call log:

- reminders lost: reminder rows sent (or failed) whose message never reached Telegram;
- reminders sent twice (the same break accepted twice), each matched with a kill or a
  timed-out send in its send window; copies per kill (bounded by the sends in flight and
  one recording group); rows an instance recorded after another had taken them over;
- updates lost: updates Telegram handed out that are not in `handled_updates`;
- updates handled twice: /privacy answered more often than it was asked;
- rows stuck claimed at the end.

`python -m bench` runs the long form (scenario 7); tests/test_soak.py runs a short one.
"""

from __future__ import annotations

import asyncio
import itertools
import random
import re
import signal
import socket
import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from datetime import time as dtime
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web

from bench.common import ROOT, TOKEN, bot_env

REMINDER = "Time for a stretch break"
# After three unanswered in a row, a reminder row asks this instead (once a week).
PLAN_FIT = "Does the plan fit your days"
PRIVACY = "What I store"
SECRET = "s3cret-webhook-token-for-soak"
START = datetime(2026, 11, 30, 8, 58, tzinfo=UTC)  # a Monday, just before the day starts
READ_TIMEOUT = 5.0  # how long the bot waits for Telegram's answer (PTB's default)
SLOW = 6.0  # the timeout fault: Telegram answers after this long
AVOID = ("Snooze", "Skip", "Stop")  # taps that would end the chain of reminders early


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Balancer:
    """Round-robin HTTP balancer; an instance that refuses is skipped, like a router would."""

    def __init__(self, ports: list[int]) -> None:
        self.ports = ports
        self.port = free_port()
        self.hits: Counter[int] = Counter()
        self._next = itertools.cycle(range(len(ports)))

    async def _forward(self, request: web.Request) -> web.Response:
        body = await request.read()
        headers = {k: v for k, v in request.headers.items() if k.lower().startswith("x-")}
        headers["Content-Type"] = "application/json"
        for _ in self.ports:
            port = self.ports[next(self._next)]
            try:
                async with aiohttp.ClientSession() as session, session.post(
                    f"http://127.0.0.1:{port}{request.path}", data=body, headers=headers
                ) as response:
                    self.hits[port] += 1
                    return web.Response(status=response.status)
            except aiohttp.ClientError:
                continue
        return web.Response(status=502)

    async def start(self) -> None:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._forward)
        self.runner = web.AppRunner(app)
        await self.runner.setup()
        await web.TCPSite(self.runner, "127.0.0.1", self.port).start()

    async def stop(self) -> None:
        await self.runner.cleanup()


async def healthy(port: int, timeout: float = 60) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    async with aiohttp.ClientSession() as session:
        while True:
            try:
                async with session.get(f"http://127.0.0.1:{port}/health") as response:
                    if response.status == 200:
                        return dict(await response.json())
            except aiohttp.ClientError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"instance on {port} never became healthy")
            await asyncio.sleep(0.2)


@dataclass(frozen=True)
class Plan:
    users: int  # seeded, each with a work day of reminders
    tappers: int  # of those, the ones who tap through their breaks and ask for /privacy
    kills: int  # SIGKILLs of a random instance, spread over the day
    faults: int  # injected Telegram faults (429 bursts, 5xx, timeouts), plus one outage
    outage: float = 5.0  # seconds of every call answered 502
    day_hours: int = 2  # the work window, 09:00 to 09:00 + this
    speed: float = 120.0  # the fast clock: fake seconds per real second
    lease: float = 15.0  # DISPATCH_LEASE_SECONDS: a starved live instance must keep its claims
    seed: int = 12


@dataclass
class Result:
    reminders_due: int = 0
    reminders_received: int = 0
    reminders_lost: int = 0
    reminders_twice: int = 0
    twice_killed: int = 0  # of those, with a kill between the two sends
    twice_timed_out: int = 0  # or the first send outlasting the bot's wait for an answer
    updates: int = 0
    updates_lost: int = 0
    updates_twice: int = 0
    privacy_asked: int = 0
    privacy_unanswered: int = 0  # handled, but the reply was cut by a kill or an outage
    taps: int = 0
    stuck: int = 0
    kills: list[float] = field(default_factory=list)
    faults: list[str] = field(default_factory=list)
    ended: Counter[str] = field(default_factory=Counter)
    seconds: float = 0.0

    # (user, break, first send answered at, how long it took, second send): copies with
    # neither a kill nor a timeout in their send window. Must stay empty.
    unexplained: list[tuple[int, int, float, float, float]] = field(default_factory=list)
    taken_over: list[int] = field(default_factory=list)  # due messages lost by a live process
    kill_copies: Counter[int] = field(default_factory=Counter)  # copies per kill (by index)

    @property
    def twice_unexplained(self) -> int:
        return self.reminders_twice - self.twice_killed - self.twice_timed_out

    def rows(self) -> list[tuple[str, int]]:
        return [("reminders due", self.reminders_due),
                ("reminders lost", self.reminders_lost),
                ("reminders sent twice", self.reminders_twice),
                ("  of which after a kill in the send window", self.twice_killed),
                ("  of which after a send that timed out", self.twice_timed_out),
                ("  most copies after one kill", max(self.kill_copies.values(), default=0)),
                ("  not explained by either", self.twice_unexplained),
                ("rows recorded sent after another instance took them", len(self.taken_over)),
                ("updates delivered", self.updates), ("updates lost", self.updates_lost),
                ("updates handled twice", self.updates_twice),
                ("/privacy replies cut (handled, reply not arrived)",
                 self.privacy_unanswered),
                ("button taps", self.taps), ("rows stuck claimed", self.stuck),
                ("instances killed (SIGKILL)", len(self.kills)),
                ("faults injected", len(self.faults))]

    def table(self) -> str:
        return "\n".join(["| soak | count |", "|---|---|",
                          *(f"| {name} | {value} |" for name, value in self.rows())])


class Instance:
    """One `python -m bot web` behind the balancer; `kill()` is SIGKILL, `start()` again
    continues the same fast clock."""

    def __init__(self, env: dict[str, str], port: int, log: Path, clock: Callable[[], datetime],
                 speed: float) -> None:
        self.env, self.port, self.log, self.clock, self.speed = env, port, log, clock, speed
        self.proc: asyncio.subprocess.Process | None = None

    async def start(self, wait: bool = True) -> None:
        """Starts the process; with `wait`, until it answers /health (a restart does not
        wait: during an outage start-up keeps retrying Telegram, as on a platform)."""
        env = dict(self.env, PORT=str(self.port), CLOCK_START=self.clock().isoformat(),
                   CLOCK_SPEED=str(self.speed))
        with self.log.open("ab") as out:
            self.proc = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "bot", "web", env=env, cwd=str(ROOT), stdout=out,
                stderr=out)
        if wait:
            await healthy(self.port)

    async def kill(self) -> None:
        assert self.proc is not None
        if self.proc.returncode is None:
            self.proc.send_signal(signal.SIGKILL)
        await self.proc.wait()

    async def stop(self) -> int:
        assert self.proc is not None
        if self.proc.returncode is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            return await asyncio.wait_for(self.proc.wait(), 30)
        except TimeoutError:
            self.proc.kill()
            return await self.proc.wait()


async def _seed(url: str, plan: Plan, rng: random.Random) -> list[int]:
    from bot.storage.db import Database
    from bot.storage.models import User
    from handlers.planning import plan_next

    ids = [70_000 + i for i in range(plan.users)]
    database = Database(url)
    try:
        async with database.session() as session:
            users = [User(id=uid, chat_id=uid, language="en", created_at=START,
                          consented_at=START, onboarded_at=START, active=True, draft={},
                          time_zone="UTC", work_days=0b1111111, work_start=dtime(9),
                          work_end=dtime(9 + plan.day_hours), place="desk",
                          breaks_per_day=rng.randint(2, 8)) for uid in ids]
            session.add_all(users)
            await session.flush()
            for user in users:
                await plan_next(session, user, START)
    finally:
        await database.close()
    return ids


async def _query(url: str, sql: str) -> list[Any]:
    from sqlalchemy import text

    from bot.storage.db import Database

    database = Database(url)
    try:
        async with database.session() as session:
            return list((await session.execute(text(sql))).all())
    finally:
        await database.close()


def _sent(standin: Any, *needles: str) -> dict[int, list[tuple[float, str, float]]]:
    """(when, text, how long it took) of each message containing one of `needles` that
    Telegram took, per chat."""
    sends: dict[int, list[tuple[float, str, float]]] = {}
    for call in standin.calls:
        text = str(call.params.get("text"))
        if call.method == "sendMessage" and call.ok and any(n in text for n in needles):
            sends.setdefault(call.chat_id, []).append((call.at, text, call.duration))
    return sends


BREAK_BUTTON = re.compile(r"b:(\d+):go")


def _reminders_by_break(standin: Any) -> dict[int, list[tuple[float, float]]]:
    """(when Telegram answered, how long it took) of each reminder it took, per break (the
    break id is in the reminder's "Start now" button)."""
    sends: dict[int, list[tuple[float, float]]] = {}
    for call in standin.calls:
        if call.method != "sendMessage" or not call.ok \
                or REMINDER not in str(call.params.get("text")):
            continue
        found = BREAK_BUTTON.search(str(call.params.get("reply_markup")))
        if found:
            sends.setdefault(int(found[1]), []).append((call.at, call.duration))
    return sends


async def run(url: str, plan: Plan, logs: Path, say: Callable[[str], None] = print) -> Result:
    """One soak on the migrated PostgreSQL database at `url`; returns what was counted."""
    from standin import BotAPIStandIn

    rng = random.Random(plan.seed)
    result = Result()
    began = time.monotonic()
    ids = await _seed(url, plan, rng)
    # Telegram keeps redelivering an update until the webhook answers 2xx.
    standin = BotAPIStandIn(token=TOKEN, webhook_retries=100_000, webhook_retry_delay=0.3)
    await standin.start()
    users = [standin.user(uid) for uid in ids]
    tappers = users[:plan.tappers]
    ports = [free_port(), free_port()]
    balancer = Balancer(ports)
    await balancer.start()
    clock_zero = time.monotonic()

    def clock() -> datetime:
        return START + timedelta(seconds=(time.monotonic() - clock_zero) * plan.speed)

    env = bot_env(standin.base_url, url, LOG_LEVEL="INFO",
                  WEBHOOK_URL=f"http://127.0.0.1:{balancer.port}", WEBHOOK_SECRET=SECRET,
                  DISPATCH_INTERVAL_SECONDS=str(plan.speed),  # a safety tick each real second
                  DISPATCH_LEASE_SECONDS=str(plan.lease),
                  # Leases and retries run on real seconds: on a fast clock a few of them
                  # are an hour, and a late reminder must still go out to be counted.
                  LATE_GRACE_MINUTES="600")
    await asyncio.to_thread(logs.mkdir, parents=True, exist_ok=True)
    instances = [Instance(env, port, logs / f"soak-web-{i}.log", clock, plan.speed)
                 for i, port in enumerate(ports)]
    await asyncio.gather(*(instance.start() for instance in instances))
    await standin.wait_until(lambda: standin.webhook is not None, timeout=30)
    day = plan.day_hours * 3600 / plan.speed  # real seconds of the work day
    done = asyncio.Event()

    async def killer() -> None:
        moments = sorted(rng.uniform(0.05, 0.9) * day for _ in range(plan.kills))
        for moment in moments:
            await asyncio.sleep(max(0.0, clock_zero + moment - time.monotonic()))
            victim = rng.choice(instances)
            result.kills.append(time.time())
            await victim.kill()
            say(f"killed instance {instances.index(victim)} at {clock():%H:%M}")
            await victim.start(wait=False)

    async def faults() -> None:
        kinds = ["429", "5xx", "timeout"]
        moments = sorted(rng.uniform(0.05, 0.9) * day for _ in range(plan.faults))
        outage_at = rng.uniform(0.2, 0.7) * day
        for moment in sorted([*moments, outage_at]):
            await asyncio.sleep(max(0.0, clock_zero + moment - time.monotonic()))
            if moment == outage_at:
                standin.outage(plan.outage)
                result.faults.append(f"outage {plan.outage:.0f}s at {clock():%H:%M}")
                continue
            kind = rng.choice(kinds)
            if kind == "429":
                standin.fail_next("sendMessage", status=429, retry_after=1,
                                  times=rng.randint(3, 20))
            elif kind == "5xx":
                standin.fail_next("*", status=rng.choice([500, 502, 503]),
                                  times=rng.randint(2, 10))
            else:  # replies slower than the bot's read timeout, for a couple of seconds
                standin.slow("sendMessage", SLOW)
                await asyncio.sleep(2)
                standin.slow("sendMessage", 0)
            result.faults.append(f"{kind} at {clock():%H:%M}")

    async def tapper(user: Any) -> None:
        pressed: set[tuple[int, str]] = set()
        while not done.is_set():
            await user.wait_until(lambda: done.is_set() or any(
                (m.message_id, d) not in pressed for m in user.history
                if m.from_bot and not m.deleted for row in m.buttons for label, d in row
                if d and not label.startswith(AVOID)), timeout=3600)
            if done.is_set():
                return
            for message in [m for m in user.history if m.from_bot and not m.deleted]:
                for row in message.buttons:
                    for label, data in row:
                        if not data or label.startswith(AVOID) \
                                or (message.message_id, data) in pressed:
                            continue
                        pressed.add((message.message_id, data))
                        for _ in range(rng.choice([1, 1, 2])):  # sometimes a double tap
                            await user.press(message, data, check=False)
                            result.taps += 1
                        if rng.random() < 0.3:
                            await user.command("/privacy")
                            result.privacy_asked += 1
                        break
                    else:
                        continue
                    break

    background = [asyncio.create_task(killer()), asyncio.create_task(faults()),
                  *(asyncio.create_task(tapper(user)) for user in tappers)]
    try:
        await asyncio.gather(*background[:2])
        # The rest of the day, then until every due row has ended and every update is in.
        await asyncio.sleep(max(0.0, clock_zero + day + 2 - time.monotonic()))
        deadline = time.monotonic() + 120 + 2 * plan.lease
        while True:
            [(waiting,)] = await _query(url, (
                "select count(*) from due_messages where status in ('pending', 'claimed') "
                f"and due_at <= '{clock().isoformat()}' and kind = 'reminder'"))
            idle = not standin.hub._queues  # noqa: SLF001 - every update delivered
            if (waiting == 0 and idle) or time.monotonic() > deadline:
                break
            await asyncio.sleep(0.5)
    finally:
        done.set()
        for task in background:
            task.cancel()
        await asyncio.gather(*background, return_exceptions=True)
        codes = await asyncio.gather(*(instance.stop() for instance in instances))
        await balancer.stop()
        await standin.stop()
    say(f"instances stopped with {codes}")
    await _count(url, standin, ids, result, _dispatcher_log([i.log for i in instances]))
    result.seconds = time.monotonic() - began
    return result


LOG_LINE = re.compile(r"^(\S+ \S+) (?:WARNING|INFO) bot\.outbox\.dispatcher: (.*)$", re.MULTILINE)
TIMED_OUT = re.compile(r"sending reminder to user (\d+) failed \(Timed out\)")
TAKEN_OVER = re.compile(r"due message (\d+) was sent, but another instance had taken it over")


def _dispatcher_log(logs: list[Path]) -> tuple[dict[int, list[float]], list[int]]:
    """When each user's reminder send timed out, as the instances logged it (a machine this
    loaded can make the bot wait longer than Telegram took to answer); and the due messages
    an instance recorded as sent after another had taken them over (a defect)."""
    timeouts: dict[int, list[float]] = {}
    taken_over: list[int] = []
    for log in logs:
        for stamp, message in LOG_LINE.findall(log.read_text(errors="replace")):
            at = datetime.strptime(stamp, "%Y-%m-%d %H:%M:%S,%f").timestamp()  # local time
            if found := TIMED_OUT.search(message):
                timeouts.setdefault(int(found[1]), []).append(at)
            elif found := TAKEN_OVER.search(message):
                taken_over.append(int(found[1]))
    return timeouts, taken_over


async def _count(url: str, standin: Any, ids: list[int], result: Result,
                 log: tuple[dict[int, list[float]], list[int]]) -> None:
    timeouts, result.taken_over = log
    rows = await _query(url, "select user_id, status, count(*) from due_messages"
                             " where kind = 'reminder' group by user_id, status")
    sent_rows: Counter[int] = Counter()
    for user_id, status, count in rows:
        result.ended[status] += count
        if status in ("sent", "failed"):
            sent_rows[user_id] += count
    result.reminders_due = sum(sent_rows.values())
    received = _sent(standin, REMINDER, PLAN_FIT)
    result.reminders_received = sum(len(times) for times in received.values())
    for user_id in ids:
        result.reminders_lost += max(0, sent_rows[user_id] - len(received.get(user_id, [])))
    owners = dict(await _query(url, "select id, user_id from breaks"))
    for break_id, sends in _reminders_by_break(standin).items():
        sends.sort()
        user_id = owners.get(break_id)
        for (a, took), (b, _took) in itertools.pairwise(sends):
            result.reminders_twice += 1
            # The send-to-commit window of the first send: from its request leaving
            # (`a - took`: `a` is when Telegram answered) to the second send. Either a kill
            # in it (Telegram took the message, the row was not recorded sent, the lease
            # ran out and the other instance sent it), or a first send that took longer
            # than the bot waits (it cannot tell a slow success from a failure, and tries
            # again: losing a reminder is worse).
            if any(a - took <= kill <= b for kill in result.kills):
                result.twice_killed += 1
                result.kill_copies[next(i for i, kill in enumerate(result.kills)
                                        if a - took <= kill <= b)] += 1
            elif took >= READ_TIMEOUT or any(a - took <= at <= b
                                             for at in timeouts.get(user_id or -1, ())):
                result.twice_timed_out += 1
            else:
                result.unexplained.append((user_id or 0, break_id, a, took, b))
    [(result.stuck,)] = await _query(url, "select count(*) from due_messages"
                                          " where status = 'claimed'")
    handled = {uid for (uid,) in await _query(url, "select update_id from handled_updates")}
    issued = range(1, standin.hub._next_id)  # noqa: SLF001 - every update handed out
    result.updates = len(issued)
    result.updates_lost = sum(1 for uid in issued if uid not in handled)
    answered = _sent(standin, PRIVACY)
    for user in standin.users.values():
        asks = sum(1 for m in user.history if not m.from_bot and m.text == "/privacy")
        got = len(answered.get(user.id, []))
        result.updates_twice += max(0, got - asks)
        result.privacy_unanswered += max(0, asks - got)


NAME = "7 fault soak"
FULL_PLAN = Plan(users=240, tappers=40, kills=24, faults=30, outage=60, day_hours=8,
                 speed=96)


async def scenario(dbs: Any, plan: Plan, logs: Path) -> list[Any]:
    """Scenario 7 of `python -m bench`: one soak, each count beside what it is out of."""
    from bench.common import Figure, migrate

    url = await dbs.pg_url()
    await migrate(url)
    result = await run(url, plan, logs, say=lambda line: print(f"[soak] {line}",
                                                               file=sys.stderr, flush=True))
    print(result.table(), file=sys.stderr, flush=True)
    note = (f"{plan.users} users, {len(result.kills)} SIGKILLs, {len(result.faults)} faults "
            f"incl. a {plan.outage:.0f} s outage, {result.seconds:.0f} s")

    def figure(name: str, value: int, baseline: int, baseline_name: str, goal: str,
               met: bool) -> Any:
        return Figure(NAME, name, value, "", baseline, baseline_name, goal, met, note,
                      extra={"faults": result.faults, "ended": dict(result.ended),
                             "unexplained": result.unexplained,
                             "taken_over": result.taken_over,
                             "copies_per_kill": dict(result.kill_copies)})

    return [
        figure("reminders lost", result.reminders_lost, result.reminders_due,
               "reminders due", "0", result.reminders_lost == 0),
        figure("reminders sent twice", result.reminders_twice, result.reminders_due,
               "reminders due", "each after a kill or a timeout in its send window",
               result.twice_unexplained == 0 and not result.taken_over),
        figure("updates lost", result.updates_lost, result.updates, "updates delivered", "0",
               result.updates_lost == 0),
        figure("updates handled twice", result.updates_twice, result.updates,
               "updates delivered", "0", result.updates_twice == 0),
        figure("rows stuck claimed", result.stuck, result.reminders_due, "reminders due", "0",
               result.stuck == 0),
    ]
