"""Thresholds of the drift report: settings CARELEDGER_* (`careledger.settings`, section `drift`).

docs/rules.md marks these rules unverified, verified only at second hand, or a policy choice
with no statutory threshold, so each is a setting and the report prints what it used. They
are applied when the report is read: changing one needs no rebuild.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, model_validator


class DriftSettings(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    recording_lag_working_days: int = Field(
        default=5,
        ge=0,
        description="a decision recorded more than this many working days after it was made "
        "is recorded late (policy: no statutory limit; the IRO Handbook's 5 working days for "
        "review decisions is unverified)",
    )
    recommendation_grace_days: int = Field(
        default=0, ge=0, description="days after its due date before a recommendation is overdue"
    )
    child_seen_required: bool = Field(
        default=True,
        description="a review without the IRO having spoken with the child first is drift, "
        "save for PN0 or a recorded reason (reg 36, unverified)",
    )
    iro_caseload_low: int = Field(default=50, ge=1, description="IRO Handbook benchmark, low end")
    iro_caseload_high: int = Field(
        default=70, ge=1, description="IRO Handbook benchmark, high end: above it is drift"
    )
    iro_changes: int = Field(
        default=2, ge=1, description="this many changes of IRO in 12 months is drift (tunable)"
    )
    social_worker_changes: int = Field(
        default=3, ge=1, description="this many changes of social worker in 12 months (tunable)"
    )

    @model_validator(mode="after")
    def _benchmark_is_a_range(self) -> DriftSettings:
        if self.iro_caseload_low > self.iro_caseload_high:
            raise ValueError("iro_caseload_low is above iro_caseload_high")
        return self
