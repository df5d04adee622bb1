"""Running the application on uvicorn, as `careledger serve` does: one worker, or several
processes each building the application from the environment (`create_app`)."""

from __future__ import annotations

import os
from typing import Any

import click
import uvicorn

from careledger.api import opened
from careledger.ledger.errors import LedgerError
from careledger.service.tables import ServiceTables
from careledger.settings import section

UVICORN_STARTUP_FAILURE = 3  # uvicorn's exit status when it cannot start
WORKER_HEALTHCHECK_SECONDS = 30


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
    _refuse_without_service_tables(db)
    host, port = host or service.host, port or service.port
    try:
        uvicorn.run(
            "careledger.service.app:create_app",
            factory=True,
            host=host,
            port=port,
            workers=workers,
            # named, not left to whatever happens to be importable: requests parsed in C
            # (httptools) on libuv's loop (uvloop, wherever it installs; asyncio's elsewhere)
            http="httptools",
            loop="auto",
            access_log=False,  # uvicorn's names the path, and a path names a child
            log_config=LOG_CONFIG,
            proxy_headers=forwarded_allow_ips is not None,
            forwarded_allow_ips=forwarded_allow_ips,
            server_header=False,
            # uvicorn restarts a worker that does not answer its supervisor's ping within this
            # many seconds; its default (5) kills, again and again, a worker still importing
            # the application on a busy machine, so that --workers 2 never starts.
            timeout_worker_healthcheck=WORKER_HEALTHCHECK_SECONDS,
        )
    except SystemExit as stopped:
        # uvicorn exits 3 when it cannot start (a port in use, say): careledger's 3 means a
        # verification failed, so that is told as a refusal, exit 1, after uvicorn's own line
        if stopped.code == UVICORN_STARTUP_FAILURE:
            raise LedgerError(
                f"--port: the service could not start on {host}:{port} (the line above says why)"
            ) from None
        raise


def _refuse_without_service_tables(db: str | None) -> None:
    """A ledger that `careledger init` has not prepared for the service is refused here, in
    one line with exit 1, before uvicorn starts: each worker would otherwise fail its
    start-up with a traceback in the server log."""
    with opened(db) as ledger:
        if not ServiceTables(ledger.ledger).exist():
            raise LedgerError(
                f"--db: '{ledger.ledger.store.location}' has no sessions table: run "
                "'careledger init' (once, as a migration step) before 'careledger serve'"
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
