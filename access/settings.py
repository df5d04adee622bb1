"""The access settings, from the environment (prefix CARELEDGER_), with their defaults."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class AccessSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CARELEDGER_", frozen=True)

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
