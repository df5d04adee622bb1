"""Every setting of careledger, in one object: read from the environment (the `CARELEDGER_*`
variables) and from an optional TOML file, environment first, then the file, then the default.

The file is the one `CARELEDGER_SETTINGS_FILE` names (it must exist), or else
`./careledger.toml` if there is one. It holds a table per section, keyed by the field's name:

    [store]
    db = "postgresql://council_writer@db/care?schema=ledger"

    [limits]
    text_length = 40000

    [challenge]
    formal_limit_working_days = 20

Each variable is `CARELEDGER_` (or the section's own prefix) and the field's name in capitals:
`[limits] text_length` is `CARELEDGER_MAX_TEXT_LENGTH`. `variables()` lists them all.

Only this module and the composition root (`careledger.api`) read settings: the domain's and
the projections' settings are plain models (`DisputeProtocol`, `InputLimits`,
`PolicySettings`, `DriftSettings`) handed the values. A section is checked when it is first
needed (`section`), so a bad challenge setting stops only what needs the challenge protocol,
not the reading of a plan. A bad value is one line naming its variable, and the file when the
value came from it.
"""

from __future__ import annotations

import json
import os
import tomllib
import typing
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, model_validator
from pydantic.fields import FieldInfo
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from careledger.access.settings import AccessSettings
from careledger.ledger.domain.limits import InputLimits
from careledger.ledger.domain.protocol import DisputeProtocol
from careledger.ledger.domain.vocabulary import Role
from careledger.ledger.errors import LedgerError
from careledger.projections.drift_settings import DriftSettings
from careledger.projections.settings import PolicySettings

FILE_VARIABLE = "CARELEDGER_SETTINGS_FILE"
DEFAULT_FILE = Path("careledger.toml")
SECRET_MASK = "********"


