"""The tables: users and their preferences, breaks, ratings, assessments, and due messages.

Every future message (a break reminder, a follow-up inside a break, a weekly summary) is a
`DueMessage` row with a due time in UTC; nothing about the future lives only in memory.
"""

from __future__ import annotations

from datetime import datetime, time
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    Time,
    UniqueConstraint,
    false,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from bot.storage.db import UTCDateTime

MONDAY_TO_FRIDAY = 0b0011111  # bit d set = weekday d (0 = Monday) is a work day

naming_convention = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=naming_convention)
    type_annotation_map = {datetime: UTCDateTime, dict[str, Any]: JSON, list[str]: JSON}


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    chat_id: Mapped[int] = mapped_column(BigInteger)
    language: Mapped[str] = mapped_column(String(8), default="en")
    created_at: Mapped[datetime]
    consented_at: Mapped[datetime | None]
    onboarded_at: Mapped[datetime | None]
    # False after /stop or when Telegram says the user blocked the bot.
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # What the next text or button from this user answers (an onboarding or settings step).
    step: Mapped[str | None] = mapped_column(String(32))
    draft: Mapped[dict[str, Any]] = mapped_column(default=dict)

    time_zone: Mapped[str | None] = mapped_column(String(64))
    work_days: Mapped[int] = mapped_column(Integer, default=MONDAY_TO_FRIDAY)
    work_start: Mapped[time] = mapped_column(Time, default=time(9, 0))
    work_end: Mapped[time] = mapped_column(Time, default=time(17, 0))
    breaks_per_day: Mapped[int] = mapped_column(Integer, default=4)
    place: Mapped[str] = mapped_column(String(8), default="desk")
    paused_until: Mapped[datetime | None]
    # Where the next desk break starts in the sequence, so breaks rotate through it.
    rotation: Mapped[int] = mapped_column(Integer, default=0)
    # "Short: 1 minute a side" in /settings (the article suggests at least 2).
    short_holds: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # Equipment ids already listed to the user before a break that needed them.
    equipment_told: Mapped[list[str]] = mapped_column(default=list, server_default="[]")
    # The latest stop for pain not yet followed by a check-in ("How is the hip today?").
    pain_stop_at: Mapped[datetime | None]
    # When the bot last asked whether the plan fits (after three reminders in a row
    # skipped or missed): not again within a week.
    plan_fit_at: Mapped[datetime | None]
    # The safety questions answered yes (bot/domain/content.py CONDITIONS); None until
    # answered: registration stores None, so every new user is asked before a first break.
    screening: Mapped[list[str] | None] = mapped_column(JSON, default=list)
    # The group whose invitation link the user first started through (/invite), if any.
    group_id: Mapped[int | None] = mapped_column(
        ForeignKey("groups.id", ondelete="SET NULL"), index=True)


class Group(Base):
    """A group of users an operator invites with one link (a class, an office, a clinic)."""

    __tablename__ = "groups"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(40), unique=True)
    # The link's start payload: random, so a link cannot be guessed from another.
    code: Mapped[str] = mapped_column(String(32), unique=True)
    created_at: Mapped[datetime]


