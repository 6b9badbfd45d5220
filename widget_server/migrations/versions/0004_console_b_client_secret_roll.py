"""console: an API client's previous secret, valid until the overlap the admin chose ends

Revision ID: 0004_console_b
Revises: 0004_console
"""

import sqlalchemy as sa
from alembic import op

import widget_server.models.types

revision = "0004_console_b"
down_revision = "0004_console"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("api_clients") as batch:
        batch.add_column(sa.Column("previous_secret_hash", sa.String(length=255), nullable=True))
        batch.add_column(
            sa.Column(
                "previous_secret_expires_at",
                widget_server.models.types.UTCDateTime(timezone=True),
                nullable=True,
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("api_clients") as batch:
        batch.drop_column("previous_secret_expires_at")
        batch.drop_column("previous_secret_hash")
