"""Sign-in through the council's identity provider by OpenID Connect (authorization code flow
with PKCE), so that who records and who reads comes from the council's own accounts, never
from the request.

`GET /sign-in/oidc` sends the browser to the provider with a fresh state, nonce and PKCE
verifier (S256); `GET /sign-in/oidc/callback` exchanges the code, checks the ID token's
signature against the provider's published keys (discovery, then JWKS) and its issuer,
audience, nonce and expiry, finds the registered careledger person named by its
`preferred_username` (else its email), starts that person's session, and goes on to the page
the person asked for (`?next=`, a page of this service).

The state, nonce and verifier wait for the callback in a signed cookie of their own, scoped
to these two paths, SameSite=Lax (the callback is a navigation from the provider's site,
which a Strict cookie would not survive) and good for ten minutes: no worker holds them, so
any worker may answer the callback. Both routes count toward the sign-in limit per client
address, as the local form does (`service.sign_in.check_attempt`). A failed sign-in says
what the person can do, never why an account was refused: an unknown person and a bad token
read the same.
"""

from __future__ import annotations

import html
import logging
import re
from typing import Annotated, Any
from urllib.parse import urlencode

import httpx2
from authlib.common.errors import AuthlibBaseError
from authlib.integrations.starlette_client import OAuth
from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse
from itsdangerous import BadData, URLSafeTimedSerializer
from joserfc.errors import JoseError
from starlette.concurrency import run_in_threadpool

from careledger.access.emails import Emails
from careledger.access.errors import SignInRefused
from careledger.access.principal import Principal
from careledger.ledger.errors import LedgerError
from careledger.ledger.store.failures import STORE_ERRORS
from careledger.service.problems import Problem, problem_response
from careledger.service.sessions import start_session
from careledger.service.settings import ServiceSettings
from careledger.service.sign_in import check_attempt
from careledger.service.state import state_of

START = "/sign-in/oidc"
CALLBACK = "/sign-in/oidc/callback"
SIGNED_OUT = "/sign-in"  # where the provider sends a person back once signed out there
PENDING_COOKIE = "careledger_oidc"
PENDING_SECONDS = 10 * 60
SCOPE = "openid profile email"
NOT_SIGNED_IN = (
    "sign-in through the council's identity provider did not succeed; start again, and ask "
    "the council's careledger administrator if it goes on failing"
)
# Everything that can go wrong between the provider's answer and a verified identity: its
# error responses, a token that fails a check, a provider that does not answer.
PROVIDER_FAILURES = (AuthlibBaseError, JoseError, httpx2.HTTPError, ValueError, KeyError)

log = logging.getLogger("careledger.service.oidc")
ERROR_CODE = re.compile(r"[a-z_]{1,40}")


class SignInFailed(Exception):
    """Why a callback could not sign anyone in, as the person is to be told."""

    def __init__(self, status: int, detail: str, field: str | None = None) -> None:
        super().__init__(detail)
        self.problem = Problem(status, "Sign-in failed", detail, field)


class RelyingParty:
    """careledger as the provider's client, as `settings` register it: the issuer, client id
    and secret, and the public URL the provider sends people back to."""

    def __init__(self, settings: ServiceSettings) -> None:
        secret = settings.oidc_client_secret
        if not (settings.oidc_configured and secret and settings.public_url):
            raise ValueError(
                "oidc_issuer: sign-in through an identity provider needs CARELEDGER_OIDC_ISSUER, "
                "CARELEDGER_OIDC_CLIENT_ID, CARELEDGER_OIDC_CLIENT_SECRET and CARELEDGER_PUBLIC_URL"
            )
        self.issuer = str(settings.oidc_issuer).rstrip("/")
        self.provider: Any = OAuth().register(
            name="council",
            client_id=settings.oidc_client_id,
            client_secret=secret.get_secret_value(),
            server_metadata_url=f"{self.issuer}/.well-known/openid-configuration",
            client_kwargs={"scope": SCOPE, "code_challenge_method": "S256"},
        )
        public_url = settings.public_url.rstrip("/")
        self.redirect_uri = f"{public_url}{CALLBACK}"
        self.post_logout_redirect_uri = f"{public_url}{SIGNED_OUT}"
        self.client_id = settings.oidc_client_id
        self.secure = public_url.startswith("https://")
        self.pending = URLSafeTimedSerializer(
            settings.session_secret.get_secret_value(), salt="careledger.oidc.pending"
        )


def relying_party(request: Request) -> RelyingParty:
    """The application's relying party, made from its settings on first use (authlib then
    keeps the provider's discovery document and keys for the worker's life)."""
    state = request.app.state
    if not hasattr(state, "oidc_relying_party"):
        try:
            state.oidc_relying_party = RelyingParty(state_of(request).settings)
        except ValueError as error:
            log.error("%s", error)  # for the administrator; the person is told only this:
            raise SignInFailed(
                503,
                "sign-in through the council's identity provider is not "
                "set up here; ask the council's careledger administrator",
            ) from None
    party: RelyingParty = state.oidc_relying_party
    return party


