"""The page a browser gets at ``/`` (where Copernica's SOAP endpoint is): what this server is,
with links to both WSDLs, the web UI and the admin API, and where the documentation is.

Only a GET asking for HTML by name (``Accept: text/html``, as every browser sends) gets it; a
SOAP POST, ``GET /?SOAPAPI=WSDL`` and a GET accepting anything (curl's ``*/*``) are answered
as before.
"""
from __future__ import annotations

from html import escape

from mockserver import __version__, backclick, copernica

HTML_TYPES = ("text/html", "application/xhtml+xml")

# The documentation, by its path in the mockserver repository (the server does not serve it).
DOCUMENTATION = (
    ("README.md", "first run, the commands, the admin API in a table"),
    ("docs/backclick.md", "the BACKCLICK dialect: access rules, faults, decisions"),
    ("docs/copernica.md", "the Copernica dialect: access modes, every method"),
    ("docs/ui.md", "the web UI"),
    ("docs/journal-and-faults.md", "the request journal and fault injection"),
    ("docs/fixtures.md", "the fixture format"),
    ("docs/pytest.md", "the pytest plugin"),
    ("docs/clients.md", "zeep, suds, PHP SoapClient and node-soap against the mock"),
)


def wanted(environ: dict) -> bool:
    """True for a GET of ``/`` without a query that names HTML in its Accept header."""
    if environ.get("REQUEST_METHOD") != "GET" or environ.get("QUERY_STRING"):
        return False
    for part in (environ.get("HTTP_ACCEPT") or "").lower().split(","):
        kind, _, params = part.partition(";")
        if kind.strip() in HTML_TYPES and not _refused(params):
            return True
    return False


def _refused(params: str) -> bool:
    """True when an Accept item's parameters say ``q=0``."""
    for param in params.split(";"):
        name, _, value = param.partition("=")
        if name.strip() == "q":
            try:
                return float(value) <= 0
            except ValueError:
                return False
    return False


def page(base_url: str) -> bytes:
    """The page's HTML, its links written out for ``base_url`` (``http://HOST:PORT/``)."""
    base = base_url.rstrip("/")
    links = [
        ("BACKCLICK SOAP API v2 WSDL", f"{base}{backclick.SERVICE_PATH}?wsdl",
         f"endpoint: POST {base}{backclick.SERVICE_PATH}"),
        ("Copernica SOAP API WSDL", f"{base}/?{copernica.WSDL_QUERY}",
         f"endpoint: POST {base}/"),
        ("Web UI", f"{base}/_mock/ui/", "the outbox, the journal, tenants, clock and faults"),
        ("Admin API", f"{base}/_mock/", "JSON: every route with what it does"),
    ]
    items = "".join(f"<li><a href='{escape(url)}'>{escape(label)}</a> <code>{escape(url)}</code>"
                    f"<br><small>{escape(note)}</small></li>" for label, url, note in links)
    docs = "".join(f"<li><code>{escape(path)}</code>: {escape(text)}</li>"
                   for path, text in DOCUMENTATION)
    return (f"<!doctype html><html lang='en'><head><meta charset='utf-8'>"
            f"<meta name='viewport' content='width=device-width, initial-scale=1'>"
            f"<title>mockserver</title></head><body>"
            f"<h1>mockserver {escape(__version__)}</h1>"
            f"<p>A local, stateful mock of the BACKCLICK SOAP API v2 and the Copernica SOAP "
            f"API. Point your SOAP client at a WSDL below.</p><ul>{items}</ul>"
            f"<h2>Documentation</h2><p>In the mockserver repository:</p><ul>{docs}</ul>"
            f"<p>Start over: <code>POST {escape(base)}/_mock/reset</code> (back to the "
            f"fixtures the server started with), or <code>mockserver serve --db :memory:"
            f"</code> (a throwaway store).</p></body></html>").encode("utf-8")
