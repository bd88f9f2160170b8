"""Telegram's file_id of each uploaded picture, by (key, digest).

    file_id = await stored_file_id(session, key, digest)     # None: upload it
    await remember_file_id(session, key, digest, file_id, now)
    await replace_file_id(session, key, digest, stale, fresh, now)   # Telegram forgot one
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.storage.db import insert_for
from bot.storage.models import PictureUpload


async def stored_file_id(session: AsyncSession, key: str, digest: str) -> str | None:
    return await session.scalar(select(PictureUpload.file_id).where(
        PictureUpload.key == key, PictureUpload.digest == digest))


async def stored_file_ids(session: AsyncSession) -> dict[tuple[str, str], str]:
    """Every stored file_id by (key, digest)."""
    rows = await session.execute(select(PictureUpload.key, PictureUpload.digest,
                                        PictureUpload.file_id))
    return {(key, digest): file_id for key, digest, file_id in rows}


async def remember_file_id(session: AsyncSession, key: str, digest: str, file_id: str,
                           now: datetime) -> str:
    """Stores the first upload's file_id; a concurrent upload of the same picture keeps
    the one stored first. Returns the stored one."""
    await session.execute(
        insert_for(session)(PictureUpload)
        .values(key=key, digest=digest, file_id=file_id, uploaded_at=now)
        .on_conflict_do_nothing(index_elements=["key", "digest"]))
    return await stored_file_id(session, key, digest) or file_id


async def replace_file_id(session: AsyncSession, key: str, digest: str, stale: str,
                          fresh: str, now: datetime) -> None:
    """Replaces a file_id Telegram rejected (unless another upload replaced it already)."""
    await session.execute(
        update(PictureUpload)
        .where(PictureUpload.key == key, PictureUpload.digest == digest,
               PictureUpload.file_id == stale)
        .values(file_id=fresh, uploaded_at=now))
