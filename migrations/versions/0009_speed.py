"""speed: indexes on the break a due message or a rating belongs to

A rating tap drops its break's unsent follow-ups by break id; at 1M users that DELETE read
the whole waiting index (550 ms, 15,000 pages). Deleting a break (erasing a user) looks up
both tables by break id for their ON DELETE CASCADE.

Revision ID: 0009
Revises: 0008
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("due_messages", schema=None) as batch_op:
        batch_op.create_index("ix_due_messages_break_id", ["break_id"], unique=False)
    with op.batch_alter_table("ratings", schema=None) as batch_op:
        batch_op.create_index("ix_ratings_break_id", ["break_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("ratings", schema=None) as batch_op:
        batch_op.drop_index("ix_ratings_break_id")
    with op.batch_alter_table("due_messages", schema=None) as batch_op:
        batch_op.drop_index("ix_due_messages_break_id")
