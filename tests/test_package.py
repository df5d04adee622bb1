"""careledger is one importable package with a version, whatever folder its parts live in."""

from __future__ import annotations

import sys
from importlib.metadata import version

from click.testing import CliRunner

import careledger
from careledger.cli.main import cli


def test_the_package_and_the_command_give_the_installed_version() -> None:
    assert careledger.__version__ == version("careledger")
    result = CliRunner().invoke(cli, ["--version"])
    assert result.exit_code == 0
    assert result.output == f"careledger, version {careledger.__version__}\n"


def test_its_parts_are_imported_only_under_careledger() -> None:
    """The folders ledger/, projections/ and cli/ are careledger's: importing them under their
    own names too would load every module twice, with two of each event class."""
    import careledger.ledger.application
    import careledger.projections.views  # noqa: F401

    assert not {"ledger", "projections", "cli"} & set(sys.modules)
