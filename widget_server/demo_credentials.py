"""The demo's sign-ins: a console owner per demo partner, the owner of a demo bus company
(operator portal), an all-scopes API client of the `demo` partner and a driver link of a demo
trip, kept in
`<INSTANCE_PATH>/demo_credentials.json` so `ridepledge demo credentials` (`make demo-info`) can
show them again and the landing page can link the driver page.

A production server never stores a password or a client secret (only their hashes). This
file is the local demo's convenience: it is written only by `ridepledge demo`, readable by its
owner only (0600), and every value in it is checked against the database before it is shown:
a password the admin has changed since, or a client revoked in the console, is not shown as
if it worked.
"""

from __future__ import annotations

import json
import os
import secrets
import shlex
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from widget_server.domain.scopes import SCOPES
from widget_server.models import ApiClient, Operator, Partner, Trip

CREDENTIALS_FILE = "demo_credentials.json"
API_PARTNER = "demo"
CONSOLE_PARTNERS = ("demo", "demo-away")
ALL_SCOPES = " ".join(SCOPES)
DEMO_OPERATOR = "demo-coaches"


def credentials_path(instance_path: Path) -> Path:
    """Where the demo keeps its sign-ins."""
    return instance_path / CREDENTIALS_FILE


def load_credentials(path: Path) -> dict:
    """The stored sign-ins, or {} before the first `ridepledge demo`."""
    try:
        return json.loads(path.read_text())
    except (FileNotFoundError, ValueError):
        return {}


