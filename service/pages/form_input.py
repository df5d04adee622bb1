"""A page form's fields as text, read once for the whole form: a form of many fields (three
dates of three parts each) reads more plainly from one mapping than from a parameter each.

A field longer than `FIELD_LIMIT` is refused before anything is checked or recorded: no
field of these forms is that long, and a page never records a text cut short."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from starlette.datastructures import UploadFile

from careledger.service.problems import Problem

FIELD_LIMIT = 5000
MAX_FIELDS = 50


async def _text_fields(request: Request) -> dict[str, str]:
    form = await request.form(max_files=0, max_fields=MAX_FIELDS)
    fields: dict[str, str] = {}
    for name, value in form.items():
        if isinstance(value, UploadFile):
            continue
        if len(value) > FIELD_LIMIT:
            raise Problem(400, "Bad Request", f"{name}: longer than {FIELD_LIMIT} characters", name)
        fields[name] = value.strip()
    return fields


TextForm = Annotated[dict[str, str], Depends(_text_fields)]


def date_parts(fields: dict[str, str], name: str) -> dict[str, str]:
    """The parts of the GOV.UK date input NAME (NAME-day, NAME-month, NAME-year) as typed."""
    return {part: fields.get(f"{name}-{part}", "") for part in ("day", "month", "year")}
