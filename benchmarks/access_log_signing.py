"""The access log's signed heads: CPU time per append, signed (a head key) against unsigned,
and CPU time of `verify_log` over what was appended.

    .venv/bin/python benchmarks/access_log_signing.py [--appends 300]

On a SQLite file in a temporary directory, one process opens the ledger twice, once without
and once with CARELEDGER_HEAD_KEY_FILE, and appends one entry with each in turn, `--appends`
times (interleaved, so both meet the same load). It prints the CPU time (`process_time`) per
append of each, their ratio (the baseline: unsigned), and the CPU time of verifying the whole
log. CPU time, not wall-clock: the machine is shared.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path

from careledger.api import Opened, opened
from careledger.ledger.integrity.seal import new_key


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--appends", type=int, default=300)
    appends = parser.parse_args().appends
    with tempfile.TemporaryDirectory() as directory, ExitStack() as stack:
        key, db = Path(directory) / "head.key", str(Path(directory) / "ledger.db")
        new_key(key)
        stack.enter_context(opened(db, create_tables=True))
        os.environ.pop("CARELEDGER_HEAD_KEY_FILE", None)
        unsigned = stack.enter_context(opened(db))
        os.environ["CARELEDGER_HEAD_KEY_FILE"] = str(key)
        signed = stack.enter_context(opened(db))
        spent = {"unsigned": 0.0, "signed": 0.0}
        for _ in range(appends):
            for name, ledger in (("unsigned", unsigned), ("signed", signed)):
                spent[name] += _append(ledger)
        for name, seconds in spent.items():
            print(f"{name}: {seconds / appends * 1e6:.0f} us CPU per append")
        print(f"signed / unsigned: {spent['signed'] / spent['unsigned']:.2f}")
        started = time.process_time()
        verdict = signed.access.verify_log()
        took = time.process_time() - started
        assert verdict.intact and verdict.signatures == appends
        print(f"verify_log: {took * 1e3:.0f} ms CPU for {2 * appends} entries ({appends} signed)")


def _append(ledger: Opened) -> float:
    started = time.process_time()
    ledger.access.access_log.append("SW-2210", "SW", "E10000099:NR-0001", "plan", "allowed")
    return time.process_time() - started


if __name__ == "__main__":
    main()
