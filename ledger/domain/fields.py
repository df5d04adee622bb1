"""The kinds of value an event's fields hold, and what new input of each kind may contain.

Free text (`Text`) may hold line breaks and tabs; a one-line reference (`Ref`: a name, a
source, a code) may not; neither may hold any other control character (C0, DEL, C1), a lone
surrogate or a Unicode noncharacter. A NUL in particular cannot be kept in a PostgreSQL text
column, and a terminal escape would act on the screen of whoever reads the history.

An id (`Id`: review_id, proposal_id, actor, ...) is compared character by character, so a
look-alike must not pass for it: it is NFKC-normalised (fullwidth U+FF32 U+FF11 is 'R1'), and must
then be printable ASCII without spaces, which refuses Cyrillic look-alikes and invisible
characters such as U+200B. ASCII input is never changed.

The rules apply to new input only. Stored events are read with `STORED` as the validation
context, and are then taken as they were written: history recorded under older rules stays
readable.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator, Field, ValidationInfo

from careledger.ledger.domain.limits import limits

STORED = {"stored": True}

_NONCHARACTERS = "\ufdd0-\ufdef" + "".join(
    f"{chr(plane * 0x10000 + 0xFFFE)}{chr(plane * 0x10000 + 0xFFFF)}" for plane in range(17)
)
# Bidirectional embeddings, overrides and isolates make text read otherwise than it is stored
# (a name or a reason shown reversed): refused everywhere, as control characters are.
_BIDI = "\u202a-\u202e\u2066-\u2069"
_NOT_IN_TEXT = re.compile(
    f"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f{_BIDI}\ud800-\udfff{_NONCHARACTERS}]"
)
_NOT_IN_A_LINE = re.compile(f"[\x00-\x1f\x7f-\x9f\u2028\u2029{_BIDI}\ud800-\udfff{_NONCHARACTERS}]")


def stored(info: ValidationInfo) -> bool:
    """Whether the value is being read back from the store, not taken in."""
    return info.context is not None and info.context.get("stored", False)


def describe(character: str) -> str:
    """A character as a message can show it, whatever it is."""
    code = f"U+{ord(character):04X}"
    category = unicodedata.category(character)
    if category == "Cc" or character in "\u2028\u2029":
        return f"a control character ({code})"
    if category == "Cf":
        return f"an invisible formatting character ({code})"
    if category == "Cs":
        return f"a lone surrogate ({code})"
    if category.startswith("Z"):
        return f"a space ({code})" if character != " " else "a space"
    if category == "Cn":
        return f"a code point Unicode does not assign to a character ({code})"
    return f"'{character}' ({code}, {unicodedata.name(character, 'unnamed')})"


def _refuse_at(value: str, position: int, what: str) -> ValueError:
    return ValueError(f"holds {describe(value[position])} at character {position + 1}; {what}")


def _refuse_blank(value: str) -> None:
    if value and not value.strip():
        raise ValueError("is blank: only spaces")


def _check_length(value: str, most: int, setting: str) -> None:
    if len(value) > most:
        raise ValueError(
            f"is {len(value):,} characters long; at most {most:,} are accepted "
            f"(CARELEDGER_MAX_{setting})"
        )


def check_text(value: str, info: ValidationInfo) -> str:
    """Free text: any printable character, tab and line breaks."""
    if stored(info):
        return value
    what = "text may hold line breaks and tabs only"
    return _checked(value, limits().text_length, "TEXT_LENGTH", _NOT_IN_TEXT, what)


def check_line(value: str, info: ValidationInfo) -> str:
    """A one-line reference: no control character at all. (A printable value that is not all
    spaces and not too long is taken at once, before asking whether it is read back from the
    store: every code and source of every event is one.)"""
    if value.isprintable() and not value.isspace() and len(value) <= limits().id_length:
        return value
    if stored(info):
        return value
    what = "a reference is one line of text"
    return _checked(value, limits().id_length, "ID_LENGTH", _NOT_IN_A_LINE, what)


def _checked(value: str, most: int, setting: str, refused: re.Pattern[str], what: str) -> str:
    """`value`, unless it is blank, longer than `most`, or holds a character `refused`
    matches (looked for only when Python finds something unprintable)."""
    _refuse_blank(value)
    _check_length(value, most, setting)
    if not value.isprintable():
        bad = refused.search(value)
        if bad:
            raise _refuse_at(value, bad.start(), what)
    return value


def normal_id(value: str) -> str:
    """An id as it is compared: NFKC-normalised, then printable ASCII without spaces."""
    if not value.isascii():
        value = unicodedata.normalize("NFKC", value)
    _check_length(value, limits().id_length, "ID_LENGTH")
    if not (value.isascii() and value.isprintable()) or " " in value:
        position = next(
            i for i, ch in enumerate(value) if not (ch.isascii() and ch.isprintable()) or ch == " "
        )
        raise _refuse_at(value, position, "an id is ASCII letters, digits and punctuation")
    return value


def check_id(value: str, info: ValidationInfo) -> str:
    """An id, taken at once when it is already what `normal_id` makes of it (printable ASCII
    without spaces, not too long), as almost every id is."""
    if (
        value.isascii()
        and value.isprintable()
        and " " not in value
        and len(value) <= limits().id_length
    ):
        return value
    return value if stored(info) else normal_id(value)


def check_list_length(value: Any, info: ValidationInfo) -> Any:
    """Counted before the items are read, so a list of millions is refused at once."""
    if stored(info) or not isinstance(value, list | tuple | dict):
        return value
    most = limits().list_length
    if len(value) > most:
        raise ValueError(
            f"has {len(value):,} items; at most {most:,} are accepted (CARELEDGER_MAX_LIST_LENGTH)"
        )
    return value


def check_bool(value: Any, info: ValidationInfo) -> Any:
    """true or false, not "yes" or 1: a flag such as `significant` decides what is flagged."""
    if not stored(info) and not isinstance(value, bool):
        raise ValueError("must be true or false (JSON true/false)")
    return value


Text = Annotated[str, Field(min_length=1), AfterValidator(check_text)]
Ref = Annotated[str, Field(min_length=1), AfterValidator(check_line)]
Id = Annotated[str, Field(min_length=1), AfterValidator(check_id)]
Flag = Annotated[bool, BeforeValidator(check_bool)]


_NEW_CASE_KEY = re.compile(r"[A-Za-z0-9._/-]+")


def address(value: str) -> str:
    """A council code or child reference naming a case, as its id is computed from it:
    trimmed and NFKC-normalised. The case id hashes the council and the child with a control
    character between them, and the CLI writes a child as COUNCIL:REF: neither may hold ':'
    or a control character, or two cases could be made to collide or one could never be
    named."""
    value = value.strip()
    if not value.isascii():
        value = unicodedata.normalize("NFKC", value).strip()
    if ":" in value or _NOT_IN_A_LINE.search(value):
        raise ValueError("must not contain ':' or control characters")
    _check_length(value, limits().id_length, "ID_LENGTH")
    return value


def new_case_key(value: str) -> str:
    """A council code or child reference that opens a new case: ASCII letters, digits and
    - / _ . only, as a council's case system (LCS, Mosaic) and the DfE's returns write them.
    Anything else could look like another child's reference, or be impossible to type."""
    value = address(value)
    if _NEW_CASE_KEY.fullmatch(value):
        return value
    bad = next((i for i, ch in enumerate(value) if not _NEW_CASE_KEY.fullmatch(ch)), None)
    if bad is not None:
        raise _refuse_at(
            value, bad, "a new case's council and child are ASCII letters, digits and - / _ . only"
        )
    return value


def check_new_case_key(value: str, info: ValidationInfo) -> str:
    return value if stored(info) else new_case_key(value)


CaseKey = Annotated[str, Field(min_length=1), AfterValidator(check_new_case_key)]
