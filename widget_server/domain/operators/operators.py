"""An operator (bus company): creating one with its owner, its profile and compliance, its
fleet (vehicles) and its drivers. Every change is audited in the operator's own log.

Input is loaded through the schemas below (the CLI, the portal's forms and the API send the
same dicts), so "what is a valid USDOT number, region or plate" is decided once. Lookups by id
take the operator: another operator's vehicle or driver is `NotFound`, never a hint.
"""

from __future__ import annotations

from datetime import date

from marshmallow import (
    RAISE,
    Schema,
    ValidationError,
    fields,
    validate,
    validates_schema,
)
from sqlalchemy import select
from sqlalchemy.orm import Session

from widget_server.domain.accounts import admins
from widget_server.domain.audit import record
from widget_server.domain.errors import Conflict, NotFound, ValidationFailed, field_errors
from widget_server.domain.numbers import Integer
from widget_server.domain.partners import SLUG
from widget_server.domain.text import Email, Phone, Text
from widget_server.ids import is_id
from widget_server.models import AdminUser, Operator, OperatorDriver, Vehicle
from widget_server.models.operators import MAX_VEHICLE_SEATS, VEHICLE_KINDS

MAX_REGIONS = 60
# The dates an insurance expiry may have: anything else is a typo.
EARLIEST_DATE, LATEST_DATE = date(2000, 1, 1), date(2100, 12, 31)


class RegionCode(Text):
    """A region code such as KS or QC (2 or 3 letters or digits), stored upper-case."""

    def __init__(self, **kwargs):
        super().__init__(
            max_length=3,
            validate=validate.Regexp(
                r"^[A-Z0-9]{2,3}$", error="must be region codes like KS or MO (2-3 letters)"
            ),
            **kwargs,
        )

    def _deserialize(self, value, attr, data, **kwargs):
        return super()._deserialize(value, attr, data, **kwargs).upper()


class ProfileSchema(Schema):
    """What an operator's owner may change on the portal (and the API may read)."""

    class Meta:
        unknown = RAISE

    name = Text(max_length=200, required=True)
    legal_name = Text(max_length=200, allow_none=True)
    usdot_number = Text(
        max_length=8,
        allow_none=True,
        validate=validate.Regexp(r"^[0-9]{1,8}$", error="must be 1 to 8 digits"),
    )
    insurance_expires_on = fields.Date(allow_none=True)
    regions = fields.List(RegionCode(), validate=validate.Length(max=MAX_REGIONS))
    contact_email = Email(allow_none=True)
    contact_phone = Phone(allow_none=True)

    @validates_schema
    def _dates_in_range(self, data, **_kwargs):
        expires = data.get("insurance_expires_on")
        if expires is not None and not EARLIEST_DATE <= expires <= LATEST_DATE:
            raise ValidationError("must be a date between 2000 and 2100", "insurance_expires_on")


class NewOperatorSchema(ProfileSchema):
    """`ridepledge operators create`: the profile, the slug and the payout account."""

    slug = Text(
        max_length=63,
        required=True,
        validate=validate.Regexp(
            SLUG, error="must be 1-63 lower-case letters, digits or dashes, like prairie-coach"
        ),
    )
    stripe_account_id = Text(
        max_length=255,
        allow_none=True,
        validate=validate.Regexp(
            r"^acct_[A-Za-z0-9]{1,200}$", error="must be a Stripe account id like acct_1Nv0..."
        ),
    )


class VehicleSchema(Schema):
    class Meta:
        unknown = RAISE

    name = Text(max_length=200, required=True)
    kind = Text(
        max_length=32,
        required=True,
        validate=validate.OneOf(VEHICLE_KINDS, error="must be one of: {choices}"),
    )
    seats = Integer(
        required=True,
        validate=validate.Range(
            min=1, max=MAX_VEHICLE_SEATS, error=f"must be 1 to {MAX_VEHICLE_SEATS}"
        ),
    )
    plate = Text(max_length=20, allow_none=True)


class DriverSchema(Schema):
    class Meta:
        unknown = RAISE

    name = Text(max_length=200, required=True)
    phone = Phone(allow_none=True)
    email = Email(allow_none=True)

    @validates_schema
    def _reachable(self, data, partial=False, **_kwargs):
        if not partial and not data.get("phone") and not data.get("email"):
            raise ValidationError("give a phone number or an email address", "phone")


