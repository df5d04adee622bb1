"""`careledger serve`: the HTTP service (`careledger.service`) on uvicorn."""

from __future__ import annotations

import click

from careledger.cli.options import DB_OPTION


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
    cookies are Secure, so browsers send them only over HTTPS (README: TLS in front)."""
    from careledger.service.server import run

    run(db, host, port, workers, forwarded_allow_ips)
