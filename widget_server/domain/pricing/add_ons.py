"""Add-ons: extras a trip sells with its seats (a tailgate pass, a scarf), each with a unit
price, a quantity on sale (or unlimited) and an on/off switch.

- **Priced by the one rule.** The fan's choices (`{add-on id: quantity}`) become
  `AddOnLine`s (`add_on_lines`: key = the add-on's id, its name and unit price now) and go
  through `price_pledge` with the seats; the pledge locks them in its breakdown, so a later
  change of name or price never changes a pledge already made. Discounts never apply to them.
- **Stock exact under concurrency.** `take_stock` runs inside the pledge's recording
  transaction, one conditional UPDATE per line (`sold = sold + n WHERE sold + n <= quantity`):
  however many fans race for the last units, `sold` never passes `quantity` (a check
  constraint says so too), and a fan who loses gets `AddOnSoldOut` (409 naming
  `add_ons.<id>`), rolling the whole pledge back (seats and promo code use included).
- **Released with the seats.** When a pledge stops being live (withdrawn, dropped after a
  failed card, canceled by the partner, the trip failed or canceled), its units go back on
  sale (`release_stock`, called where the seats are freed: `pledges.transitions.transition`).
"""

from __future__ import annotations

from sqlalchemy import or_, update
from sqlalchemy.orm import Session

from widget_server.domain.audit import record
from widget_server.domain.errors import ValidationFailed
from widget_server.domain.pricing.rules import AddOnLine, price_lines
from widget_server.models import AddOn, Pledge, Trip
from widget_server.models.add_ons import MAX_ADD_ON_UNITS
from widget_server.models.types import utcnow

MAX_ADD_ONS_PER_TRIP = 20
MAX_UNIT_AMOUNT = 10_000_000
MAX_QUANTITY = 100_000
FIELDS = ("name", "unit_amount", "quantity", "active")


class AddOnSoldOut(ValidationFailed):
    """Fewer units of an add-on are left than the fan asked for: 409 naming `add_ons.<id>`."""

    status = 409
    title = "Add-on sold out"
    type = "add-on-sold-out"

    def __init__(self, add_on_id: str, name: str, left: int):
        message = f"only {left} left of {name}" if left else f"{name} is sold out"
        super().__init__(
            f"add_ons.{add_on_id}: {message}", errors={f"add_ons.{add_on_id}": [message]}
        )


def on_sale(trip: Trip) -> list[AddOn]:
    """The trip's add-ons a fan may choose now (active; sold-out ones included, shown so)."""
    return [add_on for add_on in trip.add_ons if add_on.active]


def add_on_lines(trip: Trip, choices: dict[str, int]) -> tuple[AddOnLine, ...]:
    """The fan's choices (`{add-on id: quantity}`, quantity 0 meaning none) as priced lines,
    each checked: an active add-on of this trip, 1 to MAX_ADD_ON_UNITS units, that many still
    on sale (the early check; `take_stock` decides under concurrency)."""
    by_id = {add_on.id: add_on for add_on in on_sale(trip)}
    lines = []
    for add_on_id, quantity in choices.items():
        field = f"add_ons.{add_on_id}"
        if add_on_id not in by_id:
            raise ValidationFailed.field(field, "is not an add-on of this trip on sale")
        if not 0 <= quantity <= MAX_ADD_ON_UNITS:
            raise ValidationFailed.field(field, f"must be from 0 to {MAX_ADD_ON_UNITS}")
        add_on = by_id[add_on_id]
        if quantity == 0:
            continue
        if add_on.remaining is not None and quantity > add_on.remaining:
            raise AddOnSoldOut(add_on.id, add_on.name, add_on.remaining)
        lines.append(AddOnLine(add_on.id, add_on.name, add_on.unit_amount, quantity))
    return tuple(lines)


def take_stock(session: Session, lines: tuple[AddOnLine, ...]) -> None:
    """Take the units of each line (in the pledge's recording transaction): one conditional
    UPDATE each, so stock never oversells; AddOnSoldOut (rolling the pledge back) otherwise."""
    for line in lines:
        taken = session.execute(
            update(AddOn)
            .where(
                AddOn.id == line.key,
                AddOn.active.is_(True),
                or_(AddOn.quantity.is_(None), AddOn.sold + line.quantity <= AddOn.quantity),
            )
            .values(sold=AddOn.sold + line.quantity, updated_at=utcnow())
            .execution_options(synchronize_session=False)
        )
        if taken.rowcount != 1:
            add_on = session.get(AddOn, line.key, populate_existing=True)
            left = add_on.remaining if add_on is not None and add_on.active else 0
            raise AddOnSoldOut(line.key, line.name, left or 0)


