"""What handlers and jobs share: settings, the database, the clock and the content."""

from __future__ import annotations

from dataclasses import dataclass

from bot.clock import Clock
from bot.config import Settings
from bot.content import Program
from bot.db import Database


@dataclass
class Services:
    settings: Settings
    database: Database
    clock: Clock
    program: Program
