"""pricing extras: sponsors of events and trips; add-ons sold with a trip's seats (a pledge's
add-on lines are in its price breakdown)

Revision ID: 0007_pricing_extras
Revises: 0007_ops_trips
"""

import sqlalchemy as sa
from alembic import op

import widget_server.models.types

revision = "0007_pricing_extras"
down_revision = "0007_ops_trips"
branch_labels = None
depends_on = None

UTC_DATETIME = widget_server.models.types.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "sponsors",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("partner_id", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("url", sa.String(length=2000), nullable=True),
        sa.Column("sha256", sa.String(length=64), nullable=True),
        sa.Column("format", sa.String(length=8), nullable=True),
        sa.Column("width", sa.Integer(), nullable=True),
        sa.Column("height", sa.Integer(), nullable=True),
        sa.Column("size", sa.Integer(), nullable=True),
        sa.Column("data", sa.LargeBinary(), nullable=True),
        sa.Column("created_at", UTC_DATETIME, nullable=False),
        sa.Column("updated_at", UTC_DATETIME, nullable=False),
        sa.ForeignKeyConstraint(
            ["partner_id"],
            ["partners.id"],
            name=op.f("fk_sponsors_partner_id_partners"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sponsors")),
    )
    op.create_index(op.f("ix_sponsors_partner_id"), "sponsors", ["partner_id"])
    for table in ("events", "trips"):
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column("sponsor_id", sa.String(length=40), nullable=True))
            batch.create_foreign_key(
                op.f(f"fk_{table}_sponsor_id_sponsors"),
                "sponsors",
                ["sponsor_id"],
                ["id"],
                ondelete="SET NULL",
            )
    op.create_table(
        "add_ons",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("partner_id", sa.String(length=40), nullable=False),
        sa.Column("trip_id", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("unit_amount", sa.Integer(), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=True),
        sa.Column("sold", sa.Integer(), server_default="0", nullable=False),
        sa.Column("active", sa.Boolean(), server_default=sa.true(), nullable=False),
        sa.Column("created_at", UTC_DATETIME, nullable=False),
        sa.Column("updated_at", UTC_DATETIME, nullable=False),
        sa.CheckConstraint(
            "sold >= 0 AND (quantity IS NULL OR sold <= quantity)",
            name=op.f("ck_add_ons_sold_in_range"),
        ),
        sa.CheckConstraint("unit_amount >= 0", name=op.f("ck_add_ons_unit_amount_non_negative")),
        sa.ForeignKeyConstraint(
            ["partner_id"],
            ["partners.id"],
            name=op.f("fk_add_ons_partner_id_partners"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["trip_id"], ["trips.id"], name=op.f("fk_add_ons_trip_id_trips"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_add_ons")),
    )
    op.create_index(op.f("ix_add_ons_trip_id"), "add_ons", ["trip_id"])


def downgrade() -> None:
    op.drop_table("add_ons")
    for table in ("trips", "events"):
        with op.batch_alter_table(table) as batch:
            batch.drop_constraint(op.f(f"fk_{table}_sponsor_id_sponsors"), type_="foreignkey")
            batch.drop_column("sponsor_id")
    op.drop_index(op.f("ix_sponsors_partner_id"), table_name="sponsors")
    op.drop_table("sponsors")
