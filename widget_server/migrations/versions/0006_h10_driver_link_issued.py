"""trips: when the current driver link was issued, so the link shown again (console, email)
carries its issue time like the API's first answer and check-ins dated before it are refused

Revision ID: 0006_h10
Revises: 0006_h6
"""

import sqlalchemy as sa
from alembic import op

import widget_server.models.types

revision = "0006_h10"
down_revision = "0006_h6"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("trips") as batch_op:
        batch_op.add_column(
            sa.Column(
                "driver_link_issued_at",
                widget_server.models.types.UTCDateTime(timezone=True),
                nullable=True,
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("trips") as batch_op:
        batch_op.drop_column("driver_link_issued_at")
