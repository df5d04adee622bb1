"""The ledger's stored events: each is an envelope (case, sequence number, when and by whom it
was recorded) around the caller's payload from `ledger.domain.payloads`.

Every class has `class_version`; a later schema change raises it and adds a static method
`upcast_vN_vN+1(state: dict) -> None`, which `ledger.store.mapper.PydanticMapper` applies when
it reads an older event. tests/fixtures/events holds a saved JSON example of every version.
"""

from __future__ import annotations

from datetime import datetime
from functools import lru_cache
from typing import Any, ClassVar
from uuid import UUID

from eventsourcing.domain import CanInitAggregate, CanMutateAggregate
from pydantic import AliasChoices, ConfigDict, Field

from careledger.ledger.domain import payloads as p
from careledger.ledger.domain.fields import CaseKey


class CaseEvent(p.Payload, CanMutateAggregate[UUID]):
    """The envelope. `recorded_at` comes from the ledger's clock, never from the caller.
    The library names that field `timestamp`; it is stored under the name `recorded_at`."""

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)
    class_version: ClassVar[int] = 1

    originator_id: UUID
    originator_version: int
    timestamp: datetime = Field(
        validation_alias=AliasChoices("timestamp", "recorded_at"), serialization_alias="recorded_at"
    )
    recorded_by: p.Actor

    @property
    def recorded_at(self) -> datetime:
        return self.timestamp

    @property
    def seq(self) -> int:
        """The event's place in its case, from 1: how corrections and reports refer to it."""
        return self.originator_version

    def apply(self, aggregate: Any) -> None:
        aggregate.evolve(self)


class CaseOpened(CaseEvent, p.Payload, CanInitAggregate[UUID]):
    """The first event of every case: names the council and its child reference."""

    originator_topic: str
    council: CaseKey
    child_ref: CaseKey


class ChildBecameLookedAfter(CaseEvent, p.ChildBecameLookedAfter):
    class_version: ClassVar[int] = 2

    @staticmethod
    def upcast_v1_v2(state: dict[str, Any]) -> None:
        """v2 keeps the SSDA903 episode an imported event was read from."""
        state["episode"] = None


class ChildCeasedToBeLookedAfter(CaseEvent, p.ChildCeasedToBeLookedAfter):
    class_version: ClassVar[int] = 2

    @staticmethod
    def upcast_v1_v2(state: dict[str, Any]) -> None:
        """v2 names the SSDA903 episode an imported ending was read from."""
        state["episode_id"] = None


class LegalStatusChanged(CaseEvent, p.LegalStatusChanged):
    class_version: ClassVar[int] = 2

    @staticmethod
    def upcast_v1_v2(state: dict[str, Any]) -> None:
        """v2 keeps the SSDA903 episode an imported event was read from."""
        state["episode"] = None


class PlacementChanged(CaseEvent, p.PlacementChanged):
    pass


class ChildDetailsRecorded(CaseEvent, p.ChildDetailsRecorded):
    pass


class IROAllocated(CaseEvent, p.IROAllocated):
    pass


class SocialWorkerAllocated(CaseEvent, p.SocialWorkerAllocated):
    pass


class CarePlanAgreed(CaseEvent, p.CarePlanAgreed):
    pass


class ChangeProposed(CaseEvent, p.ChangeProposed):
    pass


class CarePlanSectionChanged(CaseEvent, p.CarePlanSectionChanged):
    class_version: ClassVar[int] = 2

    @staticmethod
    def upcast_v1_v2(state: dict[str, Any]) -> None:
        """v2 names the IRO challenge a change came from."""
        state["from_challenge"] = None


class PlacementEnded(CaseEvent, p.PlacementEnded):
    class_version: ClassVar[int] = 2

    @staticmethod
    def upcast_v1_v2(state: dict[str, Any]) -> None:
        """v2 names the IRO challenge an ending came from."""
        state["from_challenge"] = None


class ReviewHeld(CaseEvent, p.ReviewHeld):
    class_version: ClassVar[int] = 2

    @staticmethod
    def upcast_v1_v2(state: dict[str, Any]) -> None:
        """v2 adds why the IRO did not speak with the child before the review (reg 36)."""
        state["child_not_seen_reason"] = None


class RecommendationCompleted(CaseEvent, p.RecommendationCompleted):
    pass


class RecommendationOvertaken(CaseEvent, p.RecommendationOvertaken):
    pass


class IROAgreedChange(CaseEvent, p.IROAgreedChange):
    pass


class ChallengeRaised(CaseEvent, p.ChallengeRaised):
    class_version: ClassVar[int] = 2

    @staticmethod
    def upcast_v1_v2(state: dict[str, Any]) -> None:
        """v2 says at which stage a challenge starts; every v1 challenge started informally."""
        state["stage"] = 0


class ChallengeEscalated(CaseEvent, p.ChallengeEscalated):
    pass


class ChallengeResponded(CaseEvent, p.ChallengeResponded):
    pass


class ChallengeResolved(CaseEvent, p.ChallengeResolved):
    pass


