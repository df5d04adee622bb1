"""`careledger challenges`: each IRO challenge's stage, age, timescale and outcome, and how
challenges went per IRO and per council (issue 4)."""

from __future__ import annotations

import json

import click

from cli.context import opened
from cli.options import COUNCIL_OPTION, DB_OPTION, load_protocol, parse_child, parse_day
from cli.render import render
from cli.reports import AS_OF_OPTION, today
from ledger.protocol import DisputeProtocol
from projections import challenges as ch


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


# The table's columns (JSON has every field): what an IRO manager scans for.
TABLE_COLUMNS = (
    "child",
    "challenge",
    "subject",
    "iro",
    "raised",
    "stage",
    "response_due",
    "responded",
    "age_days",
    "past_timescale",
    "outcome",
    "cafcass",
)


@click.command()
@DB_OPTION
@click.option("--open", "only_open", is_flag=True, help="Only challenges not yet resolved.")
@click.option("--child", default=None, help="Only this child (COUNCIL:REF, or REF with --council).")
@COUNCIL_OPTION
@click.option("--iro", default=None, help="Only challenges raised by this IRO (their name).")
@AS_OF_OPTION
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table")
def challenges(
    db: str | None,
    only_open: bool,
    child: str | None,
    council: str | None,
    iro: str | None,
    as_of: str | None,
    fmt: str,
) -> None:
    """IRO challenges: stage, age, whether the current stage is past its timescale, outcome;
    then statistics per IRO and per council (raised, resolved at each stage, upheld rate,
    median days to resolve, Cafcass referrals). Statistics ignore --open."""
    who = parse_child(child, council) if child else None
    on = parse_day(as_of, "--as-of") or today()
    protocol = load_protocol()
    with opened(db) as o:
        o.catch_up()
        found = ch.load(o.views, on, who)
    if iro is not None:
        found = [s for s in found if s.iro.casefold() == iro.strip().casefold()]
    if council is not None and who is None:
        found = [s for s in found if s.council == council]
    shown = [s for s in found if s.is_open or not only_open]
    rows = [ch.listing_row(s, protocol, on) for s in shown]
    per_iro = ch.statistics_rows(found, protocol, "iro")
    per_council = ch.statistics_rows(found, protocol, "council")
    if fmt == "json":
        data = {"as_of": on.isoformat(), "challenges": rows, "per_iro": per_iro}
        more = {"per_council": per_council, "protocol": protocol.model_dump()}
        click.echo(json.dumps(data | more, indent=2, default=str))
        return
    title = f"IRO challenges as of {on}" + (" (open only)" if only_open else "")
    render([{k: row[k] for k in TABLE_COLUMNS} for row in rows], fmt, title, "none recorded")
    render(per_iro, fmt, "Challenges per IRO", "none")
    render(per_council, fmt, "Challenges per council", "none")
    click.echo(protocol_line(protocol))
