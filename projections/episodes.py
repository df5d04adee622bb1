"""The SSDA903 episodes a council's own records make.

A child recorded with `careledger record` has no return behind them: their episodes of care
come from the ledger's own events, read as the SSDA903 guidance defines an episode (a period
in one placement under one legal status; a new one starts whenever either changes):

- `ChildBecameLookedAfter` starts a new period of care: RNE S, its LS and PLACE;
- `LegalStatusChanged` starts an episode RNE L, the placement unchanged;
- `PlacementChanged` starts an episode RNE P (new carers) or T (the same carers), or, when it
  carries a new legal status, B or U; its `reason` is the previous episode's
  REASON_PLACE_CHANGE (the guidance gives the reason on the episode that ended);
- each of these ends the episode before it on its DECOM with REC X1 (care continues);
- `ChildCeasedToBeLookedAfter` ends the open episode: DEC its date, REC its reason.

Events read from a return carry their own episode and are not read again here; an imported
episode left open that a direct record follows is ended by it, as above. CIN, PLACE_PROVIDER,
HOME_POST, PL_POST and URN are not in the ledger's own events: they are carried on from an
imported episode the derived one continues (the same placement), else left blank.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date

from careledger.ledger.domain import payloads as p
from careledger.ledger.ssda903.records import CONTINUES, Episode, NewEpisodeReason, from_a_return

STARTS = p.ChildBecameLookedAfter | p.LegalStatusChanged | p.PlacementChanged
# Carried on from the episode before when the placement stays the same.
PLACEMENT_FIELDS = ("cin", "place_provider", "home_post", "pl_post", "urn")


def is_own_record(payload: p.Payload) -> bool:
    """An event the council recorded itself, not one read from a return."""
    if from_a_return(payload.source):
        return False
    if isinstance(payload, p.ChildCeasedToBeLookedAfter):
        return payload.episode_id is None
    return p.episode_of(payload) is None


def new_episode_reason(payload: p.Payload) -> NewEpisodeReason:
    """RNE of the episode an event starts."""
    if isinstance(payload, p.ChildBecameLookedAfter):
        return NewEpisodeReason.S
    if isinstance(payload, p.LegalStatusChanged):
        return NewEpisodeReason.L
    assert isinstance(payload, p.PlacementChanged)
    if payload.legal_status is not None:
        return NewEpisodeReason.U if payload.same_carers else NewEpisodeReason.B
    return NewEpisodeReason.T if payload.same_carers else NewEpisodeReason.P


@dataclass
class EpisodeChain:
    """One child's episodes in date order: the imported ones as the returns gave them, and
    those the council's own records start. `ended` holds an imported episode as a later
    direct record ended it; `own` the derived episodes (the last may be open)."""

    ids: set[str] = field(default_factory=set)
    own: list[Episode] = field(default_factory=list)
    ended: dict[str, Episode] = field(default_factory=dict)
    current: Episode | None = None

    def follow(self, payloads: Iterable[p.Payload]) -> None:
        """Read a case's corrected payloads, in the order they happened."""
        for payload in payloads:
            episode = p.episode_of(payload)
            if episode is not None:
                self.ids.add(episode.episode_id)
                self.current = episode
            elif isinstance(payload, STARTS) and is_own_record(payload):
                self._start(payload)
            elif isinstance(payload, p.ChildCeasedToBeLookedAfter) and is_own_record(payload):
                self._end(payload.occurred_on, payload.reason, None)

    def _start(self, payload: p.ChildBecameLookedAfter | p.LegalStatusChanged
               | p.PlacementChanged) -> None:  # fmt: skip
        before = self.current if self.current is not None and self.current.dec is None else None
        if before is not None:
            reason = payload.reason if isinstance(payload, p.PlacementChanged) else None
            self._end(payload.occurred_on, CONTINUES, reason)
        rne = new_episode_reason(payload)
        kept = {}
        if before is not None and isinstance(payload, p.LegalStatusChanged):
            kept = {name: getattr(before, name) for name in PLACEMENT_FIELDS}
        legal_status = payload.legal_status or (before.legal_status if before else None)
        if legal_status is None:  # a move recorded while not looked after: no episode
            return
        placement = (
            before.placement if isinstance(payload, p.LegalStatusChanged) and before
            else getattr(payload, "placement", None)
        )  # fmt: skip
        self.current = Episode(
            episode_id=self._new_id(payload.occurred_on),
            decom=payload.occurred_on,
            rne=rne,
            legal_status=legal_status,
            placement=placement,
            **kept,
        )
        self.own.append(self.current)

    def _end(self, on: date, rec: str, reason: str | None) -> None:
        open_ = self.current
        if open_ is None or open_.dec is not None:
            return
        reason = reason if reason is not None else open_.reason_place_change
        closed = open_.model_copy(update={"dec": on, "rec": rec, "reason_place_change": reason})
        if self.own and self.own[-1] is open_:
            self.own[-1] = closed
        else:
            self.ended[open_.episode_id] = closed
        self.current = closed

    def _new_id(self, on: date) -> str:
        """An id as an import gives one (the start date; '#n' for the n-th that day)."""
        key, n = on.isoformat(), 1
        while (key if n == 1 else f"{key}#{n}") in self.ids:
            n += 1
        episode_id = key if n == 1 else f"{key}#{n}"
        self.ids.add(episode_id)
        return episode_id
