"""`Access`: the one object the service, the sign-in and the command line ask who someone is
and what they may read or record; every read of a child's record it allows or refuses goes
into the access log."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from careledger.access.access_log import ALLOWED, REFUSED, AccessLog
from careledger.access.accounts import Accounts
from careledger.access.checks import child_name, council_code, one_line
from careledger.access.errors import AccessRefused, ReasonRequired
from careledger.access.log_chain import LogVerdict
from careledger.access.log_heads import LogHead
from careledger.access.policy import VIEWS, Scope, recorded_role, rights
from careledger.access.principal import Principal
from careledger.access.settings import AccessSettings
from careledger.access.shares import Share, Shares
from careledger.access.sharing import may_share
from careledger.access.store import AccessStore
from careledger.access.tokens import Issued, Tokens
from careledger.ledger.application import CareLedger
from careledger.ledger.errors import LedgerError

REPORTS = ("drift", "unapproved", "challenges")


class Access:
    def __init__(self, ledger: CareLedger, settings: AccessSettings | None = None) -> None:
        self.store = AccessStore(ledger)
        self.settings = settings or AccessSettings()
        self.accounts = Accounts(self.store, self.settings)
        self.tokens = Tokens(self.store)
        self.shares = Shares(self.store)
        store = ledger.store
        self.access_log = AccessLog(self.store, store.head_key_file, store.head_log)

    def create_tables(self) -> None:
        self.store.create_tables()

    # --- who someone is -------------------------------------------------------------------

    def sign_in(self, name: str, password: str) -> Principal:
        return self.accounts.sign_in(name, password)

    def person(self, name: str) -> Principal:
        return self.accounts.person(name)

    def token(self, presented: str) -> Principal:
        return self.tokens.principal(presented)

    def issue_token(self, system: str, council: str, lasts: timedelta | None = None) -> Issued:
        return self.tokens.issue(system, council, lasts or timedelta(days=self.settings.token_days))

    # --- recording ------------------------------------------------------------------------

    def check_record(self, who: Principal, council: str) -> None:
        """`who` may record events of `council`'s children."""
        if not _in_scope(rights(who.role).records, who, council_code(council, "council")):
            raise AccessRefused(f"council: {who.name} ({who.role}) may not record for {council}")

    def recorded_by(
        self, who: Principal, actor: str | None = None, role: str | None = None
    ) -> tuple[str, str]:
        """The actor id and ledger role `who`'s events are recorded with (a system's: its
        name, as ADMIN). A request naming another actor or role is refused: who recorded
        comes from sign-in, never from what a request says."""
        as_role = recorded_role(who.role)
        if as_role is None:
            raise AccessRefused(f"role: {who.role} records nothing")
        if actor is not None and actor != who.name:
            raise AccessRefused(f"recorded_by.actor_id: '{actor}' is not who signed in")
        if role is not None and role != as_role:
            raise AccessRefused(f"recorded_by.role: '{role}' is not the role signed in with")
        return who.name, as_role

    # --- reading --------------------------------------------------------------------------

    def check_child(self, who: Principal, child: str, view: str, reason: str | None = None) -> None:
        """`who` may read `view` of `child` (COUNCIL:REF); the read, allowed or refused, is
        logged. A refusal says nothing of whether the child exists."""
        if view not in VIEWS:
            raise LedgerError(f"view: '{view}' is not one of {', '.join(VIEWS)}")
        child_name(child)
        stated = one_line(reason, "reason") if reason is not None and reason.strip() else None
        rule = rights(who.role)
        scope = rule.chronology if view == "chronology" else rule.child_record
        council = child.partition(":")[0]
        allowed = self._allows(scope, who, child, council)
        if allowed and scope is Scope.WITH_REASON and stated is None:
            self.access_log.append(who.name, who.role, child, view, REFUSED)
            raise ReasonRequired()
        self.access_log.append(
            who.name, who.role, child, view, ALLOWED if allowed else REFUSED, stated
        )
        if not allowed:
            raise AccessRefused()

    def shared(self, who: Principal, child: str) -> list[Share]:
        """The shares in force of `child` with a court clerk's court: the chronology shown
        to them is cut to these date ranges."""
        return self.shares.current(child, who.court) if who.role == "COURT_CLERK" else []

    def revoke_share(self, who: Principal, share_id: str) -> dict[str, Any]:
        """Ends a court's share of a child's chronology now, recorded as revoked by `who`
        (appended: the share and its revocation both stay). Those who may share the child's
        chronology may end its shares (`access.sharing`; the command line, as ADMIN, any);
        to anyone else the share is not found, as a child refused is not."""
        share = self.shares.get(share_id)
        council = str(share["child"]).partition(":")[0]
        if not (rights(who.role).chronology is Scope.EVERY_COUNCIL or may_share(who, council)):
            raise AccessRefused()
        return self.shares.revoke(share_id, who.name)

    def check_report(self, who: Principal, report: str, council: str | None) -> frozenset[str]:
        """The councils whose aggregates `who` may see in `report` (all of theirs, or the one
        named)."""
        if report not in REPORTS:
            raise LedgerError(f"report: '{report}' is not one of {', '.join(REPORTS)}")
        scope = rights(who.role).reports
        named = council_code(council, "council") if council is not None else None
        if scope is Scope.EVERY_COUNCIL:
            return frozenset({named}) if named else self._every_council()
        if scope in (Scope.THEIR_COUNCIL, Scope.INSPECTED):
            if named is None:
                return who.councils
            if named in who.councils:
                return frozenset({named})
        raise AccessRefused()

    def log(
        self,
        child: str | None = None,
        actor: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        *,
        who: Principal,
        break_glass: bool = False,
    ) -> list[dict[str, Any]]:
        """The access log's entries that `who` may see (a DPO: their councils' children; an
        IRO manager: the break-glass reads of theirs, with the reasons given), filtered;
        with `break_glass`, only reads made with a reason."""
        scope = rights(who.role).access_log
        if scope is Scope.NONE:
            raise AccessRefused()
        councils = None if scope is Scope.EVERY_COUNCIL else who.councils
        reasons_only = break_glass or scope is Scope.BREAK_GLASS
        return self.access_log.entries(child, actor, since, until, councils, reasons_only)

    def verify_log(
        self, trusted: Iterable[bytes] = (), outside: LogHead | None = None
    ) -> LogVerdict:
        return self.access_log.verify(trusted, outside)

    # --- the policy's scopes --------------------------------------------------------------

    def _allows(self, scope: Scope, who: Principal, child: str, council: str) -> bool:
        if scope is Scope.ALLOCATED:
            return council in who.councils and self._allocated(who.name, child)
        if scope is Scope.SHARED:
            return bool(self.shared(who, child))
        return _in_scope(scope, who, council)

    def _allocated(self, iro: str, child: str) -> bool:
        """Was `iro` ever the child's IRO (an IROAllocated naming them)? Read from the
        projections, which hold every allocation: an allocation counts once the projector
        has caught up with it."""
        council, _, ref = child.partition(":")
        rows = self.store.fetch(
            "SELECT 1 FROM {s}cl_allocations a JOIN {s}cl_cases c ON c.case_id = a.case_id "
            "WHERE c.council = ? AND c.child_ref = ? AND a.kind = 'iro' AND a.person_id = ? "
            "LIMIT 1",
            [council, ref, iro],
        )
        return bool(rows)

    def _every_council(self) -> frozenset[str]:
        rows = self.store.fetch("SELECT DISTINCT council FROM {s}cl_cases")
        return frozenset(str(row["council"]) for row in rows)


def _in_scope(scope: Scope, who: Principal, council: str) -> bool:
    if scope is Scope.EVERY_COUNCIL:
        return True
    return scope in (Scope.THEIR_COUNCIL, Scope.WITH_REASON) and council in who.councils
