"""Writing the audit log."""

from __future__ import annotations

from sqlalchemy.orm import Session

from widget_server.models import AuditLogEntry


def record(
    session: Session,
    partner_id: str | None,
    actor: str,
    action: str,
    object_type: str,
    object_id: str,
    data: dict | None = None,
) -> AuditLogEntry:
    """Append one audit entry in the current transaction."""
    entry = AuditLogEntry(
        partner_id=partner_id,
        actor=actor,
        action=action,
        object_type=object_type,
        object_id=object_id,
        data=_jsonable(data or {}),
    )
    session.add(entry)
    return entry


def _jsonable(value):
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    return str(value)
