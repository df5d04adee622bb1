"""`careledger notify`: the IRO's inbox by email, once or following the ledger
(`careledger.service.notices`). Needs CARELEDGER_SMTP_HOST and CARELEDGER_PUBLIC_URL (the
link each notice holds)."""

from __future__ import annotations

import smtplib

import click

from careledger.api import opened
from careledger.cli.options import DB_OPTION
from careledger.cli.project import say, stop_on_signals, warn
from careledger.ledger.errors import LedgerError
from careledger.ledger.store.failures import STORE_ERRORS, describe
from careledger.service.notices import Notifier
from careledger.service.tables import ServiceTables
from careledger.settings import section


@click.command("notify")
@DB_OPTION
@click.option(
    "--follow",
    is_flag=True,
    help="Keep looking for new inbox entries every --interval seconds until stopped "
    "(SIGTERM or Ctrl-C).",
)
@click.option(
    "--interval",
    type=click.FloatRange(0.5, 3600),
    default=2.0,
    show_default=True,
    help="Seconds between looks at the IROs' inboxes.",
)
def notify_command(db: str | None, follow: bool, interval: float) -> None:
    """Email each IRO who has an address (users add --email, or the identity provider's
    email claim) a notice of each new entry of their inbox: once per entry, a link only."""
    email = section("email")
    public_url = section("service").public_url
    if email.host is None:
        raise LedgerError("CARELEDGER_SMTP_HOST: is required to send notices")
    if not public_url:
        raise LedgerError("CARELEDGER_PUBLIC_URL: is required for the link a notice holds")
    with opened(db) as o, stop_on_signals() as stopping:
        o.notify = warn
        notifier = Notifier(o, ServiceTables(o.ledger), email, public_url)
        if not follow:
            say(f"sent {notifier.once()} notice(s)")
            return
        say(f"sending inbox notices through {email.host}:{email.port}; stop with SIGTERM or Ctrl-C")
        sent = 0
        while not stopping.is_set():
            try:
                sent += _pass(notifier)
            except STORE_ERRORS as error:
                warn(f"warning: {describe(o.ledger.store, error)}; trying again in {interval:g} s")
            except (OSError, smtplib.SMTPException) as error:
                warn(f"warning: the mail server refused or did not answer ({error}); trying again")
            stopping.wait(interval)
        say(f"stopped: sent {sent} notice(s) while following")


def _pass(notifier: Notifier) -> int:
    count = notifier.once()
    if count:
        say(f"sent {count} notice(s)")
    return count
