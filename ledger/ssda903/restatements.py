"""What importing a return records in a case that already holds earlier returns.

Importing is idempotent and never edits: a row the ledger already holds as given records
nothing, and a later return that says something else of the same episode, review or child
records a correction pointing at what it restates, so the ledger shows what each return
said. A later return that lists the child but no longer an episode open in its year has
replaced it: a correction marks the episode left out.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from careledger.ledger.domain import payloads as p
from careledger.ledger.domain.case import ChildCase
from careledger.ledger.domain.events import payload_fields
from careledger.ledger.domain.plan import effective
from careledger.ledger.ssda903.mapping import ChildRows, numbered
from careledger.ledger.ssda903.records import (
    ChildDetails,
    Episode,
    collection_name,
    from_a_return,
    in_year,
    return_year,
)
from careledger.ledger.ssda903.rows import EPISODE_COLUMNS


@dataclass
class ChildChanges:
    """What importing one child's rows records: new events and corrections."""

    child_ref: str
    payloads: list[p.Payload] = field(default_factory=list)
    corrections: int = 0
    unchanged: int = 0


def held(case: ChildCase | None) -> dict[str, tuple[int, p.Payload]]:
    """What the case already holds from returns, by the same keys as `ChildRows.wanted`,
    as corrected so far."""
    if case is None:
        return {}
    found: dict[str, tuple[int, p.Payload]] = {}
    seen: dict[str, int] = {}
    for seq, (payload, _) in sorted(effective(case.entries.values()).items()):
        key = _key(payload)
        if key is not None:
            found[numbered(key, seen)] = (seq, payload)
    return found


def episode_of(payload: p.Payload) -> Episode | None:
    """The SSDA903 episode an event was read from, if any."""
    episode = getattr(payload, "episode", None)
    return episode if isinstance(episode, Episode) else None


def _key(payload: p.Payload) -> str | None:
    episode = episode_of(payload)
    if episode is not None:
        return f"episode:{episode.episode_id}"
    if not from_a_return(payload.source):
        return None
    if isinstance(payload, p.ChildCeasedToBeLookedAfter) and payload.episode_id:
        return f"end:{payload.episode_id}"
    if isinstance(payload, p.ReviewHeld):
        return f"review:{payload.review_id}"
    if isinstance(payload, p.SocialWorkerAllocated):
        return f"sw:{payload.occurred_on}:{payload.worker_id}"
    if isinstance(payload, p.ChildDetailsRecorded):
        return "details"
    return None


def changes_for(case: ChildCase | None, rows: ChildRows, child_ref: str) -> ChildChanges:
    """The events importing these rows records in the case: new records, and corrections
    of records a return now restates."""
    existing = held(case)
    known = [episode_of(x) for _, x in existing.values()]
    known_episodes = [e for e in known if e is not None]
    result = ChildChanges(child_ref)
    wanted = rows.wanted(known_episodes)
    for key, payload in wanted:
        if key not in existing:
            result.payloads.append(payload)
            continue
        seq, before = existing[key]
        now = _keeping_later_omission(before, payload, rows.year)
        correction = restatement(seq, before, now, rows)
        if correction is None:
            result.unchanged += 1
        else:
            result.payloads.append(correction)
            result.corrections += 1
    listed = {key for key, _ in wanted}
    for key, (seq, before) in sorted(existing.items(), key=lambda item: item[1][0]):
        if key.startswith("episode:") and key not in listed:
            omission = left_out(seq, before, rows)
            if omission is not None:
                result.payloads.append(omission)
                result.corrections += 1
    return result


def _keeping_later_omission(before: p.Payload, now: p.Payload, year: int) -> p.Payload:
    """An earlier return imported again does not undo what a later return left out."""
    old, new = episode_of(before), episode_of(now)
    if old is None or new is None or old.left_out_by is None or old.left_out_by <= year:
        return now
    kept = new.model_copy(update={"left_out_by": old.left_out_by})
    return now.model_copy(update={"episode": kept})


def left_out(seq: int, before: p.Payload, rows: ChildRows) -> p.CorrectionRecorded | None:
    """A later return that lists the child but not an episode an earlier return gave, though
    the episode was open in the later return's year, has replaced it (the London episode-fix
    rules call this RULE_3A): recorded as a correction marking the episode left out."""
    episode, origin = episode_of(before), return_year(before.source)
    if episode is None or episode.left_out_by is not None or origin is None:
        return None
    if origin >= rows.year or not in_year(episode, rows.year):
        return None
    marked = episode.model_copy(update={"left_out_by": rows.year})
    return p.CorrectionRecorded(
        occurred_on=rows.as_of,
        source=rows.return_source(),
        corrects_seq=seq,
        reason=f"not in the SSDA903 {collection_name(rows.year)} return, which "
        f"lists the child but no longer this episode, though it was open in that year",
        corrected={"episode": marked.model_dump(mode="json")},
    )


def restatement(
    seq: int, before: p.Payload, now: p.Payload, rows: ChildRows
) -> p.CorrectionRecorded | None:
    """A correction of event `seq` to what the return now says, or None if it says the same."""
    fields = (payload_fields(before) & payload_fields(now)) - {"source"}
    if not isinstance(before, type(now)):
        # The row now means another kind of event (RNE S restated as P): the event stays what
        # it was recorded as, and its episode says what the return now gives.
        fields &= {"episode"}
    if isinstance(now, p.ChildDetailsRecorded):
        fields -= {"occurred_on"}  # the day each return speaks for, not a fact about the child
    changed = {f for f in fields if getattr(before, f) != getattr(now, f)}
    if not changed:
        return None
    values = now.model_dump(mode="json", include=changed)
    return p.CorrectionRecorded(
        occurred_on=rows.as_of,
        source=now.source,
        corrects_seq=seq,
        reason=f"restated by the SSDA903 {collection_name(rows.year)} return: "
        + "; ".join(_what_changed(before, now, sorted(changed))),
        corrected=values,
    )


def _what_changed(before: p.Payload, now: p.Payload, changed: list[str]) -> Iterator[str]:
    for name in changed:
        old, new = getattr(before, name), getattr(now, name)
        if isinstance(old, Episode) and isinstance(new, Episode):
            for f, column in EPISODE_COLUMNS.items():
                yield from _change(column, getattr(old, f), getattr(new, f))
        elif isinstance(old, ChildDetails) and isinstance(new, ChildDetails):
            for f in ChildDetails.model_fields:
                yield from _change(f.upper(), getattr(old, f), getattr(new, f))
        else:
            yield f"{name} {_shown(new)} (was {_shown(old)})"


# Where a child lives and is placed, and the numbers that find them, are not repeated in a
# reason that court chronologies and reports print: only that they changed.
UNSAID = frozenset({"HOME_POST", "PL_POST", "URN", "UPN"})


def _change(column: str, old: Any, new: Any) -> Iterator[str]:
    if old == new:
        return
    if column in UNSAID:
        yield f"{column} changed"
    else:
        yield f"{column} {_shown(new)} (was {_shown(old)})"


def _shown(value: Any) -> str:
    return "blank" if value is None else str(value)