router = APIRouter(tags=["sign-in"])
NextPage = Annotated[
    str, Query(max_length=1000, description="the page of this service to go on to, signed in")
]


@router.get(START, summary="Sign in through the council's identity provider")
async def start(request: Request, next: NextPage = "/") -> Response:
    await check_attempt(request)
    try:
        party = relying_party(request)
        authorization = await _authorization(party)
    except SignInFailed as failure:
        return problem_response(failure.problem)
    waiting = {key: authorization[key] for key in ("state", "nonce", "code_verifier")}
    response = RedirectResponse(authorization["url"], status_code=302)
    response.set_cookie(
        PENDING_COOKIE,
        party.pending.dumps(waiting | {"next": _local(next)}),
        max_age=PENDING_SECONDS,
        path=START,
        secure=party.secure,
        httponly=True,
        samesite="lax",
    )
    return response


@router.get(CALLBACK, summary="The identity provider's answer", include_in_schema=False)
async def callback(request: Request) -> Response:
    response: Response
    await check_attempt(request)
    try:
        party = relying_party(request)
    except SignInFailed as failure:
        return problem_response(failure.problem)
    try:
        waiting = _waiting(request, party.pending)
        claims, id_token = await _verified_claims(party, request, waiting)
        principal = await _person(request, claims)
    except SignInFailed as failure:
        response = problem_response(failure.problem)
    else:
        set_cookie = await run_in_threadpool(start_session, request, principal, id_token)
        response = set_cookie(_signed_in(waiting["next"]))
    response.delete_cookie(PENDING_COOKIE, path=START, secure=party.secure, httponly=True)
    return response


async def _authorization(party: RelyingParty) -> dict[str, str]:
    """The provider's authorization URL for a new sign-in, with its state, nonce and PKCE
    verifier (the provider's discovery document is read on the first)."""
    try:
        authorization: dict[str, str] = await party.provider.create_authorization_url(
            party.redirect_uri
        )
    except PROVIDER_FAILURES as error:
        log.warning("identity provider unavailable: %s", type(error).__name__)
        raise SignInFailed(503, NOT_SIGNED_IN) from None
    return authorization


def _signed_in(next_page: str) -> HTMLResponse:
    """A page that goes on to `next_page` by itself. Not a redirect: the browser arrived here
    from the provider's site, and a redirect would carry on that cross-site navigation, on
    which the SameSite=Strict session cookie is not sent; a navigation this page starts is
    this site's own."""
    address = html.escape(next_page, quote=True)
    return HTMLResponse(
        f'<!doctype html><html lang="en"><head><meta charset="utf-8">'
        f'<meta http-equiv="refresh" content="0;url={address}"><title>Signed in</title>'
        f'</head><body><p>Signed in. <a href="{address}">Continue</a></p></body></html>',
        headers={"Cache-Control": "no-store"},
    )


def _local(next_page: str) -> str:
    """Where to go after sign-in: a page of this service only, so the sign-in link cannot be
    made to send a signed-in person to another site."""
    if next_page.startswith("/") and not next_page.startswith(("//", "/\\")):
        return next_page
    return "/"


def _waiting(request: Request, pending: URLSafeTimedSerializer) -> dict[str, str]:
    """The sign-in this browser started here, if the provider's answer belongs to it."""
    error = request.query_params.get("error")
    try:
        waiting: dict[str, str] = pending.loads(
            request.cookies.get(PENDING_COOKIE, ""), max_age=PENDING_SECONDS
        )
    except BadData:
        raise SignInFailed(
            400, "this sign-in was not started here, or took too long; start again", "state"
        ) from None
    if request.query_params.get("state") != waiting["state"]:
        raise SignInFailed(400, "this answer is for another sign-in; start again", "state")
    if error:
        log.info("identity provider refused sign-in: %s", _error_code(error))
        raise SignInFailed(401, "the council's identity provider did not sign you in", "error")
    if not request.query_params.get("code"):
        raise SignInFailed(400, "the identity provider's answer has no code", "code")
    return waiting


def _error_code(error: str) -> str:
    """The provider's error code as the log may show it: an OAuth 2.0 code (RFC 6749 4.1.2.1:
    letters and underscores), else "(not an error code)". The query string is the browser's
    to write: logged as typed, a newline in it would forge lines of the server log."""
    return error if ERROR_CODE.fullmatch(error) else "(not an error code)"


