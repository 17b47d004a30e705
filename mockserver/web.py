"""The WSGI application: mounts the SOAP dialects, vendor links and the admin API on one port."""
from __future__ import annotations

import encodings.idna  # noqa: F401  (werkzeug routing encodes host names with it)
import base64
import gzip
import html
import logging
import threading

from werkzeug.exceptions import HTTPException, NotFound
from werkzeug.routing import Map, Rule
from werkzeug.utils import redirect
from werkzeug.wrappers import Request, Response

from mockserver import admin, auth, backclick, copernica, callbacks, outbox, scheduler, subscribers
from mockserver.settings import Settings
from mockserver.soap import SoapCall, SoapEndpoint, WireError, fault_envelope, read_body
from mockserver.store import Store

log = logging.getLogger(__name__)

SOAP11_TYPE = "text/xml; charset=utf-8"
SOAP12_TYPE = "application/soap+xml; charset=utf-8"


def host_url(environ: dict) -> str:
    """``scheme://host:port/`` as the client addressed this server."""
    host = environ.get("HTTP_HOST") or f"{environ['SERVER_NAME']}:{environ['SERVER_PORT']}"
    return f"{environ.get('wsgi.url_scheme', 'http')}://{host}/"


class DialectEndpoint:
    """A dialect's SoapEndpoint, built on first use: a worker pays for building a dialect's
    spyne application, WSDL and schema (tens of ms, several MB) only once it serves it."""

    def __init__(self, build):
        """``build()`` makes the SoapEndpoint."""
        self._build, self._built, self._lock = build, None, threading.Lock()

    def endpoint(self) -> SoapEndpoint:
        """The endpoint, built by the first caller."""
        if self._built is None:
            with self._lock:
                if self._built is None:
                    self._built = self._build()
        return self._built


