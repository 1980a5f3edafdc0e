"""Jobs publish their progress as fields: the step they are at, of how many, the latest loss (training) and
the estimated seconds left.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('jobs', schema=None) as batch_op:
        batch_op.add_column(sa.Column('step', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('total_steps', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('loss', sa.Float(), nullable=True))
        batch_op.add_column(sa.Column('eta_s', sa.Float(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('jobs', schema=None) as batch_op:
        batch_op.drop_column('eta_s')
        batch_op.drop_column('loss')
        batch_op.drop_column('total_steps')
        batch_op.drop_column('step')
