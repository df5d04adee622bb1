"""What the service is run with: the ledger, the secret that keys sessions and CSRF tokens,
how long a session lasts, how large a request may be, and the council's OpenID Connect
provider when people sign in through it. `from_environment` reads them from careledger's one
settings object (`careledger.settings`: the CARELEDGER_ variables and the settings file);
a test or an embedding program may give them whole."""

from __future__ import annotations

import secrets

from pydantic import BaseModel, ConfigDict, Field, SecretStr

from careledger.settings import section


class ServiceSettings(BaseModel):
    model_config = ConfigDict(frozen=True)

    db: str | None = Field(default=None, description="SQLite path or postgresql:// URL")
    read_db: str | None = None
    session_secret: SecretStr = Field(
        default_factory=lambda: SecretStr(secrets.token_urlsafe(32)),
        description="a random one when none is given: one worker only",
    )
    session_minutes: int = Field(default=30, ge=1, le=24 * 60)
    max_body_bytes: int = Field(default=5_000_000, ge=1_000)
    sign_in_attempts_per_minute: int = Field(default=10, ge=1)
    public_url: str | None = None
    oidc_issuer: str | None = None
    oidc_client_id: str | None = None
    oidc_client_secret: SecretStr | None = None

    @property
    def oidc_configured(self) -> bool:
        return bool(self.oidc_issuer and self.oidc_client_id)

    @classmethod
    def from_environment(cls) -> ServiceSettings:
        service = section("service")
        given = service.model_dump(exclude={"host", "port", "council"}, exclude_none=True)
        return cls(db=section("store").db, **given)
