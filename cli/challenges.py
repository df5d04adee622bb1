"""`careledger challenges`: each IRO challenge's stage, age, timescale and outcome, and how
challenges went per IRO and per council."""

from __future__ import annotations

from typing import Any

import click

from careledger.cli.options import (
    COUNCIL_OPTION,
    DB_OPTION,
    FORMAT_OPTION,
    named,
    parse_child,
    parse_day,
)
from careledger.cli.principal import log_read
from careledger.cli.reading import CATCH_UP_OPTION, READ_DB_OPTION, opened_to_read
from careledger.cli.render import emit_json, show_table
from careledger.cli.reports import AS_OF_OPTION, AS_RECORDED_ON_OPTION, recorded_title, today
from careledger.ledger.domain.protocol import DisputeProtocol


def protocol_line(protocol: DisputeProtocol) -> str:
    stages = "; ".join(
        f"{n} {s.name} ({s.responder}, {s.working_days} working days)"
        for n, s in enumerate(protocol.stages)
    )
    return (
        f"Protocol (CARELEDGER_CHALLENGE_STAGES): {stages}. Whole formal process: "
        f"{protocol.formal_limit_working_days} working days "
        "(CARELEDGER_CHALLENGE_FORMAL_LIMIT_WORKING_DAYS; IRO Handbook ch.6)."
    )


def table_row(row: dict[str, Any]) -> dict[str, Any]:
    """What an IRO manager scans for; JSON has every field."""
    late = row["why_late"] if row["past_timescale"] or row["resolved_late"] else "no"
    if row["resolved_late"]:
        late = f"resolved late: {late}"
    cafcass = None
    if row["cafcass_referred"]:
        cafcass = f"referred {row['cafcass_referred']}"
        if row["cafcass_outcome"]:
            cafcass += f": {row['cafcass_outcome'].replace('_', ' ')}"
    return {
        "child": row["child"],
        "challenge": row["challenge"],
        "subject": row["subject"],
        "iro": row["iro"],
        "raised": row["raised"],
        "stage": row["stage_name"],
        "response_due": row["response_due"],
        "responded": row["responded"],
        "age_days": row["age_days"],
        "past_timescale": late,
        "outcome": row["outcome_label"],
        "cafcass": cafcass,
    }


def stats_row(row: dict[str, Any]) -> dict[str, Any]:
    shown = dict(row)
    shown["resolved_at"] = ", ".join(f"{k} {n}" for k, n in row["resolved_at"].items()) or None
    shown["upheld_rate"] = f"{row['upheld']} of {row['decided']}" if row["decided"] else None
    del shown["upheld"], shown["decided"]
    return shown


@click.command()
@DB_OPTION
@READ_DB_OPTION
@CATCH_UP_OPTION
@click.option("--open", "only_open", is_flag=True, help="Only challenges not yet resolved.")
@click.option("--child", default=None, help="Only this child (COUNCIL:REF, or REF with --council).")
@COUNCIL_OPTION
@click.option("--iro", default=None, help="Only challenges raised by this IRO (their name).")
@AS_OF_OPTION
@AS_RECORDED_ON_OPTION
@FORMAT_OPTION
def challenges(
    db: str | None,
    read_db: str | None,
    catch_up: bool,
    only_open: bool,
    child: str | None,
    council: str | None,
    iro: str | None,
    as_of: str | None,
    as_recorded_on: str | None,
    fmt: str,
) -> None:
    """IRO challenges: stage, age, whether the current stage is past its timescale, outcome;
    then statistics per IRO and per council (raised, resolved at each stage, upheld rate,
    median days to resolve, Cafcass referrals). Statistics ignore --open."""
    who = parse_child(child, council) if child else None
    on = parse_day(as_of, "--as-of") or today()
    known = parse_day(as_recorded_on, "--as-recorded-on")
    with opened_to_read(db, read_db, catch_up) as o:
        if who is not None:
            log_read(o, who, "challenges", db)
        report = o.challenge_report(on, who, council, iro, only_open, known)
    if fmt == "json":
        query = {
            "as_of": on,
            "as_recorded_on": known or today(),
            "child": named(who) if who else None,
        }
        data: dict[str, Any] = {"challenges": report.challenges, "per_iro": report.per_iro}
        data |= {"per_council": report.per_council, "protocol": report.protocol.model_dump()}
        emit_json(query | {"council": council, "iro": iro, "open": only_open}, data)
        return
    title = f"IRO challenges as of {on}{recorded_title(known)}"
    title += " (open only)" if only_open else ""
    show_table([table_row(row) for row in report.challenges], title, "none recorded")
    show_table([stats_row(r) for r in report.per_iro], "Challenges per IRO", "none")
    show_table([stats_row(r) for r in report.per_council], "Challenges per council", "none")
    click.echo(protocol_line(report.protocol))
