"""The web UI under ``/_mock/ui/``: the outbox as an inbox, the journal, the tenants' data,
callback deliveries, the clock and the fault rules, as server-rendered HTML pages.

Every page reads without JavaScript; changes are HTML forms that POST to the UI, which
calls the same domain functions the admin API does. Jinja2 (templates under
``mockserver/surfaces/templates/ui/``, autoescaped) is imported on the first UI request only, so a
worker that never serves the UI never pays for it.

WebUi here routes, logs in, renders and shows the journal; its other pages are mixed in
by what they show: the outbox (``ui_outbox``), the tenants' data (``ui_tenants``), and the
callbacks, clock and fault rules (``ui_controls``).
"""
from __future__ import annotations

import hashlib
import hmac
import json
import logging
import threading
from pathlib import Path
from urllib.parse import urlencode

from werkzeug.exceptions import HTTPException
from werkzeug.routing import Map, RequestRedirect, Rule
from werkzeug.utils import redirect
from werkzeug.wrappers import Request, Response

from mockserver.machinery import faults, journal
from mockserver.vendors import tenants
from mockserver.surfaces.admin import CONVERTERS, ApiError, _choice_arg, _int_arg, _stamp_arg
from mockserver.machinery.errors import NotFound, VendorError
from mockserver.surfaces.gate import bearer_matches, names_host
from mockserver.surfaces.ui_controls import ControlPages
from mockserver.surfaces.ui_outbox import OutboxPages
from mockserver.surfaces.ui_requests import UiError
from mockserver.surfaces.ui_tenants import TenantPages
from mockserver.backclick import tables as backclick_tables
from mockserver.copernica import tables as copernica_tables

log = logging.getLogger(__name__)

PREFIX = "/_mock/ui/"
LOGIN_PATH = PREFIX + "login"
STYLE_PATH = PREFIX + "ui.css"
OPEN_PATHS = frozenset({LOGIN_PATH, STYLE_PATH})  # reachable without the admin token
COOKIE = "mockserver_ui"
TEMPLATES = Path(__file__).resolve().parent / "templates" / "ui"

# UI pages: no script, nothing from elsewhere, frames and forms of the UI only.
PAGE_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'self'; img-src 'self'; "
                               "frame-src 'self'; form-action 'self'; base-uri 'none'; "
                               "frame-ancestors 'none'",
    "X-Frame-Options": "DENY", "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin", "Cache-Control": "no-store",
}


def session_value(admin_token: str) -> str:
    """The UI cookie's value for an admin token: a keyed hash (the token itself is never
    stored in the browser), the same in every worker and after a restart."""
    return hmac.new(admin_token.encode(), b"mockserver-ui-session", hashlib.sha256).hexdigest()


def same_origin(request: Request) -> bool:
    """True when the request's ``Origin`` (or, without one, its ``Referer``) names the host
    the request was sent to: a form of the UI, not a page elsewhere."""
    return names_host(request.headers.get("Origin") or request.headers.get("Referer"),
                      request.host)


def pretty_xml(text: str) -> str:
    """An XML document indented for reading; the text as it is when it is not XML (a cut
    envelope, say) or nested deeper than the wire accepts (256 levels)."""
    from lxml import etree
    try:
        root = etree.fromstring(text.encode("utf-8"), etree.XMLParser(
            resolve_entities=False, no_network=True, huge_tree=False, remove_blank_text=True))
    except (etree.XMLSyntaxError, ValueError):
        return text
    return etree.tostring(root, pretty_print=True, encoding="unicode")


def _when(value) -> str:
    """A store stamp (``2024-05-01T09:30:00.123456Z``) as ``2024-05-01 09:30:00``."""
    if not value:
        return ""
    text = str(value)
    return text[:19].replace("T", " ") if len(text) >= 19 and text[10:11] == "T" else text


def _size(value: int) -> str:
    """A byte count for people: ``812 B``, ``14.2 KB``."""
    if value < 1024:
        return f"{value} B"
    if value < 1024 * 1024:
        return f"{value / 1024:.1f} KB"
    return f"{value / 1024 / 1024:.1f} MB"


