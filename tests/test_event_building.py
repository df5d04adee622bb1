"""A recorded event is built from the caller's checked payload without validating it again
(`ledger.domain.events.event_for`): it must be exactly the event validation would build.

Every saved example of a current event version (tests/fixtures/events, written from realistic
cases) gives a payload, checked as new input, and an envelope; the event built from them is
compared with the one pydantic validates from the same values, field by field, in its stored
form and as pydantic reports it.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest
from pydantic import ValidationError

from careledger.ledger.domain import events as e
from careledger.ledger.domain import payloads as p
from careledger.ledger.domain.case import ChildCase
from careledger.ledger.domain.identity import case_id
from careledger.ledger.domain.vocabulary import LegalStatus, Role
from tests.test_event_versions import EXPECTED, FIXTURE_NAME, _fixture, _mapper, _stored

RECORDED_AT = datetime(2025, 2, 3, 9, 30, tzinfo=UTC)
SW = p.Actor(actor_id="sw.tokafor", role=Role.SW)


def _current_versions() -> list[str]:
    names = []
    for name in sorted(EXPECTED):
        match = FIXTURE_NAME.match(name)
        assert match
        cls = getattr(e, match["cls"])
        if cls in e.EVENT_FOR_PAYLOAD.values() and int(match["version"]) == cls.class_version:
            names.append(name)
    return names


def _payload_and_envelope(name: str) -> tuple[p.Payload, dict[str, Any]]:
    """The saved event's payload, validated as a caller's new input, and its envelope."""
    saved = _mapper().to_domain_event(_stored(_fixture(name)))
    assert isinstance(saved, e.CaseEvent)
    payload_class = p.PAYLOADS[type(saved).__name__]
    payload = payload_class.model_validate(e.payload_of(saved).model_dump())
    envelope = {
        "originator_id": saved.originator_id,
        "originator_version": saved.originator_version,
        "timestamp": saved.recorded_at,
        "recorded_by": saved.recorded_by,
    }
    return payload, envelope


def test_every_payload_class_has_a_saved_current_version_to_compare() -> None:
    compared = {getattr(e, name.split(".")[0]) for name in _current_versions()}
    assert compared == set(e.EVENT_FOR_PAYLOAD.values())


@pytest.mark.parametrize("name", _current_versions())
def test_event_built_from_a_checked_payload_is_the_event_validation_builds(name: str) -> None:
    payload, envelope = _payload_and_envelope(name)

    built = e.event_for(payload, envelope)
    validated = e.EVENT_FOR_PAYLOAD[type(payload)](**payload.__dict__, **envelope)

    assert type(built) is type(validated)
    assert built == validated
    assert repr(built) == repr(validated)
    assert built.model_fields_set == validated.model_fields_set
    mapper = _mapper()
    assert mapper.to_stored_event(built) == mapper.to_stored_event(validated)
    assert built.model_dump() == validated.model_dump()


def test_an_envelope_whose_actor_is_not_an_actor_is_validated_and_refused_by_field() -> None:
    payload = p.ChildBecameLookedAfter(
        occurred_on=date(2025, 1, 6), source="LCS/EP/90001", legal_status=LegalStatus.V2,
        placement="U4",
    )  # fmt: skip
    envelope = {
        "originator_id": case_id("E10000099", "C0901"),
        "originator_version": 2,
        "timestamp": RECORDED_AT,
        "recorded_by": {"actor_id": "sw.tokafor", "role": "nobody"},
    }
    with pytest.raises(ValidationError) as refused:
        e.event_for(payload, envelope)
    assert refused.value.errors()[0]["loc"] == ("recorded_by", "role")


def test_a_case_records_the_built_event_and_replays_it_from_its_stored_form() -> None:
    entry = p.ChildBecameLookedAfter(
        occurred_on=date(2025, 1, 6), source="LCS/EP/90001", legal_status=LegalStatus.V2,
        placement="U4",
    )  # fmt: skip
    case = ChildCase.open("E10000099", "C0901", entry, RECORDED_AT, SW)
    case.record(
        p.IROAllocated(
            occurred_on=date(2025, 1, 8),
            source="LCS/IRO/551",
            iro_id="IRO-7",
            iro_name="Priya Shah",
        ),
        RECORDED_AT,
        SW,
    )
    mapper = _mapper()
    events = case.collect_events()
    replayed = [mapper.to_domain_event(mapper.to_stored_event(event)) for event in events]

    assert replayed == events
    assert [type(event).__name__ for event in events] == [
        "CaseOpened",
        "ChildBecameLookedAfter",
        "IROAllocated",
    ]
    assert case.version == 3


def _opening_values(council: str, child_ref: str) -> dict[str, Any]:
    return {
        "originator_topic": "careledger.ledger.domain.case:ChildCase",
        "occurred_on": date(2025, 1, 6),
        "source": "LCS/EP/90001",
        "originator_id": case_id(council, child_ref),
        "originator_version": 1,
        "timestamp": RECORDED_AT,
        "recorded_by": SW,
    }


def test_a_new_case_s_first_event_built_from_checked_values_is_the_one_validation_builds() -> None:
    envelope = _opening_values("E10000099", "C0901")

    built = e.case_opened("E10000099", "C0901", True, envelope)
    validated = e.CaseOpened(council="E10000099", child_ref="C0901", **envelope)

    assert type(built) is e.CaseOpened
    assert built == validated
    assert repr(built) == repr(validated)
    assert built.model_fields_set == validated.model_fields_set
    mapper = _mapper()
    assert mapper.to_stored_event(built) == mapper.to_stored_event(validated)


@pytest.mark.parametrize(
    ("council", "child_ref", "field"),
    [
        ("E1000 0099", "C0901", "council"),
        ("E10000099", "C09:01", "child_ref"),
        ("", "C1", "council"),
    ],
)
def test_a_new_case_s_council_or_child_not_found_exact_is_validated_and_refused(
    council: str, child_ref: str, field: str
) -> None:
    with pytest.raises(ValidationError) as refused:
        e.case_opened(council, child_ref, False, _opening_values("E10000099", "C0901"))
    assert refused.value.errors()[0]["loc"] == (field,)


@pytest.mark.parametrize(
    ("council", "child_ref"), [(" E10000099", "C0901"), ("E10000099", "C0901 ")]
)
def test_a_new_case_s_council_or_child_with_spaces_round_it_is_kept_trimmed(
    council: str, child_ref: str
) -> None:
    entry = p.ChildBecameLookedAfter(
        occurred_on=date(2025, 1, 6), source="LCS/EP/90001", legal_status=LegalStatus.V2,
        placement="U4",
    )  # fmt: skip
    opened = ChildCase.open(council, child_ref, entry, RECORDED_AT, SW).collect_events()[0]

    assert isinstance(opened, e.CaseOpened)
    assert (opened.council, opened.child_ref) == ("E10000099", "C0901")


def test_a_new_case_opened_in_the_ledger_holds_the_event_validation_builds() -> None:
    entry = p.ChildBecameLookedAfter(
        occurred_on=date(2025, 1, 6), source="LCS/EP/90001", legal_status=LegalStatus.V2,
        placement="U4",
    )  # fmt: skip
    opened = ChildCase.open("E10000099", "C0901", entry, RECORDED_AT, SW).collect_events()[0]

    assert opened == e.CaseOpened(council="E10000099", child_ref="C0901", **_opening_values(
        "E10000099", "C0901"
    ))  # fmt: skip
