"""The IRO's next steps in an open challenge, from the child's page: escalating it to a later
stage of the council's dispute protocol (IRO Handbook ch.6; stages may be skipped), and
recording a referral to Cafcass (Children Act 1989 s.25B(3); CPPCR 2010 reg 45), which may
be made at any point of a challenge.

Each is recorded as the signed-in IRO with the checks `careledger record` applies
(`ledger.domain.challenges`): a stage already reached, a step dated before the last, a
second referral while Cafcass has not answered the first... each refusal is named in the
GOV.UK error summary and nothing is recorded. As with raising a challenge, a form opened
before the child's record last changed is refused."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Path, Request
from fastapi.responses import RedirectResponse, Response

from careledger.access.principal import Principal
from careledger.api import Opened, setting
from careledger.api import today as england_today
from careledger.ledger.domain.protocol import DisputeProtocol
from careledger.ledger.errors import RecordingRefused
from careledger.service.pages.challenge_form import STALE, case_to_act_in
from careledger.service.pages.dates import DateInput, read_date
from careledger.service.pages.errors import FieldError
from careledger.service.pages.form_input import TextForm, date_parts
from careledger.service.pages.rendering import page
from careledger.service.sessions import csrf_matches, csrf_token, current_principal

router = APIRouter()

Child = Annotated[str, Path(max_length=420)]
ChallengeId = Annotated[str, Path(max_length=100)]


@dataclass(frozen=True)
class Action:
    """One of the IRO's steps: its event, its form, and the fields the form names."""

    name: str  # the path: /child/{child}/challenges/{id}/NAME
    event: str
    template: str
    title: str
    text_field: str  # the IRO's words: the reason, or the grounds
    missing_text: str
    date_name: str
    date_label: str
    person_field: str  # who took the step, in the event


ESCALATE = Action(
    "escalate", "ChallengeEscalated", "escalate_form.html.j2", "Escalate a challenge",
    "reason", "Enter why the last stage did not resolve it", "escalated",
    "The date escalated", "escalated_by",
)  # fmt: skip
CAFCASS = Action(
    "cafcass", "CafcassReferralMade", "cafcass_form.html.j2", "Refer to Cafcass",
    "grounds", "Enter the grounds of the referral", "referred", "The date referred",
    "referred_by",
)  # fmt: skip
ACTIONS = {action.name: action for action in (ESCALATE, CAFCASS)}


@dataclass(frozen=True)
class ChallengeInCase:
    """The signed-in IRO, the child (COUNCIL:REF), the challenge as it stands, the events the
    case held when read, and the council's protocol."""

    who: Principal
    ledger: Opened
    child: str
    challenge: dict[str, Any]
    seen: int
    protocol: DisputeProtocol


@router.get("/child/{child}/challenges/{challenge_id}/{action}")
def action_form(request: Request, child: Child, challenge_id: ChallengeId, action: str) -> Response:
    opened = _challenge_to_act_on(request, child, challenge_id, action)
    if isinstance(opened, Response):
        return opened
    step = ACTIONS[action]
    on = read_date(step.date_name, step.date_label, _parts(england_today()))
    return _form(request, step, opened, {}, on, [])


@router.post("/child/{child}/challenges/{challenge_id}/{action}")
def action_submitted(
    request: Request, child: Child, challenge_id: ChallengeId, action: str, fields: TextForm
) -> Response:
    opened = _challenge_to_act_on(request, child, challenge_id, action)
    if isinstance(opened, Response):
        return opened
    step = ACTIONS[action]
    on = read_date(step.date_name, step.date_label, date_parts(fields, step.date_name))
    errors = _errors(request, step, opened, fields, on)
    if not errors:
        errors = _record(step, opened, fields, on)
    if errors:
        return _form(request, step, opened, fields, on, errors, status_code=400)
    return RedirectResponse(f"/child/{opened.child}#challenges", status_code=303)