class WebUi(OutboxPages, TenantPages, ControlPages):
    """Routes and handlers of ``/_mock/ui/``."""

    def __init__(self, server):
        """Serve the UI of ``server`` (a MockServer)."""
        self.server = server
        self.routes = Map(self.rules(), strict_slashes=False, converters=CONVERTERS)
        self._environment = None
        self._lock = threading.Lock()

    # -- routing ---------------------------------------------------------------------------

    def rules(self) -> list[Rule]:
        """The werkzeug routing rules of the UI (endpoint names start with ``ui_``)."""
        return [Rule(PREFIX + path, endpoint=name, methods=methods) for path, name, methods in (
            ("", "ui_inbox", ["GET"]),
            ("outbox", "ui_inbox", ["GET"]),
            ("outbox/<id:mail_id>", "ui_mail", ["GET"]),
            ("outbox/<id:mail_id>.eml", "ui_eml", ["GET"]),
            ("outbox/<id:mail_id>/html", "ui_mail_html", ["GET"]),
            ("outbox/<id:mail_id>/attachments/<id:number>", "ui_attachment", ["GET"]),
            ("outbox/<id:mail_id>/events", "ui_mail_event", ["POST"]),
            ("journal", "ui_journal", ["GET"]),
            ("journal/<id:entry_id>", "ui_exchange", ["GET"]),
            ("tenants", "ui_tenants", ["GET"]),
            ("mandators/<id:mandator_id>", "ui_mandator", ["GET"]),
            ("accounts/<id:account_id>", "ui_account", ["GET"]),
            ("accounts/<id:account_id>/databases/<id:database_id>", "ui_database", ["GET"]),
            ("accounts/<id:account_id>/collections/<id:collection_id>", "ui_collection",
             ["GET"]),
            ("callbacks", "ui_callbacks", ["GET"]),
            ("callbacks/flush", "ui_callbacks_flush", ["POST"]),
            ("clock", "ui_clock", ["GET", "POST"]),
            ("faults", "ui_faults", ["GET", "POST"]),
            ("faults/<id:rule_id>/delete", "ui_fault_delete", ["POST"]),
            ("faults/delete", "ui_faults_delete", ["POST"]),
            ("faults/maintenance", "ui_maintenance", ["POST"]),
            ("login", "ui_login", ["GET", "POST"]),
            ("logout", "ui_logout", ["POST"]),
            ("ui.css", "ui_style", ["GET"]),
        )]

    def serve(self, request: Request):
        """Answer a request under ``/_mock/ui``: its page, or the UI's error page (never a
        traceback)."""
        try:
            name, args = self.routes.bind_to_environ(request.environ).match()
            return self.dispatch(name, request, **args)
        except RequestRedirect as moved:  # a WSGI response of its own
            return moved
        except HTTPException as error:
            message = f"No such page: {request.path}" if error.code == 404 else \
                error.description
            return self.error_page(request, error.code or 500, message)
        except Exception:  # noqa: BLE001 - never a traceback to the client
            log.exception("UI request failed: %s", request.path)
            return self.error_page(request, 500, "Internal error in mockserver; see its log.")

    def dispatch(self, name: str, request: Request, **args) -> Response:
        """Call the handler for a matched rule; a POST from elsewhere is refused (403), and
        refused requests get the UI's error page."""
        try:
            if request.method == "POST" and not same_origin(request):
                raise UiError("This form may only be sent from the mockserver UI itself: the "
                              "request's Origin (or Referer) does not name this host.", 403)
            return getattr(self, name)(request, **args)
        except UiError as error:
            return self.error_page(request, error.status, str(error))
        except ApiError as error:
            return self.error_page(request, error.status, str(error))
        except NotFound as error:
            return self.error_page(request, 404, str(error))
        except (VendorError, faults.RuleError, tenants.TenantError) as error:
            return self.error_page(request, getattr(error, "status", 400), str(error))

    # -- the admin token and the login cookie ------------------------------------------------

    def authorised(self, request: Request) -> bool:
        """True without ``--admin-token``, else when the request carries it as a Bearer
        header or carries the UI's login cookie."""
        token = self.server.settings.admin_token
        if not token:
            return True
        return bearer_matches(request.headers.get("Authorization"), token) or \
            hmac.compare_digest(request.cookies.get(COOKIE, "").encode(),
                                session_value(token).encode())

    def refusal(self, request: Request) -> Response | None:
        """With ``--admin-token``, for a UI path without the Bearer header: None when the
        login cookie is right (or the path needs none), else the way to the login page."""
        path = request.path
        if path in OPEN_PATHS or self.authorised(request):
            return None
        if request.method in ("GET", "HEAD"):
            target = request.full_path.rstrip("?") if request.query_string else path
            return redirect(LOGIN_PATH + "?" + urlencode({"next": target}), 303)
        return self.error_page(request, 401, "Log in to the mockserver UI first.", public=True)

    @staticmethod
    def _next(value: str | None) -> str:
        """Where to go after logging in: a UI page only (never another site)."""
        value = value or PREFIX
        return value if value.startswith(PREFIX) and "\\" not in value else PREFIX

    def ui_login(self, request: Request) -> Response:
        """``/_mock/ui/login``: the admin token, once, for an HttpOnly cookie."""
        token = self.server.settings.admin_token
        target = self._next(request.values.get("next"))
        if not token:
            return redirect(target, 303) if request.method == "POST" else \
                self.render(request, "login.html", next=target, error=None, needed=False)
        if request.method == "GET":
            return self.render(request, "login.html", public=True, next=target, error=None,
                               needed=True)
        given = request.form.get("token", "")
        if not hmac.compare_digest(given.encode(), token.encode()):
            return self.render(request, "login.html", status=401, public=True, next=target,
                               needed=True, error="That is not the admin token.")
        response = redirect(target, 303)
        response.set_cookie(COOKIE, session_value(token), path=PREFIX, httponly=True,
                            samesite="Strict", secure=request.scheme == "https")
        return response

    def ui_logout(self, request: Request) -> Response:
        """``POST /_mock/ui/logout``: forget the login cookie."""
        response = redirect(LOGIN_PATH if self.server.settings.admin_token else PREFIX, 303)
        response.delete_cookie(COOKIE, path=PREFIX, httponly=True, samesite="Strict")
        return response

    # -- rendering --------------------------------------------------------------------------

    def _templates(self):
        """The Jinja2 environment, made (and Jinja2 imported) on first use."""
        if self._environment is None:
            with self._lock:
                if self._environment is None:
                    import jinja2
                    environment = jinja2.Environment(
                        loader=jinja2.FileSystemLoader(str(TEMPLATES)), autoescape=True,
                        undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)
                    environment.filters.update(when=_when, size=_size, pretty_xml=pretty_xml,
                                               to_json=lambda v: json.dumps(
                                                   v, indent=2, ensure_ascii=False))
                    self._environment = environment
        return self._environment

    def _tenant_choices(self) -> list[tuple[str, str]]:
        """(value, label) of every tenant filter the selector offers."""
        store = self.server.store
        choices = [(t["tenant"], f"{t['tenant']} (tenant)")
                   for t in tenants.listing(store, "")]
        for mandator_id in sorted(backclick_tables.mandator_ids(store)):
            name = (backclick_tables.mandator(store, mandator_id) or {}).get("name", "")
            choices.append((f"mandator-{mandator_id}", f"mandator-{mandator_id} {name}".strip()))
        for account_id in sorted(copernica_tables.account_ids(store)):
            name = (copernica_tables.account(store, account_id) or {}).get("name", "")
            choices.append((f"account-{account_id}", f"account-{account_id} {name}".strip()))
        return choices

    def render(self, request: Request, template: str, status: int = 200, public: bool = False,
               **context) -> Response:
        """A UI page from a template, with the navigation and the tenant selector (neither on
        a ``public`` page: one shown before logging in)."""
        tenant = request.args.get("tenant", "")

        def href(path: str, **params) -> str:
            """A UI URL with query parameters (empty ones left out); the tenant kept."""
            params.setdefault("tenant", tenant)
            query = urlencode({k: v for k, v in params.items() if v not in (None, "")})
            return PREFIX + path + (f"?{query}" if query else "")

        public = public or not self.authorised(request)
        try:
            choices = [] if public else self._tenant_choices()
        except Exception:  # noqa: BLE001 - an error page must render even without a store
            log.exception("listing tenants for the UI failed")
            choices = []
        page = self._templates().get_template(template).render(
            request=request, tenant=tenant, tenant_choices=choices, href=href, prefix=PREFIX,
            public=public, section=context.pop("section", ""),
            logged_in=bool(self.server.settings.admin_token and not public),
            **context)
        return Response(page, status=status, content_type="text/html; charset=utf-8",
                        headers=PAGE_HEADERS)

    def error_page(self, request: Request, status: int, message: str,
                   public: bool = False) -> Response:
        """The UI's error page (never a traceback)."""
        try:
            return self.render(request, "error.html", status=status, public=public,
                               status_code=status, message=message)
        except Exception:  # noqa: BLE001 - the templates themselves failed: plain text
            log.exception("rendering the UI's error page failed")
            return Response(f"{status}: {message}\n", status=status,
                            content_type="text/plain; charset=utf-8", headers=PAGE_HEADERS)

    def ui_style(self, request: Request) -> Response:
        """``/_mock/ui/ui.css``: the UI's one stylesheet."""
        return Response((TEMPLATES / "ui.css").read_bytes(), content_type="text/css; charset=utf-8",
                        headers={"Cache-Control": "max-age=300",
                                 "X-Content-Type-Options": "nosniff"})

    def _back(self, request: Request, path: str, **params) -> Response:
        """303 to a UI page after a form, keeping the tenant filter of the page it came from."""
        tenant = request.form.get("tenant") or request.args.get("tenant")
        params = {"tenant": tenant, **params}
        query = urlencode({k: v for k, v in params.items() if v not in (None, "")})
        return redirect(PREFIX + path + (f"?{query}" if query else ""), 303)

    # -- tenants filter ---------------------------------------------------------------------

    def _tenant_filter(self, request: Request) -> tuple[str, list[str] | None]:
        """The ``tenant`` query parameter and the ``mandator-N``/``account-N`` names it
        stands for (None without a filter)."""
        value = (request.args.get("tenant") or "").strip()
        if not value:
            return "", None
        return value, tenants.require_names(self.server.store, value)

    @staticmethod
    def _of_kind(names: list[str] | None, kind: str) -> list[int]:
        """The ids among filter names of one kind (``mandator`` or ``account``)."""
        return [int(n[len(kind) + 1:]) for n in names or () if n.startswith(kind + "-")]

    # -- journal ----------------------------------------------------------------------------

    def ui_journal(self, request: Request) -> Response:
        """SOAP exchanges, newest first, filtered by operation, tenant, dialect, time."""
        server = self.server
        tenant, names = self._tenant_filter(request)
        limit = _int_arg(request, "limit")
        limit = 100 if limit is None else limit
        if not 1 <= limit <= 10_000:
            raise UiError("Query parameter 'limit' must be from 1 to 10000.")
        server.journal.settle()
        rows = server.journal.store.journal(
            operation=request.args.get("operation") or None, tenants=names,
            dialect=_choice_arg(request, "dialect", faults.DIALECTS),
            since=_stamp_arg(request, "since"), limit=limit)
        exchanges = [journal.row_json(r) for r in reversed(rows)]
        return self.render(request, "journal.html", section="journal", exchanges=exchanges,
                           dialects=faults.DIALECTS, limit=limit,
                           enabled=server.journal.enabled)

    def ui_exchange(self, request: Request, entry_id: int) -> Response:
        """One exchange: its parsed arguments and both raw envelopes (secrets masked)."""
        server = self.server
        row = server.journal.store.journal_entry(entry_id)
        if row is None:
            server.journal.settle()
            row = server.journal.store.journal_entry(entry_id)
        if row is None:
            raise UiError(f"No journal entry {entry_id} (the journal keeps the newest "
                          f"{server.journal.size}).", 404)
        return self.render(request, "exchange.html", section="journal",
                           exchange=journal.row_json(row))
