"""The busy times of a user's calendar feed.

A minimal version without feeds: the calendar feed's storage replaces it.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession


async def busy_times(session: AsyncSession, user_id: int, start: datetime,
                     end: datetime) -> list[tuple[datetime, datetime]]:
    """(start, end) of the user's busy times overlapping [start, end), in UTC."""
    return []
