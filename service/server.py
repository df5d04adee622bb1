"""Running the application on uvicorn, as `careledger serve` does: one worker, or several
processes each building the application from the environment (`create_app`)."""

from __future__ import annotations

import os
from typing import Any

import click
import uvicorn

from careledger.settings import section


def run(
    db: str | None,
    host: str | None,
    port: int | None,
    workers: int,
    forwarded_allow_ips: str | None,
) -> None:
    if db is not None:
        os.environ["CARELEDGER_DB"] = db  # each worker builds its app from the environment
    service = section("service")
    if workers > 1 and service.session_secret is None:
        raise click.UsageError(
            "--workers: several workers need one CARELEDGER_SESSION_SECRET to share sessions"
        )
    uvicorn.run(
        "careledger.service.app:create_app",
        factory=True,
        host=host or service.host,
        port=port or service.port,
        workers=workers,
        access_log=False,  # uvicorn's names the path, and a path names a child
        log_config=LOG_CONFIG,
        proxy_headers=forwarded_allow_ips is not None,
        forwarded_allow_ips=forwarded_allow_ips,
        server_header=False,
    )


LOG_CONFIG: dict[str, Any] = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"stderr": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "loggers": {
        "uvicorn": {"handlers": ["stderr"], "level": "INFO", "propagate": False},
        "careledger": {"handlers": ["stderr"], "level": "INFO", "propagate": False},
    },
}
