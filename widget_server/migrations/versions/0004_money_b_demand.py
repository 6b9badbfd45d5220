"""money: demand counted once per fan and per requesting network; the threshold crossed once

Revision ID: 0004_money_b
Revises: 0004_money
"""

import sqlalchemy as sa
from alembic import op

import widget_server.models.types

revision = "0004_money_b"
down_revision = "0004_money"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Duplicates a race may have left: keep each fan's first signal.
    op.execute(
        "DELETE FROM demand_signals WHERE id NOT IN (SELECT MIN(id) FROM demand_signals "
        "GROUP BY event_id, origin_key, email)"
    )
    with op.batch_alter_table("demand_signals") as batch:
        batch.add_column(sa.Column("address_key", sa.String(length=64), nullable=True))
    # Signals from before: their network is unknown, so each counts as its own.
    op.execute("UPDATE demand_signals SET address_key = 'legacy:' || id")
    with op.batch_alter_table("demand_signals") as batch:
        batch.alter_column("address_key", existing_type=sa.String(length=64), nullable=False)
        batch.drop_index("ix_demand_event_origin")
        batch.create_index(
            "ix_demand_event_origin", ["event_id", "origin_key", "address_key"], unique=False
        )
        batch.create_unique_constraint(
            "uq_demand_event_origin_email", ["event_id", "origin_key", "email"]
        )
    op.create_table(
        "demand_tallies",
        sa.Column("event_id", sa.String(length=40), nullable=False),
        sa.Column("origin_key", sa.String(length=200), nullable=False),
        sa.Column("partner_id", sa.String(length=40), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column(
            "threshold_reached_at",
            widget_server.models.types.UTCDateTime(timezone=True),
            nullable=True,
        ),
        sa.ForeignKeyConstraint(
            ["event_id"],
            ["events.id"],
            name=op.f("fk_demand_tallies_event_id_events"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["partner_id"],
            ["partners.id"],
            name=op.f("fk_demand_tallies_partner_id_partners"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("event_id", "origin_key", name=op.f("pk_demand_tallies")),
    )
    op.execute(
        "INSERT INTO demand_tallies (event_id, origin_key, partner_id, count) "
        "SELECT event_id, origin_key, MIN(partner_id), COUNT(*) FROM demand_signals "
        "GROUP BY event_id, origin_key"
    )


def downgrade() -> None:
    op.drop_table("demand_tallies")
    with op.batch_alter_table("demand_signals") as batch:
        batch.drop_constraint("uq_demand_event_origin_email", type_="unique")
        batch.drop_index("ix_demand_event_origin")
        batch.create_index("ix_demand_event_origin", ["event_id", "origin_key"], unique=False)
        batch.drop_column("address_key")
