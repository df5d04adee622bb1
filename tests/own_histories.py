"""Small seeded histories of children a council records itself (`careledger record`), for
the SSDA903 export's tests: each child becomes looked after, has their details recorded, is
reviewed on reg 33's timetable with the child's participation, may move placement (new or
the same carers, with the reason the last placement ended), may have a new legal status
(alone, or with a move), and may leave care. Every child and reference is invented.
"""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path
from random import Random
from typing import Any

from careledger.projections.timetable import add_months, due_on

SEXES = ("1", "2")
ETHNIC = ("WBRI", "WOTH", "MWBC", "ABAN", "BAFR", "APKN", "CHNE", "MOTH")
ENTRY_STATUS = {"V2": 45, "C1": 35, "L2": 10, "E1": 5, "C2": 5}
NEXT_STATUS = {"C1": "C2", "V2": "C2"}
PLACEMENTS = ("U1", "U3", "U4", "U5", "U6", "K2", "R1")
MOVE_REASONS = ("CARPL", "CLOSE", "CREQB", "CHILD", "LAREQ", "PLACE", "OTHER")
LEAVING = ("E4A", "E13", "E41", "E8")
PARTICIPATION = ("PN1", "PN1", "PN1", "PN2", "PN3", "PN4", "PN5", "PN6", "PN7")
IRO = {"name": "Grace Fielding", "role": "IRO"}
TM = {"name": "Owen Pryce", "role": "TM"}
OFFICER = {"name": "Ruth Abara", "role": "NOMINATED_OFFICER"}


class _Child:
    def __init__(self, rng: Random, council: str, ref: str, start: date, until: date) -> None:
        self.rng, self.council, self.ref, self.until = rng, council, ref, until
        self.lines: list[tuple[date, int, dict[str, Any]]] = []
        self.entered = start + timedelta(days=rng.randint(0, (until - start).days - 60))
        age = rng.choice((0, 2, 5, 8, 11, 13, 14, 15))
        self.born = add_months(self.entered, -12 * age) - timedelta(days=rng.randint(30, 330))
        self.eighteen = add_months(self.born, 12 * 18)
        self.leaves: date | None = None
        if rng.random() < 0.35:
            stay = rng.randint(40, (until - self.entered).days)
            self.leaves = self.entered + timedelta(days=stay)
        if self.eighteen <= until:  # care ends on the 18th birthday at the latest
            self.leaves = min(self.leaves or self.eighteen, self.eighteen)
        self.status = _weighted(rng, ENTRY_STATUS)
        self.last_day = self.leaves or until

    def add(self, kind: str, on: date, **fields: Any) -> None:
        n = len(self.lines) + 1
        self.lines.append((on, n, {
            "type": kind, "council": self.council, "child": self.ref,
            "occurred_on": on.isoformat(), "source": f"LCS/{self.ref}/{n}", **fields,
        }))  # fmt: skip

    def write(self) -> list[dict[str, Any]]:
        rng = self.rng
        self.add("ChildBecameLookedAfter", self.entered, legal_status=self.status,
                 placement=rng.choice(PLACEMENTS))  # fmt: skip
        sex = rng.choice(SEXES)
        details = {"sex": sex, "dob": self.born.isoformat(), "ethnic": rng.choice(ETHNIC)}
        self.add("ChildDetailsRecorded", self.entered,
                 details=details | ({"mother": "0"} if sex == "2" else {}))  # fmt: skip
        self.add("IROAllocated", self.entered, iro_id="IRO-1", iro_name=IRO["name"])
        if self.status == "L2":  # an emergency protection order lasts 8 days at most
            self.status = "C1"
            self.add("LegalStatusChanged", self.entered + timedelta(days=rng.randint(1, 8)),
                     legal_status="C1")  # fmt: skip
        self._changes()
        self._reviews()
        if self.leaves is not None:
            reason = "E8" if self.leaves == self.eighteen else rng.choice(LEAVING)
            self.add("ChildCeasedToBeLookedAfter", self.leaves, reason=reason,
                     approved_by=OFFICER)  # fmt: skip
        self.lines.sort(key=lambda line: (line[0], line[1]))
        return [line for _, _, line in self.lines]

    def _changes(self) -> None:
        rng, day = self.rng, self.entered
        for _ in range(rng.randint(0, 3)):
            day += timedelta(days=rng.randint(20, 200))
            if day >= self.last_day:
                return
            roll = rng.random()
            if roll < 0.3 and self.status in NEXT_STATUS:
                self.status = NEXT_STATUS[self.status]
                self.add("LegalStatusChanged", day, legal_status=self.status)
                continue
            move: dict[str, Any] = {"placement": rng.choice(PLACEMENTS),
                                    "same_carers": rng.random() < 0.2,
                                    "reason": rng.choice(MOVE_REASONS)}  # fmt: skip
            if roll > 0.85 and self.status in NEXT_STATUS:
                self.status = NEXT_STATUS[self.status]
                move["legal_status"] = self.status
            self.add("PlacementChanged", day, **move)

    def _reviews(self) -> None:
        rng, previous = self.rng, self.entered
        for number in range(1, 20):
            held = due_on(number, previous) - timedelta(days=rng.randint(0, 10))
            if held >= self.last_day:
                return
            under_four = held < add_months(self.born, 48)
            participation = "PN0" if under_four else rng.choice(PARTICIPATION)
            self.add("ReviewHeld", held, review_id=f"R-{number}", chair=IRO,
                     participation=participation, child_seen_before=True)  # fmt: skip
            previous = held


def _weighted(rng: Random, weights: dict[str, int]) -> str:
    return rng.choices(list(weights), weights=list(weights.values()))[0]


def own_histories(council: str, children: int, start: date, until: date,
                  seed: int = 903) -> list[dict[str, Any]]:  # fmt: skip
    """Each child's records (JSON Lines objects for `careledger record --file`), child by
    child, each in the order it happened."""
    rng = Random(seed)
    lines: list[dict[str, Any]] = []
    for n in range(1, children + 1):
        lines += _Child(rng, council, f"OWN-{n:03d}", start, until).write()
    return lines


def write_jsonl(path: Path, lines: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(line) + "\n" for line in lines), encoding="utf-8")
    return path