def _challenge_to_act_on(
    request: Request, child: str, challenge_id: str, action: str
) -> ChallengeInCase | Response:
    """The case and the open challenge, once the signed-in IRO may act in the case; the same
    "not found" for an action, a challenge or a child missing, and for a closed challenge."""
    if action not in ACTIONS:  # no such page: nothing of the child is read, or logged
        who = current_principal(request)
        return page(request, "not_found.html.j2", who, status_code=404, title="Page not found")
    opened = case_to_act_in(request, child)
    if isinstance(opened, Response):
        return opened
    who, state, name, seen = opened
    challenge = next(
        (row for row in state.ledger.challenges(england_today(), name)
         if row["challenge"] == challenge_id and row["open"]),
        None,
    )  # fmt: skip
    if challenge is None:
        return page(request, "not_found.html.j2", who, status_code=404, title="Page not found")
    protocol = setting("challenge", state.ledger.settings)
    return ChallengeInCase(who, state.ledger, name, challenge, seen, protocol)


def later_stages(protocol: DisputeProtocol, stage: int) -> list[tuple[int, str]]:
    """The stages a challenge at `stage` may be taken to (any later one: stages may be
    skipped), each with its name and who answers there."""
    return [
        (number, f"{protocol.name(number)}: {protocol.stages[number].responder}")
        for number in range(stage + 1, protocol.last_stage + 1)
    ]


def _errors(
    request: Request, step: Action, opened: ChallengeInCase, fields: dict[str, str], on: DateInput
) -> list[FieldError]:
    if not csrf_matches(request, fields.get("csrf_token")):
        return [FieldError(step.text_field, "The form had expired: open it again")]
    if fields.get("seen") != str(opened.seen):
        return [FieldError(step.text_field, STALE.replace("raise", step.name))]
    errors = []
    if step is ESCALATE:
        stages = later_stages(opened.protocol, opened.challenge["stage"])
        if fields.get("to_stage", "") not in [str(number) for number, _ in stages]:
            errors.append(FieldError("to_stage", "Select the stage to escalate it to"))
    if not fields.get(step.text_field):
        errors.append(FieldError(step.text_field, step.missing_text))
    if on.error:
        errors.append(on.error)
    elif on.value is None:
        errors.append(FieldError(f"{step.date_name}-day", f"Enter {step.date_label.lower()}"))
    return errors


def _record(
    step: Action, opened: ChallengeInCase, fields: dict[str, str], on: DateInput
) -> list[FieldError]:
    assert on.value is not None
    council, _, ref = opened.child.partition(":")
    who = opened.who
    event: dict[str, Any] = {
        "type": step.event,
        "council": council,
        "child": ref,
        "occurred_on": on.value.isoformat(),
        "source": f"careledger page, {step.title.lower()} by {who.name}",
        "challenge_id": opened.challenge["challenge"],
        step.person_field: {"name": who.name, "role": "IRO"},
        step.text_field: fields[step.text_field],
    }
    if step is ESCALATE:
        event["to_stage"] = int(fields["to_stage"])
    actor, role = opened.ledger.access.recorded_by(who)
    try:
        opened.ledger.record([event], actor, role)
    except RecordingRefused as refused:
        return [FieldError(_input_of(step, refused.field), refused.problem)]
    return []


def _input_of(step: Action, field: str) -> str:
    """The form's input a refusal names: the date for a date, the stage for a stage, and
    otherwise the IRO's own words (a refusal of the challenge itself is shown there too)."""
    if field == "occurred_on":
        return f"{step.date_name}-day"
    if field == "to_stage" and step is ESCALATE:
        return "to_stage"
    return step.text_field


def _parts(day: date) -> dict[str, str]:
    return {"day": str(day.day), "month": str(day.month), "year": str(day.year)}


def _form(
    request: Request,
    step: Action,
    opened: ChallengeInCase,
    typed: dict[str, str],
    on: DateInput,
    errors: list[FieldError],
    status_code: int = 200,
) -> Response:
    return page(
        request,
        step.template,
        opened.who,
        status_code=status_code,
        title=f"{step.title}: {opened.child}",
        child=opened.child,
        challenge=opened.challenge,
        stages=later_stages(opened.protocol, opened.challenge["stage"]),
        seen=opened.seen,
        on=on,
        typed=typed,
        errors=errors,
        csrf_token=csrf_token(request),
    )
