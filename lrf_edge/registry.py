"""Tables of handlers filled by decorators: converters per layer class, builders per op.

Frontends, the Keras builder and factorized methods each keep a dict from a name to the
function that handles it; `registrar(table)` makes the decorator that fills one, so adding a
layer kind is adding one decorated function next to its kind.
"""

from __future__ import annotations

from typing import Callable, TypeVar

F = TypeVar("F", bound=Callable)


def registrar(table: dict[str, F]) -> Callable[..., Callable[[F], F]]:
    """`register = registrar(TABLE)`; then `@register("Name", "Alias")` above a handler."""
    def register(*names: str) -> Callable[[F], F]:
        def deco(fn: F) -> F:
            for name in names:
                table[name] = fn
            return fn
        return deco
    return register
