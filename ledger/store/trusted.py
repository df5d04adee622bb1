"""Stored events built into their models without being validated again.

Every event was validated when it was recorded, and the integrity chain proves its stored
bytes unchanged since (`careledger verify` reads those bytes, not these models): reading it
back need not pay for pydantic's validation a second time. What validation did besides
checking, this does too, field by field from each model's annotations: a date becomes a
`date`, a timestamp a `datetime` (parsed by pydantic itself, so with pydantic's UTC), a code
its enum member, a nested object its model, a review decision the model its `kind` names.

Each model gets a builder of its own, written once as Python source from its fields and
compiled (`_Writer`): a loop over the fields, as pydantic's `model_construct` runs, cost
as much as the validation it saves. A builder takes the state as the ledger writes it
(pydantic's JSON of the validated event): every field present under the name it is stored
by, nothing else, a string, number or flag as it was written. Anything else (a field
missing, an unknown key, a date, code or nested object it cannot read, a field of a kind
this module does not know) is left to pydantic: the event is validated as before, so such
a stored form is reported by pydantic, never built wrong.
"""

from __future__ import annotations

import types
from collections.abc import Callable
from datetime import date, datetime
from enum import Enum
from functools import cache
from typing import Annotated, Any, Literal, TypeVar, Union, get_args, get_origin
from uuid import UUID

from pydantic import BaseModel
from pydantic_core import SchemaValidator, core_schema

from careledger.ledger.domain.fields import STORED

Model = TypeVar("Model", bound=BaseModel)
Builder = Callable[[dict[str, Any]], Any]

# pydantic's own parsing of a timestamp, so the datetime is the one validation gives
# (its tzinfo is pydantic's `TzInfo`, not `datetime.timezone`).
_DATETIME = SchemaValidator(core_schema.datetime_schema())


_SLOTS = ("__dict__", "__pydantic_fields_set__", "__pydantic_extra__", "__pydantic_private__")


class NotTrusted(Exception):
    """The stored state is not in the form a builder takes: validate it instead."""


class NotBuilt(TypeError):
    """A model with a field of a kind this module does not build: always validated."""


_FALLBACK = (NotTrusted, KeyError, TypeError, ValueError, AttributeError)


def build(cls: type[Model], state: dict[str, Any]) -> Model:
    """`cls` built from a stored event's state (JSON values, already upcast, with its
    envelope's `originator_id` and `originator_version`): without validation where its
    builder takes the state, else validated by pydantic with the `STORED` context."""
    return built(cls, state)[0]


def built(cls: type[Model], state: dict[str, Any]) -> tuple[Model, bool]:
    """`build`, and whether the builder took the state as it is (False: it was validated,
    which may have converted some value from a form it was once stored in)."""
    builder = _builder_or_none(cls)
    if builder is not None:
        try:
            return builder(state), True
        except _FALLBACK:
            pass
    return cls.model_validate(state, context=STORED), False


@cache
def builder_for(cls: type[BaseModel]) -> Builder:
    """The compiled builder of `cls` (NotBuilt when some field's kind is not built here)."""
    return _Writer().builder(cls)


@cache
def _builder_or_none(cls: type[BaseModel]) -> Builder | None:
    """The builder of `cls`, or None for a model that is always validated (asked once)."""
    try:
        return builder_for(cls)
    except NotBuilt:
        return None


def maker(cls: type[Model], given: tuple[str, ...]) -> Callable[..., Model]:
    """A function of the `given` fields' values (positional, in this order) that builds `cls`
    holding them, and every other field's default, as validation of those keyword arguments
    would build it, without validating them again: for values validation has already taken,
    unchanged, as these very fields of this very model (an SSDA903 row's events, built and
    validated when the row was checked, `ssda903.mapping.checked`, and built again to be
    recorded). A model with model validators, or a default that is neither a constant nor
    a factory, is refused (NotBuilt)."""
    if cls.__pydantic_decorators__.model_validators or cls.__private_attributes__:
        raise NotBuilt(f"{cls.__name__}: model validators or private attributes")
    if cls.model_config.get("extra") == "allow" or not set(given) <= set(cls.model_fields):
        raise NotBuilt(f"{cls.__name__}: {given!r} are not all its fields")
    writer = _Writer()
    entries = []
    for name, info in cls.model_fields.items():
        if name in given:
            value = f"_a{given.index(name)}"
        elif info.default_factory is not None:
            value = f"{writer.name(info.default_factory)}()"
        elif info.default is None or isinstance(info.default, bool | int | float | str | Enum):
            value = writer.name(info.default)
        else:
            raise NotBuilt(f"{cls.__name__}.{name}: a required field or a mutable default")
        entries.append(f"{name!r}: {value}")
    arguments = ", ".join(f"_a{at}" for at in range(len(given)))
    values = f"{{{', '.join(entries)}}}"
    source = f"def make({arguments}):\n" + _model_made(
        writer.name(cls), values, writer.name(frozenset(given))
    )
    # Written from the model's own field names, never from data (as `_Writer.builder`).
    made: Callable[..., Model] = _compiled(
        source, f"<maker of {cls.__qualname__}>", writer.names, "make"
    )
    return made


