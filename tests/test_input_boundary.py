"""The input boundary: nothing a caller sends can break the ledger, and every refusal names
the line and field, exits 1 with one line of error, and records nothing.

Driven through `careledger record` as a council's loader would run it, on a real SQLite
file and on PostgreSQL; the limits come from CARELEDGER_MAX_* settings (`ledger.domain.limits`).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result
from pydantic import ValidationError

from careledger.ledger.application import BatchRefused, CareLedger
from careledger.ledger.domain import events as e
from careledger.ledger.domain import payloads as p
from careledger.ledger.domain.commands import Command
from careledger.ledger.domain.vocabulary import Role
from careledger.ledger.store.location import store_for
from tests.envelope import data_of
from tests.test_cli_end_to_end import (
    COUNCIL,
    IRO,
    SW,
    ev,
    history,
    init,
    invoke,
    looked_after,
    ok,
    proposed,
    record,
    write_lines,
)

CHILD = "MR-2231"  # 9, accommodated under s.20, then an interim care order
ENTERED = looked_after(CHILD, "2024-03-11", "V2", "U4")


def iro_allocated(**fields: Any) -> dict[str, Any]:
    return ev(CHILD, "IROAllocated", "2024-03-14",
              **{"iro_id": "IRO-31", "iro_name": IRO["name"], **fields})  # fmt: skip


def refused(result: Result, message: str) -> None:
    """Refused as a user sees it: exit 1, the message on one line, no traceback."""
    assert result.exit_code == 1, result.output
    assert isinstance(result.exception, SystemExit), result.exception
    assert result.stderr.startswith("error: "), result.stderr
    assert message in result.stderr, result.stderr
    assert result.stderr.count("\n") == 1, result.stderr


def events_of(db: str, child: str = CHILD) -> list[str]:
    return [row["type"] for row in history(db, child)]


def nothing_recorded(db: str) -> None:
    rows = data_of(ok(invoke("projections", "status", "--db", db, "--format", "json")).stdout)
    assert rows[0]["newest_event"] == 0, rows


# --- control characters -------------------------------------------------------------------


def test_a_nul_in_a_source_is_refused_and_nothing_recorded(db: str, tmp_path: Path) -> None:
    init(db)
    bad = iro_allocated(source="LCS/NOTE/\u00004412")

    refused(record(db, tmp_path, [ENTERED, bad]),
            "line 2, field 'source': holds a control character (U+0000) at character 10; "
            "a reference is one line of text; nothing recorded")  # fmt: skip
    nothing_recorded(db)

    ok(record(db, tmp_path, [ENTERED]))
    by_option = invoke("record", "--db", db, "--type", "IROAllocated", "--council", COUNCIL,
                       "--child", CHILD, "--set", "occurred_on=2024-03-14",
                       "--set", "source=a\u0000b", "--set", "iro_id=IRO-31",
                       "--set", f"iro_name={IRO['name']}")  # fmt: skip
    refused(by_option, "field 'source': holds a control character (U+0000) at character 2")
    assert events_of(db) == ["CaseOpened", "ChildBecameLookedAfter"]
    ok(record(db, tmp_path, [iro_allocated()]))  # the ledger goes on working
    assert events_of(db)[-1] == "IROAllocated"


def test_free_text_keeps_line_breaks_and_tabs_but_not_a_terminal_escape(
    sqlite_db: str, tmp_path: Path
) -> None:
    db = init(sqlite_db)
    reason = "Previous IRO left the service.\n\tCase transferred on 13 March."
    ok(record(db, tmp_path, [ENTERED, iro_allocated(reason=reason)]))

    escape = iro_allocated(reason="Moved\u001b[2J", source="LCS/NOTE/9")
    refused(record(db, tmp_path, [escape]),
            "line 1, field 'reason': holds a control character (U+001B) at character 6")
    c1 = iro_allocated(reason="Moved\u009b2J", source="LCS/NOTE/10")
    refused(record(db, tmp_path, [c1]), "field 'reason': holds a control character (U+009B)")
    newline_in_a_name = iro_allocated(iro_name="Priya\nShah", source="LCS/NOTE/11")
    refused(record(db, tmp_path, [newline_in_a_name]),
            "field 'iro_name': holds a control character (U+000A) at character 6")
    assert events_of(db) == ["CaseOpened", "ChildBecameLookedAfter", "IROAllocated"]


def test_a_bidirectional_override_or_a_blank_reference_is_refused(
    sqlite_db: str, tmp_path: Path
) -> None:
    """A reason shown reversed ("\u202e...": Trojan-source style), and a source of spaces that
    names no record of the council's system."""
    db = init(sqlite_db)
    ok(record(db, tmp_path, [ENTERED]))
    reversed_reason = iro_allocated(reason="\u202eesac eht fo tuo", source="LCS/NOTE/12")
    refused(record(db, tmp_path, [reversed_reason]),
            "line 1, field 'reason': holds an invisible formatting character (U+202E) at "
            "character 1")  # fmt: skip
    refused(record(db, tmp_path, [iro_allocated(source="   ")]),
            "line 1, field 'source': is blank: only spaces; nothing recorded")  # fmt: skip
    assert events_of(db) == ["CaseOpened", "ChildBecameLookedAfter"]


