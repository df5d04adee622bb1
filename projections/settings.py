"""Policy settings of the projections: CARELEDGER_* (`careledger.settings`, section `policy`).

The regulations do not define "significant": which sections' changes are
presumed significant is a council's policy choice, so it is a setting. Changing it changes
what the projections judge; run `careledger projections rebuild` afterwards.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, field_validator

from careledger.ledger.domain.vocabulary import Section


class PolicySettings(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    presumed_significant: frozenset[Section] = Field(
        default=frozenset({Section.PLACEMENT, Section.PERMANENCE, Section.LEGAL_STATUS}),
        description="sections whose changes are presumed significant (comma-separated); "
        "the regulations do not define 'significant', so this is policy",
    )

    short_breaks_timetable: bool = Field(
        default=True,
        description="review periods of short breaks (V3/V4) on reg 48's timetable: first "
        "within three months, then six-monthly (unverified: docs/rules.md §1)",
    )

    @field_validator("presumed_significant", mode="before")
    @classmethod
    def _comma_separated(cls, value: object) -> object:
        if isinstance(value, str):
            return frozenset(part.strip() for part in value.split(",") if part.strip())
        return value
