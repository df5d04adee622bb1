"""The IRO's inbox by email, against a real SMTP server the test starts (aiosmtpd), on both
stores: each new entry of an IRO's inbox is noticed once, to the IRO's address, with a link
to the inbox and nothing of the case (no child's name or reference, no plan content).

Maya (E10000099:IN-0301) has Dana Whitlock (IRO-07) as her IRO; Leo (E10000099:IN-0302) has
Sam Okoro (IRO-12), who has no email address."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from email import message_from_bytes
from email.message import Message
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from click.testing import CliRunner

from careledger.access.emails import Emails
from careledger.api import Opened, opened
from careledger.cli.main import cli
from careledger.service.notices import Notifier
from careledger.service.tables import ServiceTables
from careledger.settings import EmailSettings
from tests.test_inbox import COUNCIL, LEO, MAYA, TODAY, change, start

PUBLIC_URL = "https://careledger.council.example"


class Inbox:
    """What the SMTP server received."""

    def __init__(self) -> None:
        self.mails: list[tuple[list[str], Message]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.mails.append((list(envelope.rcpt_tos), message_from_bytes(envelope.content)))
        return "250 Message accepted for delivery"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def smtp() -> Iterator[tuple[Inbox, int]]:
    received, port = Inbox(), free_port()
    server = Controller(received, hostname="127.0.0.1", port=port)
    server.start()
    try:
        yield received, port
    finally:
        server.stop()


def ready(o: Opened) -> None:
    ServiceTables(o.ledger).create()
    start(o)
    for name, role in (("IRO-07", "IRO"), ("IRO-12", "IRO")):
        o.access.accounts.add(name, role, [COUNCIL])
    Emails(o.access.store).set("IRO-07", "dana.whitlock@council.example")


def notifier(o: Opened, port: int) -> Notifier:
    email = EmailSettings(host="127.0.0.1", port=port, security="none")
    return Notifier(o, ServiceTables(o.ledger), email, PUBLIC_URL)


def test_each_new_entry_is_noticed_once_with_a_link_and_nothing_of_the_case(
    o: Opened, smtp: tuple[Inbox, int]
) -> None:
    received, port = smtp
    ready(o)
    o.record([change(MAYA, "CH-1", "placement", True), change(LEO, "CH-2", "placement", True)],
             "lcs-feed", "ADMIN")  # fmt: skip
    assert notifier(o, port).once(TODAY) == 1
    [(to, mail)] = received.mails
    assert to == ["dana.whitlock@council.example"]
    body = mail.get_payload(decode=True).decode()
    assert f"{PUBLIC_URL}/inbox" in body
    whole = mail.as_string()
    for secret in (MAYA, LEO, COUNCIL, "Maya", "placement now", "CH-1", "IRO-07"):
        assert secret not in whole, secret
    assert notifier(o, port).once(TODAY) == 0  # sent once
    assert len(received.mails) == 1
    o.record([change(MAYA, "CH-3", "education", True)], "lcs-feed", "ADMIN")
    assert notifier(o, port).once(TODAY) == 1
    assert len(received.mails) == 2


def test_an_acknowledged_entry_is_not_noticed(o: Opened, smtp: tuple[Inbox, int]) -> None:
    received, port = smtp
    ready(o)
    o.record([change(MAYA, "CH-1", "placement", True)], "lcs-feed", "ADMIN")
    [entry] = o.inbox("IRO-07", TODAY)
    o.acknowledge(entry.key, entry.seen, actor="IRO-07", iro="IRO-07", on=TODAY)
    assert notifier(o, port).once(TODAY) == 0
    assert received.mails == []


def test_a_mail_server_that_does_not_answer_leaves_the_entry_to_be_noticed_later(
    o: Opened, smtp: tuple[Inbox, int]
) -> None:
    received, port = smtp
    ready(o)
    o.record([change(MAYA, "CH-1", "placement", True)], "lcs-feed", "ADMIN")
    with pytest.raises(OSError):
        notifier(o, free_port()).once(TODAY)
    assert notifier(o, port).once(TODAY) == 1
    assert len(received.mails) == 1


def test_the_notify_command_sends_through_the_configured_server(
    sqlite_db: str, smtp: tuple[Inbox, int], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    received, port = smtp
    with opened(sqlite_db, create_tables=True) as o:
        ready(o)
        o.record([change(MAYA, "CH-1", "placement", True)], "lcs-feed", "ADMIN")
    monkeypatch.chdir(tmp_path)
    env = {"CARELEDGER_SMTP_HOST": "127.0.0.1", "CARELEDGER_SMTP_PORT": str(port),
           "CARELEDGER_SMTP_SECURITY": "none", "CARELEDGER_PUBLIC_URL": PUBLIC_URL}  # fmt: skip
    result = CliRunner().invoke(cli, ["notify", "--db", sqlite_db], env=env)
    assert result.exit_code == 0, result.output
    assert result.output == "sent 1 notice(s)\n"
    assert len(received.mails) == 1
    unset = CliRunner().invoke(cli, ["notify", "--db", sqlite_db], env={"CARELEDGER_SMTP_HOST": ""})
    assert unset.exit_code == 1
    assert "CARELEDGER_SMTP_HOST" in unset.output


def test_users_add_keeps_an_email_address_and_refuses_one_that_is_not(sqlite_db: str) -> None:
    with opened(sqlite_db, create_tables=True):
        pass
    runner = CliRunner()
    added = runner.invoke(cli, ["users", "add", "IRO-31", "--role", "IRO", "--council", COUNCIL,
                                "--no-password", "--email", "amy.lau@council.example",
                                "--db", sqlite_db])  # fmt: skip
    assert added.exit_code == 0, added.output
    with opened(sqlite_db) as o:
        assert Emails(o.access.store).of_role("IRO") == {"IRO-31": "amy.lau@council.example"}
    refused = runner.invoke(cli, ["users", "add", "IRO-32", "--role", "IRO", "--council",
                                  COUNCIL, "--no-password", "--email", "amy lau",
                                  "--db", sqlite_db])  # fmt: skip
    assert refused.exit_code == 1
    assert "--email: 'amy lau' is not an email address" in refused.output
    with opened(sqlite_db) as o:
        assert "IRO-32" not in {row["name"] for row in o.access.accounts.listing()}
