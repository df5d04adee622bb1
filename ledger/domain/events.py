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