def test_a_payload_built_in_python_with_a_nul_is_refused_too() -> None:
    with pytest.raises(ValidationError, match="control character"):
        p.IROAllocated(occurred_on="2024-03-14", source="a\x00b", iro_id="IRO-31",
                       iro_name="Priya Shah")  # fmt: skip


# --- JSON that Python's json reads and JSON does not ----------------------------------------


BAD_JSON = {
    "NaN": ('{"type": "ChildBecameLookedAfter", "x": NaN}', "line 1: not valid JSON (NaN is "
            "not a number JSON allows); nothing recorded"),
    "Infinity": ('{"type": "ChildBecameLookedAfter", "x": -Infinity}', "line 1: not valid "
                 "JSON (-Infinity is not a number JSON allows)"),
    "nested 3,000 deep": ("[" * 3000 + "]" * 3000, "line 1: not valid JSON (nested more than "
                          "32 deep (CARELEDGER_MAX_JSON_DEPTH)); nothing recorded"),
    "nested 40 deep": (json.dumps({**ENTERED, "placement": json.loads("[" * 40 + "]" * 40)}),
                       "line 1: not valid JSON (nested more than 32 deep"),
    "a key twice": (json.dumps(ENTERED)[:-1] + ', "source": "LCS/NOTE/2"}',
                    "line 1, field 'source': is given twice; nothing recorded"),
    "not UTF-8": (b'{"source": "\xff"}', "line 1: not UTF-8 text (byte 13); nothing recorded"),
}  # fmt: skip


@pytest.mark.parametrize("case", list(BAD_JSON))
def test_json_python_would_read_but_json_does_not_allow_is_refused(
    sqlite_db: str, tmp_path: Path, case: str
) -> None:
    db = init(sqlite_db)
    line, message = BAD_JSON[case]
    path = tmp_path / "events.jsonl"
    if isinstance(line, bytes):
        path.write_bytes(line + b"\n")
    else:
        path.write_text(line + "\n", encoding="utf-8")

    refused(invoke("record", "--db", db, "--file", path), message)
    nothing_recorded(db)


def test_a_flag_must_be_true_or_false_in_a_file_and_true_works_from_the_options(
    sqlite_db: str, tmp_path: Path
) -> None:
    db = init(sqlite_db)
    ok(record(db, tmp_path, [ENTERED]))
    loose = proposed(CHILD, "2024-04-02", "P-1", "family_social", "Weekly contact with mother",
                     significant="yes")  # fmt: skip
    refused(record(db, tmp_path, [loose]),
            "line 1, field 'significant': must be true or false (JSON true/false)")

    options = ["record", "--db", db, "--type", "ChangeProposed", "--council", COUNCIL,
               "--child", CHILD, "--set", "occurred_on=2024-04-02", "--set", "source=LCS/1",
               "--set", "proposal_id=P-1", "--set", "section=family_social",
               "--set", "content=Weekly contact with mother",
               "--set", f"proposed_by={json.dumps(SW)}"]  # fmt: skip
    refused(invoke(*options, "--set", "significant=1"), "field 'significant': must be true")
    ok(invoke(*options, "--set", "significant=true"))
    assert events_of(db)[-1] == "ChangeProposed"


def test_a_field_set_twice_is_refused_naming_it(sqlite_db: str, tmp_path: Path) -> None:
    db = init(sqlite_db)
    twice = invoke("record", "--db", db, "--type", "ChildBecameLookedAfter", "--council",
                   COUNCIL, "--child", CHILD, "--set", "occurred_on=2024-03-11",
                   "--set", "source=LCS/1", "--set", "legal_status=V2",
                   "--set", "source=LCS/2")  # fmt: skip
    refused(twice, "field 'source': is given twice; nothing recorded")
    nothing_recorded(db)


