"""The company: the home page, the profile (with its compliance in plain words), the fleet
and the drivers. Views read the form, call domain/operators/operators.py and show its answer;
a refused field is a 422 page naming it; another operator's vehicle or driver is a 404."""

from __future__ import annotations

from datetime import date

from flask import abort, flash, g, redirect, render_template, request, url_for
from flask_babel import format_date
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from widget_server.domain.errors import DomainError, NotFound
from widget_server.domain.numbers import parse_digits
from widget_server.domain.operators import operators
from widget_server.extensions import db
from widget_server.models.operators import MAX_VEHICLE_SEATS, VEHICLE_KINDS
from widget_server.operator import bp
from widget_server.operator.auth import PERMISSIONS, actor, requires

KIND_NAMES = {
    "coach": _l("Coach"),
    "school_bus": _l("School bus"),
    "minibus": _l("Minibus"),
    "van": _l("Van"),
}


def compliance_words(operator, today: date | None = None) -> list[str]:
    """What stops partners from awarding this operator a trip today, in plain words."""
    today = today or date.today()
    words = {
        operators.MISSING_USDOT: _(
            "Your USDOT number is missing: partners cannot award you a trip until you add it."
        ),
        operators.NO_INSURANCE: _(
            "Your insurance expiry date is missing: partners cannot award you a trip until "
            "you add it."
        ),
    }
    if operator.insurance_expires_on is not None:
        words[operators.INSURANCE_EXPIRED] = _(
            "Your insurance expired on %(date)s: partners cannot award you a trip until you "
            "renew it and update the date.",
            date=format_date(operator.insurance_expires_on, "long"),
        )
    return [words[code] for code in operators.award_blockers(operator, today, today=today)]


def _form(*names: str, required: tuple[str, ...] = ()) -> dict:
    """The posted fields `names`; an empty optional one is None (cleared)."""
    values = {name: request.form.get(name, "") for name in names}
    return {k: (v if v.strip() or k in required else None) for k, v in values.items()}


def _save(change) -> dict | None:
    """`change(session)` in one transaction: None when done, else the domain's errors by
    field (nothing is changed then)."""
    try:
        with db.transaction() as session:
            change(session)
    except NotFound:
        db.session.rollback()
        abort(404)
    except DomainError as exc:
        db.session.rollback()
        return _by_field(exc.errors) or {"_form": [exc.detail]}
    return None


def _by_field(errors: dict) -> dict:
    """The domain's errors by form field: `regions.1` is the `regions` field's."""
    fields: dict = {}
    for name, messages in errors.items():
        fields.setdefault(name.split(".")[0], []).extend(messages)
    return fields


def _mine(getter, object_id: str):
    """The operator's vehicle or driver, or the 404 page."""
    try:
        return getter(db.session, g.operator, object_id)
    except NotFound:
        abort(404)


# --- home and profile ---------------------------------------------------------------------


@bp.get("/")
@requires("view")
def home():
    return render_template(
        "operator/home.html",
        warnings=compliance_words(g.operator),
        vehicles=operators.vehicles_of(db.session, g.operator, active_only=True),
        drivers=operators.drivers_of(db.session, g.operator),
    )


PROFILE_FIELDS = (
    "name",
    "legal_name",
    "usdot_number",
    "insurance_expires_on",
    "regions",
    "contact_email",
    "contact_phone",
)


def _profile_values(operator) -> dict:
    values = {name: getattr(operator, name) or "" for name in PROFILE_FIELDS}
    values["regions"] = ", ".join(operator.regions or [])
    values["insurance_expires_on"] = (
        operator.insurance_expires_on.isoformat() if operator.insurance_expires_on else ""
    )
    return values


def _profile_page(values: dict, errors: dict, status: int = 200):
    page = render_template(
        "operator/profile.html",
        values=values,
        errors=errors,
        warnings=compliance_words(g.operator),
    )
    return page, status


@bp.get("/profile")
@requires("view")
def profile():
    return _profile_page(_profile_values(g.operator), {})


@bp.post("/profile")
@requires("profile")
def save_profile():
    changes = _form(*PROFILE_FIELDS, required=("name",))
    regions = changes["regions"] or ""
    changes["regions"] = [code.strip() for code in regions.split(",") if code.strip()]
    errors = _save(
        lambda session: operators.update_profile(session, g.operator, changes, actor=actor())
    )
    if errors:
        return _profile_page(request.form.to_dict(), errors, 422)
    flash(_("The profile is saved."))
    return redirect(url_for("operator.profile"))


# --- the fleet ----------------------------------------------------------------------------

