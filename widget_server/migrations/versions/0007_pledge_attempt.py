"""pledges: the fan's pledge attempt that made each one (unique), so a re-run of an attempt
whose answer was lost returns its pledge instead of making a second

Revision ID: 0007_pledge_attempt
Revises: 0007_pricing_core
"""

import sqlalchemy as sa
from alembic import op

revision = "0007_pledge_attempt"
down_revision = "0007_pricing_core"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("pledges") as batch_op:
        batch_op.add_column(sa.Column("attempt", sa.String(length=64), nullable=True))
        batch_op.create_index("ux_pledges_attempt", ["attempt"], unique=True)


def downgrade() -> None:
    with op.batch_alter_table("pledges") as batch_op:
        batch_op.drop_index("ux_pledges_attempt")
        batch_op.drop_column("attempt")