def _load(schema: Schema, data: dict, *, partial: bool = False) -> dict:
    """`data` through `schema`, or ValidationFailed naming each field."""
    if not isinstance(data, dict):
        raise ValidationFailed("the request body must be an object")
    try:
        return schema.load(data, partial=partial)
    except ValidationError as exc:
        raise ValidationFailed(
            "some fields are invalid", errors=field_errors(exc.messages)
        ) from None


def actor_for(admin: AdminUser) -> str:
    return admins.actor_of(admin)


def _audit(
    session: Session, operator: Operator, actor: str, action: str, kind: str, object_id: str, data
) -> None:
    record(session, None, actor, action, kind, object_id, data, operator_id=operator.id)


# --- the operator -------------------------------------------------------------------------


def create_operator(
    session: Session,
    data: dict,
    *,
    owner_email: str,
    owner_password: str | None = None,
    actor: str,
) -> tuple[Operator, AdminUser]:
    """A new operator and its owner (who signs in to the operator portal; without a password,
    they set one from a link). The slug is unique among operators."""
    loaded = _load(NewOperatorSchema(), data)
    if session.scalar(select(Operator.id).where(Operator.slug == loaded["slug"])):
        raise Conflict(f"an operator with the slug {loaded['slug']} exists already")
    operator = Operator(**{"regions": [], **loaded})
    session.add(operator)
    session.flush()
    _audit(
        session,
        operator,
        actor,
        "operator.created",
        "operator",
        operator.id,
        {"slug": operator.slug},
    )
    owner = admins.create_admin(
        session, operator, email=owner_email, role="owner", password=owner_password, actor=actor
    )
    return operator, owner


def operator_by_slug(session: Session, slug: str) -> Operator:
    found = session.scalar(select(Operator).where(Operator.slug == slug)) if slug else None
    if found is None:
        raise NotFound(f"no operator with the slug {slug}")
    return found


def update_profile(session: Session, operator: Operator, changes: dict, *, actor: str) -> Operator:
    """Change the profile: only the fields given (None clears an optional one)."""
    loaded = _load(ProfileSchema(), changes, partial=True)
    before = {key: getattr(operator, key) for key in loaded}
    for key, value in loaded.items():
        setattr(operator, key, value)
    session.flush()
    changed = {key: value for key, value in loaded.items() if before[key] != value}
    if changed:
        _audit(session, operator, actor, "operator.updated", "operator", operator.id, changed)
    return operator


def profile(operator: Operator) -> dict:
    """The operator's profile as the API and the portal show it (no payout account)."""
    return {
        "id": operator.id,
        "slug": operator.slug,
        "name": operator.name,
        "legal_name": operator.legal_name,
        "usdot_number": operator.usdot_number,
        "insurance_expires_on": operator.insurance_expires_on,
        "regions": list(operator.regions or []),
        "contact_email": operator.contact_email,
        "contact_phone": operator.contact_phone,
        "compliance": award_blockers(operator, date.today()),
    }


# --- compliance ---------------------------------------------------------------------------

MISSING_USDOT = "missing_usdot"
NO_INSURANCE = "insurance_missing"
INSURANCE_EXPIRED = "insurance_expired"
INSURANCE_ENDS_BEFORE = "insurance_ends_before_event"


def award_blockers(operator: Operator, on_date: date, *, today: date | None = None) -> list[str]:
    """Why `operator` may not be awarded a trip running on `on_date`: an empty list when
    nothing stops it. Codes: `missing_usdot`, `insurance_missing` (no expiry on file),
    `insurance_expired` (ended before today), `insurance_ends_before_event` (still valid
    today, but ends before `on_date`). The one compliance rule: the award, the partner's
    comparison of quotes and the portal's profile page all read it."""
    today = today or date.today()
    blockers = []
    if not operator.usdot_number:
        blockers.append(MISSING_USDOT)
    expires = operator.insurance_expires_on
    if expires is None:
        blockers.append(NO_INSURANCE)
    elif expires < today:
        blockers.append(INSURANCE_EXPIRED)
    elif expires < on_date:
        blockers.append(INSURANCE_ENDS_BEFORE)
    return blockers


