"""Errors the ledger reports to its callers: each names the field and the problem."""

from __future__ import annotations


class LedgerError(Exception):
    """Base of every error careledger reports to a user."""


class RecordingRefused(LedgerError):
    """An event was refused: `field` names what is wrong, `problem` says why."""

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f"{field}: {problem}")
        self.field = field
        self.problem = problem


class CaseNotFound(LedgerError):
    def __init__(self, council: str, child_ref: str) -> None:
        super().__init__(f"no case for child '{child_ref}' of council '{council}'")
        self.council = council
        self.child_ref = child_ref


class ChainBroken(LedgerError):
    """A case's integrity chain does not verify, so nothing read from it can be vouched for
    (a court chronology is refused): a verification failure, not a refusal of input."""


class RecordingConflict(LedgerError):
    """Other writers kept recording in the same case while this batch was being saved: each
    attempt found the case moved on. Nothing of the batch was recorded (`outcome` says what
    was, and what to do)."""

    def __init__(self, attempts: int, outcome: str = "nothing recorded; try again") -> None:
        super().__init__(
            "other writers were recording in the same case at the same time, "
            f"{attempts} attempt(s) in a row; {outcome}"
        )
        self.attempts = attempts


class StoreFailure(LedgerError):
    """The store could not do what was asked (unreachable, full, read-only, not a ledger):
    one line naming which store and what is wrong."""
