"""Where events are kept: the library's SQLite and PostgreSQL recorders, extended with the
integrity chain and append-only triggers, and the pydantic mapper."""
