"""operators get webhooks: webhook endpoints, messages and deliveries belong to a partner or
(operator_id) to an operator

Revision ID: 0007_ops_market
Revises: 0007_ops_core
"""

import sqlalchemy as sa
from alembic import op

revision = "0007_ops_market"
down_revision = "0007_ops_core"
branch_labels = None
depends_on = None

# Tables whose rows belong to exactly one of a partner or an operator.
_OWNED = ("webhook_endpoints", "webhook_messages", "webhook_deliveries")


def upgrade() -> None:
    for table in _OWNED:
        with op.batch_alter_table(table) as batch_op:
            batch_op.add_column(sa.Column("operator_id", sa.String(length=40), nullable=True))
            batch_op.alter_column("partner_id", existing_type=sa.String(length=40), nullable=True)
            batch_op.create_foreign_key(
                f"fk_{table}_operator_id_operators",
                "operators",
                ["operator_id"],
                ["id"],
                ondelete="CASCADE",
            )
            batch_op.create_check_constraint(
                "one_tenant", "(partner_id IS NULL) <> (operator_id IS NULL)"
            )
            batch_op.create_index(f"ix_{table}_operator_id", ["operator_id"])


def downgrade() -> None:
    for table in _OWNED:
        with op.batch_alter_table(table) as batch_op:
            batch_op.drop_index(f"ix_{table}_operator_id")
            batch_op.drop_constraint(f"ck_{table}_one_tenant", type_="check")
            batch_op.drop_constraint(f"fk_{table}_operator_id_operators", type_="foreignkey")
            batch_op.drop_column("operator_id")
            batch_op.alter_column("partner_id", existing_type=sa.String(length=40), nullable=False)
