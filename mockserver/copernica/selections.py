"""Copernica selections (views of a database, mini views of a collection): the mock keeps
none. The handlers of the operations about them, one definition for every object: a rebuild
answers 1, a list of views is empty, a view by name or id is 0.
"""
from __future__ import annotations

from typing import Callable

from mockserver.copernica import values as v


def _handler(answer: Callable, lookup: Callable | None, doc: str) -> Callable:
    def handler(call: v.Call, p):
        if lookup is not None:
            lookup(call, p)  # NotFound for an unknown object
        return answer(p)

    handler.__doc__ = doc
    return handler


def rebuild(lookup: Callable, doc: str) -> Callable:
    """A handler of ``X_rebuild``: the object looked up, then 1 (nothing to rebuild)."""
    return _handler(lambda p: v.value(True), lookup, doc)


def no_views(kind: str, lookup: Callable | None, doc: str) -> Callable:
    """A handler listing views (``kind``: view or miniview): the object looked up, then none."""
    return _handler(lambda p: v.listing(kind, v.whole([], p)), lookup, doc)


def no_view(lookup: Callable, doc: str) -> Callable:
    """A handler of a view by name or id: the object looked up, then 0."""
    return _handler(lambda p: v.value(0), lookup, doc)
