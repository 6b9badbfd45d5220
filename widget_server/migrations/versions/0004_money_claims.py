"""money: pledge claims with a lease, temporary-failure backoff

Revision ID: 0004_money
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

import widget_server.models.types

revision = "0004_money"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("pledges") as batch:
        batch.add_column(
            sa.Column(
                "claim_expires_at",
                widget_server.models.types.UTCDateTime(timezone=True),
                nullable=True,
            )
        )
        batch.add_column(
            sa.Column(
                "retry_at", widget_server.models.types.UTCDateTime(timezone=True), nullable=True
            )
        )
        batch.add_column(
            sa.Column("provider_failures", sa.Integer(), server_default="0", nullable=False)
        )


def downgrade() -> None:
    with op.batch_alter_table("pledges") as batch:
        batch.drop_column("provider_failures")
        batch.drop_column("retry_at")
        batch.drop_column("claim_expires_at")