class _Section(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class StoreSettings(_Section):
    db: str = Field(
        default="./careledger.db",
        description="the ledger: a SQLite file's path or a postgresql:// URL",
    )
    catch_up: bool = Field(
        default=True,
        description="whether commands bring the projections up to date themselves "
        "(--catch-up/--no-catch-up); false when `careledger project --follow` does",
    )
    cipher_key: SecretStr | None = Field(
        default=None,
        description="encryption at rest: the base64 of a 16, 24 or 32 byte AES key "
        "(`careledger cipher-key` makes one); off when unset",
    )
    cipher_key_file: str | None = Field(
        default=None, description="a file holding that key, instead of CARELEDGER_CIPHER_KEY"
    )


class IntegritySettings(_Section):
    head_key_file: str | None = Field(
        default=None,
        description="the private key (owner-only file, `careledger head-key`) that signs the "
        "log's head at each commit, and the access log's at each entry",
    )
    head_log: str | None = Field(
        default=None,
        description="a file outside the database that keeps a copy of every signed head "
        "(needs CARELEDGER_HEAD_KEY_FILE)",
    )
    head_public_key_file: str | None = Field(
        default=None,
        description="public keys `verify` accepts for the signed head, separated by the "
        "path separator; default: the public half of CARELEDGER_HEAD_KEY_FILE",
    )


class RecordingSettings(_Section):
    actor: str | None = Field(default=None, description="who records (--actor)")
    role: Role | None = Field(default=None, description="their role (--role), e.g. SW, IRO, TM")
    council: str | None = Field(
        default=None, description="the council of a child given as a bare REF (--council)"
    )


class DiagnosticsSettings(_Section):
    debug: bool = Field(
        default=False, description="show the traceback behind an error, not only its one line"
    )


class ServiceSettings(_Section):
    read_db: str | None = Field(
        default=None,
        description="where reads go, the service's and the read commands' (--read-db), "
        "opened for reading only: a reader role's URL or a streaming replica; default: "
        "CARELEDGER_DB",
    )
    oidc_issuer: str | None = Field(default=None, description="the OpenID Connect issuer's URL")
    oidc_client_id: str | None = Field(default=None, description="the service's OIDC client id")
    oidc_client_secret: SecretStr | None = Field(
        default=None, description="the service's OIDC client secret"
    )
    session_secret: SecretStr | None = Field(
        default=None,
        description="keys the stored session ids and the CSRF tokens; the same for every "
        "worker (without one, each start makes a random one: one worker only)",
    )
    session_minutes: int = Field(
        default=30, ge=1, le=24 * 60, description="minutes after sign-in when a session ends"
    )
    max_body_bytes: int = Field(
        default=5_000_000, ge=1_000, description="the largest request body `serve` accepts"
    )
    sign_in_attempts_per_minute: int = Field(
        default=10,
        ge=1,
        description="sign-in attempts per client address in a minute, on every sign-in "
        "route, across all workers",
    )
    public_url: str | None = Field(
        default=None, description="the service's address as its users reach it"
    )
    host: str = Field(default="127.0.0.1", description="the address `serve` listens on")
    port: int = Field(default=8000, ge=1, le=65535, description="the port `serve` listens on")


class EmailSettings(_Section):
    """The SMTP server the IRO's notices go out through (`careledger notify`): none, no mail."""

    host: str | None = Field(
        default=None, description="the SMTP server that sends the IRO's notices; none: no mail"
    )
    port: int = Field(default=587, ge=1, le=65535, description="its port")
    security: Literal["starttls", "tls", "none"] = Field(
        default="starttls",
        description="`starttls` (port 587), `tls` (implicit TLS, port 465) or `none` (a relay "
        "on the loopback only)",
    )
    username: str | None = Field(default=None, description="the SMTP account, if it needs one")
    password: SecretStr | None = Field(default=None, description="that account's password")
    from_address: str = Field(
        default="careledger@localhost", description="the notices' From address"
    )


# Each section's variables are its prefix and the field's name in capitals.
PREFIXES = {
    "store": "CARELEDGER_",
    "integrity": "CARELEDGER_",
    "recording": "CARELEDGER_",
    "diagnostics": "CARELEDGER_",
    "limits": "CARELEDGER_MAX_",
    "policy": "CARELEDGER_",
    "drift": "CARELEDGER_",
    "challenge": "CARELEDGER_CHALLENGE_",
    "service": "CARELEDGER_",
    "access": "CARELEDGER_",
    "email": "CARELEDGER_SMTP_",
}
# How a section's bad value is introduced, as the ledger has always said it.
LABELS = {
    "policy": "policy settings: ",
    "drift": "drift settings: ",
    "challenge": "challenge settings: ",
}


@dataclass(frozen=True)
class Variable:
    section: str
    field: str
    name: str  # the environment variable
    info: FieldInfo

    @property
    def secret(self) -> bool:
        return _is_secret(self.info.annotation)


class SettingsInvalid(LedgerError):
    """A setting that cannot be used: the message names the variable (and the file)."""


class Settings(BaseSettings):
    """careledger's settings, by section. `load_settings()` reads and checks them all;
    `section(name)` reads one."""

    model_config = SettingsConfigDict(frozen=True, extra="forbid")

    store: StoreSettings = StoreSettings()
    integrity: IntegritySettings = IntegritySettings()
    recording: RecordingSettings = RecordingSettings()
    diagnostics: DiagnosticsSettings = DiagnosticsSettings()
    limits: InputLimits = InputLimits()
    policy: PolicySettings = PolicySettings()
    drift: DriftSettings = DriftSettings()
    challenge: DisputeProtocol = DisputeProtocol()
    service: ServiceSettings = ServiceSettings()
    access: AccessSettings = AccessSettings()
    email: EmailSettings = EmailSettings()

    @model_validator(mode="before")
    @classmethod
    def _read_db_is_db_unless_given(cls, data: Any) -> Any:
        """CARELEDGER_READ_DB defaults to CARELEDGER_DB (as `section` does)."""
        if not isinstance(data, dict):
            return data
        service, store = data.get("service", {}), data.get("store", {})
        if isinstance(service, dict) and service.get("read_db") is None:
            db = store.get("db") if isinstance(store, dict) else store.db
            data = data | {"service": service | {"read_db": db or StoreSettings().db}}
        return data

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Given values, then the environment, then the file, then the defaults."""
        sources: list[PydanticBaseSettingsSource] = [init_settings, Environment(settings_cls)]
        path = settings_file()
        if path is not None:
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=path))
        return tuple(sources)


def variables() -> Iterator[Variable]:
    """Every setting, section by section."""
    for section, section_field in Settings.model_fields.items():
        model = section_field.annotation
        assert isinstance(model, type) and issubclass(model, BaseModel)
        for name, info in model.model_fields.items():
            yield Variable(section, name, PREFIXES[section] + name.upper(), info)


def settings_file() -> Path | None:
    """The TOML file in force: CARELEDGER_SETTINGS_FILE's, or ./careledger.toml if present."""
    named = os.environ.get(FILE_VARIABLE)
    if named:
        return Path(named)
    return DEFAULT_FILE if DEFAULT_FILE.is_file() else None


class Environment(PydanticBaseSettingsSource):
    """The CARELEDGER_* variables, as each section's fields: a JSON list (the challenge
    stages) is decoded here, every other value is validated by its section."""

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        raise NotImplementedError  # values are read section by section in __call__

    def __call__(self) -> dict[str, Any]:
        return {name: environment_values(name) for name in PREFIXES}


def environment_values(name: str) -> dict[str, Any]:
    """One section's values from the environment (an empty optional one is unset)."""
    values: dict[str, Any] = {}
    for variable in variables():
        raw = os.environ.get(variable.name)
        if variable.section != name or raw is None:
            continue
        if raw != "" or variable.info.default is not None:
            values[variable.field] = _decoded(variable, raw)
    return values


def file_values() -> dict[str, Any]:
    """The TOML file's sections, or {} without a file; a file that cannot be read or is not
    TOML is one line naming it."""
    path = settings_file()
    if path is None:
        return {}
    try:
        with path.open("rb") as stream:
            values = tomllib.load(stream)
    except OSError as error:
        raise SettingsInvalid(f"{FILE_VARIABLE}: cannot read '{path}' ({error.strerror})") from None
    except tomllib.TOMLDecodeError as error:
        raise SettingsInvalid(f"{path}: not TOML ({error})") from None
    for section, table in values.items():
        if section not in PREFIXES or not isinstance(table, dict):
            raise SettingsInvalid(
                f"{path}: [{section}] is not a section of careledger's settings "
                f"(sections: {', '.join(PREFIXES)})"
            )
    return values


def section(name: str) -> Any:
    """One section, read and checked now: the environment's values over the file's."""
    model = Settings.model_fields[name].annotation
    assert isinstance(model, type) and issubclass(model, BaseModel)
    from_file = file_values().get(name, {})
    given = from_file | environment_values(name)
    try:
        checked = model.model_validate(given)
    except ValidationError as error:
        raise SettingsInvalid(_problem(name, error, from_file)) from None
    if isinstance(checked, ServiceSettings) and checked.read_db is None:
        return checked.model_copy(update={"read_db": section("store").db})
    return checked


def load_settings() -> Settings:
    """Every section, read and checked now (`careledger settings`)."""
    return Settings.model_construct(**{name: section(name) for name in Settings.model_fields})


def origin(variable: Variable) -> str:
    """Where the value in force came from: the variable, the file, or the default."""
    if variable.name in os.environ and not (
        os.environ[variable.name] == "" and variable.info.default is None
    ):
        return variable.name
    path = settings_file()
    if path is not None and variable.field in file_values().get(variable.section, {}):
        return str(path)
    return "default"


def shown(value: object, secret: bool) -> object:
    """A value as it may be printed: a secret only as whether it is set."""
    if secret:
        return SECRET_MASK if value is not None else "not set"
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    if isinstance(value, tuple | frozenset | set | list):
        items = sorted(value, key=str) if isinstance(value, frozenset | set) else value
        return [shown(item, False) for item in items]
    if hasattr(value, "value"):  # an enumeration
        return value.value
    return value


def _decoded(variable: Variable, raw: str) -> Any:
    if not _is_json(variable.info.annotation):
        return raw
    try:
        return json.loads(raw)
    except ValueError as error:
        label = LABELS.get(variable.section, "")
        raise SettingsInvalid(
            f"{label}{variable.name}: cannot read the {variable.field.replace('_', ' ')} "
            f"(expected JSON): {error}"
        ) from None


def _problem(name: str, error: ValidationError, from_file: dict[str, Any]) -> str:
    first = error.errors()[0]
    message = first["msg"].removeprefix("Value error, ")
    problem = "is required" if first["type"] == "missing" else message
    label = LABELS.get(name, "")
    if not first["loc"]:
        return f"{label}{problem}"
    field = str(first["loc"][0])
    variable = PREFIXES[name] + field.upper()
    where = [str(part) for part in first["loc"][1:]]
    inside = f" (at {'.'.join(where)})" if where else ""
    if variable not in os.environ and field in from_file:
        return f"{label}{variable}: {problem}{inside} ([{name}] {field} in {settings_file()})"
    return f"{label}{variable}: {problem}{inside}"


def _is_json(annotation: Any) -> bool:
    return typing.get_origin(annotation) in (tuple, list, dict)


def _is_secret(annotation: Any) -> bool:
    return annotation is SecretStr or SecretStr in typing.get_args(annotation)
