"""What a job is: it decides what a due row sends and records what happened.

A job has `prepare`, `delivered` and `undeliverable` for one row; it may also have
`prepare_many` and `delivered_many` (a `ManyJob`) to do the same for a batch in a few
statements. `prepare_many` / `delivered_many` here call those, or loop over the per-row
methods for a job without them. A job whose `prepare` ends its row once it is too late to
be useful sets `retries_until_too_late = True`: its failed sends are then tried again past
the dispatcher's `max_attempts` (reminders through an outage of any length).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol, cast

from sqlalchemy.ext.asyncio import AsyncSession

from bot.domain.replies import Reply
from bot.storage.models import DueMessage, User


@dataclass(frozen=True)
class Send:
    reply: Reply


@dataclass(frozen=True)
class Edit:
    message_id: int
    reply: Reply


@dataclass(frozen=True)
class Skip:
    """Nothing to send; the row ends with this status and reason."""

    reason: str
    status: str = "expired"


Action = Send | Edit | Skip


class Job(Protocol):
    async def prepare(
        self, session: AsyncSession, row: DueMessage, user: User, now: datetime
    ) -> Action:
        """Decides what to send (and may record that it is being sent)."""

    async def delivered(
        self, session: AsyncSession, row: DueMessage, user: User, message_id: int | None,
        now: datetime,
    ) -> None:
        """Records a successful send. In a batch, `user` is as it was when the row was
        prepared (its row locked, not read again): read it, never change it."""

    async def undeliverable(
        self, session: AsyncSession, row: DueMessage, user: User, now: datetime, reason: str
    ) -> None:
        """Records that the message will never be sent."""


class ManyJob(Job, Protocol):
    """A job that prepares and records many rows at once (a batch costs a few statements
    instead of a few per row). Jobs without these get the per-row methods in a loop."""

    async def prepare_many(
        self, session: AsyncSession, items: Sequence[tuple[DueMessage, User]], now: datetime
    ) -> list[Action]:
        """`prepare` for each (row, user), in the same order."""

    async def delivered_many(
        self, session: AsyncSession, items: Sequence[tuple[DueMessage, User, int | None]],
        now: datetime,
    ) -> None:
        """`delivered` for each (row, user, message id)."""


def _many(job: Job) -> ManyJob | None:
    # Asked of the class: a wrapper that changes `prepare` and hands every other attribute
    # to the job it wraps must not have its change bypassed by the job's own batch method.
    return cast(ManyJob, job) if hasattr(type(job), "prepare_many") else None


async def prepare_many(job: Job, session: AsyncSession,
                       items: Sequence[tuple[DueMessage, User]], now: datetime) -> list[Action]:
    if (many := _many(job)) is not None:
        return await many.prepare_many(session, items, now)
    return [await job.prepare(session, row, user, now) for row, user in items]


async def delivered_many(job: Job, session: AsyncSession,
                         items: Sequence[tuple[DueMessage, User, int | None]],
                         now: datetime) -> None:
    if (many := _many(job)) is not None:
        await many.delivered_many(session, items, now)
        return
    for row, user, message_id in items:
        await job.delivered(session, row, user, message_id, now)


# Someone has to notice a blocked user: the users module does it, but the dispatcher
# must not import the domain, so it is passed in.
class OnBlocked(Protocol):
    async def __call__(self, session: AsyncSession, user: User, now: datetime) -> None: ...