# --- who records ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("actor", "problem"),
    [
        ("", "String should have at least 1 character"),
        ("  ", "holds a space at character 1"),
        ("sw.hbrooks\nadmin", "holds a control character (U+000A) at character 11"),
        ("sw.hbrooks\u001b[2J", "holds a control character (U+001B) at character 11"),
        ("s" * 1000, "is 1,000 characters long; at most 200 are accepted"),
    ],
)
def test_an_actor_blank_on_two_lines_with_an_escape_or_too_long_is_refused(
    sqlite_db: str, tmp_path: Path, actor: str, problem: str
) -> None:
    db = init(sqlite_db)
    path = write_lines(tmp_path / "events.jsonl", [ENTERED])
    refused(invoke("record", "--db", db, "--file", path, "--actor", actor),
            f"--actor (CARELEDGER_ACTOR): {problem}")  # fmt: skip
    if actor:  # an empty variable is no variable to click: a usage error, exit 2
        from_env = invoke("record", "--db", db, "--file", path, env={"CARELEDGER_ACTOR": actor})
        refused(from_env, f"--actor (CARELEDGER_ACTOR): {problem}")
    nothing_recorded(db)


# --- dates that cannot be in the future ---------------------------------------------------


def test_a_date_of_birth_in_the_future_is_refused_as_the_import_refuses_it(
    db: str, tmp_path: Path
) -> None:
    init(db)
    ok(record(db, tmp_path, [ENTERED]))
    details = {"sex": "1", "dob": "2030-02-14", "ethnic": "WBRI"}
    line = ev(CHILD, "ChildDetailsRecorded", "2024-03-12", details=details)
    refused(record(db, tmp_path, [line]),
            "line 1, field 'details.dob': 2030-02-14 is in the future (today is ")
    episode = {"episode_id": "2024-04-02", "decom": "2024-04-02", "rne": "L",
               "legal_status": "C2", "dec": "2031-01-01", "rec": "X1"}  # fmt: skip
    status = ev(CHILD, "LegalStatusChanged", "2024-04-02", legal_status="C2", episode=episode)
    refused(record(db, tmp_path, [status]),
            "line 1, field 'episode.dec': 2031-01-01 is in the future (today is ")
    assert events_of(db) == ["CaseOpened", "ChildBecameLookedAfter"]


# --- a ledger that already holds a NUL ------------------------------------------------------


def store_below_the_boundary(db: str, child: str, council: str = COUNCIL, **fields: Any) -> None:
    """An IROAllocated event saved as a ledger recorded before the boundary refused NUL
    would hold it: built without validation, stored through the library's own mapper and
    recorder (so the integrity chain covers it like any other event)."""
    ledger = CareLedger(store_for(db))
    try:
        case = ledger.case(council, child)
        event = e.IROAllocated.model_construct(
            originator_id=case.id, originator_version=case.version + 1,
            timestamp=datetime.now(UTC), recorded_by=p.Actor(actor_id="lcs-feed", role=Role.ADMIN),
            **{"occurred_on": datetime(2024, 3, 14).date(), "reason": None, **fields},
        )  # fmt: skip
        ledger.recorder.insert_events([ledger.mapper.to_stored_event(event)])
    finally:
        ledger.close()


def test_a_ledger_already_holding_a_nul_is_recovered_by_rebuilding_its_projections(
    db: str, tmp_path: Path
) -> None:
    init(db)
    other = "MR-2232"
    ok(record(db, tmp_path, [ENTERED, looked_after(other, "2024-03-11", "V2", "U4")]))
    store_below_the_boundary(db, CHILD, source="LCS/NOTE/\x004412", iro_id="IRO-31",
                             iro_name="Priya\x00Shah")  # fmt: skip

    ok(invoke("projections", "rebuild", "--db", db))

    shown = history(db, CHILD)
    assert [row["type"] for row in shown] == ["CaseOpened", "ChildBecameLookedAfter",
                                              "IROAllocated"]  # fmt: skip
    # PostgreSQL's text columns hold U+FFFD where the event holds NUL; the event is unchanged.
    nul = "\ufffd" if db.startswith("postgresql") else "\x00"
    assert shown[-1]["source"] == f"LCS/NOTE/{nul}4412"
    ok(record(db, tmp_path, [ev(other, "IROAllocated", "2024-03-15", iro_id="IRO-32",
                                iro_name="Dev Malhotra")]))  # fmt: skip
    assert events_of(db, other)[-1] == "IROAllocated"
    ok(invoke("unapproved", "--db", db))
    ok(invoke("drift", "--db", db))
    ok(invoke("verify", "--db", db))


