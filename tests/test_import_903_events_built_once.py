"""An SSDA903 row's events are validated once, when the row is checked; recording builds the
same events again without validating them (`ChildRows(validated=True)`, through
`ledger.store.trusted.maker`). Those events must be the very events validation builds: the
same values, in the same order, the same fields set, stored as the same JSON; and an event
that differs from what was checked (an id numbered '#2') is still validated.
"""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel, model_validator

from careledger.ledger.domain import payloads as p
from careledger.ledger.ssda903 import mapping
from careledger.ledger.ssda903.files import Checked, Staging, find_tables, lines
from careledger.ledger.ssda903.mapping import ChildRows, checked
from careledger.ledger.ssda903.rows import child_of
from careledger.ledger.store import trusted
from tests.test_import_903_log_digest import FAKE, with_social_workers

TODAY = date(2026, 6, 1)
YEAR = 2017


def staged(directory: Path) -> list[tuple[str, list[Checked]]]:
    """Every child's checked rows, as the import reads them back."""
    staging = Staging()
    try:
        for file in find_tables(directory).values():
            for line in lines(file):
                row = checked(child_of(line.values), line, TODAY, YEAR)
                if isinstance(row, Checked):
                    staging.add(child_of(line.values), row)
        return list(staging.children())
    finally:
        staging.close()


def same(trusted_event: BaseModel, validated: BaseModel) -> None:
    assert type(trusted_event) is type(validated)
    assert list(trusted_event.__dict__.items()) == list(validated.__dict__.items())
    assert trusted_event.model_fields_set == validated.model_fields_set
    assert trusted_event.model_dump_json() == validated.model_dump_json()


def test_every_event_of_the_sample_return_is_the_event_validation_builds(
    tmp_path: Path,
) -> None:
    children = staged(with_social_workers(FAKE, tmp_path / "fake"))
    kinds: set[str] = set()
    for _, rows in children:
        built = ChildRows(YEAR, TODAY, rows, validated=True).wanted([])
        validated = ChildRows(YEAR, TODAY, rows).wanted([])
        assert [key for key, _ in built] == [key for key, _ in validated]
        for (_, one), (_, other) in zip(built, validated, strict=True):
            same(one, other)
            kinds.add(type(one).__name__)
    assert kinds == {
        "ChildBecameLookedAfter", "LegalStatusChanged", "PlacementChanged",
        "ChildCeasedToBeLookedAfter", "ReviewHeld", "SocialWorkerAllocated",
        "ChildDetailsRecorded",
    }  # fmt: skip


def test_a_review_numbered_2_is_validated_as_it_is_built(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two reviews on one day: the second is '903-<day>#2', which the row alone never was,
    so it is validated as it is built; the first is taken as checked."""
    directory = shutil.copytree(FAKE, tmp_path / "twice")
    reviews = (directory / "reviews.csv").read_text().splitlines()
    (directory / "reviews.csv").write_text("\n".join([*reviews, reviews[1]]) + "\n")
    child = reviews[1].split(",")[0]
    rows = dict(staged(directory))[child]
    validated: list[str] = []

    def validating(*values: Any) -> p.Payload:
        validated.append(values[2])
        return original(*values)

    original = mapping._REVIEW_HELD.validated
    monkeypatch.setattr(mapping._REVIEW_HELD, "validated", validating)
    built = ChildRows(YEAR, TODAY, rows, validated=True).wanted([])
    numbered = [key for key, _ in built if key.startswith("review:") and "#" in key]
    assert len(numbered) == 1
    assert validated == [numbered[0].removeprefix("review:")]


def test_a_model_with_model_validators_is_not_built_unvalidated() -> None:
    class Checked(BaseModel):
        start: date
        end: date

        @model_validator(mode="after")
        def _in_order(self) -> Checked:
            return self

    with pytest.raises(trusted.NotBuilt):
        trusted.maker(Checked, ("start", "end"))
    with pytest.raises(trusted.NotBuilt):
        trusted.maker(p.ReviewHeld, ("occurred_on", "source"))  # review_id has no default
