"""The access settings: how many wrong passwords lock a local account, for how long, and an
API token's life. Read with every other setting by `careledger.settings` (section `access`,
variables `CARELEDGER_SIGN_IN_ATTEMPTS`, `CARELEDGER_LOCKOUT_MINUTES`,
`CARELEDGER_TOKEN_DAYS`) and handed to `Access` by the composition root."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class AccessSettings(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    sign_in_attempts: int = Field(
        default=5,
        ge=1,
        description="wrong passwords in a row after which a local account is locked",
    )
    lockout_minutes: int = Field(
        default=15, ge=1, description="how long a locked local account stays locked"
    )
    token_days: int = Field(
        default=90, ge=1, le=3660, description="an API token's life when none is given"
    )
