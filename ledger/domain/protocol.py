"""The council's dispute-resolution protocol: the stages an IRO's challenge may go through.

The IRO Handbook (ch.6; verified at second hand: docs/rules.md §5) asks for an informal stage
first, then a formal process that escalates through levels of seniority with a timescale at
each stage, the whole formal process within 20 working days; the IRO may skip any stage and
may refer to Cafcass at any point. Stage names and timescales are local, so they are
settings: `CARELEDGER_CHALLENGE_STAGES` (a JSON list of {"name", "responder",
"working_days"}; the first is the informal stage) and
`CARELEDGER_CHALLENGE_FORMAL_LIMIT_WORKING_DAYS`.

Events record a stage by its number (0 for the informal stage, then 1, 2, ...), so a
council that renames its stages keeps its history readable.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, model_validator


class Stage(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(min_length=1, max_length=200)
    responder: str = Field(min_length=1, max_length=200, description="who answers at this stage")
    working_days: int = Field(ge=1, le=260, description="expected time to respond")


# Nottinghamshire answers an informal alert in 10 working days (docs/rules.md §5, verified at second
# hand); the four formal stages share the Handbook's 20 working days and end with the DCS,
# the top of the ladder (Hull). The split into four stages of five days is a default only.
DEFAULT_STAGES = (
    Stage(name="Informal", responder="Social worker or team manager", working_days=10),
    Stage(name="Stage 1", responder="Team manager", working_days=5),
    Stage(name="Stage 2", responder="Service manager", working_days=5),
    Stage(name="Stage 3", responder="Head of service", working_days=5),
    Stage(name="Stage 4", responder="Director of Children's Services", working_days=5),
)


class DisputeProtocol(BaseModel):
    """The council's protocol, as its settings give it (`careledger.settings`, section
    `challenge`); the defaults are the Handbook's ladder above."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    stages: tuple[Stage, ...] = Field(default=DEFAULT_STAGES, min_length=2)
    formal_limit_working_days: int = Field(
        default=20, ge=1, description="the whole formal process (IRO Handbook ch.6)"
    )

    @model_validator(mode="after")
    def _names_are_distinct(self) -> DisputeProtocol:
        names = [stage.name for stage in self.stages]
        if len(set(names)) != len(names):
            raise ValueError("stages: two stages have the same name")
        return self

    @property
    def last_stage(self) -> int:
        return len(self.stages) - 1

    def name(self, stage: int) -> str:
        """The stage's name; a stage the protocol no longer has is still named."""
        if 0 <= stage < len(self.stages):
            return self.stages[stage].name
        return f"stage {stage} (not in the current protocol)"

    def working_days(self, stage: int) -> int | None:
        return self.stages[stage].working_days if 0 <= stage < len(self.stages) else None
