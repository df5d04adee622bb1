"""careledger as a council's service: the HTTP API over `careledger.api`, with identity from
sign-in (never from the request), role-scoped and audited reads (`careledger.access`), and
the security headers and limits a service holding children's records needs.

`careledger.service.app.create_app(settings)` builds the application; `careledger serve`
runs it on uvicorn.
"""
