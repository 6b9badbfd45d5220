"""pledges: automatic retries of a failed card after the trip confirmed, and the reminder
before its grace period ends (domain/pledges/card_recovery.py)

Revision ID: 0007_card_recovery
Revises: 0006_h10
"""

import sqlalchemy as sa
from alembic import op

import widget_server.models.types

revision = "0007_card_recovery"
down_revision = "0006_h10"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("pledges") as batch_op:
        batch_op.add_column(
            sa.Column(
                "card_retry_at",
                widget_server.models.types.UTCDateTime(timezone=True),
                nullable=True,
            )
        )
        batch_op.add_column(
            sa.Column("card_retries", sa.Integer(), nullable=False, server_default="0")
        )
        batch_op.add_column(
            sa.Column(
                "card_reminded_at",
                widget_server.models.types.UTCDateTime(timezone=True),
                nullable=True,
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("pledges") as batch_op:
        batch_op.drop_column("card_reminded_at")
        batch_op.drop_column("card_retries")
        batch_op.drop_column("card_retry_at")
