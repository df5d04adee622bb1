"""Reading a child's record through `careledger serve`, as each person would: the IRO
manager reads every view and format the commands give, the IRO their allocated child, the
inspector a named child only with a reason, the court clerk a shared chronology, the
data-protection officer the log of who read what. A refused read and a missing child get the
same answer. On SQLite and PostgreSQL, against a real uvicorn server."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from datetime import date, timedelta

import httpx
import pytest
from click.testing import CliRunner

from careledger.api import opened, today
from careledger.cli.main import cli
from tests.envelope import data_of
from tests.service_server import (
    Person,
    Service,
    add_person,
    as_person,
    prepare,
    serving,
    sign_in_each,
)

COUNCIL = "E10000099"
CHILD = f"{COUNCIL}:RD-01"  # the IRO Dana Whitlock's child
NOT_HERS = f"{COUNCIL}:RD-02"
MISSING = f"{COUNCIL}:RD-99"
COURT = "Leeds Family Court"


def history_of(child: str, iro: str | None) -> list[dict[str, object]]:
    ref = child.partition(":")[2]
    base = {"council": COUNCIL, "child": ref}
    events: list[dict[str, object]] = [
        base | {"type": "ChildBecameLookedAfter", "occurred_on": "2024-01-08",
                "source": "LCS/EPI/1", "legal_status": "C1", "placement": "U4"},
        base | {"type": "CarePlanAgreed", "occurred_on": "2024-01-19", "source": "LCS/PLAN/2",
                "sections": {"placement": "Foster carers Mr and Mrs Hale"},
                "decided_by": {"name": "Priya Nand", "role": "TM"}},
        base | {"type": "CarePlanSectionChanged", "occurred_on": "2024-05-20",
                "source": "LCS/PLAN/3", "change_id": "CH-1", "section": "placement",
                "content": "Emergency foster placement with Ms Obi", "significant": True,
                "decided_by": {"name": "Priya Nand", "role": "TM"},
                "authority": {"kind": "none"}},
    ]  # fmt: skip
    if iro:
        events.insert(1, base | {
            "type": "IROAllocated", "occurred_on": "2024-01-10", "source": "LCS/NOTE/4",
            "iro_id": iro, "iro_name": "Dana Whitlock", "reason": "first allocation",
        })  # fmt: skip
    return events


@pytest.fixture(scope="module")
def db(served_db: str) -> str:
    prepare(served_db)
    with opened(served_db) as ledger:
        ledger.record(history_of(CHILD, "iro.dana") + history_of(NOT_HERS, None), "LCS", "ADMIN")
    for name, role in [("iro.dana", "IRO"), ("mgr.ruth", "IRO_MANAGER"), ("dpo.lee", "DPO"),
                       ("insp.kay", "INSPECTOR")]:  # fmt: skip
        add_person(served_db, name, role, [COUNCIL])
    add_person(served_db, "clerk.fay", "COURT_CLERK", [], court=COURT)
    return served_db


@pytest.fixture(scope="module")
def service(db: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    with serving(db, tmp_path_factory.mktemp("serve")) as started:
        yield started


@pytest.fixture(scope="module")
def people(service: Service) -> dict[str, Person]:
    names = ("iro.dana", "mgr.ruth", "dpo.lee", "insp.kay", "clerk.fay")
    return sign_in_each(service, names)


def read(service: Service, person: Person, path: str) -> httpx.Response:
    with service.client(**as_person(person)) as client:
        return client.get(path)


def test_the_plan_now_on_a_date_and_as_then_recorded(
    service: Service, people: dict[str, Person]
) -> None:
    manager = people["mgr.ruth"]
    now = read(service, manager, f"/children/{CHILD}/plan")
    before = read(service, manager, f"/children/{CHILD}/plan?as_of=2024-03-01")
    unknown_then = read(service, manager, f"/children/{CHILD}/plan?as_recorded_on=2020-01-01")
    assert now.status_code == 200, now.text
    assert now.headers["X-Careledger-Lag"] == "0"
    assert [r["content"] for r in data_of(now.text)] == ["Emergency foster placement with Ms Obi"]
    assert [r["content"] for r in data_of(before.text)] == ["Foster carers Mr and Mrs Hale"]
    assert data_of(unknown_then.text) == []  # nothing of it was recorded by then


def test_every_view_of_the_child_answers_as_the_commands_do(
    service: Service, people: dict[str, Person]
) -> None:
    manager = people["mgr.ruth"]
    history = data_of(read(service, manager, f"/children/{CHILD}/history").text)
    unapproved = data_of(read(service, manager, f"/children/{CHILD}/unapproved").text)
    reviews = data_of(read(service, manager, f"/children/{CHILD}/reviews").text)
    challenges = data_of(read(service, manager, f"/children/{CHILD}/challenges").text)
    verified = data_of(read(service, manager, f"/children/{CHILD}/verify").text)
    assert [row["type"] for row in history][-1] == "CarePlanSectionChanged"
    assert {row["section"] for row in unapproved} == {"placement"}
    assert reviews["timetable"] and "recommendations" in reviews
    assert challenges["challenges"] == []
    assert verified["intact"] is True and verified["events"] >= 5


@pytest.mark.parametrize("fmt", ["md", "csv", "html", "pdf", "json"])
def test_the_chronology_in_every_format(
    service: Service, people: dict[str, Person], fmt: str
) -> None:
    answer = read(service, people["mgr.ruth"], f"/children/{CHILD}/chronology?format={fmt}")
    assert answer.status_code == 200, answer.text
    body = answer.content
    if fmt == "pdf":
        assert body.startswith(b"%PDF")
    elif fmt == "json":
        assert answer.json()["child"] == CHILD
    elif fmt == "csv":
        assert any("Ms Obi" in cell for row in csv.reader(io.StringIO(answer.text)) for cell in row)
    else:
        assert "Ms Obi" in answer.text
        assert "mgr.ruth" in answer.text  # produced by who signed in


def test_a_refused_read_says_no_more_than_a_missing_child(
    service: Service, people: dict[str, Person]
) -> None:
    iro = people["iro.dana"]
    hers = read(service, iro, f"/children/{CHILD}/plan")
    not_hers = read(service, iro, f"/children/{NOT_HERS}/plan")
    missing = read(service, iro, f"/children/{MISSING}/plan")
    assert hers.status_code == 200
    assert (not_hers.status_code, not_hers.content) == (missing.status_code, missing.content)
    assert not_hers.status_code == 404
    assert not_hers.headers["content-type"] == "application/problem+json"


def test_an_inspector_opens_a_named_child_only_with_a_reason_which_is_logged(
    service: Service, people: dict[str, Person]
) -> None:
    inspector = people["insp.kay"]
    without = read(service, inspector, f"/children/{CHILD}/history")
    reason = "Ofsted ILACS sample: placement stability"
    with_reason = read(service, inspector, f"/children/{CHILD}/history?reason={reason}")
    assert without.status_code == 403
    assert without.json()["field"] == "reason"
    assert with_reason.status_code == 200
    log = data_of(read(service, people["dpo.lee"], f"/access-log?child={CHILD}").text)
    assert any(entry.get("reason") == reason for entry in log), log


def test_an_inspector_reads_drift_for_the_council_inspected_in_every_format(
    service: Service, people: dict[str, Person]
) -> None:
    inspector = people["insp.kay"]
    as_json = read(service, inspector, "/drift")
    as_csv = read(service, inspector, "/drift?format=csv")
    as_html = read(service, inspector, "/drift?format=html&group_by=council")
    assert as_json.status_code == 200, as_json.text
    assert as_json.headers["X-Careledger-Councils"] == COUNCIL
    assert data_of(as_json.text)["summary"] is not None
    assert as_csv.headers["content-type"].startswith("text/csv")
    assert as_html.status_code == 200 and "<html" in as_html.text
    assert "script-src" not in as_html.headers["content-security-policy"]
    assert "'unsafe-inline'" not in as_html.headers["content-security-policy"].split("style-src")[0]


def test_an_inspector_reads_the_changes_without_approval_as_counts_naming_no_child(
    service: Service, people: dict[str, Person]
) -> None:
    manager_view = data_of(read(service, people["mgr.ruth"], "/unapproved").text)
    answer = read(service, people["insp.kay"], "/unapproved")
    counts = data_of(answer.text)
    assert answer.status_code == 200 and answer.headers["X-Careledger-Children-Named"] == "false"
    assert counts and all("child" not in row for row in counts)
    assert "RD-01" not in answer.text
    assert sum(row["changes"] for row in counts) == len(manager_view)
    rd01 = {(row["kind"], row["rule"]) for row in manager_view if row["child"] == "RD-01"}
    assert rd01 <= {(row["kind"], row["rule"]) for row in counts}


def test_the_council_lists_and_verify_are_for_those_who_read_reports(
    service: Service, people: dict[str, Person]
) -> None:
    listed = data_of(read(service, people["mgr.ruth"], "/unapproved").text)
    assert {(row["council"], row["child"]) for row in listed} >= {(COUNCIL, "RD-01")}
    assert data_of(read(service, people["mgr.ruth"], "/verify").text)["intact"] is True
    refused = [read(service, people["iro.dana"], "/unapproved"),
               read(service, people["clerk.fay"], "/verify"),
               read(service, people["iro.dana"], "/drift")]  # fmt: skip
    assert [answer.status_code for answer in refused] == [403, 403, 403]
    assert {answer.json()["title"] for answer in refused} == {"Forbidden"}


def test_a_court_clerk_reads_only_a_chronology_shared_with_their_court(
    db: str, service: Service, people: dict[str, Person]
) -> None:
    clerk = people["clerk.fay"]
    before = read(service, clerk, f"/children/{CHILD}/chronology?format=json")
    with opened(db) as ledger:
        ledger.access.shares.add(
            CHILD, COURT, date(2024, 1, 1), date(2024, 3, 31),
            date.today() + timedelta(days=30), "mgr.ruth",
        )  # fmt: skip
    shared = read(service, clerk, f"/children/{CHILD}/chronology?format=json")
    plan = read(service, clerk, f"/children/{CHILD}/plan")
    assert before.status_code == 404
    assert shared.status_code == 200, shared.text
    assert shared.json()["period"] == {"from": "2024-01-01", "to": "2024-03-31"}
    assert "Ms Obi" not in shared.text  # the move of 20 May 2024 is outside the share
    assert plan.status_code == 404


def test_the_access_log_names_who_read_which_view(
    service: Service, people: dict[str, Person]
) -> None:
    read(service, people["iro.dana"], f"/children/{CHILD}/reviews")
    entries = data_of(read(service, people["dpo.lee"], "/access-log?actor=iro.dana").text)
    assert any(e["child"] == CHILD and e["view"] == "reviews" for e in entries), entries
    assert read(service, people["iro.dana"], "/access-log").status_code == 403


# Each JSON read of the service, and the command that answers the same question.
SAME_AS_THE_COMMANDS = [
    (f"/children/{CHILD}/plan", ["plan", CHILD]),
    (f"/children/{CHILD}/plan?as_of=2024-03-01", ["plan", CHILD, "--as-of", "2024-03-01"]),
    (f"/children/{CHILD}/history", ["history", CHILD]),
    (f"/children/{CHILD}/unapproved", ["unapproved", "--child", CHILD]),
    (f"/children/{CHILD}/reviews?as_recorded_on=2024-06-01",
     ["reviews", CHILD, "--as-recorded-on", "2024-06-01"]),
    (f"/children/{CHILD}/challenges", ["challenges", "--child", CHILD]),
    (f"/children/{CHILD}/verify", ["verify", "--child", CHILD]),
    ("/unapproved", ["unapproved"]),
    ("/drift?as_of=2024-06-30", ["drift", "--as-of", "2024-06-30"]),
    ("/verify", ["verify"]),
]  # fmt: skip


@pytest.mark.parametrize(("path", "command"), SAME_AS_THE_COMMANDS)
def test_each_json_read_is_the_commands_own_document(
    db: str, service: Service, people: dict[str, Person], path: str, command: list[str]
) -> None:
    """The service answers in `careledger X --format json`'s envelope, with the same query
    (the default dates filled in: today in England) and the same data; what only the service
    knows is in headers."""
    served = read(service, people["mgr.ruth"], path)
    printed = CliRunner().invoke(
        cli, [*command, "--db", db, "--format", "json"], env={"CARELEDGER_ACTOR": "it.admin"}
    )
    assert served.status_code == 200, served.text
    assert printed.exit_code == 0, printed.output
    data_of(served.text)  # the envelope, checked
    assert served.json() == json.loads(printed.stdout)
    assert served.headers["X-Careledger-Lag"] == "0"


def test_the_plans_query_says_the_day_it_was_read_as_of(
    service: Service, people: dict[str, Person]
) -> None:
    """Not null: the plan in force today (in England), as recorded by the end of today."""
    answer = read(service, people["mgr.ruth"], f"/children/{CHILD}/plan").json()
    day = today().isoformat()
    assert answer["query"] == {"child": CHILD, "as_of": day, "as_recorded_on": day}
    assert answer["command"] == "plan"


def test_the_access_log_is_the_commands_document(
    db: str, service: Service, people: dict[str, Person]
) -> None:
    read(service, people["iro.dana"], f"/children/{CHILD}/history")
    served = read(service, people["dpo.lee"], "/access-log?actor=iro.dana&from=2024-01-01")
    printed = CliRunner().invoke(
        cli,
        ["access-log", "--db", db, "--actor", "iro.dana", "--from", "2024-01-01", "--format",
         "json"],
        env={"CARELEDGER_ACTOR": "it.admin"},
    )  # fmt: skip
    assert served.json() == json.loads(printed.stdout)
    assert any(entry["view"] == "history" for entry in data_of(served.text))


def test_a_share_revoked_is_refused_at_the_clerks_next_read(
    db: str, service: Service, people: dict[str, Person]
) -> None:
    """`careledger shares revoke` while the service runs: the clerk read the chronology a
    moment ago, and is now told what a child never shared gets."""
    clerk = people["clerk.fay"]
    with opened(db) as ledger:
        share = ledger.access.shares.add(
            NOT_HERS, COURT, date(2024, 1, 1), date(2024, 12, 31),
            date.today() + timedelta(days=30), "mgr.ruth",
        )  # fmt: skip
    shared = read(service, clerk, f"/children/{NOT_HERS}/chronology?format=json")
    revoked = CliRunner().invoke(
        cli, ["shares", "revoke", share.share_id, "--db", db], env={"CARELEDGER_ACTOR": "it.admin"}
    )
    after = read(service, clerk, f"/children/{NOT_HERS}/chronology?format=json")
    never = read(service, clerk, f"/children/{MISSING}/chronology?format=json")
    assert shared.status_code == 200, shared.text
    assert revoked.exit_code == 0, revoked.output
    assert (after.status_code, after.content) == (404, never.content)


def test_an_inspectors_drift_counts_without_naming_a_child_in_any_format(
    service: Service, people: dict[str, Person]
) -> None:
    """Counts and rates: an inspector opens a named child only with a reason. The IRO
    manager, who may read every child of the council, sees the children behind the counts."""
    for fmt in ("json", "csv", "html"):
        inspectors = read(service, people["insp.kay"], f"/drift?format={fmt}")
        managers = read(service, people["mgr.ruth"], f"/drift?format={fmt}")
        assert inspectors.status_code == managers.status_code == 200
        for child in (CHILD, NOT_HERS):
            assert child in managers.text, (fmt, child)
            assert child not in inspectors.text and child.partition(":")[2] not in inspectors.text
    counts = read(service, people["insp.kay"], "/drift")
    assert counts.headers["X-Careledger-Children-Named"] == "false"
    managers_counts = data_of(read(service, people["mgr.ruth"], "/drift").text)
    assert data_of(counts.text)["summary"] == managers_counts["summary"]
    page = read(service, people["insp.kay"], "/drift?format=html").text
    assert "The children behind the count are not named in this report" in page


def test_a_council_officer_revokes_a_share_through_the_api(
    db: str, service: Service, people: dict[str, Person]
) -> None:
    """The IRO manager (who may share) ends a share with one POST: the clerk's next read is
    refused; a second revocation is a conflict naming who revoked; an IRO, who may not
    share, and a share that never existed get the same not found."""
    with opened(db) as ledger:
        share = ledger.access.shares.add(
            NOT_HERS, COURT, date(2024, 1, 1), date(2024, 2, 28),
            date.today() + timedelta(days=30), "mgr.ruth",
        )  # fmt: skip
    clerk, manager, iro = people["clerk.fay"], people["mgr.ruth"], people["iro.dana"]
    path = f"/shares/{share.share_id}/revoke"
    with service.client() as client:
        by_iro = client.post(path, headers=as_person(iro))
        unknown = client.post("/shares/0000deadbeef/revoke", headers=as_person(manager))
        before = client.get(
            f"/children/{NOT_HERS}/chronology?format=json", headers=as_person(clerk)
        )
        revoked = client.post(path, headers=as_person(manager))
        after = client.get(f"/children/{NOT_HERS}/chronology?format=json", headers=as_person(clerk))
        again = client.post(path, headers=as_person(manager))
    assert (by_iro.status_code, by_iro.content) == (404, unknown.content)
    assert before.status_code == 200, before.text
    assert revoked.status_code == 200, revoked.text
    assert (revoked.json()["state"], revoked.json()["revoked_by"]) == ("revoked", "mgr.ruth")
    assert after.status_code == 404  # its only share ended
    assert again.status_code == 409 and "by mgr.ruth" in again.json()["detail"]
