"""What sign-in and access checks refuse. Each message is one line; those that could tell an
outsider something (whether an account exists, whether a child is on the ledger) are worded
the same whatever the cause."""

from __future__ import annotations

from careledger.ledger.errors import LedgerError

NOT_FOUND_OR_NOT_ALLOWED = "not found or not allowed"


class SignInRefused(LedgerError):
    """Wrong password, unknown user, disabled or locked out: one message for all, so that a
    guesser learns nothing about which names are accounts."""

    def __init__(self) -> None:
        super().__init__("sign-in refused: unknown name, wrong password, or locked out")


class TokenRefused(LedgerError):
    """An API token that is unknown, expired or revoked (`reason` says which: the token's
    holder is the council's own system, and needs to know whether to ask for a new one)."""

    def __init__(self, reason: str) -> None:
        super().__init__(f"token: {reason}")
        self.reason = reason


class AccessRefused(LedgerError):
    """A read or a recording the principal may not make. For a child, the message is the same
    whether or not the child exists: a refused read reveals nothing."""

    def __init__(self, message: str = NOT_FOUND_OR_NOT_ALLOWED) -> None:
        super().__init__(message)


class ReasonRequired(LedgerError):
    """An inspector opening a named child's record without stating why (break-glass)."""

    def __init__(self) -> None:
        super().__init__("reason: an inspector must state a reason to open a named child's record")
