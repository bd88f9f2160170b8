"""pictures: Telegram's file_id of each uploaded picture; whether a live message is a photo

Revision ID: 0008
Revises: 0007
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import bot.storage.db

revision: str = '0008'
down_revision: str | None = '0007'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'picture_uploads',
        sa.Column('key', sa.String(length=64), nullable=False),
        sa.Column('digest', sa.String(length=64), nullable=False),
        sa.Column('file_id', sa.String(length=255), nullable=False),
        sa.Column('uploaded_at', bot.storage.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('key', 'digest', name=op.f('pk_picture_uploads')),
    )
    with op.batch_alter_table('breaks', schema=None) as batch_op:
        # Breaks running at the upgrade have text live messages.
        batch_op.add_column(sa.Column('message_captioned', sa.Boolean(),
                                      server_default=sa.false(), nullable=False))


def downgrade() -> None:
    with op.batch_alter_table('breaks', schema=None) as batch_op:
        batch_op.drop_column('message_captioned')
    op.drop_table('picture_uploads')
