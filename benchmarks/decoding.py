"""What reading a stored event costs, with and without validating it again.

    .venv/bin/python benchmarks/decoding.py --db LEDGER [--passes N]

Over every event of the ledger at --db (a SQLite file or a PostgreSQL URL; `careledger demo`
makes one), alternating in one process, N passes each, CPU time per event:

1. decoding as the mapper did before: decrypt, parse, upcast, `model_validate` (STORED);
2. decoding as it does now (`PydanticMapper.to_domain_event`: the compiled builders of
   `ledger.store.trusted`);
3. the event's history row as it was written before (`model_dump_json(include=...)`: the
   formula tests/test_trusted_decoding.py checks the rows written now against);
4. the history row as it is written now (`projections.views.event_row`).

The rows of 3 and 4 are checked equal, and so are the events of 1 and 2.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run as a script from anywhere, even without the editable install
    sys.path.insert(0, str(ROOT))

from careledger.api import opened  # noqa: E402
from careledger.projections.views import event_row  # noqa: E402
from tests.test_trusted_decoding import history_row_as_before, validated  # noqa: E402


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
        assert [event_row(x) for x in events] == [history_row_as_before(x) for x in events]
        steps: dict[str, tuple[Callable[[Any], Any], Sequence[Any]]] = {
            "decode, validated (before)": (lambda n: validated(mapper, n), stored),
            "decode, built (now)": (mapper.to_domain_event, stored),
            "history row (before)": (history_row_as_before, events),
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