def _save(path: Path, data: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(".tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as file:
        json.dump(data, file, indent=2)
    temporary.replace(path)


def ensure_credentials(session: Session, path: Path, base_url: str, secret_key: str) -> dict:
    """Make what is missing (a console owner per demo partner, an API client whose stored
    secret still works, a live driver link), store them with the demo's address, and return
    them."""
    from widget_server.domain.accounts.admins import create_admin, find_admin
    from widget_server.domain.clients import check_secret, create_client

    data = load_credentials(path)
    data["base_url"] = base_url
    partners = {
        partner.slug: partner
        for partner in session.scalars(select(Partner).where(Partner.slug.in_(CONSOLE_PARTNERS)))
    }
    console = data.setdefault("console", {})
    for slug in CONSOLE_PARTNERS:
        if slug not in partners:
            continue
        email = f"owner@{slug}.example"
        if find_admin(session, email) is None:
            password = secrets.token_urlsafe(12)
            create_admin(session, partners[slug], email=email, password=password, actor="demo")
            console[slug] = {"email": email, "password": password}
        # An owner made before the demo kept sign-ins: no password known, a link is shown.
        console.setdefault(slug, {"email": email, "password": None})  # nosec B105
    if session.scalar(select(Operator.id).where(Operator.slug == DEMO_OPERATOR)) is None:
        data["operator"] = _demo_operator(session)
    stored = data.get("api_client") or {}
    client = session.get(ApiClient, stored.get("client_id") or "")
    if API_PARTNER in partners and not check_secret(client, stored.get("client_secret") or ""):
        client, secret = create_client(session, partners[API_PARTNER], ALL_SCOPES, "demo", "demo")
        data["api_client"] = {"client_id": client.id, "client_secret": secret}
    data["driver_link"] = _live_driver_link(session, data.get("driver_link"), secret_key)
    session.flush()
    _save(path, data)
    return data


def _demo_operator(session: Session) -> dict:
    """A compliant demo bus company serving the demo's regions, with a coach and a driver;
    returns its owner's sign-in."""
    from datetime import date, timedelta

    from widget_server.domain.operators import operators

    email, password = f"owner@{DEMO_OPERATOR}.example", secrets.token_urlsafe(12)
    data = {
        "name": "Demo Coaches",
        "slug": DEMO_OPERATOR,
        "regions": ["IL", "VC"],
        "usdot_number": "1234567",
        "insurance_expires_on": (date.today() + timedelta(days=365)).isoformat(),
    }
    operator, _owner = operators.create_operator(
        session, data, owner_email=email, owner_password=password, actor="demo"
    )
    operators.add_vehicle(
        session,
        operator,
        {"name": "Coach 1", "kind": "coach", "seats": 55, "plate": "DEMO 1"},
        actor="demo",
    )
    operators.add_driver(
        session,
        operator,
        {"name": "Dana Demo", "phone": "+13125550100", "email": "driver@demo-coaches.example"},
        actor="demo",
    )
    return {"email": email, "password": password}


def _sign_in_line(session: Session, label: str, entry: dict, set_link) -> str:
    """One stored sign-in, as it works now: the password, or a link to set a new one."""
    from widget_server.domain.accounts.admin_sessions import password_matches
    from widget_server.domain.accounts.admins import find_admin

    admin = find_admin(session, entry["email"])
    if admin is None:
        return f"  {label}: {entry['email']} was removed from the team"
    if entry.get("password") and password_matches(admin, entry["password"]):
        return f"  {label} sign-in: {entry['email']} / {entry['password']}"
    return (
        f"  {label}: {entry['email']} (its password was changed since); "
        f"set a new one: {set_link(admin)}"
    )


def _live_driver_link(session: Session, stored: str | None, secret_key: str) -> str | None:
    """The stored driver link (`/d/<token>`) while it works; else a new one for the first
    confirmed (else open) demo trip. A link the console revoked is not brought back: a new
    one is issued, as the console would."""
    from widget_server.domain.checkin import driver_token, link_is_live, new_driver_link
    from widget_server.domain.checkin import read_driver_token as read

    link = read(secret_key, stored.removeprefix("/d/")) if stored else None
    trip = session.get(Trip, link.trip_id) if link else None
    if link is not None and trip is not None and link_is_live(link, trip):
        return stored
    chosen = session.scalars(
        select(Trip)
        .join(Partner, Partner.id == Trip.partner_id)
        .where(Partner.slug.in_(CONSOLE_PARTNERS), Trip.status.in_(("confirmed", "open")))
        .order_by(Trip.status != "confirmed", Trip.created_at)
    ).first()
    if chosen is None:
        return None
    return "/d/" + driver_token(secret_key, new_driver_link(session, chosen, actor="demo"))


def credential_lines(session: Session, data: dict, set_link) -> list[str]:
    """What to print about the stored sign-ins, each checked against the database first.
    `set_link(admin)` makes a one-time link to set a password, for an admin whose stored
    password no longer works."""
    from widget_server.domain.clients import check_secret

    base = data.get("base_url", "")
    lines = [f"Partner console: {base}/admin/"]
    for slug, entry in (data.get("console") or {}).items():
        lines.append(_sign_in_line(session, f"{slug} console", entry, set_link))
    if data.get("operator"):
        lines.append(f"Operator portal (bus company {DEMO_OPERATOR}): {base}/operator/")
        lines.append(_sign_in_line(session, DEMO_OPERATOR, data["operator"], set_link))
    stored = data.get("api_client")
    if stored and check_secret(
        session.get(ApiClient, stored["client_id"]), stored["client_secret"]
    ):
        lines += [
            f"API client of the {API_PARTNER} partner (every scope): "
            f"client_id={stored['client_id']} client_secret={stored['client_secret']}",
            "  for the quickstarts in docs/api.md and docs/sdk.md: "
            'eval "$(.venv/bin/ridepledge demo credentials --shell)"',
        ]
    elif stored:
        lines.append(
            f"API client of the {API_PARTNER} partner: revoked in the console; "
            "the next `make demo` makes a new one"
        )
    return lines


def shell_exports(session: Session, data: dict) -> list[str]:
    """`export` lines for the quickstarts: the demo's address and its API client, when the
    stored secret still works."""
    from widget_server.domain.clients import check_secret

    lines = [f"export RIDEPLEDGE_BASE_URL={shlex.quote(data.get('base_url', ''))}"]
    stored = data.get("api_client")
    if stored and check_secret(
        session.get(ApiClient, stored["client_id"]), stored["client_secret"]
    ):
        lines += [
            f"export RIDEPLEDGE_CLIENT_ID={shlex.quote(stored['client_id'])}",
            f"export RIDEPLEDGE_CLIENT_SECRET={shlex.quote(stored['client_secret'])}",
        ]
    return lines
