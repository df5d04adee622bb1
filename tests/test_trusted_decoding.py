"""Stored events read back without validation are the very events validation gives, and
their history rows are the very rows written before.

The mapper builds a stored event into its model without running pydantic's validation again
(`ledger.store.trusted`). These tests read every saved version of every event class, the
demo's whole log and a log of invented children, on both stores and encrypted, and compare
each event with the one `model_validate` makes of the same stored state: equal, and of the
same types all the way down (a date a `date`, a code its enum member, not a string that
merely compares equal).
"""

from __future__ import annotations

import base64
import json
from datetime import UTC, date, datetime
from enum import Enum
from functools import partial
from itertools import groupby
from operator import itemgetter
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
from eventsourcing.persistence import StoredEvent
from eventsourcing.utils import resolve_topic
from pydantic import BaseModel, ValidationError

from careledger.api import opened
from careledger.cli.demo import LOADER, demo_commands
from careledger.ledger.domain import events as e
from careledger.ledger.domain import payloads as p
from careledger.ledger.domain.fields import STORED
from careledger.ledger.domain.vocabulary import Role
from careledger.ledger.store import trusted
from careledger.ledger.store.mapper import PydanticMapper, upcast
from careledger.projections.views import event_row, stored_payload
from careledger.synthetic import synthetic_history
from tests.test_event_versions import EXPECTED, _fixture, _mapper, _stored

RETURN = Path(__file__).parent / "data" / "ssda903" / "d2i_demand_model_multiyear" / "2019"
KEY = base64.b64encode(bytes(range(32))).decode()
FEED = p.Actor(actor_id="lcs-feed", role=Role.SW)


def same(built: Any, validated: Any, where: str = "event") -> None:
    """`built` equals `validated`, and every value in it is of the same type."""
    assert type(built) is type(validated), f"{where}: {type(built)} != {type(validated)}"
    if isinstance(validated, BaseModel):
        assert built.__pydantic_fields_set__ == validated.__pydantic_fields_set__, where
        assert built.__pydantic_extra__ == validated.__pydantic_extra__, where
        assert built.__pydantic_private__ == validated.__pydantic_private__, where
        assert list(built.__dict__) == list(validated.__dict__), f"{where}: field order"
        for name, value in validated.__dict__.items():
            same(built.__dict__[name], value, f"{where}.{name}")
    elif isinstance(validated, dict):
        assert list(built) == list(validated), where
        for (key, value), (vkey, vvalue) in zip(built.items(), validated.items(), strict=True):
            same(key, vkey, f"{where} key {vkey!r}")
            same(value, vvalue, f"{where}[{vkey!r}]")
    elif isinstance(validated, list):
        assert len(built) == len(validated), where
        for index, (value, vvalue) in enumerate(zip(built, validated, strict=True)):
            same(value, vvalue, f"{where}[{index}]")
    elif isinstance(validated, datetime):
        assert built == validated, where
        assert type(built.tzinfo) is type(validated.tzinfo), f"{where}: tzinfo"
        assert built.utcoffset() == validated.utcoffset(), where
    else:
        assert isinstance(validated, str | int | float | bool | date | UUID | Enum | None)
        assert built == validated, where
    assert built == validated, where


def _state(mapper: PydanticMapper, stored: StoredEvent) -> tuple[type[BaseModel], dict[str, Any]]:
    cls = resolve_topic(stored.topic)
    state = upcast(cls, mapper.decode_state(stored.state))
    state["originator_id"] = stored.originator_id
    state["originator_version"] = stored.originator_version
    return cls, state


def validated(mapper: PydanticMapper, stored: StoredEvent) -> Any:
    """The event as the mapper read it before: upcast, then validated (stored context)."""
    cls, state = _state(mapper, stored)
    return cls.model_validate(state, context=STORED)


def built(mapper: PydanticMapper, stored: StoredEvent) -> Any:
    """The event as the class's builder makes it, with no fallback to validation: so a test
    cannot pass because every event was in fact validated."""
    cls, state = _state(mapper, stored)
    return trusted.builder_for(cls)(state)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_every_saved_version_of_every_event_reads_as_validation_reads_it(name: str) -> None:
    stored = _stored(_fixture(name))
    event = _mapper().to_domain_event(stored)
    same(event, validated(_mapper(), stored), name)
    same(built(_mapper(), stored), event, name)
    decoded, state = _mapper().decoded(stored)
    same(decoded, event, name)
    if isinstance(event, e.CaseEvent):
        payload = stored_payload(event, state)
        assert payload is None or event_row(event, payload) == event_row(event), name
        # an older version is upcast: its stored state is not what the class writes now
        if getattr(type(event), "class_version", 1) != json.loads(stored.state).get(
            "class_version", 1
        ):
            assert payload is None, name


def history_row_as_before(event: e.CaseEvent) -> tuple[Any, ...]:
    """An event's row of cl_events (the history) as it was written before, from the
    validated event, field by field: what the rows written now must equal, byte for byte."""
    if isinstance(event, e.CaseOpened):
        body = json.dumps({"council": event.council, "child_ref": event.child_ref})
    else:
        body = event.model_dump_json(include=set(e.payload_fields(event)))
    return (
        str(event.originator_id),
        event.seq,
        type(event).__name__,
        event.occurred_on.isoformat(),
        event.recorded_at.isoformat(),
        event.recorded_by.actor_id,
        str(event.recorded_by.role),
        event.source,
        body,
    )


