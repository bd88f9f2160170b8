"""break_slot: the usual break time each reminded break stands for

Revision ID: 0012
Revises: 0011
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import bot.storage.db

revision: str = '0012'
down_revision: str | None = '0011'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('breaks', schema=None) as batch_op:
        batch_op.add_column(sa.Column('slot',
                                      bot.storage.db.UTCDateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('breaks', schema=None) as batch_op:
        batch_op.drop_column('slot')
