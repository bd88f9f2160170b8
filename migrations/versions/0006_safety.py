"""safety: the latest stop for pain awaiting a check-in, the screening answers

Revision ID: 0006
Revises: 0005
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import bot.storage.db

revision: str = '0006'
down_revision: str | None = '0005'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('pain_stop_at',
                                      bot.storage.db.UTCDateTime(timezone=True), nullable=True))
        # Existing users are asked too: NULL is "not answered yet".
        batch_op.add_column(sa.Column('screening', sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('screening')
        batch_op.drop_column('pain_stop_at')