def _record_demo_and_invented_children(db: str) -> None:
    with opened(db, create_tables=True) as o:
        for at, command in demo_commands():
            o.ledger.clock = partial(lambda at: at, at)
            o.ledger.record([command], LOADER)
        invented = synthetic_history(40, seed=5, until=date(2025, 11, 28))
        for at, feed in groupby(invented, key=itemgetter(0)):  # one call per feed
            o.ledger.clock = partial(lambda at: at, at)
            o.ledger.record([command for _, command in feed], FEED)
        # a council's SSDA903 return: children's details, episodes and placement changes
        o.import_return(RETURN, "E09000027", 2019, actor="returns.officer", accept_partial=True)
        # the IRO acknowledges being told of a change (an IROInformed event)
        o.ledger.clock = lambda: datetime.now(UTC)
        entry = o.inbox("IRO-02")[0]
        o.acknowledge(entry.key, entry.seen, actor="IRO-02", iro="IRO-02")


def _every_event_reads_as_validation_reads_it(db: str) -> int:
    with opened(db) as o:
        mapper = o.ledger.mapper
        notifications = o.ledger.recorder.select_notifications(start=1, limit=1_000_000)
        kinds = set()
        from_state: set[type[Any]] = set()
        for notification in notifications:
            event = mapper.to_domain_event(notification)
            where = f"{notification.topic} #{notification.id}"
            same(event, validated(mapper, notification), where)
            same(built(mapper, notification), event, where)
            assert event_row(event) == history_row_as_before(validated(mapper, notification))
            kinds.add(type(event))
            # the payload written from the stored state is the very text written from the event
            decoded, state = mapper.decoded(notification)
            assert isinstance(decoded, e.CaseEvent)
            payload = stored_payload(decoded, state)
            assert payload is None or event_row(decoded, payload) == event_row(event), where
            if payload is not None:
                from_state.add(type(event))
        # the histories hold every kind of event the ledger records
        assert kinds == {e.CaseOpened, *e.EVENT_FOR_PAYLOAD.values()}
        # and, recorded by this version, each but CaseOpened has its payload taken as stored
        assert from_state == set(e.EVENT_FOR_PAYLOAD.values())
        return len(notifications)


def test_the_demo_and_invented_childrens_logs_read_as_validation_reads_them(db: str) -> None:
    _record_demo_and_invented_children(db)
    assert _every_event_reads_as_validation_reads_it(db) > 3_000


def test_an_encrypted_ledger_reads_as_validation_reads_it(
    db: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CARELEDGER_CIPHER_KEY", KEY)
    _record_demo_and_invented_children(db)
    with opened(db) as o:
        first = o.ledger.recorder.select_notifications(start=1, limit=1)[0]
        assert not first.state.startswith(b'{"'), "the stored state is not encrypted"
    _every_event_reads_as_validation_reads_it(db)


def _review_state(**changes: Any) -> StoredEvent:
    fixture = _fixture("ReviewHeld.v2.json")
    state = fixture["state"] | changes
    return StoredEvent(
        originator_id=UUID(fixture["originator_id"]),
        originator_version=fixture["originator_version"],
        topic=fixture["topic"],
        state=json.dumps({k: v for k, v in state.items() if v is not ...}).encode(),
    )


def test_a_stored_event_missing_a_field_with_a_default_is_validated_and_gets_the_default() -> None:
    stored = _review_state(attendees=...)  # written before the field existed, say
    event = _mapper().to_domain_event(stored)
    assert isinstance(event, e.ReviewHeld)
    assert event.attendees == []
    same(event, validated(_mapper(), stored))


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"occurred_on": "21/03/2025"}, "occurred_on"),
        ({"participation": "PN9"}, "participation"),
        ({"chair": "Priya Shah"}, "chair"),
        ({"venue": "Town hall"}, "venue"),
        ({"review_id": ...}, "review_id"),
    ],
)
def test_a_stored_event_in_a_form_it_was_never_written_in_is_refused_by_validation(
    changes: dict[str, Any], field: str
) -> None:
    """Never built wrong: a date not in ISO form, an unknown code, a model stored as text,
    an unknown key or a missing required field reaches pydantic, which names the field."""
    with pytest.raises(ValidationError) as refused:
        _mapper().to_domain_event(_review_state(**changes))
    assert field in str(refused.value)


class _Span(BaseModel):
    """A model with a field of a kind the builders do not make (a tuple)."""

    days: tuple[date, date]


def test_a_model_with_a_field_of_a_kind_not_built_here_is_validated() -> None:
    with pytest.raises(trusted.NotBuilt):
        trusted.builder_for(_Span)
    span = trusted.build(_Span, {"days": ["2025-01-06", "2025-01-10"]})
    assert span.days == (date(2025, 1, 6), date(2025, 1, 10))
