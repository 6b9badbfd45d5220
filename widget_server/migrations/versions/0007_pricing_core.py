"""pricing core: promo codes and their redemptions, trip price steps and group tiers, event
group tiers, and the price each pledge locks (discount, promo code, breakdown)

Revision ID: 0007_pricing_core
Revises: 0006_h10
"""

import sqlalchemy as sa
from alembic import op

import widget_server.models.types

revision = "0007_pricing_core"
down_revision = "0006_h10"
branch_labels = None
depends_on = None

UTC = widget_server.models.types.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "promo_codes",
        sa.Column("id", sa.String(40), nullable=False),
        sa.Column("partner_id", sa.String(40), nullable=False),
        sa.Column("code", sa.String(40), nullable=False),
        sa.Column("percent_off", sa.Integer(), nullable=True),
        sa.Column("amount_off", sa.Integer(), nullable=True),
        sa.Column("currency", sa.String(3), nullable=True),
        sa.Column("max_redemptions", sa.Integer(), nullable=True),
        sa.Column("per_fan_limit", sa.Integer(), nullable=True),
        sa.Column("starts_at", UTC, nullable=True),
        sa.Column("ends_at", UTC, nullable=True),
        sa.Column("event_id", sa.String(40), nullable=True),
        sa.Column("trip_id", sa.String(40), nullable=True),
        sa.Column("active", sa.Boolean(), server_default=sa.true(), nullable=False),
        sa.Column("times_redeemed", sa.Integer(), server_default="0", nullable=False),
        sa.Column("created_at", UTC, nullable=False),
        sa.Column("updated_at", UTC, nullable=False),
        sa.CheckConstraint(
            "(percent_off IS NULL) <> (amount_off IS NULL)",
            name=op.f("ck_promo_codes_one_kind_of_discount"),
        ),
        sa.CheckConstraint(
            "percent_off IS NULL OR percent_off BETWEEN 1 AND 100",
            name=op.f("ck_promo_codes_percent"),
        ),
        sa.CheckConstraint(
            "amount_off IS NULL OR amount_off >= 1", name=op.f("ck_promo_codes_amount_positive")
        ),
        sa.CheckConstraint(
            "max_redemptions IS NULL OR times_redeemed <= max_redemptions",
            name=op.f("ck_promo_codes_redemptions_within_max"),
        ),
        sa.ForeignKeyConstraint(
            ["partner_id"],
            ["partners.id"],
            name=op.f("fk_promo_codes_partner_id_partners"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["event_id"],
            ["events.id"],
            name=op.f("fk_promo_codes_event_id_events"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["trip_id"],
            ["trips.id"],
            name=op.f("fk_promo_codes_trip_id_trips"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_promo_codes")),
        sa.UniqueConstraint("partner_id", "code", name="uq_promo_codes_partner_code"),
    )
    op.create_table(
        "promo_redemptions",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("promo_code_id", sa.String(40), nullable=False),
        sa.Column("pledge_id", sa.String(40), nullable=False),
        sa.Column("fan_key", sa.String(320), nullable=False),
        sa.Column("created_at", UTC, nullable=False),
        sa.ForeignKeyConstraint(
            ["promo_code_id"],
            ["promo_codes.id"],
            name=op.f("fk_promo_redemptions_promo_code_id_promo_codes"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["pledge_id"],
            ["pledges.id"],
            name=op.f("fk_promo_redemptions_pledge_id_pledges"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_promo_redemptions")),
        sa.UniqueConstraint("pledge_id", name=op.f("uq_promo_redemptions_pledge_id")),
    )
    op.create_index(
        "ix_promo_redemptions_code_fan", "promo_redemptions", ["promo_code_id", "fan_key"]
    )
    with op.batch_alter_table("trips") as batch_op:
        batch_op.add_column(
            sa.Column("price_steps", sa.JSON(), server_default="[]", nullable=False)
        )
        batch_op.add_column(sa.Column("group_tiers", sa.JSON(), nullable=True))
    with op.batch_alter_table("events") as batch_op:
        batch_op.add_column(
            sa.Column("group_tiers", sa.JSON(), server_default="[]", nullable=False)
        )
    with op.batch_alter_table("pledges") as batch_op:
        batch_op.add_column(
            sa.Column("discount_amount", sa.Integer(), server_default="0", nullable=False)
        )
        batch_op.add_column(sa.Column("promo_code", sa.String(40), nullable=True))
        batch_op.add_column(sa.Column("promo_code_id", sa.String(40), nullable=True))
        batch_op.add_column(sa.Column("price_breakdown", sa.JSON(), nullable=True))
        batch_op.create_foreign_key(
            op.f("fk_pledges_promo_code_id_promo_codes"),
            "promo_codes",
            ["promo_code_id"],
            ["id"],
            ondelete="SET NULL",
        )
        batch_op.create_check_constraint(
            op.f("ck_pledges_amounts_non_negative"), "discount_amount >= 0 AND amount >= 0"
        )


def downgrade() -> None:
    with op.batch_alter_table("pledges") as batch_op:
        batch_op.drop_constraint(op.f("ck_pledges_amounts_non_negative"), type_="check")
        batch_op.drop_constraint(op.f("fk_pledges_promo_code_id_promo_codes"), type_="foreignkey")
        for column in ("price_breakdown", "promo_code_id", "promo_code", "discount_amount"):
            batch_op.drop_column(column)
    with op.batch_alter_table("events") as batch_op:
        batch_op.drop_column("group_tiers")
    with op.batch_alter_table("trips") as batch_op:
        batch_op.drop_column("group_tiers")
        batch_op.drop_column("price_steps")
    op.drop_index("ix_promo_redemptions_code_fan", table_name="promo_redemptions")
    op.drop_table("promo_redemptions")
    op.drop_table("promo_codes")