class Break(Base):
    """One stretch break: from the reminder (or /stretch, /routine) to its outcome."""

    __tablename__ = "breaks"
    __table_args__ = (Index("ix_breaks_user_started", "user_id", "planned_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(16))  # reminder | stretch | routine
    # pending (reminded, no answer yet) | active | rating | done | partial | skipped | missed
    # | moved_already ("I moved already": done without a guided break) | merged (moved for
    # a meeting into the next break) | dropped (moved for a meeting past the work window)
    status: Mapped[str] = mapped_column(String(16))
    planned_at: Mapped[datetime]
    # A reminded break's usual time in the user's plan, before meetings moved it: a slot
    # already reminded is never planned again, whatever meetings appear later.
    slot: Mapped[datetime | None]
    started_at: Mapped[datetime | None]
    ended_at: Mapped[datetime | None]
    place: Mapped[str] = mapped_column(String(8))
    positions: Mapped[list[str]] = mapped_column(default=list)
    positions_done: Mapped[list[str]] = mapped_column(default=list)
    position_index: Mapped[int] = mapped_column(Integer, default=0)
    # Bumped whenever the current position restarts, so stale follow-ups can tell.
    attempt: Mapped[int] = mapped_column(Integer, default=0)
    # The live message of the current hold: what its cues and countdown edit.
    message_id: Mapped[int | None] = mapped_column(BigInteger)
    # Whether that message is a photo whose caption carries the text (edits change the
    # caption), or a text message (a caption too long for a photo follows it as text).
    message_captioned: Mapped[bool] = mapped_column(Boolean, default=False,
                                                    server_default=false())
    # None while the user sets up the current position; the hold's clock starts here.
    hold_started_at: Mapped[datetime | None]
    short: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    snoozes: Mapped[int] = mapped_column(Integer, default=0)
    stopped_for_pain: Mapped[bool] = mapped_column(Boolean, default=False)
    # The pain (0-10) given at a stop for pain: the rating that stopped it, or the number
    # tapped after "it hurts" (optional: None is a stop without a number).
    stop_pain: Mapped[int | None] = mapped_column(Integer)


class Rating(Base):
    __tablename__ = "ratings"
    __table_args__ = (Index("ix_ratings_user_rated", "user_id", "rated_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    # Indexed: deleting a break cascades here.
    break_id: Mapped[int | None] = mapped_column(ForeignKey("breaks.id", ondelete="CASCADE"),
                                                 index=True)
    kind: Mapped[str] = mapped_column(String(16))  # baseline | break
    rated_at: Mapped[datetime]
    pain: Mapped[int] = mapped_column(Integer)
    stiffness: Mapped[int] = mapped_column(Integer)


class Assessment(Base):
    __tablename__ = "assessments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    taken_at: Mapped[datetime]
    answers: Mapped[dict[str, Any]] = mapped_column(default=dict)
    completed: Mapped[bool] = mapped_column(Boolean, default=False)


class DueMessage(Base):
    """A message the dispatcher sends when its time comes.

    `key` makes scheduling idempotent: two processes planning the same next break insert
    one row. A claimed row carries a lease; if its process dies, the row is claimed again
    once the lease has run out.
    """

    __tablename__ = "due_messages"
    __table_args__ = (
        UniqueConstraint("user_id", "key", name="uq_due_messages_user_key"),
        # Claims read only rows still waiting: a small index however many rows have ended.
        Index("ix_due_messages_waiting", "due_at",
              postgresql_where=text("status IN ('pending', 'claimed')"),
              sqlite_where=text("status IN ('pending', 'claimed')")),
        # Pruning finds ended rows by when they ended.
        Index("ix_due_messages_done_at", "done_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(16))
    key: Mapped[str] = mapped_column(String(64))
    due_at: Mapped[datetime]
    # pending | claimed | sent | expired | cancelled | failed
    status: Mapped[str] = mapped_column(String(12), default="pending")
    lease_until: Mapped[datetime | None]
    claimed_by: Mapped[str | None] = mapped_column(String(64))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # Indexed: a break's follow-ups are dropped by it (a rating tap), and deletes cascade.
    break_id: Mapped[int | None] = mapped_column(ForeignKey("breaks.id", ondelete="CASCADE"),
                                                 index=True)
    done_at: Mapped[datetime | None]
    outcome: Mapped[str | None] = mapped_column(Text)


class CalendarFeed(Base):
    """A user's calendar feed: its private address (a secret: whoever has it reads the
    calendar) and how its fetches went. Its busy times are `BusyTime` rows."""

    __tablename__ = "calendar_feeds"

    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, autoincrement=False)
    url: Mapped[str] = mapped_column(Text)
    added_at: Mapped[datetime]
    # When the next fetch is due: spread over the interval by user (see handlers/calendar.py).
    next_fetch_at: Mapped[datetime] = mapped_column(index=True)
    fetched_at: Mapped[datetime | None]  # the last fetch that worked
    tried_at: Mapped[datetime | None]  # the last attempt, good or bad
    error: Mapped[str | None] = mapped_column(String(32))  # the last attempt's reason, if bad
    failing_since: Mapped[datetime | None]  # the first failure since the last good fetch
    # Set once the user was told their feed has been failing for a day.
    failure_told_at: Mapped[datetime | None]
    # The last good body's SHA-256 and when its busy times were expanded: an unchanged feed
    # is not parsed again until the days ahead need expanding anew.
    digest: Mapped[str | None] = mapped_column(String(64))
    expanded_at: Mapped[datetime | None]
    # What the server said names that body's version (ETag, Last-Modified): sent back, a
    # server with nothing newer answers 304 without the body. Erased with the feed.
    etag: Mapped[str | None] = mapped_column(String(200))
    last_modified: Mapped[str | None] = mapped_column(String(64))


class BusyTime(Base):
    """A time the user's calendar says they are busy, expanded from the feed for the coming
    days: only start and end, never what the event is."""

    __tablename__ = "busy_times"
    __table_args__ = (Index("ix_busy_times_user_starts", "user_id", "starts_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    starts_at: Mapped[datetime]
    ends_at: Mapped[datetime]


class HandledUpdate(Base):
    """Telegram may deliver an update twice (a retried webhook); it is handled once."""

    __tablename__ = "handled_updates"

    update_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    handled_at: Mapped[datetime] = mapped_column(index=True)


class PictureUpload(Base):
    """Telegram's file_id of a picture once uploaded: every later send reuses it. A
    picture whose drawing changed has a new digest, so it is uploaded again."""

    __tablename__ = "picture_uploads"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    digest: Mapped[str] = mapped_column(String(64), primary_key=True)
    file_id: Mapped[str] = mapped_column(String(255))
    uploaded_at: Mapped[datetime]


USER_TABLES: tuple[type[Base], ...] = (
    DueMessage, Rating, Assessment, Break, BusyTime, CalendarFeed, User)
