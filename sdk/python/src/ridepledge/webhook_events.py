"""Typed webhook events: one class per event type, `data` already a result object.

`ridepledge.webhooks.construct_event` verifies a message and returns one of these; narrow it
with ``isinstance`` (or ``match``) and its `data` is typed:

```python
event = ridepledge.webhooks.construct_event(body, headers, secret)
if isinstance(event, ridepledge.PledgePaidEvent):
    print(event.data.amount, event.data.currency)  # event.data is a ridepledge.Pledge
```

A type this SDK does not know yet (a newer server) is an `UnknownEvent` with `data` as JSON.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar, Literal, TypeAlias

from ridepledge.marketplace import Quote
from ridepledge.models import DemandThreshold, Pledge, Trip, from_api, parse_datetime

__all__ = [
    "EVENT_CLASSES",
    "DemandThresholdReachedEvent",
    "Event",
    "PledgeActionRequiredEvent",
    "PledgeBoardedEvent",
    "PledgeCanceledEvent",
    "PledgeCreatedEvent",
    "PledgeDroppedEvent",
    "PledgePaidEvent",
    "PledgeRefundedEvent",
    "QuoteCreatedEvent",
    "QuoteUpdatedEvent",
    "QuoteWithdrawnEvent",
    "TripCanceledEvent",
    "TripConfirmedEvent",
    "TripBelowThresholdEvent",
    "TripDepartedEvent",
    "TripFailedEvent",
    "TripOpenedEvent",
    "TripOperatorWithdrewEvent",
    "UnknownEvent",
    "WebhookTest",
    "WebhookTestEvent",
]


@dataclass(frozen=True)
class WebhookTest:
    """The `data` of the console's ``webhook.test`` message."""

    endpoint_id: str
    description: str | None
    raw: dict[str, Any]


@dataclass(frozen=True)
class _Base:
    """`id` is the ``webhook-id`` (the same on every retry: skip ids you handled), `timestamp`
    when the event happened, `raw` the whole message."""

    id: str
    timestamp: datetime | None
    raw: dict[str, Any]


@dataclass(frozen=True)
class _PledgeEvent(_Base):
    data: Pledge


@dataclass(frozen=True)
class _TripEvent(_Base):
    data: Trip


@dataclass(frozen=True)
class PledgeCreatedEvent(_PledgeEvent):
    type: ClassVar[Literal["pledge.created"]] = "pledge.created"


@dataclass(frozen=True)
class PledgeCanceledEvent(_PledgeEvent):
    type: ClassVar[Literal["pledge.canceled"]] = "pledge.canceled"


@dataclass(frozen=True)
class PledgePaidEvent(_PledgeEvent):
    type: ClassVar[Literal["pledge.paid"]] = "pledge.paid"


@dataclass(frozen=True)
class PledgeActionRequiredEvent(_PledgeEvent):
    type: ClassVar[Literal["pledge.action_required"]] = "pledge.action_required"


@dataclass(frozen=True)
class PledgeDroppedEvent(_PledgeEvent):
    type: ClassVar[Literal["pledge.dropped"]] = "pledge.dropped"


@dataclass(frozen=True)
class PledgeRefundedEvent(_PledgeEvent):
    type: ClassVar[Literal["pledge.refunded"]] = "pledge.refunded"


@dataclass(frozen=True)
class PledgeBoardedEvent(_PledgeEvent):
    """A rider boarded: `boarded_at` and `boarded_by` (the driver's device) come with the
    pledge."""

    type: ClassVar[Literal["pledge.boarded"]] = "pledge.boarded"

    @property
    def boarded_at(self) -> datetime | None:
        value = self.data.raw.get("boarded_at")
        return parse_datetime(value) if isinstance(value, str) else None

    @property
    def boarded_by(self) -> str | None:
        value = self.data.raw.get("boarded_by")
        return value if isinstance(value, str) else None


@dataclass(frozen=True)
class TripOpenedEvent(_TripEvent):
    type: ClassVar[Literal["trip.opened"]] = "trip.opened"


@dataclass(frozen=True)
class TripConfirmedEvent(_TripEvent):
    type: ClassVar[Literal["trip.confirmed"]] = "trip.confirmed"


@dataclass(frozen=True)
class TripFailedEvent(_TripEvent):
    type: ClassVar[Literal["trip.failed"]] = "trip.failed"


@dataclass(frozen=True)
class TripCanceledEvent(_TripEvent):
    type: ClassVar[Literal["trip.canceled"]] = "trip.canceled"


