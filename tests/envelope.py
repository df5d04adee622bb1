"""Reading a read command's JSON: the one envelope every read command gives (README: JSON
output), checked, and its answer."""

from __future__ import annotations

import json
from typing import Any

ENVELOPE_KEYS = ["format", "command", "query", "data"]


def data_of(output: str) -> Any:
    """The answer in a read command's JSON, after checking the envelope around it."""
    found = json.loads(output)
    assert isinstance(found, dict) and list(found) == ENVELOPE_KEYS, found
    assert found["format"] == "careledger/1"
    assert isinstance(found["command"], str) and isinstance(found["query"], dict)
    return found["data"]