# --- the fleet ----------------------------------------------------------------------------


def vehicles_of(session: Session, operator: Operator, *, active_only: bool = False) -> list:
    query = select(Vehicle).where(Vehicle.operator_id == operator.id)
    if active_only:
        query = query.where(Vehicle.active.is_(True))
    return list(session.scalars(query.order_by(Vehicle.active.desc(), Vehicle.name, Vehicle.id)))


def vehicle_of(session: Session, operator: Operator, vehicle_id: str) -> Vehicle:
    """The operator's vehicle, or NotFound (also for another operator's)."""
    vehicle = session.get(Vehicle, vehicle_id) if is_id(vehicle_id, "veh") else None
    if vehicle is None or vehicle.operator_id != operator.id:
        raise NotFound("no such vehicle")
    return vehicle


def add_vehicle(session: Session, operator: Operator, data: dict, *, actor: str) -> Vehicle:
    vehicle = Vehicle(operator_id=operator.id, active=True, **_load(VehicleSchema(), data))
    session.add(vehicle)
    session.flush()
    _audit(session, operator, actor, "vehicle.created", "vehicle", vehicle.id, _row(vehicle))
    return vehicle


def update_vehicle(
    session: Session, operator: Operator, vehicle_id: str, changes: dict, *, actor: str
) -> Vehicle:
    vehicle = vehicle_of(session, operator, vehicle_id)
    for key, value in _load(VehicleSchema(), changes, partial=True).items():
        setattr(vehicle, key, value)
    session.flush()
    _audit(session, operator, actor, "vehicle.updated", "vehicle", vehicle.id, _row(vehicle))
    return vehicle


def set_vehicle_active(
    session: Session, operator: Operator, vehicle_id: str, active: bool, *, actor: str
) -> Vehicle:
    """Deactivate a vehicle (it is kept: trips name it) or bring it back."""
    vehicle = vehicle_of(session, operator, vehicle_id)
    if vehicle.active != active:
        vehicle.active = active
        session.flush()
        action = "vehicle.reactivated" if active else "vehicle.deactivated"
        _audit(session, operator, actor, action, "vehicle", vehicle.id, {"name": vehicle.name})
    return vehicle


# --- drivers ------------------------------------------------------------------------------


def drivers_of(session: Session, operator: Operator) -> list[OperatorDriver]:
    query = select(OperatorDriver).where(OperatorDriver.operator_id == operator.id)
    return list(session.scalars(query.order_by(OperatorDriver.name, OperatorDriver.id)))


def driver_of(session: Session, operator: Operator, driver_id: str) -> OperatorDriver:
    """The operator's driver, or NotFound (also for another operator's)."""
    driver = session.get(OperatorDriver, driver_id) if is_id(driver_id, "drv") else None
    if driver is None or driver.operator_id != operator.id:
        raise NotFound("no such driver")
    return driver


def add_driver(session: Session, operator: Operator, data: dict, *, actor: str) -> OperatorDriver:
    driver = OperatorDriver(operator_id=operator.id, **_load(DriverSchema(), data))
    session.add(driver)
    session.flush()
    _audit(session, operator, actor, "driver.created", "driver", driver.id, _row(driver))
    return driver


def update_driver(
    session: Session, operator: Operator, driver_id: str, changes: dict, *, actor: str
) -> OperatorDriver:
    driver = driver_of(session, operator, driver_id)
    merged = {"name": driver.name, "phone": driver.phone, "email": driver.email, **changes}
    for key, value in _load(DriverSchema(), merged).items():
        setattr(driver, key, value)
    session.flush()
    _audit(session, operator, actor, "driver.updated", "driver", driver.id, _row(driver))
    return driver


def remove_driver(session: Session, operator: Operator, driver_id: str, *, actor: str) -> None:
    """Remove a driver; trips they were assigned keep running without one."""
    driver = driver_of(session, operator, driver_id)
    _audit(session, operator, actor, "driver.removed", "driver", driver.id, {"name": driver.name})
    session.delete(driver)
    session.flush()


def _row(obj) -> dict:
    """The audited columns of a vehicle or driver."""
    names = ("name", "kind", "seats", "plate", "active", "phone", "email")
    return {name: getattr(obj, name) for name in names if hasattr(obj, name)}
