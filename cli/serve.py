"""`careledger serve`: the HTTP service (`careledger.service`) on uvicorn."""

from __future__ import annotations

import os
from typing import Any

import click

from careledger.cli.options import DB_OPTION
from careledger.settings import section


@click.command(name="serve")
@DB_OPTION
@click.option("--host", default=None, help="Address to listen on (CARELEDGER_HOST; 127.0.0.1).")
@click.option(
    "--port", default=None, type=click.IntRange(1, 65535), help="Port (CARELEDGER_PORT; 8000)."
)
@click.option(
    "--workers",
    default=1,
    show_default=True,
    type=click.IntRange(1, 64),
    help="Worker processes (give them one CARELEDGER_SESSION_SECRET).",
)
@click.option(
    "--forwarded-allow-ips",
    default=None,
    help="The reverse proxy's address, whose X-Forwarded-For/-Proto are believed.",
)
def serve_command(
    db: str | None,
    host: str | None,
    port: int | None,
    workers: int,
    forwarded_allow_ips: str | None,
) -> None:
    """Serve the JSON API (and sign-in) over the ledger at --db. Put TLS in front of it: its
    cookies are Secure, so browsers send them only over HTTPS (README: Running the service)."""
    import uvicorn

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
