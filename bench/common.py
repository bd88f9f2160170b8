"""What the scenarios share: databases to bench on, seeding, processes, figures.

Every scenario returns a list of `Figure`s: one measured value beside its baseline from
the same run, their ratio, and the goal it is judged against (if any).
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from datetime import time as dtime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
TOKEN = "123456789:AAEbenchTOKENbenchTOKENbenchTOKEN1234"
PG_URL = os.environ.get(
    "MOVEBETTER_BENCH_PG_URL",
    os.environ.get("MOVEBETTER_TEST_PG_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test"),
)
# Inside this window (in each zone below) 10:00 UTC on a Monday is work time.
MONDAY_10 = datetime(2026, 11, 30, 10, 0, tzinfo=UTC)
ZONES_AT_10_UTC = ("UTC", "Europe/London", "Europe/Madrid", "Europe/Helsinki", "Africa/Lagos",
                   "Asia/Dubai", "Asia/Kolkata")


# ------------------------------------------------------------------------------------------
# Figures


@dataclass
class Figure:
    """One line of the table: a measured value beside its baseline, and their ratio.

    `ratio` is value / baseline; `goal` says which way is good ("ratio >= 0.8").
    """

    scenario: str
    name: str
    value: float | None
    unit: str
    baseline: float | None
    baseline_name: str
    goal: str = ""
    met: bool | None = None
    note: str = ""
    samples: list[float] = field(default_factory=list)
    baseline_samples: list[float] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def ratio(self) -> float | None:
        if self.value is None or not self.baseline:
            return None
        return self.value / self.baseline

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["ratio"] = self.ratio
        return data


def median(values: Iterable[float]) -> float | None:
    values = list(values)
    return statistics.median(values) if values else None


def percentile(values: Iterable[float], pct: float) -> float | None:
    """Nearest-rank percentile (p99 of 200 samples is the 198th smallest)."""
    ordered = sorted(values)
    if not ordered:
        return None
    rank = max(1, min(len(ordered), int(-(-pct * len(ordered) // 100))))
    return ordered[rank - 1]


def machine() -> dict[str, Any]:
    """What the figures were measured on."""
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem_kb = 0
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                mem_kb = int(line.split()[1])
    except OSError:
        pass
    import platform

    import sqlalchemy
    import telegram

    return {
        "cpus": os.cpu_count(), "cpu": cpu, "memory_gb": round(mem_kb / 2**20, 1),
        "os": platform.platform(), "python": platform.python_version(),
        "python_telegram_bot": telegram.__version__, "sqlalchemy": sqlalchemy.__version__,
        "load_before": os.getloadavg()[0] if hasattr(os, "getloadavg") else None,
    }


# ------------------------------------------------------------------------------------------
# Databases


def _asyncpg_dsn(url: str) -> str:
    return url.replace("postgresql+asyncpg://", "postgresql://")


class BenchDatabases:
    """Creates SQLite files and PostgreSQL databases for the bench, and removes them all."""

    def __init__(self) -> None:
        self.tmp = Path(tempfile.mkdtemp(prefix="movebetter-bench-"))
        self._pg: list[str] = []

    def sqlite_url(self, name: str) -> str:
        return f"sqlite+aiosqlite:///{self.tmp / (name + '.db')}"

    async def pg_url(self, template: str | None = None) -> str:
        import asyncpg

        name = f"mb_bench_{uuid.uuid4().hex[:10]}"
        try:
            admin = await asyncpg.connect(_asyncpg_dsn(PG_URL), timeout=5)
        except (OSError, asyncpg.PostgresError) as exc:
            raise RuntimeError(f"PostgreSQL at {PG_URL} is not reachable ({exc})") from exc
        try:
            suffix = f' TEMPLATE "{template.rsplit("/", 1)[1]}"' if template else ""
            await admin.execute(f'CREATE DATABASE "{name}"{suffix}')
        finally:
            await admin.close()
        self._pg.append(name)
        return PG_URL.rsplit("/", 1)[0] + f"/{name}"

    async def drop_pg(self, url: str) -> None:
        import asyncpg

        name = url.rsplit("/", 1)[1]
        admin = await asyncpg.connect(_asyncpg_dsn(PG_URL), timeout=5)
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await admin.close()
        if name in self._pg:
            self._pg.remove(name)

    def copy_sqlite(self, url: str, name: str) -> str:
        source = Path(url.split("///", 1)[1])
        target = self.tmp / (name + ".db")
        shutil.copyfile(source, target)
        return f"sqlite+aiosqlite:///{target}"

    async def close(self) -> None:
        for url in list(self._pg):
            await self.drop_pg(PG_URL.rsplit("/", 1)[0] + f"/{url}")
        shutil.rmtree(self.tmp, ignore_errors=True)


async def migrate(url: str) -> None:
    from bot.storage.migrate import upgrade

    await asyncio.to_thread(upgrade, url)


async def checkpoint_sqlite(url: str) -> None:
    """Folds the WAL into the main file, so copying the file copies the database."""
    import sqlite3

    path = url.split("///", 1)[1]
    await asyncio.to_thread(_checkpoint, sqlite3, path)


def _checkpoint(sqlite3: Any, path: str) -> None:
    con = sqlite3.connect(path)
    try:
        con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        con.close()


# ------------------------------------------------------------------------------------------
# Seeding: users and their next reminder, in bulk


def user_row(user_id: int, *, zone: str, start: dtime, end: dtime, breaks: int,
             days: int = 0b0011111, created: datetime = MONDAY_10,
             step: str | None = None) -> dict[str, Any]:
    return dict(id=user_id, chat_id=user_id, language="en", created_at=created,
                consented_at=created, onboarded_at=created, active=True, step=step, draft={},
                time_zone=zone, work_days=days, work_start=start, work_end=end,
                breaks_per_day=breaks, place="desk", paused_until=None, rotation=0)


def reminder_row(user_id: int, due_at: datetime) -> dict[str, Any]:
    return dict(user_id=user_id, kind="reminder", key=f"remind:{due_at.isoformat()}",
                due_at=due_at, status="pending", attempts=0, payload={})


async def insert_rows(url: str, users: list[dict[str, Any]], due: list[dict[str, Any]],
                      chunk: int = 5000) -> None:
    """Bulk-inserts user and due-message rows through SQLAlchemy core (types applied)."""
    from sqlalchemy import insert

    from bot.storage.db import Database
    from bot.storage.models import DueMessage, User

    database = Database(url)
    try:
        for table, rows in ((User, users), (DueMessage, due)):
            for i in range(0, len(rows), chunk):
                async with database.session() as session:
                    await session.execute(insert(table), rows[i:i + chunk])
    finally:
        await database.close()


async def seed_pg_generated(url: str, count: int, due_from: datetime) -> None:
    """`count` users (and one pending reminder each) with INSERT … SELECT generate_series.

    Like `user_row`: onboarded, 08:00–18:00 Monday to Friday in a zone of ZONES_AT_10_UTC.
    """
    import asyncpg

    con = await asyncpg.connect(_asyncpg_dsn(url))
    try:
        await con.execute(
            """
            INSERT INTO users (id, chat_id, language, created_at, consented_at, onboarded_at,
                               active, step, draft, time_zone, work_days, work_start, work_end,
                               breaks_per_day, place, paused_until, rotation)
            SELECT g, g, 'en', $1, $1, $1, true, NULL, '{}'::json,
                   ($3::text[])[g % cardinality($3::text[]) + 1],
                   31, time '08:00', time '18:00', g % 8 + 1, 'desk', NULL, 0
            FROM generate_series(1, $2::bigint) AS g
            """, MONDAY_10, count, list(ZONES_AT_10_UTC))
        await con.execute(
            """
            INSERT INTO due_messages (user_id, kind, key, due_at, status, attempts, payload)
            SELECT g, 'reminder', 'remind:' || to_char(t, 'YYYY-MM-DD"T"HH24:MI:SS'), t,
                   'pending', 0, '{}'::json
            FROM (SELECT g, $1::timestamptz + (g % 28800) * interval '1 second' AS t
                  FROM generate_series(1, $2::bigint) AS g) AS s
            """, due_from, count)
        await con.execute("ANALYZE")
    finally:
        await con.close()


async def count_rows(url: str, sql: str) -> int:
    from sqlalchemy import text

    from bot.storage.db import Database

    database = Database(url)
    try:
        async with database.session() as session:
            return int((await session.execute(text(sql))).scalar_one())
    finally:
        await database.close()


# ------------------------------------------------------------------------------------------
# Processes


def child_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if k not in ("DATABASE_URL", "TELEGRAM_BOT_TOKEN", "CLOCK_START", "CLOCK_SPEED",
                        "TELEGRAM_API_BASE_URL")}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    env.update(extra)
    return env


def bot_env(base_url: str, database_url: str, **extra: str) -> dict[str, str]:
    env = child_env(TELEGRAM_BOT_TOKEN=TOKEN, TELEGRAM_API_BASE_URL=base_url,
                    DATABASE_URL=database_url.replace("sqlite+aiosqlite:", "sqlite:"),
                    LOG_LEVEL="WARNING")
    env.update(extra)
    return env


def rss_kb(pid: int) -> dict[str, int]:
    """VmRSS and VmHWM (peak) of a process, in kB, from /proc."""
    result: dict[str, int] = {}
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            key = line.split(":", 1)[0]
            if key in ("VmRSS", "VmHWM"):
                result[key] = int(line.split()[1])
    except OSError:
        pass
    return result


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return float("nan")


def _tail(log: Path, chars: int = 3000) -> str:
    """The end of a log, for an error message (a failure path: blocking is fine)."""
    return log.read_text(errors="replace")[-chars:]


async def run_worker(args: list[str], timeout: float, log: Path) -> dict[str, Any]:
    """Runs `python -m bench.workers …` and returns the JSON it prints last."""
    with log.open("ab") as err:
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bench.workers", *args, cwd=str(ROOT), env=child_env(),
            stdout=asyncio.subprocess.PIPE, stderr=err)
        try:
            out, _ = await asyncio.wait_for(proc.communicate(), timeout)
        except TimeoutError:
            proc.kill()
            await proc.wait()
            raise RuntimeError(f"worker {args[0]} timed out after {timeout}s; see {log}") \
                from None
    if proc.returncode != 0:
        raise RuntimeError(f"worker {args[0]} exited {proc.returncode}; see {log}:\n"
                           + _tail(log))
    lines = [line for line in out.decode().splitlines() if line.startswith("{")]
    if not lines:
        raise RuntimeError(f"worker {args[0]} printed no result; see {log}")
    result: dict[str, Any] = json.loads(lines[-1])
    return result


@asynccontextmanager
async def standin_server(**options: Any) -> AsyncIterator[Any]:
    from standin import BotAPIStandIn

    server = BotAPIStandIn(token=TOKEN, create_unknown_chats=True, **options)
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


def now_utc() -> datetime:
    return datetime.now(UTC)


def wall_window_around(moment: datetime, before: timedelta, after: timedelta) -> tuple[dtime,
                                                                                        dtime]:
    """A UTC work window (start, end wall times) containing `moment` with room either side."""
    start = (moment - before).replace(second=0, microsecond=0)
    end = (moment + after).replace(second=0, microsecond=0)
    return start.time(), end.time()


class Stopwatch:
    def __init__(self) -> None:
        self.start = time.perf_counter()

    def __call__(self) -> float:
        return time.perf_counter() - self.start


# ------------------------------------------------------------------------------------------
# The real bot process (or the naive one) against the in-process stand-in


class ProcessRun:
    """A bot process started by the bench; `ready_after` is spawn → first getUpdates."""

    def __init__(self, proc: asyncio.subprocess.Process, log: Path) -> None:
        self.proc = proc
        self.log = log
        self.ready_after: float | None = None
        self.rss_at_ready: dict[str, int] = {}
        self.gave_up_after: float | None = None  # set when it was still starting at the cap

    async def stop(self, timeout: float = 30) -> int | None:
        import signal

        if self.proc.returncode is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            return await asyncio.wait_for(self.proc.wait(), timeout)
        except TimeoutError:
            self.proc.kill()
            return await self.proc.wait()


async def start_process(standin: Any, args: list[str], env: dict[str, str], log: Path,
                        timeout: float = 300, give_up: bool = False) -> ProcessRun:
    """Spawns `python <args>` and waits until it sends its first getUpdates.

    The stand-in's hub is wrapped so the moment the request arrives (not when the long
    poll returns) is taken, and the process's resident memory is read right then. With
    `give_up`, a process still starting after `timeout` is stopped and returned with
    `gave_up_after` set and its memory at that moment (a lower bound).
    """
    hub = standin.hub
    original = hub.get_updates
    arrived: asyncio.Future[float] = asyncio.get_running_loop().create_future()
    holder: dict[str, Any] = {}

    async def first_poll(*a: Any, **kw: Any) -> Any:
        if not arrived.done():
            holder["rss"] = rss_kb(holder["pid"])
            arrived.set_result(time.perf_counter())
        return await original(*a, **kw)

    hub.get_updates = first_poll
    out = log.open("ab")
    started = time.perf_counter()
    proc = await asyncio.create_subprocess_exec(sys.executable, *args, env=env, cwd=str(ROOT),
                                                stdout=out, stderr=out)
    holder["pid"] = proc.pid
    run = ProcessRun(proc, log)
    waiter: asyncio.Future[Any] = asyncio.ensure_future(proc.wait())
    watched: set[asyncio.Future[Any]] = {arrived, waiter}
    try:
        done, _ = await asyncio.wait(watched, timeout=timeout,
                                     return_when=asyncio.FIRST_COMPLETED)
        if arrived not in done and give_up and proc.returncode is None:
            run.rss_at_ready = rss_kb(proc.pid)
            run.gave_up_after = time.perf_counter() - started
            await run.stop(timeout=10)
            return run
        if arrived not in done:
            await run.stop()
            raise RuntimeError(f"{' '.join(args)} never polled (exit {proc.returncode}); "
                               f"log:\n{_tail(log)}")
    finally:
        if not waiter.done():
            waiter.cancel()
        hub.get_updates = original
        out.close()
    run.ready_after = arrived.result() - started
    run.rss_at_ready = holder.get("rss", {})
    return run


@asynccontextmanager
async def local_http(app: Any) -> AsyncIterator[str]:
    """Serves an aiohttp `web.Application` on a free port of 127.0.0.1; yields its base URL."""
    from aiohttp import web

    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        await runner.cleanup()


def lateness(calls: list[Any], due: dict[int, float]) -> dict[str, float | int | None]:
    """How late each chat's first accepted sendMessage came after its due time (seconds)."""
    sent_at: dict[int, float] = {}
    for c in calls:
        if c.method == "sendMessage" and c.status == 200 and c.chat_id in due \
                and c.chat_id not in sent_at:
            sent_at[c.chat_id] = c.at
    late = sorted(sent_at[c] - due[c] for c in sent_at)
    return {
        "reminders_sent": len(sent_at), "reminders_due": len(due),
        "late_p50": statistics.median(late) if late else None,
        "late_p95": late[int(0.95 * (len(late) - 1))] if late else None,
        "late_max": late[-1] if late else None,
    }
