"""Policy settings of the projections, read from the environment (prefix CARELEDGER_).

The regulations do not define "significant": which sections' changes are
presumed significant is a council's policy choice, so it is a setting. Changing it changes
what the projections judge; run `careledger projections rebuild` afterwards.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from careledger.ledger.domain.vocabulary import Section


class PolicySettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CARELEDGER_", frozen=True)

    presumed_significant: Annotated[frozenset[Section], NoDecode] = frozenset(
        {Section.PLACEMENT, Section.PERMANENCE, Section.LEGAL_STATUS}
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
