"""The exit statuses every command keeps to, so that a script can tell a refusal from a
broken ledger without reading the message."""

from __future__ import annotations

OK = 0
REFUSED = 1  # refused or failed: bad input, a store or file that fails; nothing done
USAGE = 2  # click's own: an unknown option, a missing argument, a value not allowed
VERIFICATION_FAILED = 3  # the ledger, a seal or an export did not verify
CORRECTED_SINCE = 4  # verify-export: matches as exported, but entries were corrected since

EPILOG = (
    "Exit status: 0 ok; 1 refused or error (one line on stderr, nothing done); 2 usage; "
    "3 verification failed (verify: the chain, a seal, the signed heads or the projections; "
    "verify-export: the file does not match; chronology, verify-export or seal: the chain "
    "is broken); "
    "4 verify-export: the file matches the ledger as it stood, but entries were corrected "
    "since."
)
