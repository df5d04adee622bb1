"""Reading events from JSON Lines: one JSON object per line, each a command (`commands`).

JSON is read strictly: NaN and Infinity (which Python's json accepts and JSON does not) are
refused, a key given twice in one object is refused rather than the last one silently
winning, and nesting is limited. A line is read with a cap on its length, so a file with no
line breaks (or /dev/zero) is refused at its first line instead of filling memory.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, BinaryIO

from careledger.ledger.domain.commands import Command, parse_command
from careledger.ledger.domain.limits import limits
from careledger.ledger.errors import LedgerError, RecordingRefused


class LineRefused(LedgerError):
    """A line of the file cannot be recorded: which line, which field (if one), and why."""

    def __init__(self, line: int, field: str | None, problem: str) -> None:
        where = f"line {line}, field '{field}'" if field else f"line {line}"
        super().__init__(f"{where}: {problem}")
        self.line = line
        self.field = field
        self.problem = problem


class NotJSON(ValueError):
    """Text that is not JSON as the ledger reads it."""


class TooDeep(NotJSON):
    """JSON nested deeper than CARELEDGER_MAX_JSON_DEPTH."""


def _no_constant(name: str) -> Any:
    raise NotJSON(f"{name} is not a number JSON allows")


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    data: dict[str, Any] = {}
    for key, value in pairs:
        if key in data:
            raise RecordingRefused(key, "is given twice")
        data[key] = value
    return data


def depth(value: Any) -> int:
    """How deeply lists and objects nest in `value` (a scalar is 0), without recursion."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, level = stack.pop()
        children = item.values() if isinstance(item, dict) else item
        if isinstance(item, dict | list):
            deepest = max(deepest, level)
            stack.extend((child, level + 1) for child in children)
    return deepest


def parse_json(text: str | bytes) -> Any:
    """JSON, strictly (see the module); NotJSON or RecordingRefused if it is not."""
    most = limits().json_depth
    too_deep = f"nested more than {most} deep (CARELEDGER_MAX_JSON_DEPTH)"
    try:
        data = json.loads(text, parse_constant=_no_constant, object_pairs_hook=_unique_keys)
    except json.JSONDecodeError as error:
        raise NotJSON(error.msg) from None
    except RecursionError:
        raise TooDeep(too_deep) from None
    if depth(data) > most:
        raise TooDeep(too_deep)
    return data


def read_line(number: int, text: bytes) -> Command:
    """The command on line `number`, or LineRefused."""
    try:
        return parse_command(parse_json(text.decode("utf-8")))
    except UnicodeDecodeError as error:
        raise LineRefused(number, None, f"not UTF-8 text (byte {error.start + 1})") from None
    except NotJSON as error:
        raise LineRefused(number, None, f"not valid JSON ({error})") from None
    except RecordingRefused as refusal:
        raise LineRefused(number, refusal.field, refusal.problem) from None


def read_commands(
    stream: BinaryIO, advance: Callable[[int], object] | None = None
) -> list[tuple[int, Command]]:
    """Every command of a JSON Lines stream with its line number; `advance` is told the
    size of each line read. Blank lines are skipped; a line longer than
    CARELEDGER_MAX_LINE_LENGTH bytes, or more than CARELEDGER_MAX_EVENTS_PER_FILE events,
    is refused."""
    settings = limits()
    commands: list[tuple[int, Command]] = []
    number = 0
    while text := stream.readline(settings.line_length + 1):
        number += 1
        if advance is not None:
            advance(len(text))
        if len(text.removesuffix(b"\n")) > settings.line_length:
            raise LineRefused(
                number, None, f"longer than {settings.line_length:,} bytes "
                "(CARELEDGER_MAX_LINE_LENGTH)",
            )  # fmt: skip
        if not text.strip():
            continue
        if len(commands) == settings.events_per_file:
            raise LineRefused(
                number, None, f"the file holds more than {settings.events_per_file:,} events "
                "(CARELEDGER_MAX_EVENTS_PER_FILE); record it in parts",
            )  # fmt: skip
        commands.append((number, read_line(number, text)))
    return commands
