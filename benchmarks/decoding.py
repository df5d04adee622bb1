"""What reading a stored event costs, with and without validating it again.

    .venv/bin/python benchmarks/decoding.py --db LEDGER [--passes N]

Over every event of the ledger at --db (a SQLite file or a PostgreSQL URL; `careledger demo`
makes one), alternating in one process, N passes each, CPU time per event:

1. decoding as the mapper did before: decrypt, parse, upcast, `model_validate` (STORED);
2. decoding as it does now (`PydanticMapper.to_domain_event`: the compiled builders of
   `ledger.store.trusted`);
3. the event's history row as it was written before (`model_dump_json(include=...)`);
4. the history row as it is written now (`projections.views.event_row`).

The rows of 3 and 4 are checked equal, and so are the events of 1 and 2.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from collections.abc import Callable, Sequence
from typing import Any

from eventsourcing.persistence import StoredEvent
from eventsourcing.utils import resolve_topic

from careledger.api import opened
from careledger.ledger.domain import events as e
from careledger.ledger.domain.fields import STORED
from careledger.ledger.store.mapper import PydanticMapper, upcast
from careledger.projections.views import event_row


def validated(mapper: PydanticMapper, stored: StoredEvent) -> Any:
    cls = resolve_topic(stored.topic)
    state = upcast(cls, mapper.decode_state(stored.state))
    state["originator_id"] = stored.originator_id
    state["originator_version"] = stored.originator_version
    return cls.model_validate(state, context=STORED)


def row_before(event: Any) -> tuple[Any, ...]:
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


def per_event(work: Callable[[Any], Any], items: Sequence[Any]) -> float:
    started = time.process_time()
    for item in items:
        work(item)
    return (time.process_time() - started) / len(items) * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", required=True)
    parser.add_argument("--passes", type=int, default=15)
    args = parser.parse_args()
    with opened(args.db) as o:
        stored = o.ledger.recorder.select_notifications(start=1, limit=10**8)
        mapper = o.ledger.mapper
        events = [mapper.to_domain_event(n) for n in stored]
        assert events == [validated(mapper, n) for n in stored]
        assert [event_row(x) for x in events] == [row_before(x) for x in events]
        steps: dict[str, tuple[Callable[[Any], Any], Sequence[Any]]] = {
            "decode, validated (before)": (lambda n: validated(mapper, n), stored),
            "decode, built (now)": (mapper.to_domain_event, stored),
            "history row (before)": (row_before, events),
            "history row (now)": (event_row, events),
        }
        timings: dict[str, list[float]] = {name: [] for name in steps}
        for _ in range(args.passes):
            for name, (work, items) in steps.items():
                timings[name].append(per_event(work, items))
    print(f"{len(stored):,} events, {args.passes} passes, load average {os.getloadavg()[0]:.1f}")
    for name, values in timings.items():
        print(
            f"   {name:<28} min {min(values):6.2f} µs  median {statistics.median(values):6.2f} µs"
        )


if __name__ == "__main__":
    main()