def pledge_add_ons(pledge: Pledge) -> list[dict]:
    """The add-on lines a pledge bought, as locked in its breakdown: `key` (the add-on's id),
    `name`, `unit_amount`, `quantity`, `amount`. Every face shows these."""
    return list(price_lines(pledge).get("add_ons") or ())


def locked_add_on_lines(pledge: Pledge) -> tuple[AddOnLine, ...]:
    """The pledge's add-on lines as `price_pledge` takes them, at the names and prices it
    locked (re-pricing a pledge keeps its extras as they were bought)."""
    return tuple(
        AddOnLine(line["key"], line["name"], line["unit_amount"], line["quantity"])
        for line in pledge_add_ons(pledge)
    )


def release_stock(session: Session, pledge: Pledge) -> None:
    """Put a pledge's add-on units back on sale (it stopped being live)."""
    for line in pledge_add_ons(pledge):
        session.execute(
            update(AddOn)
            .where(AddOn.id == line["key"], AddOn.sold >= line["quantity"])
            .values(sold=AddOn.sold - line["quantity"], updated_at=utcnow())
            .execution_options(synchronize_session=False)
        )


def create_add_on(session: Session, trip: Trip, values: dict, *, actor: str) -> AddOn:
    """A new add-on of the trip (`name`, `unit_amount`, `quantity` or None, `active`), in the
    trip's currency. Audited as `add_on.created`."""
    if len(trip.add_ons) >= MAX_ADD_ONS_PER_TRIP:
        raise ValidationFailed.field("add_ons", f"a trip has at most {MAX_ADD_ONS_PER_TRIP}")
    _check(values)
    add_on = AddOn(
        partner_id=trip.partner_id,
        trip_id=trip.id,
        name=values["name"],
        unit_amount=values["unit_amount"],
        quantity=values.get("quantity"),
        active=values.get("active", True),
        sold=0,
    )
    session.add(add_on)
    session.flush()
    session.expire(trip, ["add_ons"])
    record(session, trip.partner_id, actor, "add_on.created", "add_on", add_on.id, _audit(values))
    return add_on


def update_add_on(session: Session, add_on: AddOn, changes: dict, *, actor: str) -> AddOn:
    """Change an add-on's name, price, quantity or switch it off/on. Pledges already made keep
    what they bought; `quantity` never drops below the units sold (checked atomically against
    fans buying right now)."""
    _check(changes)
    if "quantity" in changes and changes["quantity"] is not None:
        result = session.execute(
            update(AddOn)
            .where(AddOn.id == add_on.id, AddOn.sold <= changes["quantity"])
            .values(quantity=changes["quantity"])
            .execution_options(synchronize_session=False)
        )
        session.expire(add_on, ["quantity", "sold"])
        if result.rowcount != 1:
            raise ValidationFailed.field(
                "quantity", f"{add_on.sold} are already sold; the quantity cannot be lower"
            )
    elif "quantity" in changes:
        add_on.quantity = None
    for key in ("name", "unit_amount", "active"):
        if key in changes:
            setattr(add_on, key, changes[key])
    session.flush()
    record(
        session, add_on.partner_id, actor, "add_on.updated", "add_on", add_on.id, _audit(changes)
    )
    return add_on


def _check(values: dict) -> None:
    if "unit_amount" in values and not 0 <= values["unit_amount"] <= MAX_UNIT_AMOUNT:
        raise ValidationFailed.field("unit_amount", f"must be from 0 to {MAX_UNIT_AMOUNT}")
    quantity = values.get("quantity")
    if quantity is not None and not 0 <= quantity <= MAX_QUANTITY:
        raise ValidationFailed.field("quantity", f"must be from 0 to {MAX_QUANTITY}, or null")


def _audit(values: dict) -> dict:
    return {key: values[key] for key in FIELDS if key in values}
