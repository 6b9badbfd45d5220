"""seat cap per fan: partners.max_seats_per_fan, pledges.email_key

Revision ID: 0004_secweb
Revises: 0004_money
"""

import sqlalchemy as sa
from alembic import op

revision = "0004_secweb"
down_revision = "0004_money_b"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("partners") as batch:
        batch.add_column(
            sa.Column("max_seats_per_fan", sa.Integer(), server_default="10", nullable=False)
        )
    with op.batch_alter_table("pledges") as batch:
        batch.add_column(sa.Column("email_key", sa.String(length=320), nullable=True))
        batch.create_index("ix_pledges_trip_email_key", ["trip_id", "email_key"], unique=False)
    # Existing pledges: emails are stored normalised, so lower() is their key but for the rare
    # address whose case-folding differs from lower-casing (such as "ß").
    op.execute("UPDATE pledges SET email_key = lower(email)")


def downgrade() -> None:
    with op.batch_alter_table("pledges") as batch:
        batch.drop_index("ix_pledges_trip_email_key")
        batch.drop_column("email_key")
    with op.batch_alter_table("partners") as batch:
        batch.drop_column("max_seats_per_fan")
