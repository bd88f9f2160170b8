"""calendar: a user's feed address and fetch status, and the busy times expanded from it

Revision ID: 0010
Revises: 0009
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import bot.storage.db

revision: str = '0010'
down_revision: str | None = '0009'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _when(name: str, nullable: bool = True) -> sa.Column:
    return sa.Column(name, bot.storage.db.UTCDateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "calendar_feeds",
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        _when("added_at", nullable=False),
        _when("next_fetch_at", nullable=False),
        _when("fetched_at"),
        _when("tried_at"),
        sa.Column("error", sa.String(length=32), nullable=True),
        _when("failing_since"),
        _when("failure_told_at"),
        sa.Column("digest", sa.String(length=64), nullable=True),
        _when("expanded_at"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"],
                                name=op.f("fk_calendar_feeds_user_id_users"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_calendar_feeds")),
    )
    op.create_index(op.f("ix_calendar_feeds_next_fetch_at"), "calendar_feeds",
                    ["next_fetch_at"], unique=False)
    op.create_table(
        "busy_times",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        _when("starts_at", nullable=False),
        _when("ends_at", nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"],
                                name=op.f("fk_busy_times_user_id_users"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_busy_times")),
    )
    op.create_index("ix_busy_times_user_starts", "busy_times", ["user_id", "starts_at"],
                    unique=False)


def downgrade() -> None:
    op.drop_index("ix_busy_times_user_starts", table_name="busy_times")
    op.drop_table("busy_times")
    op.drop_index(op.f("ix_calendar_feeds_next_fetch_at"), table_name="calendar_feeds")
    op.drop_table("calendar_feeds")