class MockServer:
    """The WSGI callable serving every dialect and surface over one store."""

    def __init__(self, settings: Settings, store: Store):
        """Build the dialect endpoints once; the store is opened lazily per thread."""
        self.settings, self.store = settings, store
        bc = DialectEndpoint(lambda: backclick.endpoint(settings.max_body))
        pom = DialectEndpoint(lambda: copernica.endpoint(settings.max_body))
        self.soap = {backclick.SERVICE_PATH: bc, copernica.SERVICE_PATH: pom}
        self.wsdl_paths = {backclick.WSDL_PATH: bc}
        self.admin = admin.AdminApi(self)
        self.vendor_pages = {"confirm": self.confirm, "opened": self.opened,
                             "clicked": self.clicked, "unsubscribe": self.unsubscribe}
        self.routes = Map([
            Rule("/bc/confirm/<token>", endpoint="confirm", methods=["GET"]),
            Rule("/bc/t/o/<token>.gif", endpoint="opened", methods=["GET"]),
            Rule("/bc/t/c/<token>/<int:number>", endpoint="clicked", methods=["GET"]),
            Rule("/bc/t/u/<token>", endpoint="unsubscribe", methods=["GET", "POST"]),
            *self.admin.rules(),
        ], strict_slashes=False)
        self.scheduler = scheduler.Scheduler(store, settings.relay_address())
        self.scheduler.start()

    def __call__(self, environ, start_response):
        """Answer one HTTP request."""
        path = environ.get("PATH_INFO", "")
        dialect = self.soap.get(path)
        if dialect is not None:
            return self.serve_soap(dialect.endpoint(), environ, start_response)
        dialect = self.wsdl_paths.get(path)
        if dialect is not None:
            return self.serve_wsdl(dialect.endpoint(), environ, start_response)
        request = Request(environ)
        token = self.settings.admin_token
        if token and path.startswith("/_mock/") and path != "/" + callbacks.KEY_PATH and \
                request.headers.get("Authorization", "") != f"Bearer {token}":
            return admin.json_response(
                {"error": "The admin API needs 'Authorization: Bearer <admin token>'."},
                401)(environ, start_response)
        try:
            name, args = self.routes.bind_to_environ(environ).match()
            if name in self.vendor_pages:
                response = self.vendor_pages[name](request, **args)
            else:
                response = self.admin.dispatch(name, request, **args)
        except NotFound:
            response = admin.json_response({"error": f"No such path: {path}"}, 404)
        except HTTPException as error:
            response = admin.json_response({"error": error.description}, error.code or 500)
        except Exception:  # noqa: BLE001 - never a traceback to the client
            log.exception("request failed: %s", path)
            response = admin.json_response({"error": "Internal error in mockserver; see its log."},
                                           500)
        return response(environ, start_response)

    def serve_wsdl(self, endpoint: SoapEndpoint, environ, start_response):
        """The WSDL, addressed to the host the client used."""
        body = endpoint.wsdl(host_url(environ))
        start_response("200 OK", [("Content-Type", SOAP11_TYPE), ("Content-Length", str(len(body)))])
        return [body]

    def serve_soap(self, endpoint: SoapEndpoint, environ, start_response):
        """One SOAP exchange (or the WSDL for ``GET ?wsdl``)."""
        method = environ.get("REQUEST_METHOD", "GET")
        query = environ.get("QUERY_STRING", "")
        soap12 = False
        if method == "GET" and query.lower() in ("wsdl", "wsdl=", "wsdl=1", "soapapi=wsdl"):
            return self.serve_wsdl(endpoint, environ, start_response)
        try:
            if method != "POST":
                raise WireError(f"{method} is not supported here: POST a SOAP envelope, or GET "
                                f"{host_url(environ).rstrip('/')}{environ.get('PATH_INFO')}?wsdl "
                                f"for the WSDL.")
            soap12 = "application/soap+xml" in environ.get("CONTENT_TYPE", "")
            body = read_body(environ, endpoint.max_body)
            call = SoapCall(store=self.store, environ=environ, base_url=host_url(environ),
                            caller=auth.caller_address(
                                environ.get("REMOTE_ADDR", ""),
                                environ.get("HTTP_X_FORWARDED_FOR"),
                                self.settings.trusted_proxies))
            status, out, soap12, _operation = endpoint.handle(body, call)
            extra = list(call.headers)
        except WireError as error:
            status, out = 500, fault_envelope(error.code, str(error), soap12)
            extra = []
        if endpoint.gzip_responses and "gzip" in environ.get("HTTP_ACCEPT_ENCODING", "").lower():
            out = gzip.compress(out, compresslevel=5)
            extra.append(("Content-Encoding", "gzip"))
        headers = [("Content-Type", SOAP12_TYPE if soap12 else SOAP11_TYPE),
                   ("Content-Length", str(len(out))), *extra]
        start_response(f"{status} {_REASONS.get(status, '')}", headers)
        return [out]

    def confirm(self, request: Request, token: str) -> Response:
        """A confirmation link from a double opt-in or change-confirmation mail."""
        result = subscribers.confirm(self.store, token, request.host_url)
        if result is None:
            return _page("Link not valid", "This confirmation link is unknown or has expired.", 404)
        if result.get("already"):
            return _page("Already confirmed", "This link was confirmed before; nothing changed.")
        if result["kind"] == "change":
            return _page("Change confirmed", "Your data has been updated.")
        return _page("Subscription confirmed", "Thank you: your subscription is now active.")


    def opened(self, request: Request, token: str) -> Response:
        """The open-tracking pixel: records an open, answers a transparent GIF."""
        row = self.store.mail_by_token(token)
        if row is not None:
            outbox.record_event(self.store, row["id"], "open")
        return Response(PIXEL, content_type="image/gif",
                        headers={"Cache-Control": "no-store"})

    def clicked(self, request: Request, token: str, number: int) -> Response:
        """A tracked link: records the click, redirects to the original address."""
        row = self.store.mail_by_token(token)
        targets = outbox.links(self.store, row) if row else []
        if number >= len(targets):
            return _page("Link not valid", "This link is unknown.", 404)
        outbox.record_event(self.store, row["id"], "click", targets[number])
        return redirect(targets[number], 302)

    def unsubscribe(self, request: Request, token: str) -> Response:
        """The unsubscribe link (and List-Unsubscribe one-click POST) of a mail."""
        row = self.store.mail_by_token(token)
        if row is None:
            return _page("Link not valid", "This unsubscribe link is unknown.", 404)
        outbox.record_event(self.store, row["id"], "unsubscribe")
        return _page("Unsubscribed", f"{row['to_addr']} will receive no more of these mails.")


PIXEL = base64.b64decode(b"R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7")
_REASONS = {200: "OK", 500: "Internal Server Error"}


def _page(title: str, text: str, status: int = 200) -> Response:
    body = (f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}"
            f"</title></head><body><h1>{html.escape(title)}</h1><p>{html.escape(text)}</p>"
            f"</body></html>")
    return Response(body, status=status, content_type="text/html; charset=utf-8")