# --- limits (CARELEDGER_MAX_*) --------------------------------------------------------------


def test_a_file_with_no_line_breaks_is_refused_at_its_first_line_without_reading_it_whole(
    sqlite_db: str, tmp_path: Path
) -> None:
    db = init(sqlite_db)
    refused(invoke("record", "--db", db, "--file", "/dev/zero"),
            "line 1: longer than 10,000,000 bytes (CARELEDGER_MAX_LINE_LENGTH); nothing recorded")
    path = write_lines(tmp_path / "events.jsonl", [ENTERED, iro_allocated(reason="x" * 900)])
    refused(invoke("record", "--db", db, "--file", path,
                   env={"CARELEDGER_MAX_LINE_LENGTH": "1000"}),
            "line 2: longer than 1,000 bytes")  # fmt: skip
    nothing_recorded(db)


def test_more_events_than_a_file_may_hold_are_refused(sqlite_db: str, tmp_path: Path) -> None:
    db = init(sqlite_db)
    lines = [ENTERED, iro_allocated(), ev(CHILD, "SocialWorkerAllocated", "2024-03-15",
                                          worker_id="SW-1120")]  # fmt: skip
    path = write_lines(tmp_path / "events.jsonl", lines)
    refused(invoke("record", "--db", db, "--file", path,
                   env={"CARELEDGER_MAX_EVENTS_PER_FILE": "2"}),
            "line 3: the file holds more than 2 events (CARELEDGER_MAX_EVENTS_PER_FILE)")
    nothing_recorded(db)


def review_with(**fields: Any) -> dict[str, Any]:
    return ev(CHILD, "ReviewHeld", "2024-04-10", review_id="REV-1", chair=IRO,
              participation="PN1", **fields)  # fmt: skip


def test_a_review_with_half_a_million_attendees_or_20000_recommendations_is_refused(
    db: str, tmp_path: Path
) -> None:
    init(db)
    ok(record(db, tmp_path, [ENTERED]))
    crowd = review_with(attendees=[f"Person {n}" for n in range(500_000)])
    refused(record(db, tmp_path, [crowd]),
            "line 1, field 'attendees': has 500,000 items; at most 1,000 are accepted "
            "(CARELEDGER_MAX_LIST_LENGTH); nothing recorded")  # fmt: skip
    owner = {"name": "Nadia Hussain", "role": "SW"}
    many = [{"kind": "recommend", "recommendation_id": f"REC-{n}", "text": "Visit",
             "owner": owner, "due_on": "2024-05-10"} for n in range(20_000)]  # fmt: skip
    refused(record(db, tmp_path, [review_with(decisions=many)]),
            "line 1, field 'decisions': has 20,000 items; at most 1,000")
    assert events_of(db) == ["CaseOpened", "ChildBecameLookedAfter"]


def test_a_text_or_an_id_over_its_limit_is_refused_naming_the_field(
    sqlite_db: str, tmp_path: Path
) -> None:
    db = init(sqlite_db)
    ok(record(db, tmp_path, [ENTERED]))
    refused(record(db, tmp_path, [iro_allocated(reason="x" * 20_001)]),
            "line 1, field 'reason': is 20,001 characters long; at most 20,000 are accepted "
            "(CARELEDGER_MAX_TEXT_LENGTH)")  # fmt: skip
    refused(record(db, tmp_path, [looked_after("C" * 100_000, "2024-03-11", "V2", "U4")]),
            "line 1, field 'child': is 100,000 characters long; at most 200 are accepted "
            "(CARELEDGER_MAX_ID_LENGTH); nothing recorded")  # fmt: skip
    refused(record(db, tmp_path, [iro_allocated(iro_id="IRO-" + "3" * 300)]),
            "line 1, field 'iro_id': is 304 characters long")
    assert events_of(db) == ["CaseOpened", "ChildBecameLookedAfter"]


