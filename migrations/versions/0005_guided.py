"""guided break: short holds, the equipment a user was told about, the hold's start

Revision ID: 0005
Revises: 0004
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import bot.storage.db

revision: str = '0005'
down_revision: str | None = '0004'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('short_holds', sa.Boolean(), nullable=False,
                                      server_default=sa.false()))
        batch_op.add_column(sa.Column('equipment_told', sa.JSON(), nullable=False,
                                      server_default='[]'))
    with op.batch_alter_table('breaks', schema=None) as batch_op:
        batch_op.add_column(sa.Column('hold_started_at',
                                      bot.storage.db.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('short', sa.Boolean(), nullable=False,
                                      server_default=sa.false()))


def downgrade() -> None:
    with op.batch_alter_table('breaks', schema=None) as batch_op:
        batch_op.drop_column('short')
        batch_op.drop_column('hold_started_at')
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('equipment_told')
        batch_op.drop_column('short_holds')
