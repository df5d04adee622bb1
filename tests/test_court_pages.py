"""The court's shared chronology and the IRO's challenge actions through `careledger serve`'s
pages, as a browser posts their forms, on SQLite and on PostgreSQL: who may share, what a
share records, what the clerk may download (and that it is the chronology the command gives,
and verifies), what the public verify page says of a file and what it keeps to itself, and
the IRO's escalation and Cafcass referral, each refused with the field named and nothing
recorded when wrong."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from datetime import date, datetime, timedelta

import httpx
import pytest

from careledger.access import Principal
from careledger.api import opened, today
from careledger.projections.chronology_check import read_stamp
from careledger.projections.chronology_forms import render
from tests.service_server import (
    Person,
    Service,
    add_person,
    as_person,
    prepare,
    serving,
    sign_in_each,
)

COUNCIL, ELSEWHERE = "E10000099", "E09000099"
CHILD, OTHERS = f"{COUNCIL}:RD-01", f"{ELSEWHERE}:RD-07"
COURT, OTHER_COURT = "Leeds Family Court", "Bradford Family Court"
CHALLENGE = "CH-20240601-RD1"
ADMIN = Principal("auditor", "ADMIN", frozenset())
PEOPLE = {
    "tm.jones": ("TM", [COUNCIL]), "mgr.ruth": ("IRO_MANAGER", [COUNCIL]),
    "sw.amir": ("SW", [COUNCIL]), "iro.dana": ("IRO", [COUNCIL]),
    "tm.other": ("TM", [ELSEWHERE]),
}  # fmt: skip


def case(council: str, ref: str, iro: str) -> list[dict[str, object]]:
    base = {"council": council, "child": ref}
    return [
        base | {"type": "ChildBecameLookedAfter", "occurred_on": "2024-01-08",
                "source": "LCS/EPI/1", "legal_status": "C1", "placement": "U4"},
        base | {"type": "IROAllocated", "occurred_on": "2024-01-10", "source": "LCS/NOTE/4",
                "iro_id": iro, "iro_name": "Dana Whitlock", "reason": "first allocation"},
        base | {"type": "CarePlanAgreed", "occurred_on": "2024-01-19", "source": "LCS/PLAN/2",
                "sections": {"placement": "Foster carers Mr and Mrs Hale"},
                "decided_by": {"name": "Priya Nand", "role": "TM"}},
        base | {"type": "CarePlanSectionChanged", "occurred_on": "2024-05-20",
                "source": "LCS/PLAN/3", "change_id": "CH-1", "section": "placement",
                "content": "Emergency foster placement with Ms Obi", "significant": True,
                "decided_by": {"name": "Priya Nand", "role": "TM"},
                "authority": {"kind": "none"}},
        base | {"type": "ChallengeRaised", "occurred_on": "2024-06-01", "source": "LCS/NOTE/5",
                "challenge_id": CHALLENGE, "subject": "decision",
                "concern": "Moved without a review", "raised_by": {"name": iro, "role": "IRO"}},
    ]  # fmt: skip


@pytest.fixture(scope="module")
def db(served_db: str) -> str:
    prepare(served_db)
    with opened(served_db) as ledger:
        ledger.record(case(COUNCIL, "RD-01", "iro.dana") + case(ELSEWHERE, "RD-07", "iro.kim"),
                      "LCS", "ADMIN")  # fmt: skip
    for name, (role, councils) in PEOPLE.items():
        add_person(served_db, name, role, councils)
    add_person(served_db, "clerk.fay", "COURT_CLERK", [], court=COURT)
    add_person(served_db, "clerk.ben", "COURT_CLERK", [], court=OTHER_COURT)
    return served_db


@pytest.fixture(scope="module")
def service(db: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    with serving(db, tmp_path_factory.mktemp("serve")) as started:
        yield started


@pytest.fixture(scope="module")
def people(service: Service) -> dict[str, Person]:
    return sign_in_each(service, [*PEOPLE, "clerk.fay", "clerk.ben"])


def get(service: Service, person: Person, path: str) -> httpx.Response:
    with service.client(**as_person(person)) as client:
        return client.get(path)


def post(service: Service, person: Person, path: str, form: dict[str, str]) -> httpx.Response:
    with service.client(**as_person(person)) as client:
        return client.post(path, data={"csrf_token": person.csrf} | form)


def share_form(child: str, court: str, first: date, last: date, until: date) -> dict[str, str]:
    form = {"child": child, "court": court}
    for name, day in (("from", first), ("to", last), ("expires", until)):
        form |= {f"{name}-day": str(day.day), f"{name}-month": str(day.month),
                 f"{name}-year": str(day.year)}  # fmt: skip
    return form


def error_summary(response: httpx.Response) -> list[tuple[str, str]]:
    """The error summary's links: (the field's id, the message)."""
    summary = response.text.partition('govuk-error-summary__list">')[2].partition("</ul>")[0]
    return [(field, html.unescape(text))
            for field, text in re.findall(r'<a href="#([^"]+)">([^<]+)</a>', summary)]  # fmt: skip


def shares_of(db: str, child: str) -> list[dict[str, object]]:
    with opened(db) as ledger:
        return ledger.access.shares.listing(child)


LATER = today() + timedelta(days=30)


def test_a_team_manager_shares_a_chronology_and_sees_it_listed_for_their_council_only(
    db: str, service: Service, people: dict[str, Person]
) -> None:
    done = post(service, people["tm.jones"], "/shares/new",
                share_form("RD-01", COURT, date(2024, 1, 1), date(2024, 3, 31), LATER))  # fmt: skip
    assert done.status_code == 303, done.text
    [share] = shares_of(db, CHILD)
    assert (share["court"], share["from_on"], share["to_on"], share["shared_by"]) == (
        COURT, "2024-01-01", "2024-03-31", "tm.jones",
    )  # fmt: skip
    assert done.headers["location"] == f"/shares?shared={share['share_id']}"
    listed = get(service, people["mgr.ruth"], "/shares").text
    assert CHILD in listed and str(share["share_id"]) in listed
    assert CHILD not in get(service, people["tm.other"], "/shares").text


def test_a_social_worker_an_iro_and_a_clerk_may_not_share(
    db: str, service: Service, people: dict[str, Person]
) -> None:
    for name in ("sw.amir", "iro.dana", "clerk.fay"):
        form = share_form(CHILD, COURT, date(2024, 1, 1), date(2024, 2, 1), LATER)
        assert post(service, people[name], "/shares/new", form).status_code == 403
        assert get(service, people[name], "/shares").status_code == 403
    assert [s["shared_by"] for s in shares_of(db, CHILD)] == ["tm.jones"]


def test_a_child_of_another_council_a_court_not_registered_and_bad_dates_are_named(
    db: str, service: Service, people: dict[str, Person]
) -> None:
    form = share_form(OTHERS, "Leeds Family Cuort", date(2024, 1, 1), date(2024, 2, 1), LATER)
    form |= {"from-month": "", "expires-year": str(today().year - 1)}
    refused = post(service, people["tm.jones"], "/shares/new", form)
    assert refused.status_code == 400
    assert error_summary(refused) == [
        ("child", "Your council has no child with that reference"),
        ("court", "Select a court from the list"),
        ("from-month", "The first date of the chronology must include a month"),
        ("expires-day", "The last day the court may read it must be today or later"),
    ]
    assert shares_of(db, OTHERS) == []
    assert "RD-07" in refused.text, "what was typed is shown again"


def test_a_share_posted_without_the_form_token_is_refused(
    db: str, service: Service, people: dict[str, Person]
) -> None:
    form = share_form(CHILD, OTHER_COURT, date(2024, 1, 1), date(2024, 2, 1), LATER)
    with service.client(Cookie=f"careledger_session={people['tm.jones'].cookie}") as client:
        refused = client.post("/shares/new", data=form | {"csrf_token": "forged"})
    assert error_summary(refused) == [("child", "The form had expired: open it again")]
    assert OTHER_COURT not in {s["court"] for s in shares_of(db, CHILD)}


def clerk_share(db: str, court: str) -> str:
    return next(str(s["share_id"]) for s in shares_of(db, CHILD) if s["court"] == court)


def test_the_clerk_downloads_the_chronology_the_command_gives_for_the_dates_shared(
    db: str, service: Service, people: dict[str, Person]
) -> None:
    share_id = clerk_share(db, COURT)
    page = get(service, people["clerk.fay"], "/court").text
    assert CHILD in page and "2024-01-01 to 2024-03-31" in page
    assert CHILD not in get(service, people["clerk.ben"], "/court").text
    for form in ("pdf", "html", "csv"):
        got = get(service, people["clerk.fay"], f"/court/shares/{share_id}/chronology.{form}")
        assert got.status_code == 200, got.text
        assert got.headers["content-disposition"].endswith(f'.{form}"')
        stamp = read_stamp(got.content)
        assert stamp.period == (date(2024, 1, 1), date(2024, 3, 31))
        with opened(db) as ledger:  # what `careledger chronology --format FORM` gives
            made = ledger.chronology(CHILD, stamp.produced_by, *stamp.period, stamp.produced_at)
            assert render(made, form) == got.content
            assert ledger.verify_export(got.content).matches
    assert b"Ms Obi" not in got.content, "the move of 20 May 2024 is outside the share"
    with opened(db) as ledger:
        reads = ledger.access.log(child=CHILD, actor="clerk.fay", who=ADMIN)
    assert [(e["view"], e["outcome"]) for e in reads] == [("chronology", "allowed")] * 3


def test_another_courts_clerk_gets_not_found_and_the_refusal_is_logged(
    db: str, service: Service, people: dict[str, Person]
) -> None:
    share_id = clerk_share(db, COURT)
    other = get(service, people["clerk.ben"], f"/court/shares/{share_id}/chronology.pdf")
    missing = get(service, people["clerk.ben"], "/court/shares/0123456789ab/chronology.pdf")
    assert other.status_code == missing.status_code == 404
    assert other.text == missing.text and CHILD not in other.text
    with opened(db) as ledger:
        reads = ledger.access.log(child=CHILD, actor="clerk.ben", who=ADMIN)
    assert [(e["view"], e["outcome"]) for e in reads] == [("chronology", "refused")]


def test_a_share_past_its_last_day_is_neither_listed_nor_downloaded(
    db: str, service: Service, people: dict[str, Person]
) -> None:
    with opened(db) as ledger:
        share = ledger.access.shares.add(CHILD, OTHER_COURT, date(2024, 1, 1),
                                         date(2024, 6, 30), today(), "tm.jones")  # fmt: skip
    path = f"/court/shares/{share.share_id}/chronology.csv"
    assert get(service, people["clerk.ben"], path).status_code == 200, "in force on its last day"
    with opened(db) as ledger, ledger.access.store.transaction() as cursor:
        yesterday = (today() - timedelta(days=1)).isoformat()
        cursor.execute("UPDATE {s}access_shares SET expires_on = ? WHERE share_id = ?",
                       [yesterday, share.share_id])  # fmt: skip
    assert get(service, people["clerk.ben"], path).status_code == 404
    assert CHILD not in get(service, people["clerk.ben"], "/court").text


def checked(service: Service, content: bytes, name: str = "chronology.csv") -> httpx.Response:
    """The verify page's form fetched, then the file posted with its token, signed in as
    nobody."""
    with service.client() as client:
        form = client.get("/check-a-chronology")
        nonce = _set_cookie(form, "careledger_verify")
        token = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
        assert token is not None
        return client.post(
            "/check-a-chronology",
            data={"csrf_token": token[1]},
            files={"chronology": (name, content, "application/octet-stream")},
            headers={"Cookie": f"careledger_verify={nonce}"},
        )


def _set_cookie(response: httpx.Response, name: str) -> str:
    for header in response.headers.get_list("set-cookie"):
        found = re.match(rf"{name}=([^;]*)", header)
        if found:
            return found[1]
    raise AssertionError(f"no {name} cookie set")


def heading(response: httpx.Response) -> str:
    found = re.search(r'<h1 class="govuk-(?:panel__title|heading-l)">([^<]+)</h1>', response.text)
    assert found is not None, response.text
    return found[1]


def produced(db: str, form: str, at: datetime | None = None) -> bytes:
    with opened(db) as ledger:
        return render(ledger.chronology(CHILD, "mgr.ruth", produced_at=at), form)


def test_the_verify_page_says_authentic_corrected_since_or_not_and_nothing_more(
    db: str, service: Service
) -> None:
    csv_export, pdf_export = produced(db, "csv"), produced(db, "pdf")
    assert heading(checked(service, csv_export)) == "Authentic"
    assert heading(checked(service, pdf_export, "c.pdf")) == "Authentic"
    tampered = csv_export.replace(b"Ms Obi", b"Ms Oba")
    answer = checked(service, tampered)
    assert heading(answer) == "Not authentic"
    assert b"Ms Ob" not in answer.content and b"RD-01" not in answer.content

    with opened(db) as ledger:
        changed = next(r for r in ledger.history(CHILD) if r["type"] == "CarePlanSectionChanged")
        ledger.record([{"type": "CorrectionRecorded", "council": COUNCIL, "child": "RD-01",
                        "occurred_on": "2024-05-28", "source": "LCS/PLAN/3A",
                        "corrects_seq": changed["event"], "reason": "keyed against the wrong carer",
                        "corrected": {"content": "Emergency foster placement with Mr Obi"}}],
                      "LCS", "ADMIN")  # fmt: skip
    answer = checked(service, csv_export)
    assert heading(answer) == "Authentic, but corrected since"
    assert b"Mr Obi" not in answer.content, "the correction's content is not revealed"
    with opened(db) as ledger:
        logged = ledger.access.log(child=CHILD, actor="verify page (not signed in)", who=ADMIN)
    assert [(e["role"], e["view"]) for e in logged] == [("PUBLIC", "chronology")] * 4


def test_a_stamp_of_a_case_the_ledger_does_not_hold_gets_the_tampered_answer(
    db: str, service: Service
) -> None:
    export = produced(db, "csv")
    stamp = read_stamp(export)
    elsewhere = export.replace(stamp.case.encode(), b"0" * 32)
    tampered = export.replace(b"2024-01-19", b"2024-01-18")
    assert tampered != export
    not_held, edited = checked(service, elsewhere), checked(service, tampered)
    assert heading(not_held) == "Not authentic"
    assert not_held.text == edited.text, "the same page: nothing says the case is not held"


def test_a_file_that_is_not_a_chronology_too_large_or_posted_without_the_token_is_named(
    service: Service,
) -> None:
    not_one = checked(service, b"number,date\n1,2024-01-01\n")
    assert error_summary(not_one) == [
        ("chronology", "The file is not a chronology produced by careledger")
    ]
    too_large = checked(service, b"x" * 4_000_001)
    assert too_large.status_code == 413
    assert error_summary(too_large) == [("chronology", "The file must be smaller than 4 MB")]
    with service.client() as client:
        forged = client.post("/check-a-chronology", data={"csrf_token": "x"},
                             files={"chronology": ("c.csv", b"x", "text/csv")})  # fmt: skip
    assert error_summary(forged) == [("chronology", "The form had expired: choose the file again")]


def test_an_address_checks_ten_files_a_minute(db: str, service: Service) -> None:
    """Each check renders the chronology again: an address that sends more waits (the
    module's earlier tests have spent part of this minute's allowance)."""
    export = produced(db, "csv")
    answers = [checked(service, export) for _ in range(11)]
    refused = [answer for answer in answers if answer.status_code == 429]
    assert refused, [answer.status_code for answer in answers]
    assert refused[0].headers["retry-after"] == "60"
    assert error_summary(refused[0]) == [
        ("chronology", "Too many files checked from here: wait a minute, then try again")
    ]
    assert all(answer.status_code in (200, 429) for answer in answers)


def escalate_form(person: Person, service: Service, stage: str, reason: str) -> dict[str, str]:
    page = get(service, person, f"/child/{CHILD}/challenges/{CHALLENGE}/escalate").text
    seen = re.search(r'name="seen" value="(\d+)"', page)
    assert seen is not None, page
    on = today()
    return {"seen": seen[1], "to_stage": stage, "reason": reason, "escalated-day": str(on.day),
            "escalated-month": str(on.month), "escalated-year": str(on.year)}  # fmt: skip


def test_the_iro_escalates_and_refers_to_cafcass_recorded_in_their_name(
    db: str, service: Service, people: dict[str, Person]
) -> None:
    dana = people["iro.dana"]
    form = escalate_form(dana, service, "2", "No answer from the team manager")
    done = post(service, dana, f"/child/{CHILD}/challenges/{CHALLENGE}/escalate", form)
    assert done.status_code == 303, done.text
    with opened(db) as ledger:
        [row] = ledger.challenges(today(), CHILD)
        last = ledger.history(CHILD)[-1]
    assert (row["stage"], last["recorded_by"]) == (2, "iro.dana (IRO)")
    page = get(service, dana, f"/child/{CHILD}/challenges/{CHALLENGE}/cafcass").text
    seen = re.search(r'name="seen" value="(\d+)"', page)
    assert seen is not None
    on = today()
    referred = post(service, dana, f"/child/{CHILD}/challenges/{CHALLENGE}/cafcass",
                    {"seen": seen[1], "grounds": "The council will not answer at stage 2",
                     "referred-day": str(on.day), "referred-month": str(on.month),
                     "referred-year": str(on.year)})  # fmt: skip
    assert referred.status_code == 303, referred.text
    with opened(db) as ledger:
        [row] = ledger.challenges(today(), CHILD)
    assert row["cafcass_referred"] == on.isoformat()


def test_an_escalation_to_a_stage_passed_or_on_a_stale_form_is_refused_and_not_recorded(
    db: str, service: Service, people: dict[str, Person]
) -> None:
    dana = people["iro.dana"]
    with opened(db) as ledger:
        before = len(ledger.history(CHILD))
        stage = ledger.challenges(today(), CHILD)[0]["stage"]
    path = f"/child/{CHILD}/challenges/{CHALLENGE}/escalate"
    passed = post(service, dana, path, escalate_form(dana, service, str(stage), "again"))
    assert error_summary(passed) == [("to_stage", "Select the stage to escalate it to")]
    stale = escalate_form(dana, service, str(stage + 1), "No answer")
    with opened(db) as ledger:  # meanwhile, the council answers
        ledger.record([{"type": "ChallengeResponded", "council": COUNCIL, "child": "RD-01",
                        "occurred_on": today().isoformat(), "source": "LCS/NOTE/6",
                        "challenge_id": CHALLENGE, "response": "We will review the move",
                        "responded_by": {"name": "Sam Reed", "role": "SERVICE_MANAGER"}}],
                      "LCS", "ADMIN")  # fmt: skip
    refused = post(service, dana, path, stale)
    assert error_summary(refused) == [
        ("reason", "The child's record has changed since you opened this form: read it "
                   "again, then escalate"),
    ]  # fmt: skip
    with opened(db) as ledger:
        assert len(ledger.history(CHILD)) == before + 1, "only the council's answer"


def test_only_the_childs_iro_may_act_on_the_challenge(
    service: Service, people: dict[str, Person]
) -> None:
    for name in ("tm.jones", "tm.other", "clerk.fay"):
        for action in ("escalate", "cafcass"):
            path = f"/child/{CHILD}/challenges/{CHALLENGE}/{action}"
            assert get(service, people[name], path).status_code == 404, (name, action)
