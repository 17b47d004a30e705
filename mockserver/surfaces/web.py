"""The WSGI application: mounts the SOAP dialects, vendor links and the admin API on one port."""
from __future__ import annotations

import encodings.idna  # noqa: F401  (werkzeug routing encodes host names with it)
import base64
import errno
import functools
import gc
import gzip
import html
import logging
import socket
import threading
import time
from functools import cached_property

from werkzeug.exceptions import HTTPException, NotFound
from werkzeug.routing import Map, Rule
from werkzeug.utils import redirect
from werkzeug.wrappers import Request, Response

from mockserver.copernica import accounts, callback_signing, callback_urls
from mockserver.surfaces import admin, admin_journal, front_page, gate, request_log
from mockserver.machinery import networks, faults, journal, outbox, background
from mockserver.vendors import background as vendor_background
from mockserver.vendors.mail import CONTENT_SOURCES, EVENT_REACTIONS
from mockserver import backclick, copernica
from mockserver.backclick import subscribers
from mockserver.machinery.networks import is_loopback
from mockserver.surfaces.settings import Settings
from mockserver.soap.defences import read_body
from mockserver.soap.envelope import SoapCall, SoapEndpoint
from mockserver.soap.faults import WireError, fault_envelope
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
    spyne application, WSDL and schema (tens of ms, several MB) only once it serves it.

    With ``freeze`` (a server process of its own, not the embedded server in a caller's
    process), every object the process holds is frozen out of the garbage collector's reach
    once the endpoint is built (``gc.freeze``): spyne's and lxml's modules, the models, WSDL
    and schema live as long as the process, and without that each full collection went
    through them all again, a pause of about 35 ms for every thread of the worker (one in
    about 25 getSubscribers calls; 0.4 ms at most frozen)."""

    def __init__(self, build, freeze: bool = False):
        """``build()`` makes the SoapEndpoint; ``freeze``: see the class."""
        self._build, self._built, self._lock = build, None, threading.Lock()
        self._freeze = freeze

    def endpoint(self) -> SoapEndpoint:
        """The endpoint, built by the first caller."""
        if self._built is None:
            with self._lock:
                if self._built is None:
                    self._built = self._build()
                    if self._freeze:
                        gc.freeze()
        return self._built


class MockServer:
    """The WSGI callable serving every dialect and surface over one store."""

    def __init__(self, settings: Settings, store: Store, freeze: bool = False):
        """Build the dialect endpoints once; the store is opened lazily per thread.
        ``freeze``: this process is a server worker of its own (see DialectEndpoint)."""
        self.settings, self.store = settings, store
        self.exposed = not is_loopback(settings.host)  # others can reach it: see tokens
        bc = DialectEndpoint(lambda: backclick.endpoint(settings.max_body, settings.max_items,
                                                        settings.backclick_wsdl), freeze)
        pom = DialectEndpoint(lambda: copernica.endpoint(settings.max_body, settings.max_items),
                              freeze)
        self.soap = {backclick.SERVICE_PATH: bc, copernica.SERVICE_PATH: pom}
        self.dialects = {backclick.SERVICE_PATH: "backclick", copernica.SERVICE_PATH: "copernica"}
        self.journal = journal.Journal(store, settings.journal_size, settings.journal,
                                       settings.workers, settings.journal_body_limit)
        self.wsdl_paths = {backclick.WSDL_PATH: bc}
        self.admin = admin.AdminApi(self)
        self.journal_api = admin_journal.JournalFaultsApi(self)
        self.vendor_pages = {"confirm": self.confirm, "opened": self.opened,
                             "clicked": self.clicked, "unsubscribe": self.unsubscribe}
        self.routes = Map([
            Rule("/bc/confirm/<token>", endpoint="confirm", methods=["GET"]),
            Rule("/bc/t/o/<token>.gif", endpoint="opened", methods=["GET"]),
            Rule("/bc/t/c/<token>/<id:number>", endpoint="clicked", methods=["GET"]),
            Rule("/bc/t/u/<token>", endpoint="unsubscribe", methods=["GET", "POST"]),
            *self.admin.rules(),
            *self.journal_api.rules(),
        ], strict_slashes=False, converters=admin.CONVERTERS)
        callback_urls.listening_on(settings.port)  # never a callback to the mock itself
        self.scheduler = background.Scheduler(store, vendor_background.JOBS, settings.relay_address(),
                                              CONTENT_SOURCES)
        self.scheduler.start()
        self._logged = request_log.RequestLog(self._answer) if settings.log_requests \
            else self._answer

    def __call__(self, environ, start_response):
        """Answer one HTTP request."""
        return self._logged(environ, start_response)

    def _answer(self, environ, start_response):
        """Answer one HTTP request (``__call__`` without the request log)."""
        path = environ.get("PATH_INFO", "")
        canonical = gate.canonical_path(path)
        if canonical != path:  # one spelling for the routing and the checks below
            environ["PATH_INFO"] = path = canonical
        if not gate.valid_host(environ.get("HTTP_HOST")):
            return self._bad_host(environ, start_response, path)
        dialect = self.soap.get(path)
        if dialect is not None:
            if path == copernica.SERVICE_PATH and front_page.wanted(environ):
                environ[request_log.DIALECT], environ[request_log.OPERATION] = "ui", "front_page"
                return self.serve_front_page(environ, start_response)
            return self.serve_soap(dialect.endpoint(), environ, start_response,
                                   self.dialects[path])
        dialect = self.wsdl_paths.get(path)
        if dialect is not None:
            environ[request_log.DIALECT], environ[request_log.OPERATION] = "backclick", "WSDL"
            return self.serve_wsdl(dialect.endpoint(), environ, start_response)
        request = Request(environ)
        if gate.is_admin_path(path) and path != "/" + callback_signing.KEY_PATH:
            refused = self._admin_refusal(request, environ, path)
            if refused is not None:
                return refused(environ, start_response)
        if gate.is_ui_path(path):
            return self.ui.serve(request)(environ, start_response)
        try:
            name, args = self.routes.bind_to_environ(environ).match()
            environ[request_log.OPERATION] = name
            if name in self.vendor_pages:
                response = self.vendor_pages[name](request, **args)
            elif name in self.journal_api.names:
                response = self.journal_api.dispatch(name, request, **args)
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

    def operation_names(self, dialect: str) -> list[str]:
        """Every operation of a dialect's served WSDL (a fault rule may name any of them):
        BACKCLICK's endpoint's (a user's --backclick-wsdl included), Copernica's catalogue."""
        if dialect == "copernica":
            from mockserver.copernica import catalogue
            return list(catalogue.operations())
        endpoint = self.soap[backclick.SERVICE_PATH].endpoint()
        return sorted({o.name for same in endpoint.operations.values() for o in same})

    def route_json(self, rule) -> dict | None:
        """A rule of the route table as the admin API's index lists it (methods, path, what
        it does, from its handler's docstring); None for a route outside ``/_mock/``."""
        if not gate.is_admin_path(rule.rule.rstrip("/")):
            return None
        api = self.journal_api if rule.endpoint in self.journal_api.names else self.admin
        methods = sorted(m for m in rule.methods if m not in ("HEAD", "OPTIONS"))
        return {"methods": methods, "path": admin.route_path(rule.rule),
                "description": admin.summary(getattr(api, rule.endpoint))}

    def end_of_thread(self) -> None:
        """Close the calling thread's connections to the store and the journal (a server
        that ends its request threads calls it; gunicorn's threads live on)."""
        self.store.close()
        self.journal.store.close()

    @cached_property
    def ui(self):
        """The web UI, built (its module, routes and templates loaded) on first use."""
        from mockserver.surfaces.ui import WebUi
        return WebUi(self)

    def _admin_refusal(self, request: Request, environ: dict, path: str):
        """The answer refusing an admin or UI request (``gate.admin_refusal``), or None."""
        refused = gate.admin_refusal(self.settings, request.headers, environ, path)
        if refused is None:
            return None
        status, reason = refused
        if status == 0:  # a UI page with --admin-token: its login cookie decides
            return self.ui.refusal(request)
        return admin.json_response({"error": reason}, status)

    def _bad_host(self, environ, start_response, path: str):
        """Refuse a request whose Host header is no host name: it would enter the URLs the
        mock writes (a WSDL's soap:address, links in mails)."""
        text = "The Host header is not a host name or address with an optional port."
        if path in self.soap or path in self.wsdl_paths:
            body, content_type = fault_envelope("Client", text), SOAP11_TYPE
        else:
            body, content_type = admin.json_response({"error": text}, 400).get_data(), \
                "application/json"
        start_response("400 Bad Request", [("Content-Type", content_type),
                                           ("Content-Length", str(len(body)))])
        return [body]

    @staticmethod
    def serve_front_page(environ, start_response):
        """The page of links a browser gets at ``/`` (mockserver/surfaces/front_page.py)."""
        body = front_page.page(host_url(environ))
        start_response("200 OK", [("Content-Type", "text/html; charset=utf-8"),
                                  ("Content-Length", str(len(body))),
                                  ("Cache-Control", "no-store"), ("Vary", "Accept")])
        return [body]

    def serve_wsdl(self, endpoint: SoapEndpoint, environ, start_response):
        """The WSDL, addressed to the host the client used (gzip-compressed when the endpoint
        compresses its answers and the client accepts it)."""
        body = endpoint.wsdl(host_url(environ))
        headers = [("Content-Type", SOAP11_TYPE)]
        if endpoint.gzip_responses and "gzip" in environ.get("HTTP_ACCEPT_ENCODING", "").lower():
            body = _gzipped_wsdl(body)
            headers.append(("Content-Encoding", "gzip"))
        start_response("200 OK", [*headers, ("Content-Length", str(len(body)))])
        return [body]

    def serve_soap(self, endpoint: SoapEndpoint, environ, start_response,
                   dialect: str = "backclick"):
        """One SOAP exchange (or the WSDL for ``GET ?wsdl``), journaled, faults injected."""
        method = environ.get("REQUEST_METHOD", "GET")
        query = environ.get("QUERY_STRING", "")
        soap12 = False
        environ[request_log.DIALECT] = dialect
        if method == "GET" and query.lower() in ("wsdl", "wsdl=", "wsdl=1", "soapapi=wsdl"):
            environ[request_log.OPERATION] = "WSDL"
            return self.serve_wsdl(endpoint, environ, start_response)
        started = time.perf_counter()
        body, operation, tenant, effect, caller = b"", None, None, None, ""
        extra: list = []
        try:
            if method != "POST":
                page = " A browser (Accept: text/html) gets a page of links here." \
                    if environ.get("PATH_INFO") == copernica.SERVICE_PATH else ""
                raise WireError(f"{method} is not supported here: POST a SOAP envelope, or GET "
                                f"{host_url(environ).rstrip('/')}{environ.get('PATH_INFO')}?wsdl "
                                f"for the WSDL.{page}")
            soap12 = "application/soap+xml" in environ.get("CONTENT_TYPE", "")
            refused = gate.soap_refusal(environ)
            if refused is not None:
                raise WireError(refused[1], status=refused[0])
            body = read_body(environ, endpoint.max_body)
            caller = networks.caller_address(environ.get("REMOTE_ADDR", ""),
                                         environ.get("HTTP_X_FORWARDED_FOR"),
                                         self.settings.trusted_proxies)
            effect, seen = self._fault_effect(dialect, body, environ, caller)
            if seen is not None:
                operation, tenant = seen.operation, seen.tenant
            out = self._injected(effect, environ, soap12) if effect else None
            if effect and effect.get("drop"):
                environ[request_log.OPERATION] = operation
                self.journal.record(dialect, operation, tenant, environ, caller, 0, started,
                                    body, b"", effect)
                _drop(environ)
            if out is None:
                call = SoapCall(store=self.store, environ=environ, base_url=host_url(environ),
                                caller=caller, exposed=self.exposed)
                status, out, soap12, operation = endpoint.handle(body, call)
                if call.tenant is not None:
                    tenant = f"{'mandator' if dialect == 'backclick' else 'account'}-{call.tenant}"
                extra = list(call.headers)
            else:
                status, out = out
        except WireError as error:
            status, out = error.status, fault_envelope(error.code, str(error), soap12)
        self.journal.record(dialect, operation, tenant, environ, caller, status, started, body,
                            out, effect)
        environ[request_log.OPERATION] = operation
        size = len(out)
        truncate = bool(effect and effect.get("truncate"))
        if not truncate and endpoint.gzip_responses and \
                "gzip" in environ.get("HTTP_ACCEPT_ENCODING", "").lower():
            out = gzip.compress(out, compresslevel=5)
            extra.append(("Content-Encoding", "gzip"))
            size = len(out)
        headers = [("Content-Type", SOAP12_TYPE if soap12 else SOAP11_TYPE),
                   ("Content-Length", str(size)), *extra]
        start_response(f"{status} {_REASONS.get(status, '')}", headers)
        return _truncated(environ, out[:size // 2]) if truncate else [out]

    def _fault_effect(self, dialect: str, body: bytes, environ: dict, caller: str):
        """(effect, request seen) of maintenance or the fault rules; (None, None) if none."""
        message, any_rules = self.store.fault_state()
        if message is not None:
            return {"maintenance": True, "fault": message}, None
        if not any_rules:
            return None, None
        tenant_of = _backclick_tenant if dialect == "backclick" else \
            (lambda root: _copernica_tenant(self.store, root, environ, caller))
        seen = faults.Request(dialect, body, tenant_of)
        return faults.decide(self.store, seen), seen

    @staticmethod
    def _injected(effect: dict, environ: dict, soap12: bool):
        """Apply an effect's delay; (status, body) when it replaces the answer, else None."""
        if effect.get("delayMs"):
            time.sleep(effect["delayMs"] / 1000)
        if effect.get("fault") is not None:
            code = (effect.get("faultcode") or "Server").split(":")[-1]
            return 500, fault_envelope(code, effect["fault"], soap12)
        if effect.get("status"):
            return effect["status"], (effect.get("body") or "").encode("utf-8")
        return None

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
            outbox.record_event(self.store, row["id"], "open", reactions=EVENT_REACTIONS)
        return Response(PIXEL, content_type="image/gif",
                        headers={"Cache-Control": "no-store"})

    def clicked(self, request: Request, token: str, number: int) -> Response:
        """A tracked link: records the click, redirects to the original address."""
        row = self.store.mail_by_token(token)
        targets = outbox.links(self.store, row, CONTENT_SOURCES) if row else []
        if number >= len(targets):
            return _page("Link not valid", "This link is unknown.", 404)
        outbox.record_event(self.store, row["id"], "click", targets[number], reactions=EVENT_REACTIONS)
        return redirect(targets[number], 302)

    def unsubscribe(self, request: Request, token: str) -> Response:
        """The unsubscribe link (and List-Unsubscribe one-click POST) of a mail."""
        row = self.store.mail_by_token(token)
        if row is None:
            return _page("Link not valid", "This unsubscribe link is unknown.", 404)
        outbox.record_event(self.store, row["id"], "unsubscribe", reactions=EVENT_REACTIONS)
        return _page("Unsubscribed", f"{row['to_addr']} will receive no more of these mails.")


@functools.lru_cache(maxsize=8)
def _gzipped_wsdl(body: bytes) -> bytes:
    """A WSDL gzip-compressed (the same bytes come back for every client of a host)."""
    return gzip.compress(body, compresslevel=6)


def _drop(environ: dict):
    """Close the client's connection without an answer (gunicorn and werkzeug's server
    ignore the reset)."""
    sock = environ.get("gunicorn.socket") or environ.get("werkzeug.socket")
    if sock is not None:
        try:
            sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
    raise ConnectionResetError(errno.ECONNRESET, "connection dropped by a fault rule")


def _truncated(environ: dict, part: bytes):
    """Send the first part of an answer, then drop the connection."""
    yield part
    _drop(environ)


def _backclick_tenant(root) -> str | None:
    """``mandator-<id>`` from a BACKCLICK request's mandatorId."""
    value = next(root.iterfind(".//{*}mandatorId"), None)
    return f"mandator-{int(value.text)}" if value is not None and value.text else None


def _copernica_tenant(store, root, environ: dict, caller: str) -> str | None:
    """``account-<id>`` a Copernica request's access token, header or cookie acts for."""
    token = next(root.iterfind(".//{*}access_token"), None)
    login = next(root.iterfind(".//{*}parameters/{*}login"), None)
    credentials = None if login is None else tuple(
        login.findtext(f"{{*}}{name}") for name in ("username", "password", "account"))
    access = accounts.resolve(store, authorization=environ.get("HTTP_AUTHORIZATION"),
                              access_token=token.text if token is not None else None,
                              cookie_header=environ.get("HTTP_COOKIE"), caller=caller,
                              write=False,
                              login=credentials if credentials and any(credentials) else None)
    return f"account-{access.account_id}"


PIXEL = base64.b64decode(b"R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7")
_REASONS = {200: "OK", 500: "Internal Server Error", 503: "Service Unavailable",
            502: "Bad Gateway", 429: "Too Many Requests", 400: "Bad Request", 404: "Not Found",
            403: "Forbidden", 415: "Unsupported Media Type"}


def _page(title: str, text: str, status: int = 200) -> Response:
    body = (f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}"
            f"</title></head><body><h1>{html.escape(title)}</h1><p>{html.escape(text)}</p>"
            f"</body></html>")
    return Response(body, status=status, content_type="text/html; charset=utf-8")
