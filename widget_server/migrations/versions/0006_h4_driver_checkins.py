"""driver check-ins: boarding codes by an indexed lookup part and a derived key; device ids

Revision ID: 0006_h4
Revises: 0005_share

Every existing pledge gets its `boarding_ref` (the code's first 7 characters, from its ids).
Pledges already paid keep the code their fan was sent (`boarding_code_legacy`: signed with
SECRET_KEY itself); pledges paid from now on get codes signed with the derived key.
"""

import sqlalchemy as sa
from alembic import op

revision = "0006_h4"
down_revision = "0005_share"
branch_labels = None
depends_on = None

_BATCH = 1000


def _lookup(trip_id: str, pledge_id: str) -> str:
    # models.pledges.boarding_lookup as of this revision (a migration keeps its own copy).
    return (trip_id.rsplit("_", 1)[-1][-2:] + pledge_id.rsplit("_", 1)[-1][-5:]).upper()


def upgrade() -> None:
    with op.batch_alter_table("pledges") as batch_op:
        batch_op.add_column(sa.Column("boarding_ref", sa.String(length=7), nullable=True))
        batch_op.add_column(
            sa.Column(
                "boarding_code_legacy", sa.Boolean(), server_default=sa.false(), nullable=False
            )
        )
        batch_op.create_index(
            "ix_pledges_partner_boarding_ref", ["partner_id", "boarding_ref"], unique=False
        )
    with op.batch_alter_table("checkins") as batch_op:
        batch_op.add_column(sa.Column("device_id", sa.String(length=36), nullable=True))
    with op.batch_alter_table("boardings") as batch_op:
        batch_op.add_column(sa.Column("device_id", sa.String(length=36), nullable=True))

    fill_boarding_refs(op.get_bind())


def fill_boarding_refs(connection) -> None:
    """Every pledge's `boarding_ref`; pledges paid now keep their SECRET_KEY-signed code."""
    pledges = sa.table(
        "pledges",
        sa.column("id", sa.String),
        sa.column("trip_id", sa.String),
        sa.column("status", sa.String),
        sa.column("boarding_ref", sa.String),
        sa.column("boarding_code_legacy", sa.Boolean),
    )
    update = (
        pledges.update()
        .where(pledges.c.id == sa.bindparam("pledge_id"))
        .values(boarding_ref=sa.bindparam("ref"), boarding_code_legacy=sa.bindparam("legacy"))
    )
    rows = connection.execute(sa.select(pledges.c.id, pledges.c.trip_id, pledges.c.status)).all()
    for start in range(0, len(rows), _BATCH):
        batch = rows[start : start + _BATCH]
        connection.execute(
            update,
            [
                {
                    "pledge_id": row.id,
                    "ref": _lookup(row.trip_id, row.id),
                    "legacy": row.status == "paid",
                }
                for row in batch
            ],
        )


def downgrade() -> None:
    with op.batch_alter_table("boardings") as batch_op:
        batch_op.drop_column("device_id")
    with op.batch_alter_table("checkins") as batch_op:
        batch_op.drop_column("device_id")
    with op.batch_alter_table("pledges") as batch_op:
        batch_op.drop_index("ix_pledges_partner_boarding_ref")
        batch_op.drop_column("boarding_code_legacy")
        batch_op.drop_column("boarding_ref")
