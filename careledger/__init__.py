"""careledger: an append-only, event-sourced audit ledger of care-plan decisions for
looked-after children in England.

The package is the repository's top-level folders: `careledger.ledger` (the write side:
domain, store, integrity, SSDA903), `careledger.projections` (the read side) and
`careledger.cli` (the command line). `careledger.api` is the documented Python API, and
`careledger.settings` the one object holding every setting (environment and TOML file).
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("careledger")
except PackageNotFoundError:  # running from a checkout that was never installed
    __version__ = "0+unknown"
