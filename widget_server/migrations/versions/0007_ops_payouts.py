"""payouts take claims: the try under way (claim_expires_at), the next try (retry_at), temporary
failures in a row and the last error

Revision ID: 0007_ops_payouts
Revises: 0007_pricing_extras (re-chained by the lead; needs 0007_ops_core's payouts table)
"""

import sqlalchemy as sa
from alembic import op

import widget_server.models.types

revision = "0007_ops_payouts"
down_revision = "0007_pricing_extras"
branch_labels = None
depends_on = None


def upgrade() -> None:
    moment = widget_server.models.types.UTCDateTime(timezone=True)
    with op.batch_alter_table("payouts") as batch:
        batch.add_column(sa.Column("claim_expires_at", moment, nullable=True))
        batch.add_column(sa.Column("retry_at", moment, nullable=True))
        batch.add_column(
            sa.Column("provider_failures", sa.Integer(), server_default="0", nullable=False)
        )
        batch.add_column(sa.Column("last_error", sa.String(length=500), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("payouts") as batch:
        batch.drop_column("last_error")
        batch.drop_column("provider_failures")
        batch.drop_column("retry_at")
        batch.drop_column("claim_expires_at")
