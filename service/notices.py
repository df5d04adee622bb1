"""The IRO's inbox by email (optional): a notice to the IRO's address for each new entry of
their inbox, sent through the council's SMTP server (CARELEDGER_SMTP_*). The body holds a
link to the inbox and nothing else of the case: no child's name or reference, no plan
content; the IRO signs in to read it. (An email crosses servers careledger does not control.)

Each entry is noticed once: the row naming it (`careledger_notices`, keyed by IRO and entry)
is inserted in the transaction that sends the mail, and committed only once the SMTP server
has accepted it. A mail that fails leaves no row, so the next pass sends it again; two
notifiers cannot both send one entry (the second's insert waits for the first's commit, then
finds the row). Should the commit itself fail after the server accepted the mail, the next
pass sends it once more: a notice twice is better than none.

`careledger notify --follow` runs `Notifier.once` every interval, beside the projector."""

from __future__ import annotations

import smtplib
import ssl
from dataclasses import dataclass
from datetime import UTC, date, datetime
from email.message import EmailMessage

from careledger.access.emails import Emails
from careledger.api import Opened
from careledger.service.tables import ServiceTables
from careledger.settings import EmailSettings

SUBJECT = "careledger: a change for you to see"
BODY = (
    "A change to the care of a child you are the Independent Reviewing Officer for is in your "
    "careledger inbox. Sign in to read it:\n\n{link}\n"
)


@dataclass
class Notifier:
    ledger: Opened  # the projections, the register of people and the notices sent
    tables: ServiceTables
    email: EmailSettings
    public_url: str

    @property
    def link(self) -> str:
        return f"{self.public_url.rstrip('/')}/inbox"

    def once(self, today: date | None = None) -> int:
        """Send a notice of each entry of each IRO's inbox not yet noticed; how many."""
        sent = 0
        for iro, address in Emails(self.ledger.access.store).of_role("IRO").items():
            noticed = self._noticed(iro)
            for entry in self.ledger.inbox(iro, today):
                if entry.key not in noticed and self._send_once(iro, address, entry.key):
                    sent += 1
        return sent

    def _noticed(self, iro: str) -> set[str]:
        rows = self.tables.fetch("SELECT entry FROM {s}careledger_notices WHERE iro = ?", [iro])
        return {str(row["entry"]) for row in rows}

    def _send_once(self, iro: str, address: str, entry: str) -> bool:
        """The notice of `entry`, unless another pass sent it first."""
        with self.tables.datastore.transaction(commit=True) as cursor:
            cursor.execute(
                self.tables.q(
                    "INSERT INTO {s}careledger_notices VALUES (?, ?, ?) "
                    "ON CONFLICT (iro, entry) DO NOTHING"
                ),
                (iro, entry, datetime.now(UTC).isoformat()),
            )
            if int(getattr(cursor, "sqlite_cursor", cursor).rowcount) != 1:
                return False
            send(self.email, address, self.link)
        return True


def notice(email: EmailSettings, address: str, link: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = email.from_address
    message["To"] = address
    message["Subject"] = SUBJECT
    message.set_content(BODY.format(link=link))
    return message


def send(email: EmailSettings, address: str, link: str) -> None:
    """One notice, through the configured server."""
    assert email.host is not None
    message = notice(email, address, link)
    context = ssl.create_default_context()
    if email.security == "tls":
        server: smtplib.SMTP = smtplib.SMTP_SSL(email.host, email.port, timeout=30, context=context)
    else:
        server = smtplib.SMTP(email.host, email.port, timeout=30)
    with server:
        if email.security == "starttls":
            server.starttls(context=context)
        if email.username and email.password:
            server.login(email.username, email.password.get_secret_value())
        server.send_message(message)
