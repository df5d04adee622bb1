"""What one worker holds while it serves: the ledger opened where it is recorded (`ledger`:
recording, the access log, sessions and idempotency keys), the ledger opened for reading
where reads go (`reader`: the read URL, CARELEDGER_READ_DB, on connections that refuse every
write), and the service's tables. Nothing here is state another worker needs (sessions and
idempotency keys are in the store)."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

from fastapi import Request

from careledger.api import Opened
from careledger.ledger.group_commit import GroupCommit
from careledger.service.settings import ServiceSettings
from careledger.service.tables import ServiceTables


@dataclass
class ServiceState:
    settings: ServiceSettings
    ledger: Opened
    reader: Opened
    tables: ServiceTables
    # Where each POST catches the projections up itself: one thread of the worker at a
    # time, and the log position the last catch-up reached (`service.freshness`).
    catching_up: threading.Lock = field(default_factory=threading.Lock)
    caught_up_to: int = 0
    # POSTs that arrive together share a transaction (`ledger.group_commit`).
    recording: GroupCommit = field(init=False)

    def __post_init__(self) -> None:
        self.recording = GroupCommit(self.ledger.ledger)


def state_of(request: Request) -> ServiceState:
    state = request.app.state.careledger
    assert isinstance(state, ServiceState)
    return state
