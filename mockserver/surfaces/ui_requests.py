"""What a UI page reads from its request: the page of a paged table and that page's slice,
integer form fields, and the UiError a refused request raises (the UI's error page)."""
from __future__ import annotations

import math

from werkzeug.wrappers import Request

from mockserver.surfaces.admin import _int_arg

PAGE_SIZE = 50


class UiError(Exception):
    """A refused UI request, answered with the UI's error page and this status."""

    def __init__(self, message: str, status: int = 400):
        """The message to show and the HTTP status."""
        super().__init__(message)
        self.status = status


def _page_arg(request: Request) -> int:
    """The 1-based ``page`` query parameter (1 when absent)."""
    page = _int_arg(request, "page")
    page = 1 if page is None else page
    if page < 1:
        raise UiError("Query parameter 'page' must be 1 or more.")
    return page


def _paging(page: int, total: int) -> dict:
    """What a paged table shows: this page, how many there are, the rows' offset."""
    pages = max(1, math.ceil(total / PAGE_SIZE))
    if page > pages:
        raise UiError(f"There is no page {page}; there are {pages}.", 404)
    return {"page": page, "pages": pages, "total": total, "offset": (page - 1) * PAGE_SIZE}


def _form_int(form, name: str, low: int | None = None) -> int | None:
    """An optional integer form field."""
    value = (form.get(name) or "").strip()
    if not value:
        return None
    try:
        number = int(value)
    except ValueError:
        raise UiError(f"'{name}' must be an integer, got {value!r}.")
    if low is not None and number < low:
        raise UiError(f"'{name}' must be {low} or more.")
    return number
