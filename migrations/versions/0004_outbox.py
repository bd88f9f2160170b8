"""outbox: an index of waiting rows for claims, and one by end time for pruning

Revision ID: 0004
Revises: 0003
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

WAITING = sa.text("status IN ('pending', 'claimed')")


def upgrade() -> None:
    with op.batch_alter_table("due_messages", schema=None) as batch_op:
        batch_op.drop_index("ix_due_messages_status_due")
        batch_op.create_index("ix_due_messages_waiting", ["due_at"], unique=False,
                              postgresql_where=WAITING, sqlite_where=WAITING)
        batch_op.create_index("ix_due_messages_done_at", ["done_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("due_messages", schema=None) as batch_op:
        batch_op.drop_index("ix_due_messages_done_at")
        batch_op.drop_index("ix_due_messages_waiting")
        batch_op.create_index("ix_due_messages_status_due", ["status", "due_at"], unique=False)
