"""What a name, a council code, a court or a reason must look like: each refusal names the
field, and nothing is written."""

from __future__ import annotations

import re
from datetime import date

from careledger.ledger.errors import LedgerError

# An ONS local authority code: a country letter and eight digits (E10000099, W06000015).
COUNCIL = re.compile(r"[EWSN]\d{8}")
NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@+-]{0,99}")
MAX_TEXT = 500


def council_code(value: str, field: str = "--council") -> str:
    code = value.strip().upper()
    if not COUNCIL.fullmatch(code):
        raise LedgerError(
            f"{field}: '{value}' is not a council code (a letter and eight digits, as E10000099)"
        )
    return code


def account_name(value: str, field: str = "NAME") -> str:
    if not NAME.fullmatch(value):
        raise LedgerError(
            f"{field}: '{value}' is not a name (letters, digits and . _ @ + -, at most 100, "
            "starting with a letter or digit)"
        )
    return value


def one_line(value: str, field: str) -> str:
    """Free text kept in a table and shown back: one printable line, not blank."""
    text = value.strip()
    if not text:
        raise LedgerError(f"{field}: must not be blank")
    if len(text) > MAX_TEXT:
        raise LedgerError(f"{field}: longer than {MAX_TEXT} characters")
    if not text.isprintable():
        raise LedgerError(f"{field}: must be one line of printable text")
    return text


def child_name(value: str, field: str = "child") -> str:
    """A child named COUNCIL:REF, as the ledger names them."""
    council, sep, ref = value.partition(":")
    if not sep or not council.strip() or not ref.strip():
        raise LedgerError(f"{field}: '{value}' is not COUNCIL:REF")
    return value


def day(value: str, field: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise LedgerError(f"{field}: '{value}' is not a date (YYYY-MM-DD)") from None
