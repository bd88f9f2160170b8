"""Groups of users and their invitation codes (/invite, /start <code>, /stats <group>).

Functions take an `AsyncSession` in a transaction; they never commit.
"""

from __future__ import annotations

import re
import secrets
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.storage.models import Group, User

# What Telegram allows in a start payload; codes are made with 16 of these characters.
CODE_PATTERN = re.compile(r"[A-Za-z0-9_-]{8,32}")
CODE_BYTES = 12  # 96 random bits, 16 characters in URL-safe base64


def new_code() -> str:
    return secrets.token_urlsafe(CODE_BYTES)


async def named(session: AsyncSession, name: str) -> Group | None:
    """The group called `name`, ignoring case."""
    return await session.scalar(select(Group).where(func.lower(Group.name) == name.lower()))


async def by_code(session: AsyncSession, code: str) -> Group | None:
    """The group an invitation code names; a malformed code is not even looked up."""
    if not CODE_PATTERN.fullmatch(code):
        return None
    return await session.scalar(select(Group).where(Group.code == code))


async def create(session: AsyncSession, name: str, now: datetime) -> Group:
    group = Group(name=name, code=new_code(), created_at=now)
    session.add(group)
    await session.flush()
    return group


async def all_groups(session: AsyncSession) -> list[Group]:
    return list(await session.scalars(select(Group).order_by(Group.created_at, Group.id)))


async def with_sizes(session: AsyncSession) -> list[tuple[Group, int]]:
    """Every group, oldest first, with how many users it has."""
    members = func.count(User.id)
    rows = await session.execute(
        select(Group, members).outerjoin(User, User.group_id == Group.id)
        .group_by(Group.id).order_by(Group.created_at, Group.id))
    return [(group, int(count)) for group, count in rows]