def _model_made(model: str, values: str, fields: str) -> str:
    """The lines of a compiled builder that make the model from a dict display of its
    values, as pydantic's own construction leaves it."""
    return (
        f"    model = _new({model})\n"
        f"    __dict__(model, {values})\n"
        f"    __pydantic_fields_set__(model, set({fields}))\n"
        "    __pydantic_extra__(model, None)\n"
        "    __pydantic_private__(model, None)\n"
        "    return model\n"
    )


def _compiled(source: str, label: str, names: dict[str, Any], function: str) -> Any:
    namespace = dict(names)
    exec(compile(source, label, "exec"), namespace)
    return namespace[function]


class _Writer:
    """Writes the source of a model's builder: one dict display of every field's value."""

    def __init__(self) -> None:
        self.names: dict[str, Any] = {"_new": object.__new__, "NotTrusted": NotTrusted}
        # The slots every pydantic model has, set through their descriptors: half the
        # time `object.__setattr__` takes to find them by name.
        for slot in _SLOTS:
            self.names[slot] = BaseModel.__dict__[slot].__set__

    def builder(self, cls: type[BaseModel]) -> Builder:
        if cls.model_config.get("extra") == "allow" or cls.__private_attributes__:
            raise NotBuilt(f"{cls.__name__}: extra or private attributes are not built here")
        entries = []
        for name, info in cls.model_fields.items():
            key = name
            if info.validation_alias is not None:
                # The name the field is stored under: `model_dump(by_alias=True)` wrote it.
                key = info.serialization_alias or info.alias or name
            value = self.expression(info.annotation, f"state[{key!r}]", 0)
            entries.append(f"{name!r}: {value}")
        fields = self.name(frozenset(cls.model_fields))
        model = self.name(cls)
        source = (
            "def build(state):\n"
            f"    if len(state) != {len(cls.model_fields)}:\n"
            f"        raise NotTrusted({cls.__name__!r})\n"
            f"    values = {{{', '.join(entries)}}}\n"
        ) + _model_made(model, "values", fields)
        # The source is written from the model's own field names and types, never from
        # stored data: stored values are only ever read by the compiled code.
        builder: Builder = _compiled(
            source, f"<builder of {cls.__qualname__}>", self.names, "build"
        )
        return builder

    def name(self, value: Any) -> str:
        """A name the builder's source can use for `value`."""
        name = f"_{len(self.names)}"
        self.names[name] = value
        return name

    def expression(self, annotation: Any, source: str, depth: int) -> str:
        """Python that builds a value of type `annotation` from the JSON value `source`, as
        validation would."""
        if annotation in (str, int, bool, float, Any, type(None)):
            return source
        origin = get_origin(annotation)
        if origin is Annotated:
            return self.annotated(annotation, source, depth)
        if origin is Literal:
            return source
        if origin in (Union, types.UnionType):
            return self.optional(get_args(annotation), source, depth)
        if origin is list:
            [item] = get_args(annotation)
            each = f"_v{depth}"
            built = self.expression(item, each, depth + 1)
            return source if built == each else f"[{built} for {each} in {source}]"
        if origin is dict:
            key_type, value_type = get_args(annotation)
            k, v = f"_k{depth}", f"_v{depth}"
            key = self.expression(key_type, k, depth + 1)
            value = self.expression(value_type, v, depth + 1)
            if key == k and value == v:
                return source
            return f"{{{key}: {value} for {k}, {v} in {source}.items()}}"
        if isinstance(annotation, type):
            return self.leaf(annotation, source)
        raise NotBuilt(f"a field of type {annotation!r} is not built here")

    def annotated(self, annotation: Any, source: str, depth: int) -> str:
        inner, *metadata = get_args(annotation)
        for item in metadata:
            discriminator = getattr(item, "discriminator", None)
            if discriminator is not None:
                return self.tagged(get_args(inner), discriminator, source)
        return self.expression(inner, source, depth)

    def tagged(self, members: tuple[Any, ...], discriminator: Any, source: str) -> str:
        """A union of models told apart by the value of their `discriminator` field."""
        if not isinstance(discriminator, str):
            raise NotBuilt(f"a callable discriminator is not built here: {members!r}")
        by_tag = {}
        for member in members:
            for tag in get_args(member.model_fields[discriminator].annotation):
                by_tag[tag] = builder_for(member)
        return f"{self.name(by_tag)}[{source}[{discriminator!r}]]({source})"

    def optional(self, members: tuple[Any, ...], source: str, depth: int) -> str:
        others = [member for member in members if member is not type(None)]
        if len(others) != 1 or len(members) != 2:
            raise NotBuilt(f"a union without a discriminator is not built here: {members!r}")
        value = f"_o{depth}"
        built = self.expression(others[0], value, depth + 1)
        if built == value:
            return source
        return f"(None if ({value} := {source}) is None else {built})"

    def leaf(self, cls: type, source: str) -> str:
        if issubclass(cls, BaseModel):
            return f"{self.name(builder_for(cls))}({source})"
        if issubclass(cls, Enum):
            return f"{self.name(cls._value2member_map_)}[{source}]"
        if cls is datetime:
            return f"{self.name(_DATETIME.validate_python)}({source})"
        if cls is date:
            return f"{self.name(date.fromisoformat)}({source})"
        if cls is UUID:
            return f"{self.name(_uuid)}({source})"
        raise NotBuilt(f"a field of type {cls!r} is not built here")


def _uuid(value: Any) -> UUID:
    return value if isinstance(value, UUID) else UUID(value)
