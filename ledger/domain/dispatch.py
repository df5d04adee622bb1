"""Method dispatch on the type of a payload.

`functools.singledispatchmethod` in Python 3.11 rebuilds a wrapper on every attribute access
and binds the chosen function on every call; recording calls three of these per event, so
this keeps its registry and looks each payload class up in a plain dict instead."""

from __future__ import annotations

from collections.abc import Callable
from functools import singledispatchmethod
from typing import Any


class on_payload(singledispatchmethod):  # type: ignore[type-arg]
    def __init__(self, func: Callable[..., Any]) -> None:
        super().__init__(func)
        self._chosen: dict[type[Any], Callable[..., Any]] = {}
        self._dispatch = self.dispatcher.dispatch

    def register(self, cls: Any, method: Callable[..., Any] | None = None) -> Any:
        self._chosen.clear()
        return super().register(cls, method)

    def __get__(self, obj: Any, cls: type[Any] | None = None) -> Callable[..., Any]:
        chosen = self._chosen

        def method(payload: Any, *args: Any) -> Any:
            function = chosen.get(type(payload))
            if function is None:
                function = chosen[type(payload)] = self._dispatch(type(payload))
            return function(obj, payload, *args)

        return method
