"""The service's settings, from the environment (prefix CARELEDGER_): where the ledger is,
the secret that keys sessions and CSRF tokens, how long a session lasts, how large a request
may be, and the council's OpenID Connect provider when people sign in through it."""

from __future__ import annotations

import secrets

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class ServiceSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CARELEDGER_", frozen=True, extra="ignore")

    db: str | None = Field(default=None, description="SQLite path or postgresql:// URL")
    read_db: str | None = Field(
        default=None, description="a read-only replica's URL for reads (default: db)"
    )
    session_secret: SecretStr = Field(
        default_factory=lambda: SecretStr(secrets.token_urlsafe(32)),
        description="keys the stored session ids and the CSRF tokens; give the same one to "
        "every worker (a random one is made when none is given: one worker only)",
    )
    session_minutes: int = Field(default=30, ge=1, le=24 * 60)
    max_body_bytes: int = Field(
        default=5_000_000,
        ge=1_000,
        description="the largest request body accepted (a batch of events)",
    )
    sign_in_attempts_per_minute: int = Field(
        default=10, ge=1, description="local sign-in attempts one client address may make"
    )
    public_url: str | None = Field(default=None, description="the address users reach")
    oidc_issuer: str | None = None
    oidc_client_id: str | None = None
    oidc_client_secret: SecretStr | None = None

    @property
    def oidc_configured(self) -> bool:
        return bool(self.oidc_issuer and self.oidc_client_id)
