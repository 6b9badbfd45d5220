"""branding: uploaded partner logos, wording per language

Revision ID: 0005_brand
Revises: 0005_totp
"""

import sqlalchemy as sa
from alembic import op

import widget_server.models.types

revision = "0005_brand"
down_revision = "0005_totp"
branch_labels = None
depends_on = None

UTC_DATETIME = widget_server.models.types.UTCDateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("partners") as batch:
        batch.add_column(
            sa.Column("wording", sa.JSON(), server_default=sa.text("'{}'"), nullable=False)
        )
    op.create_table(
        "partner_logos",
        sa.Column("partner_id", sa.String(length=40), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("format", sa.String(length=8), nullable=False),
        sa.Column("width", sa.Integer(), nullable=False),
        sa.Column("height", sa.Integer(), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", UTC_DATETIME, nullable=False),
        sa.ForeignKeyConstraint(
            ["partner_id"],
            ["partners.id"],
            name=op.f("fk_partner_logos_partner_id_partners"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("partner_id", name=op.f("pk_partner_logos")),
    )


def downgrade() -> None:
    op.drop_table("partner_logos")
    with op.batch_alter_table("partners") as batch:
        batch.drop_column("wording")
