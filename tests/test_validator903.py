"""The 903 oracle (tests/validator903.py) can fail: it finds what the DfE's rules find, for the
child who has it and no other, and a rule that cannot run is an error, not an empty finding.

The returns are written by hand, two children each, with blank postcodes (so the validator
loads no postcode table and each run takes a fraction of a second). The ids are lower case:
the validator upper-cases them, the oracle must give them back as written.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.validator903 import (
    EPISODE_AND_REVIEW_RULES,
    YEAR_ON_YEAR_RULES,
    RuleDidNotRun,
    findings,
)

HEADER = "CHILD,SEX,DOB,ETHNIC,UPN,MOTHER,MC_DOB"
EPISODES = (
    "CHILD,DECOM,RNE,LS,CIN,PLACE,PLACE_PROVIDER,DEC,REC,REASON_PLACE_CHANGE,HOME_POST,PL_POST,URN"
)
REVIEWS = "CHILD,DOB,REVIEW,REVIEW_CODE"


def _return(directory: Path, header: list[str], episodes: list[str], reviews: list[str]) -> Path:
    """A return in the DfE's CSV layout, under names the validator does not rely on."""
    directory.mkdir()
    for name, columns, rows in (
        ("the_children.csv", HEADER, header),
        ("their_episodes.csv", EPISODES, episodes),
        ("their_reviews.csv", REVIEWS, reviews),
    ):
        (directory / name).write_text("\n".join([columns, *rows]) + "\n")
    return directory


# 2017/18. a1's second episode starts before its first ends; b2's starts the day it ends.
HEADER_ROWS = ["a1,1,14/03/2007,WBRI,,,", "b2,2,02/02/2015,WBRI,,,"]
EPISODE_ROWS = [
    "a1,01/05/2017,S,C2,N1,U1,PR1,01/08/2017,X1,PLACE,,,",
    "a1,01/07/2017,P,C2,N1,U3,PR1,,,,,,",
    "b2,01/05/2017,S,C2,N1,U1,PR1,01/08/2017,X1,PLACE,,,",
    "b2,01/08/2017,P,C2,N1,U3,PR1,,,,,,",
]
# PN0 says the child was under 4: a1 was 10, b2 was 2 (and says PN0 rightly).
REVIEW_ROWS = ["a1,14/03/2007,01/11/2017,PN0", "b2,02/02/2015,01/11/2017,PN0"]


def test_overlapping_episodes_are_found_for_that_child_only(tmp_path: Path) -> None:
    this_year = _return(tmp_path / "2017", HEADER_ROWS, EPISODE_ROWS, REVIEW_ROWS)

    assert findings(this_year, collection_year=2018, rules=["501"]) == {("501", "a1")}
    # Made contiguous, a1 is clean too: the oracle is not flagging whatever it is given.
    contiguous = [row.replace("01/07/2017", "01/08/2017") for row in EPISODE_ROWS]
    clean = _return(tmp_path / "clean", HEADER_ROWS, contiguous, REVIEW_ROWS)
    assert findings(clean, collection_year=2018, rules=["501"]) == set()


def test_a_review_coded_under_4_for_a_10_year_old_is_found(tmp_path: Path) -> None:
    this_year = _return(tmp_path / "2017", HEADER_ROWS, EPISODE_ROWS, REVIEW_ROWS)

    found = findings(this_year, collection_year=2018, rules=EPISODE_AND_REVIEW_RULES)

    assert ("440", "a1") in found
    assert not {pair for pair in found if pair[0] == "440" and pair[1] != "a1"}


def test_a_rule_that_cannot_run_is_an_error_not_an_empty_finding(tmp_path: Path) -> None:
    this_year = _return(tmp_path / "2017", HEADER_ROWS, EPISODE_ROWS, REVIEW_ROWS)
    # Skipped: the year-on-year rules have no previous year to compare with.
    with pytest.raises(RuleDidNotRun, match=r"skipped.*502") as skipped:
        findings(this_year, collection_year=2018, rules=YEAR_ON_YEAR_RULES)
    assert set(skipped.value.skipped) == set(YEAR_ON_YEAR_RULES)
    # Failed: a child whose only start date is not a date makes 502 raise inside the validator.
    undated = [*EPISODE_ROWS, "c3,31/02/2017,S,C2,N1,U1,PR1,,,,,,"]
    broken = _return(tmp_path / "broken", HEADER_ROWS, undated, REVIEW_ROWS)
    with pytest.raises(RuleDidNotRun, match="failed to run: 502") as failed:
        findings(broken, collection_year=2018, rules=["502"], previous_year=this_year)
    assert failed.value.failed == ("502",)
