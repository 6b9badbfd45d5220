"""canonical fan emails: pledges.email_key and stop_requests.email_key recomputed (fan+1@x is
fan@x; Gmail dots dropped); stop_requests.address_key (the requesting network's HMAC)

Revision ID: 0006_h3
Revises: 0005_share
"""

import sqlalchemy as sa
from alembic import op

revision = "0006_h3"
down_revision = "0006_h4"
branch_labels = None
depends_on = None

_DOTLESS_DOMAINS = {"gmail.com": "gmail.com", "googlemail.com": "gmail.com"}


def _fan_email_key(old_key: str) -> str:
    """`domain.text.fan_email_key` as of this revision, applied to a stored `email_key` (the
    address already normalised and case-folded). Frozen here: a migration's meaning never
    changes with the code."""
    local, _, domain = old_key.rpartition("@")
    local = local.split("+", 1)[0] or local
    if domain in _DOTLESS_DOMAINS:
        local, domain = local.replace(".", "") or local, _DOTLESS_DOMAINS[domain]
    return f"{local}@{domain}"


def upgrade() -> None:
    with op.batch_alter_table("stop_requests") as batch_op:
        batch_op.add_column(sa.Column("address_key", sa.String(length=64), nullable=True))
    bind = op.get_bind()
    pledges = sa.table("pledges", sa.column("email_key", sa.String))
    for (old,) in bind.execute(
        sa.select(pledges.c.email_key).where(pledges.c.email_key.is_not(None)).distinct()
    ).all():
        new = _fan_email_key(old)
        if new != old:
            bind.execute(pledges.update().where(pledges.c.email_key == old).values(email_key=new))
    # Stop requests are unique per (trip, place, fan): of fan+1@x and fan+2@x asking for one
    # place, the first request stays.
    table = sa.table(
        "stop_requests",
        sa.column("id", sa.String),
        sa.column("trip_id", sa.String),
        sa.column("place_key", sa.String),
        sa.column("email_key", sa.String),
        sa.column("created_at", sa.DateTime),
    )
    seen: set = set()
    duplicates, renamed = [], []
    rows = bind.execute(
        sa.select(table.c.id, table.c.trip_id, table.c.place_key, table.c.email_key).order_by(
            table.c.created_at, table.c.id
        )
    ).all()
    for request_id, trip_id, place_key, old in rows:
        new = _fan_email_key(old)
        if (trip_id, place_key, new) in seen:
            duplicates.append(request_id)
            continue
        seen.add((trip_id, place_key, new))
        if new != old:
            renamed.append((request_id, new))
    # Duplicates first, so no renamed key meets a row still holding it.
    for request_id in duplicates:
        bind.execute(table.delete().where(table.c.id == request_id))
    for request_id, new in renamed:
        bind.execute(table.update().where(table.c.id == request_id).values(email_key=new))


def downgrade() -> None:
    # The folded keys stay (the addresses as typed are kept in `email`).
    with op.batch_alter_table("stop_requests") as batch_op:
        batch_op.drop_column("address_key")
