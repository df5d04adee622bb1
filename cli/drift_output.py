"""The drift report as a table for people, JSON for programs and CSV for spreadsheets.
(The HTML report is cli.drift_html.)"""

from __future__ import annotations

import csv
import io
from dataclasses import asdict
from typing import Any

from careledger.cli.render import show_table
from careledger.projections.drift import MEASURE, MEASURES, TO_PUT_RIGHT, Report, owners
from careledger.projections.safe_text import spreadsheet_row


def as_json(report: Report) -> dict[str, Any]:
    return {
        "window_from": report.window_from.isoformat(),
        "settings": report.settings.model_dump(),
        "challenge_protocol": report.protocol.model_dump(),
        "measures": [asdict(m) for m in MEASURES],
        "summary": [_count(c) for c in report.summary()],
        "findings": {k: [f._asdict() for f in fs] for k, fs in report.findings.items()},
        "recommendation_owners": _owners(report),
        "trend": [
            {"month_end": day.isoformat(), **{k: _count(c) for k, c in counts.items()}}
            for day, counts in report.trend
        ],
        "records_to_put_right": _to_put_right(report),
    }


def _to_put_right(report: Report) -> list[dict[str, Any]]:
    """The data-quality section: a count per kind of record to put right."""
    kinds = {c.key: c for c in TO_PUT_RIGHT}
    return [
        {"record": c.measure, "title": kinds[c.measure].title, "group": c.group,
         "count": c.count, "rule": kinds[c.measure].rule}
        for c in report.to_put_right
    ]  # fmt: skip


def _count(count: Any) -> dict[str, Any]:
    return {
        "measure": count.measure,
        "group": count.group,
        "count": count.count,
        "of": count.of,
        "rate": round(count.rate, 4),
    }


def _owners(report: Report) -> list[dict[str, Any]]:
    return [
        {"owner": owner, "overdue": n, "most_days_overdue": days}
        for owner, n, days in owners(report.findings.get("recommendation_overdue", []))
    ]


CSV_COLUMNS = ("row", "measure", "group", "subject", "on", "days", "count", "of", "rate", "detail")


def as_csv(report: Report) -> str:
    """One sheet: the summary rows first, then every finding behind them; no cell is run as
    a formula, and control characters are shown as escapes (projections.safe_text)."""
    out = io.StringIO()
    writer = csv.DictWriter(out, CSV_COLUMNS, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    for count in report.summary():
        writer.writerow(spreadsheet_row({"row": "summary", **_count(count)}))
    for key, findings in report.findings.items():
        for f in findings:
            row = {"row": "finding", **f._asdict(), "measure": key, "count": f.weight}
            writer.writerow(spreadsheet_row(row))
    for put_right in _to_put_right(report):
        writer.writerow(spreadsheet_row({"row": "to_put_right", "measure": put_right["record"],
                         "group": put_right["group"], "count": put_right["count"],
                         "detail": put_right["title"]}))  # fmt: skip
    return out.getvalue()


def show_tables(report: Report) -> None:
    grouped = f", by {report.by}" if report.by else ""
    known = report.as_recorded_on
    recorded = f", as recorded by the end of {known}" if known else ""
    show_table(
        [
            {
                "measure": MEASURE[c.measure].title,
                "group": c.group,
                "count": c.count,
                "of": c.of,
                "rate": f"{c.rate:.0%}",
                "rule": MEASURE[c.measure].rule,
            }
            for c in report.summary()
        ],
        f"Drift as of {report.as_of}{grouped}{recorded}"
        f" (previous 12 months: after {report.window_from})",
    )
    for measure in MEASURES:
        rows = [
            {k: v for k, v in f._asdict().items() if k not in ("measure", "weight", "owner")}
            for f in report.findings[measure.key]
        ]
        show_table(rows, f"{measure.title}: {measure.counts} [{measure.status}]")
    show_table(_owners(report), "Overdue recommendations per owner")
    show_table(
        [
            {"record": r["title"], "group": r["group"], "count": r["count"], "rule": r["rule"]}
            for r in _to_put_right(report)
        ],
        "Records to put right (data quality; careledger inconsistencies lists them)",
    )
    notes = [f"{name}={value}" for name, value in report.settings.model_dump().items()]
    stages = ", ".join(f"{s.name} {s.working_days}" for s in report.protocol.stages)
    notes.append(f"challenge_stages=[{stages}] working days")
    notes.append(f"challenge_formal_limit_working_days={report.protocol.formal_limit_working_days}")
    show_table([{"settings used": ", ".join(notes)}], "Settings (CARELEDGER_*)")