VEHICLE_FIELDS = ("name", "kind", "seats", "plate")


def _vehicle_input() -> dict:
    data = _form(*VEHICLE_FIELDS, required=("name", "kind", "seats"))
    seats = parse_digits(data["seats"])
    data["seats"] = seats if seats is not None else data["seats"]
    return data


def _vehicle_context() -> dict:
    return {"kinds": VEHICLE_KINDS, "kind_names": KIND_NAMES, "max_seats": MAX_VEHICLE_SEATS}


@bp.get("/fleet")
@requires("view")
def vehicles(values: dict | None = None, errors: dict | None = None, status: int = 200):
    page = render_template(
        "operator/vehicles.html",
        vehicles=operators.vehicles_of(db.session, g.operator),
        values=values or {"kind": "coach"},
        errors=errors or {},
        **_vehicle_context(),
    )
    return page, status


@bp.post("/fleet")
@requires("dispatch")
def add_vehicle():
    data = _vehicle_input()
    errors = _save(lambda s: operators.add_vehicle(s, g.operator, data, actor=actor()))
    if errors:
        return vehicles(request.form.to_dict(), errors, 422)
    flash(_("%(name)s is in your fleet.", name=data["name"]))
    return redirect(url_for("operator.vehicles"))


@bp.route("/fleet/<vehicle_id>", methods=["GET", "POST"])
@requires("view")
def vehicle(vehicle_id: str):
    found = _mine(operators.vehicle_of, vehicle_id)
    values = {name: getattr(found, name) or "" for name in VEHICLE_FIELDS}
    errors: dict = {}
    if request.method == "POST":
        if g.admin.role not in PERMISSIONS["dispatch"]:
            abort(403)
        data = _vehicle_input()
        errors = _save(
            lambda s: operators.update_vehicle(s, g.operator, vehicle_id, data, actor=actor())
        )
        if not errors:
            flash(_("%(name)s is saved.", name=data["name"]))
            return redirect(url_for("operator.vehicles"))
        values = request.form.to_dict()
    page = render_template(
        "operator/vehicle.html", vehicle=found, values=values, errors=errors, **_vehicle_context()
    )
    return page, 422 if errors else 200


@bp.post("/fleet/<vehicle_id>/active")
@requires("dispatch")
def set_vehicle_active(vehicle_id: str):
    active = request.form.get("active") == "1"
    _save(lambda s: operators.set_vehicle_active(s, g.operator, vehicle_id, active, actor=actor()))
    flash(_("The vehicle is back in service.") if active else _("The vehicle is deactivated."))
    return redirect(url_for("operator.vehicles"))


# --- drivers ------------------------------------------------------------------------------

DRIVER_FIELDS = ("name", "phone", "email")


@bp.get("/drivers")
@requires("view")
def drivers(values: dict | None = None, errors: dict | None = None, status: int = 200):
    page = render_template(
        "operator/drivers.html",
        drivers=operators.drivers_of(db.session, g.operator),
        values=values or {},
        errors=errors or {},
    )
    return page, status


@bp.post("/drivers")
@requires("dispatch")
def add_driver():
    data = _form(*DRIVER_FIELDS, required=("name",))
    errors = _save(lambda s: operators.add_driver(s, g.operator, data, actor=actor()))
    if errors:
        return drivers(request.form.to_dict(), errors, 422)
    flash(_("%(name)s is one of your drivers.", name=data["name"]))
    return redirect(url_for("operator.drivers"))


@bp.route("/drivers/<driver_id>", methods=["GET", "POST"])
@requires("view")
def driver(driver_id: str):
    found = _mine(operators.driver_of, driver_id)
    values = {name: getattr(found, name) or "" for name in DRIVER_FIELDS}
    errors: dict = {}
    if request.method == "POST":
        if g.admin.role not in PERMISSIONS["dispatch"]:
            abort(403)
        data = _form(*DRIVER_FIELDS, required=("name",))
        errors = _save(
            lambda s: operators.update_driver(s, g.operator, driver_id, data, actor=actor())
        )
        if not errors:
            flash(_("%(name)s is saved.", name=data["name"]))
            return redirect(url_for("operator.drivers"))
        values = request.form.to_dict()
    page = render_template("operator/driver.html", driver=found, values=values, errors=errors)
    return page, 422 if errors else 200


@bp.post("/drivers/<driver_id>/remove")
@requires("dispatch")
def remove_driver(driver_id: str):
    _save(lambda s: operators.remove_driver(s, g.operator, driver_id, actor=actor()))
    flash(_("The driver is removed."))
    return redirect(url_for("operator.drivers"))
