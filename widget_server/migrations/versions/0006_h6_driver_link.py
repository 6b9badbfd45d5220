"""console: when the trip's current driver link expires (so the console can show it again);
the logo file chosen on the branding page before saving (its preview)

Revision ID: 0006_h6
Revises: 0005_share
"""

import sqlalchemy as sa
from alembic import op

import widget_server.models.types

revision = "0006_h6"
down_revision = "0006_h3"
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
    op.create_table(
        "partner_logo_previews",
        sa.Column("partner_id", sa.String(length=40), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("format", sa.String(length=8), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.Column(
            "created_at",
            widget_server.models.types.UTCDateTime(timezone=True),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["partner_id"],
            ["partners.id"],
            name=op.f("fk_partner_logo_previews_partner_id_partners"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("partner_id", name=op.f("pk_partner_logo_previews")),
    )


def downgrade() -> None:
    op.drop_table("partner_logo_previews")
    with op.batch_alter_table("trips") as batch_op:
        batch_op.drop_column("driver_link_expires_at")
