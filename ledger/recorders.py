"""The library's application recorders, extended with what the ledger asks of its store.

`existing_cases` answers "which of these cases exist?" in one query, so that a bulk record of
many new children does not look each one up in turn (shared/eventsourcing-facts.md: extend
the recorders rather than write around them). Later issues add the hash chain and the
append-only triggers here.
"""

from __future__ import annotations

from collections.abc import Sequence
from uuid import UUID

from eventsourcing.postgres import PostgresApplicationRecorder
from eventsourcing.sqlite import SQLiteApplicationRecorder
from psycopg.sql import SQL, Identifier


class SQLiteLedgerRecorder(SQLiteApplicationRecorder):
    def existing_cases(self, case_ids: Sequence[UUID]) -> set[UUID]:
        if not case_ids:
            return set()
        marks = ",".join("?" * len(case_ids))
        statement = (
            f"SELECT DISTINCT originator_id FROM {self.events_table_name} "
            f"WHERE originator_id IN ({marks})"
        )
        with self.datastore.transaction(commit=False) as cursor:
            cursor.execute(statement, [case_id.hex for case_id in case_ids])
            return {UUID(row["originator_id"]) for row in cursor.fetchall()}


class PostgresLedgerRecorder(PostgresApplicationRecorder):
    def existing_cases(self, case_ids: Sequence[UUID]) -> set[UUID]:
        if not case_ids:
            return set()
        statement = SQL(
            "SELECT DISTINCT originator_id FROM {schema}.{table} WHERE originator_id = ANY(%s)"
        ).format(schema=Identifier(self.datastore.schema), table=Identifier(self.events_table_name))
        with self.datastore.transaction(commit=False) as cursor:
            cursor.execute(statement, (list(case_ids),))
            return {UUID(str(row["originator_id"])) for row in cursor.fetchall()}