def test_a_limit_set_to_what_is_not_a_number_is_a_clear_error(
    sqlite_db: str, tmp_path: Path
) -> None:
    db = init(sqlite_db)
    path = write_lines(tmp_path / "events.jsonl", [ENTERED])
    refused(invoke("record", "--db", db, "--file", path,
                   env={"CARELEDGER_MAX_TEXT_LENGTH": "lots"}),
            "error: CARELEDGER_MAX_TEXT_LENGTH: Input should be a valid integer")  # fmt: skip
    nothing_recorded(db)


# --- look-alike ids -------------------------------------------------------------------------


def test_a_fullwidth_child_reference_names_the_same_case_as_its_ascii_form(
    db: str, tmp_path: Path
) -> None:
    init(db)
    ok(record(db, tmp_path, [ENTERED]))
    fullwidth = "\uff2d\uff32-\uff12\uff12\uff13\uff11"  # MR-2231 typed in a fullwidth layout
    ok(record(db, tmp_path, [{**iro_allocated(), "child": fullwidth}]))
    assert events_of(db) == ["CaseOpened", "ChildBecameLookedAfter", "IROAllocated"]


@pytest.mark.parametrize(
    ("child", "problem"),
    [
        ("\u041cR-2231", "holds '\u041c' (U+041C, CYRILLIC CAPITAL LETTER EM) at character 1"),
        ("MR-22\u200b31", "holds an invisible formatting character (U+200B) at character 6"),
        ("MR 2231", "holds a space at character 3"),
        ("MR#2231", "holds '#' (U+0023, NUMBER SIGN) at character 3"),
    ],
)
def test_a_new_case_for_a_child_reference_that_could_pass_for_another_is_refused(
    sqlite_db: str, tmp_path: Path, child: str, problem: str
) -> None:
    db = init(sqlite_db)
    refused(record(db, tmp_path, [looked_after(child, "2024-03-11", "V2", "U4")]),
            f"line 1, field 'child': {problem}; a new case's council and child are ASCII "
            "letters, digits and - / _ . only; nothing recorded")  # fmt: skip
    nothing_recorded(db)


def test_an_id_is_read_in_its_ascii_form_and_an_invisible_character_in_one_is_refused(
    sqlite_db: str, tmp_path: Path
) -> None:
    db = init(sqlite_db)
    ok(record(db, tmp_path, [ENTERED]))
    fullwidth = proposed(CHILD, "2024-04-02", "\uff30-1", "family_social", "Weekly contact",
                         source="LCS/NOTE/71")  # fmt: skip
    ok(record(db, tmp_path, [fullwidth]))
    again = proposed(CHILD, "2024-04-03", "P-1", "family_social", "Fortnightly contact",
                     source="LCS/NOTE/72")  # fmt: skip
    refused(record(db, tmp_path, [again]), "field 'proposal_id': 'P-1' is already used")
    hidden = proposed(CHILD, "2024-04-03", "P-\u200b2", "family_social", "Fortnightly",
                      source="LCS/NOTE/73")  # fmt: skip
    refused(record(db, tmp_path, [hidden]),
            "field 'proposal_id': holds an invisible formatting character (U+200B) at "
            "character 3; an id is ASCII letters, digits and punctuation")  # fmt: skip


def test_the_python_api_cannot_open_a_case_no_command_could_name(sqlite_db: str) -> None:
    init(sqlite_db)
    ledger = CareLedger(store_for(sqlite_db))
    entry = p.ChildBecameLookedAfter(occurred_on="2024-03-11", source="LCS/1", legal_status="V2")
    actor = p.Actor(actor_id="lcs-feed", role=Role.ADMIN)
    try:
        with pytest.raises(BatchRefused) as refusal:
            ledger.record([Command("E09:1", "X", entry)], actor)
        assert (refusal.value.field, refusal.value.problem) == (
            "council", "must not contain ':' or control characters"
        )
    finally:
        ledger.close()
    nothing_recorded(sqlite_db)


def test_a_set_value_nested_3000_deep_is_refused_naming_the_field(sqlite_db: str) -> None:
    db = init(sqlite_db)
    deep = invoke("record", "--db", db, "--type", "ChildBecameLookedAfter", "--council",
                  COUNCIL, "--child", CHILD, "--set", "occurred_on=2024-03-11",
                  "--set", "source=" + "[" * 3000 + "]" * 3000)  # fmt: skip
    refused(deep, "field 'source': nested more than 32 deep (CARELEDGER_MAX_JSON_DEPTH)")
    nothing_recorded(db)
