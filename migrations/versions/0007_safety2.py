"""safety2: the pain number given at a stop for pain

Revision ID: 0007
Revises: 0006
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0007'
down_revision: str | None = '0006'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('breaks', schema=None) as batch_op:
        batch_op.add_column(sa.Column('stop_pain', sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('breaks', schema=None) as batch_op:
        batch_op.drop_column('stop_pain')