async def _verified_claims(
    party: RelyingParty, request: Request, waiting: dict[str, str]
) -> tuple[dict[str, Any], str]:
    """The ID token's claims, once the code is exchanged (with the PKCE verifier) and the
    token is checked (`verified_id_token`), and the token itself."""
    answered_by = request.query_params.get("iss")
    if answered_by is not None and answered_by.rstrip("/") != party.issuer:
        log.warning("authorization response from another issuer")  # RFC 9207: a mix-up
        raise SignInFailed(401, NOT_SIGNED_IN)
    try:
        token = await party.provider.fetch_access_token(
            redirect_uri=party.redirect_uri,
            code=request.query_params["code"],
            code_verifier=waiting["code_verifier"],
        )
        return await verified_id_token(party, token, waiting["nonce"]), str(token["id_token"])
    except PROVIDER_FAILURES as error:
        log.warning("ID token refused: %s", type(error).__name__)
        raise SignInFailed(401, NOT_SIGNED_IN) from None


async def verified_id_token(
    party: RelyingParty, token: dict[str, Any], nonce: str
) -> dict[str, Any]:
    """The claims of the token response's ID token, if it is signed by one of the keys the
    provider publishes (its JWKS, found by discovery), was issued by the configured issuer
    for this client, carries the nonce this sign-in sent, and has not expired; otherwise
    one of `PROVIDER_FAILURES`."""
    if "id_token" not in token:
        raise ValueError("the token response has no ID token")
    issuer = party.issuer
    claims = await party.provider.parse_id_token(
        token,
        nonce=nonce,
        claims_options={"iss": {"essential": True, "values": [issuer, f"{issuer}/"]}},
    )
    return dict(claims)


async def _person(request: Request, claims: dict[str, Any]) -> Principal:
    """The registered careledger person the provider vouches for: by `preferred_username`,
    else by an email the provider has not said is unverified."""
    name = claims.get("preferred_username")
    if not name and claims.get("email_verified") is not False:
        name = claims.get("email")
    if not isinstance(name, str) or not name:
        log.warning("ID token names no user")
        raise SignInFailed(401, NOT_SIGNED_IN)
    try:
        principal: Principal = await run_in_threadpool(state_of(request).ledger.access.person, name)
    except SignInRefused:
        log.info("sign-in by the identity provider refused: not a registered person")
        raise SignInFailed(401, NOT_SIGNED_IN) from None
    await run_in_threadpool(_keep_email, request, principal.name, claims)
    return principal


def _keep_email(request: Request, name: str, claims: dict[str, Any]) -> None:
    """The provider's verified `email` claim is where the person's notices go (an IRO's
    inbox notices, `careledger notify`); an address that is not one is left out, never
    refusing the sign-in."""
    email = claims.get("email")
    if not isinstance(email, str) or claims.get("email_verified") is False:
        return
    try:
        Emails(state_of(request).ledger.access.store).set(name, email)
    except LedgerError:
        log.info("the identity provider's email claim is not an address: not kept")
    except STORE_ERRORS as error:  # a ledger from before the table: `careledger init` adds it
        log.warning("the email claim was not kept: %s", type(error).__name__)


async def provider_sign_out(request: Request, id_token: str) -> str | None:
    """Where to send a person who has signed out here and had signed in at the council's
    identity provider, to sign out there too (OpenID Connect RP-Initiated Logout 1.0): the
    provider's `end_session_endpoint`, from its discovery document, with the session's ID
    token as `id_token_hint` and this service's sign-in page as `post_logout_redirect_uri`.
    None when the provider advertises no such endpoint, or does not answer: the session here
    has ended all the same."""
    try:
        party = relying_party(request)
        metadata: dict[str, Any] = await party.provider.load_server_metadata()
    except (SignInFailed, *PROVIDER_FAILURES) as error:
        log.warning("identity provider unavailable for sign-out: %s", type(error).__name__)
        return None
    endpoint = metadata.get("end_session_endpoint")
    if not isinstance(endpoint, str) or not endpoint.startswith(("https://", "http://")):
        return None
    query = urlencode({
        "id_token_hint": id_token,
        "post_logout_redirect_uri": party.post_logout_redirect_uri,
        "client_id": party.client_id,
    })  # fmt: skip
    return f"{endpoint}{'&' if '?' in endpoint else '?'}{query}"


def signing_out_at_provider(address: str) -> HTMLResponse:
    """A page that goes on to the provider's sign-out by itself. Not a redirect: the
    sign-out form's page allows forms to go to this service only (CSP form-action 'self'),
    which a browser applies to a redirect that follows the form too."""
    shown = html.escape(address, quote=True)
    return HTMLResponse(
        f'<!doctype html><html lang="en"><head><meta charset="utf-8">'
        f'<meta http-equiv="refresh" content="0;url={shown}"><title>Signed out</title>'
        f"</head><body><p>Signed out of careledger. "
        f'<a href="{shown}">Sign out of your council account too</a></p></body></html>',
        headers={"Cache-Control": "no-store"},
    )
