"""Who the command line acts as when it reads a child's record: the database's credentials
are an administrator's (whoever can open the store can read every table), so each read is
logged as CARELEDGER_ACTOR (the `recording.actor` setting), else the operating-system user,
in the role ADMIN. People should read through the service, which signs them in and applies
their role's scope."""

from __future__ import annotations

import getpass
import os

from careledger.access import Principal
from careledger.api import Opened, opened
from careledger.projections.queries import Child
from careledger.settings import section


def cli_principal() -> Principal:
    name = section("recording").actor or _os_user()
    return Principal(name=name, role="ADMIN", councils=frozenset())


def _os_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no name for this uid (a container's)
        return f"uid-{os.getuid()}"


def log_read(ledger: Opened, child: Child | str, view: str, db: str | None = None) -> None:
    """The command line's read of `view` of `child` (a `Child` or COUNCIL:REF), into the
    access log. The log is written where the ledger is recorded (`db`): a ledger opened for
    reading (a read URL, a streaming replica) refuses every write, so the entry goes through
    the ledger's own location, opened for that alone."""
    name = child if isinstance(child, str) else f"{child.council}:{child.child_ref}"
    if not ledger.reading:
        ledger.access.check_child(cli_principal(), name, view)
        return
    with opened(db, catch_up=False) as primary:
        primary.access.check_child(cli_principal(), name, view)
