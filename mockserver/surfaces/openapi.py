"""The OpenAPI 3.1 document of the admin API (``mockserver/surfaces/openapi.yaml``), as
served."""
from __future__ import annotations

import functools
from importlib import resources

from mockserver import __version__


@functools.lru_cache(maxsize=1)
def _parsed() -> dict:
    import yaml  # only when the document is asked for
    document = resources.files("mockserver.surfaces").joinpath("openapi.yaml")
    text = document.read_text(encoding="utf-8")
    return yaml.safe_load(text)


def document(base_url: str) -> dict:
    """The document with the running version and ``base_url`` (the URL it was fetched
    from, without a path) as its one server."""
    parsed = _parsed()
    return {**parsed, "info": {**parsed["info"], "version": __version__},
            "servers": [{"url": base_url.rstrip("/"), "description": "this mockserver"}]}
