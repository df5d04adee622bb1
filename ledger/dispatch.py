"""Method dispatch on the type of a payload.

`functools.singledispatchmethod` in Python 3.11 rebuilds a wrapper on every attribute access,
which showed as a tenth of bulk recording time; this keeps its registry and skips that."""

from __future__ import annotations

from collections.abc import Callable
from functools import singledispatchmethod
from typing import Any


class on_payload(singledispatchmethod):  # type: ignore[type-arg]
    def __get__(self, obj: Any, cls: type[Any] | None = None) -> Callable[..., Any]:
        dispatch = self.dispatcher.dispatch

        def method(payload: Any, *args: Any, **kwargs: Any) -> Any:
            return dispatch(type(payload)).__get__(obj, cls)(payload, *args, **kwargs)

        return method
