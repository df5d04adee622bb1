"""Entries to and exits from care that a later statutory return has taken back.

A later SSDA903 return may no longer list an episode (it replaced it) or may give an episode
that ended care as one that goes on (E11 restated as X1). The events read from the earlier
return stay in the ledger, corrected where a correction can say it; what an event's kind
cannot unsay (that the child ceased to be looked after, or came into care, that day) the
projections stop applying, as they apply any correction: from what is now known. The
inconsistency projection lists each one for the council to see.
"""

from __future__ import annotations

from collections.abc import Iterable

from careledger.ledger.domain import payloads as p
from careledger.ledger.ssda903.records import Episode


def withdrawn(payloads: Iterable[tuple[int, p.Payload]]) -> set[int]:
    """The sequence numbers of the entries to and exits from care a later return took back,
    among a case's corrected payloads."""
    listed = list(payloads)
    episodes: dict[str, Episode] = {}
    for _, payload in listed:
        episode = p.episode_of(payload)
        if episode is not None:
            episodes[episode.episode_id] = episode
    taken_back = set()
    for seq, payload in listed:
        episode = p.episode_of(payload)
        if episode is not None and episode.left_out_by is not None:
            taken_back.add(seq)  # a replaced episode's start (or continuation) of care
        elif isinstance(payload, p.ChildCeasedToBeLookedAfter) and payload.episode_id:
            episode = episodes.get(payload.episode_id)
            if episode is not None and not _ends_care_on(episode, payload):
                taken_back.add(seq)
    return taken_back


def _ends_care_on(episode: Episode, ending: p.ChildCeasedToBeLookedAfter) -> bool:
    return episode.left_out_by is None and episode.ends_care and episode.dec == ending.occurred_on
