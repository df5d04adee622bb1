"""Stores pydantic events through the library's transcoder, compressor and cipher.

eventsourcing 9.5 ships no pydantic mapper (its upstream examples define one); this is that
mapper: pydantic's JSON on the way in; on the way out, upcast, then built into the model
without validating it again (`ledger.store.trusted`: it was validated before it was stored,
and the integrity chain proves it unchanged).
"""

from __future__ import annotations

from typing import Any, cast
from uuid import UUID

from eventsourcing.domain import DomainEventProtocol
from eventsourcing.persistence import Mapper, StoredEvent
from eventsourcing.utils import get_topic, register_topic, resolve_topic
from pydantic import BaseModel
from pydantic_core import from_json

from careledger.ledger.domain import case, events
from careledger.ledger.errors import LedgerError
from careledger.ledger.store import trusted

ENVELOPE_KEYS = {"originator_id", "originator_version"}


# Events stored before the ledger was one package, `careledger`, name their classes by the
# modules' old names ("ledger.events:ReviewHeld"); those names still find them.
for _old_name, _module in (("ledger.events", events), ("ledger.case", case)):
    register_topic(_old_name, _module)


class PydanticMapper(Mapper[UUID]):
    def to_stored_event(self, domain_event: DomainEventProtocol[UUID]) -> StoredEvent:
        if not isinstance(domain_event, BaseModel):
            return super().to_stored_event(domain_event)
        event_class = type(domain_event)
        class_version = getattr(event_class, "class_version", 1)
        # pydantic writes the JSON itself, as the library's transcoder would (compact, UTF-8),
        # without a detour via a dict; a later version ends with its `class_version`. Its
        # serializer is called as `model_dump_json` calls it, for its bytes: that method's
        # own Python, and decoding its bytes to a str to encode them again, cost as much as
        # writing the JSON.
        data = event_class.__pydantic_serializer__.to_json(
            domain_event, by_alias=True, exclude=ENVELOPE_KEYS
        )
        if class_version > 1:
            data = data[:-1] + b',"class_version":%d}' % class_version
        return StoredEvent(
            originator_id=domain_event.originator_id,
            originator_version=domain_event.originator_version,
            topic=get_topic(type(domain_event)),
            state=self.protect(data),
        )

    def to_domain_event(self, stored_event: StoredEvent) -> DomainEventProtocol[UUID]:
        return self.decoded(stored_event)[0]

    def decoded(
        self, stored_event: StoredEvent
    ) -> tuple[DomainEventProtocol[UUID], dict[str, Any] | None]:
        """The event, and its state as it was stored (with `originator_id` and
        `originator_version` added) when that is exactly what its class writes today:
        stored at the class's current version and taken by its builder as it is. Otherwise
        (upcast, or validated from another form) None: only the event says what it holds."""
        cls = resolve_topic(stored_event.topic)
        if not (isinstance(cls, type) and issubclass(cls, BaseModel)):
            return super().to_domain_event(stored_event), None
        state = self.decode_state(stored_event.state)
        current = state.get("class_version", 1) == getattr(cls, "class_version", 1)
        state = upcast(cls, state)
        state["originator_id"] = stored_event.originator_id
        state["originator_version"] = stored_event.originator_version
        event, as_is = trusted.built(cls, state)
        # (the cast's type as text: subscripting the protocol costs typing's cache lookup
        # for every event)
        return cast("DomainEventProtocol[UUID]", event), state if current and as_is else None

    def protect(self, data: bytes) -> bytes:
        """Compress and encrypt encoded state, as the library's settings ask."""
        if self.compressor:
            data = self.compressor.compress(data)
        if self.cipher:
            data = self.cipher.encrypt(data)
        return data

    def decode_state(self, data: bytes) -> dict[str, Any]:
        """The stored state as a dict: decrypted, decompressed, decoded, not yet upcast."""
        data = open_sealed(self.cipher, data)
        if self.compressor:
            data = self.compressor.decompress(data)
        # The state is plain JSON written by pydantic (no library transcodings inside it).
        try:
            return cast(dict[str, Any], from_json(data))
        except ValueError:
            if self.cipher is None:  # ciphertext that happened to begin like JSON
                raise LedgerError(ENCRYPTED) from None
            raise


def upcast(cls: type[Any], state: dict[str, Any]) -> dict[str, Any]:
    """Bring an older event's state up to the class's current version, one step at a time,
    through the class's `upcast_vN_vN+1` static methods (the library's convention)."""
    target = getattr(cls, "class_version", 1)
    version = state.pop("class_version", 1)
    while version < target:
        getattr(cls, f"upcast_v{version}_v{version + 1}")(state)
        version += 1
    return state


ENCRYPTED = "the ledger is encrypted: set CARELEDGER_CIPHER_KEY or CARELEDGER_CIPHER_KEY_FILE"


def open_sealed(cipher: Any, data: bytes) -> bytes:
    """Decrypt with the ledger's cipher, if any; a missing or wrong key is a clear error."""
    if cipher is None:
        if not data.startswith(b'{"'):  # pydantic's JSON of an event always begins so
            raise LedgerError(ENCRYPTED)
        return data
    try:
        return cast(bytes, cipher.decrypt(data))
    except ValueError:
        if data.startswith(b'{"'):
            raise LedgerError(
                "CARELEDGER_CIPHER_KEY: a key is set but the ledger is not encrypted"
            ) from None
        raise LedgerError(
            "CARELEDGER_CIPHER_KEY: not the key this ledger was encrypted with"
        ) from None