class CafcassReferralMade(CaseEvent, p.CafcassReferralMade):
    pass


class CafcassOutcomeRecorded(CaseEvent, p.CafcassOutcomeRecorded):
    pass


class CorrectionRecorded(CaseEvent, p.CorrectionRecorded):
    pass


class IROInformed(CaseEvent, p.IROInformed):
    pass


EVENT_FOR_PAYLOAD: dict[type[p.Payload], type[CaseEvent]] = {
    base: cls
    for cls in CaseEvent.__subclasses__()
    for base in cls.__bases__
    if base in p.PAYLOADS.values()
}


def _built_without_revalidating(cls: type[CaseEvent]) -> bool:
    """Whether pydantic keeps nothing for this class beyond its fields' values (no private
    attributes, no post-init hook): then `event_for` may build it from them."""
    return cls.__pydantic_post_init__ is None and not cls.__private_attributes__


_SET = object.__setattr__
# Each class built directly, with its fields in the order validation would give them.
_BUILT: tuple[type[CaseEvent], ...] = (*EVENT_FOR_PAYLOAD.values(), CaseOpened)
_FIELD_ORDER = {cls: tuple(cls.model_fields) for cls in _BUILT if _built_without_revalidating(cls)}
# The classes whose fields validation orders as the library's three envelope fields, the
# payload's fields, then `recorded_by`: `event_for` puts them together in that order at once.
_IN_ORDER = frozenset(
    cls
    for cls, order in _FIELD_ORDER.items()
    if cls is not CaseOpened
    and order
    == (
        "originator_id",
        "originator_version",
        "timestamp",
        *p.PAYLOADS[cls.__name__].model_fields,
        "recorded_by",
    )
)


def event_for(payload: p.Payload, envelope: dict[str, Any]) -> CaseEvent:
    """The stored event of a payload: the payload's values inside the envelope's.

    The payload is a validated, frozen model of its class (its fields checked as new input,
    `ledger.domain.fields`), and the event class is that class with the envelope added, whose
    values the ledger itself supplies: validating the same values again, field by field,
    would find nothing new, and took a fifth of the time of recording an event. So the event
    is put together from them as pydantic's own `model_construct` does (which, in Python,
    costs more than validating). A payload that is not exactly a payload class, an envelope
    whose actor is not an `Actor` or whose time is not a `datetime`, is validated as before."""
    event_class = EVENT_FOR_PAYLOAD[type(payload)]
    recorded_by, timestamp = envelope["recorded_by"], envelope["timestamp"]
    order = _FIELD_ORDER.get(event_class)
    if order is None or type(recorded_by) is not p.Actor or not isinstance(timestamp, datetime):
        return event_class(**payload.__dict__, **envelope)
    fields = payload.__dict__
    if event_class in _IN_ORDER and len(fields) == len(order) - len(envelope):
        values = {
            "originator_id": envelope["originator_id"],
            "originator_version": envelope["originator_version"],
            "timestamp": timestamp,
            **fields,
            "recorded_by": recorded_by,
        }
    else:
        given = {**fields, **envelope}
        values = {name: given[name] for name in order}
    return _built(event_class, values)


def case_opened(council: str, child_ref: str, exact: bool, envelope: dict[str, Any]) -> CaseOpened:
    """A new case's first event, built as `event_for` builds the others: from values the case
    has checked already (`exact`: a council and child found to be their normal form as they
    are, `fields.new_case_key`; the occurred_on and source of a validated entry to care) and
    the ledger's own envelope. Anything else is validated as before."""
    values = {"council": council, "child_ref": child_ref, **envelope}
    if (
        not exact
        or CaseOpened not in _FIELD_ORDER
        or type(values["recorded_by"]) is not p.Actor
        or not isinstance(values["timestamp"], datetime)
    ):
        return CaseOpened(**values)
    event = _built(CaseOpened, {name: values[name] for name in _FIELD_ORDER[CaseOpened]})
    assert isinstance(event, CaseOpened)
    return event


def _built(event_class: type[CaseEvent], values: dict[str, Any]) -> CaseEvent:
    """An event of a class `_built_without_revalidating`, holding these values, in order."""
    event = event_class.__new__(event_class)
    _SET(event, "__dict__", values)
    _SET(event, "__pydantic_fields_set__", set(values))
    _SET(event, "__pydantic_extra__", None)
    _SET(event, "__pydantic_private__", None)
    return event


def payload_fields(event: p.Payload) -> frozenset[str]:
    """The names of the caller's fields of an event (or payload): not the envelope's."""
    return _payload_fields(type(event).__name__)


@lru_cache
def _payload_fields(name: str) -> frozenset[str]:
    return frozenset(p.PAYLOADS[name].model_fields)


def payload_of(event: CaseEvent) -> p.Payload:
    """The caller's part of a stored event, as its payload model. (An event is already an
    instance of its payload class; this strips the envelope, for a report or a test.)"""
    payload_class = p.PAYLOADS[type(event).__name__]
    return payload_class.model_construct(
        **{name: getattr(event, name) for name in payload_fields(event)}
    )
