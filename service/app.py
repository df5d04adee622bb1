"""The application: `create_app(settings)` wires the routes over the ledger each worker opens
twice when it starts (and closes when it stops): where it is recorded (`settings.db`), for
recording, the access log, sessions and idempotency keys; and for reading (`settings.read_db`,
else the same store), on connections that refuse every write; all inside the guards every
response passes (`service.guards`)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import ExitStack, asynccontextmanager
from dataclasses import replace

from fastapi import FastAPI

from careledger import __version__
from careledger.api import Opened, opened, use_input_limits
from careledger.ledger.errors import LedgerError
from careledger.service import (
    health,
    inbox,
    pages,
    problems,
    reads,
    recording,
    reports,
    shares,
    sign_in,
)
from careledger.service.events_ahead import EventsAhead
from careledger.service.guards import Guards
from careledger.service.settings import ServiceSettings
from careledger.service.state import ServiceState
from careledger.service.tables import ServiceTables

DESCRIPTION = """An append-only ledger of care-plan decisions for looked-after children in
England. Identity comes from sign-in: a session (people) or a bearer token (systems).
Errors are RFC 9457 problem details naming the field."""


def create_app(settings: ServiceSettings | None = None) -> FastAPI:
    settings = settings or ServiceSettings.from_environment()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        with ExitStack() as stack:
            use_input_limits()  # the CARELEDGER_MAX_* limits every request is read under
            ledger = stack.enter_context(opened(settings.db))
            reader = _reader(stack, settings, ledger)
            tables = ServiceTables(ledger.ledger)
            if not tables.exist():
                raise LedgerError(
                    f"--db: '{ledger.ledger.store.location}' has no sessions table: run "
                    "'careledger init' (once, as a migration step) before 'careledger serve'"
                )
            ledger.notify = reader.notify = _quiet
            ledger.catch_up()  # what was recorded before it started (if it catches up)
            app.state.careledger = ServiceState(settings, ledger, reader, tables)
            yield

    app = FastAPI(
        title="careledger",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
        docs_url=None,  # the interactive pages run inline script; /openapi.json is the document
        redoc_url=None,
    )
    app.state.sign_in_limit = sign_in.SignInLimit(settings.sign_in_attempts_per_minute)
    problems.install(app)
    app.include_router(pages.router)  # first: a browser's /sign-in is the GOV.UK page
    for module in (recording, reads, reports, shares, health, sign_in, inbox):
        app.include_router(module.router)
    if settings.oidc_configured:
        from careledger.service import oidc  # type: ignore[attr-defined,unused-ignore]

        app.include_router(oidc.router)
    app.add_middleware(EventsAhead)  # inside the guards: added before them
    app.add_middleware(Guards, max_body_bytes=settings.max_body_bytes)
    return app


def _reader(stack: ExitStack, settings: ServiceSettings, ledger: Opened) -> Opened:
    """Where reads go: the read URL opened for reading (its connections refuse every write).
    Without one, a SQLite ledger is opened again, for reading, on connections of its own that
    refuse every write; a PostgreSQL ledger is read through the ledger's own pool (a second
    pool would double each worker's connections to the server). Either way a read never
    catches the projections up (recording does, `service.freshness`)."""
    if settings.read_db is not None and settings.read_db != settings.db:
        return stack.enter_context(opened(settings.read_db, reading=True))
    if ledger.ledger.store.is_postgres:
        return replace(ledger, catches_up=False)
    return stack.enter_context(opened(settings.db, reading=True))


def _quiet(message: str) -> None:
    """What the ledger would print for a command's user (a lag note) is not for the server
    log: /health and each answer's X-Careledger-Lag say it."""