@dataclass(frozen=True)
class TripBelowThresholdEvent(_TripEvent):
    """A confirmed trip fell below `min_riders` because pledges left it; it still runs."""

    type: ClassVar[Literal["trip.below_threshold"]] = "trip.below_threshold"


@dataclass(frozen=True)
class TripDepartedEvent(_TripEvent):
    """The bus left its last stop (`data.departed_at`)."""

    type: ClassVar[Literal["trip.departed"]] = "trip.departed"


@dataclass(frozen=True)
class _QuoteEvent(_Base):
    data: Quote


@dataclass(frozen=True)
class QuoteCreatedEvent(_QuoteEvent):
    type: ClassVar[Literal["quote.created"]] = "quote.created"


@dataclass(frozen=True)
class QuoteUpdatedEvent(_QuoteEvent):
    type: ClassVar[Literal["quote.updated"]] = "quote.updated"


@dataclass(frozen=True)
class QuoteWithdrawnEvent(_QuoteEvent):
    type: ClassVar[Literal["quote.withdrawn"]] = "quote.withdrawn"


@dataclass(frozen=True)
class TripOperatorWithdrewEvent(_Base):
    """The operator of an awarded trip gave it back; `data` holds `trip`, `trip_request_id`
    and `operator` (`slug`, `name`): the request is open for quotes again."""

    type: ClassVar[Literal["trip.operator_withdrew"]] = "trip.operator_withdrew"
    data: dict[str, Any]


@dataclass(frozen=True)
class DemandThresholdReachedEvent(_Base):
    type: ClassVar[Literal["demand.threshold_reached"]] = "demand.threshold_reached"
    data: DemandThreshold


@dataclass(frozen=True)
class WebhookTestEvent(_Base):
    """The test message the console sends on demand (never part of the delivery log)."""

    type: ClassVar[Literal["webhook.test"]] = "webhook.test"
    data: WebhookTest


@dataclass(frozen=True)
class UnknownEvent(_Base):
    """An event type this version of the SDK does not know; `data` is its JSON."""

    type: str  # an instance field here, a constant on the typed events
    data: dict[str, Any]


Event: TypeAlias = (
    PledgeCreatedEvent
    | PledgeCanceledEvent
    | PledgePaidEvent
    | PledgeActionRequiredEvent
    | PledgeDroppedEvent
    | PledgeRefundedEvent
    | PledgeBoardedEvent
    | TripOpenedEvent
    | TripConfirmedEvent
    | TripFailedEvent
    | TripCanceledEvent
    | TripBelowThresholdEvent
    | TripDepartedEvent
    | TripOperatorWithdrewEvent
    | QuoteCreatedEvent
    | QuoteUpdatedEvent
    | QuoteWithdrawnEvent
    | DemandThresholdReachedEvent
    | WebhookTestEvent
    | UnknownEvent
)
"""Any event `construct_event` returns."""

_TYPED: tuple[type[Any], ...] = (
    PledgeCreatedEvent,
    PledgeCanceledEvent,
    PledgePaidEvent,
    PledgeActionRequiredEvent,
    PledgeDroppedEvent,
    PledgeRefundedEvent,
    PledgeBoardedEvent,
    TripOpenedEvent,
    TripConfirmedEvent,
    TripFailedEvent,
    TripCanceledEvent,
    TripBelowThresholdEvent,
    TripDepartedEvent,
    TripOperatorWithdrewEvent,
    QuoteCreatedEvent,
    QuoteUpdatedEvent,
    QuoteWithdrawnEvent,
    DemandThresholdReachedEvent,
    WebhookTestEvent,
)
EVENT_CLASSES: dict[str, type[Any]] = {cls.type: cls for cls in _TYPED}
"""The class of each known event type."""


def typed_event(
    msg_id: str, event_type: str, timestamp: datetime | None, data: dict[str, Any], raw: Any
) -> Event:
    """The typed event of a verified message."""
    cls = EVENT_CLASSES.get(event_type)
    if cls is None:
        return UnknownEvent(id=msg_id, timestamp=timestamp, raw=raw, type=event_type, data=data)
    data_type = _data_type(cls)
    event: Event = cls(id=msg_id, timestamp=timestamp, raw=raw, data=from_api(data_type, data))
    return event


def _data_type(cls: type[Any]) -> type[Any]:
    if issubclass(cls, _PledgeEvent):
        return Pledge
    if issubclass(cls, _TripEvent):
        return Trip
    return DemandThreshold if cls is DemandThresholdReachedEvent else WebhookTest
