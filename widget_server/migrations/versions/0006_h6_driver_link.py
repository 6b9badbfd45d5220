"""driver link in the console: when the trip's current driver link expires, so the console
can show it again

Revision ID: 0006_h6
Revises: 0005_share
"""

import sqlalchemy as sa
from alembic import op

import widget_server.models.types

revision = "0006_h6"
down_revision = "0005_share"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("trips") as batch_op:
        batch_op.add_column(
            sa.Column(
                "driver_link_expires_at",
                widget_server.models.types.UTCDateTime(timezone=True),
                nullable=True,
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("trips") as batch_op:
        batch_op.drop_column("driver_link_expires_at")
