"""The UI's pages that steer the mock: callback deliveries (and flushing them), the clock,
and the fault rules with maintenance."""
from __future__ import annotations

import math

from werkzeug.wrappers import Request, Response

from mockserver.copernica import callback_delivery
from mockserver.machinery import clock, faults
from mockserver.vendors import background
from mockserver.surfaces.admin import _choice_arg, _int_arg
from mockserver.surfaces.ui_requests import UiError, _form_int


def _rule_from_form(form) -> dict:
    """A fault rule (the admin API's JSON form) from the faults page's form."""
    rule: dict = {}
    for name, field in (("dialect", "dialect"), ("operation", "operation"),
                        ("tenant", "tenant_rule")):  # "tenant" is the page's own filter
        value = (form.get(field) or "").strip()
        if value:
            rule[name] = value
    times = _form_int(form, "times")
    if times is not None:
        rule["times"] = times
    probability = (form.get("probability") or "").strip()
    if probability:
        try:
            rule["probability"] = float(probability)
        except ValueError:
            raise UiError(f"'probability' must be a number from 0 to 1, got {probability!r}.")
    seed = (form.get("seed") or "").strip()
    if seed:
        rule["seed"] = int(seed) if seed.lstrip("-").isdigit() else seed
    effect = form.get("effect") or "fault"
    if effect == "fault":
        rule["fault"] = form.get("fault") or ""
        if not rule["fault"]:
            raise UiError("A fault rule with the effect 'fault' needs a fault string.")
        if form.get("faultcode") in ("Server", "Client") and form["faultcode"] != "Server":
            rule["faultcode"] = form["faultcode"]
    elif effect == "status":
        rule["status"] = _form_int(form, "status")
        if rule["status"] is None:
            raise UiError("A fault rule with the effect 'status' needs an HTTP status.")
        if form.get("body"):
            rule["body"] = form["body"]
    elif effect in ("drop", "truncate"):
        rule[effect] = True
    elif effect != "delay":
        raise UiError(f"Unknown effect {effect!r}; one of fault, status, drop, truncate, delay.")
    delay = _form_int(form, "delayMs")
    if delay is not None:
        rule["delayMs"] = delay
    return rule


class ControlPages:
    """The handlers of the callbacks', clock and faults pages, mixed into WebUi (its rendering
    and filters)."""

    def ui_callbacks(self, request: Request) -> Response:
        """Callback deliveries with their attempts, filtered by state and tenant."""
        tenant, names = self._tenant_filter(request)
        accounts = self._of_kind(names, "account")
        state = _choice_arg(request, "state", callback_delivery.STATES)
        rows = []
        if names is None or accounts:
            rows = callback_delivery.deliveries(self.server.store, _int_arg(request, "callback"),
                                                state, accounts[0] if accounts else None, 500)
        return self.render(request, "callbacks.html", section="callbacks", deliveries=rows,
                           states=callback_delivery.STATES, no_deliveries_for=tenant
                           if names is not None and not accounts else None)

    def ui_callbacks_flush(self, request: Request) -> Response:
        """``POST``: deliver every callback due now, and wait for it."""
        callback_delivery.flush(self.server.store)
        return self._back(request, "callbacks")

    # -- clock ------------------------------------------------------------------------------

    def ui_clock(self, request: Request) -> Response:
        """The clock; ``POST`` with ``action`` set, freeze, release, advance or real."""
        store = self.server.store
        if request.method == "GET":
            done = {k: _int_arg(request, k) for k in ("sent", "attempts")}
            return self.render(request, "clock.html", section="clock",
                               clock=clock.describe(store), done=done)
        action = request.form.get("action", "")
        if action == "real":
            clock.reset(store)
            return self._back(request, "clock")
        try:
            self._move_clock(request, action)
        except clock.ClockRangeError as error:
            raise UiError(str(error))
        due = background.send_fallen_due(store)
        return self._back(request, "clock", sent=due["newslettersSent"],
                          attempts=due["callbackAttempts"])

    def _move_clock(self, request: Request, action: str) -> None:
        """Set, freeze, release or advance the clock as the form asks."""
        store = self.server.store
        if action == "set":
            text = (request.form.get("now") or "").strip()
            try:
                moment = clock.parse_stamp(text) if text else None
            except ValueError:
                raise UiError(f"'now' must be an ISO 8601 time such as 2030-01-01T09:00:00, "
                              f"got {text!r}.")
            clock.set_clock(store, moment, bool(request.form.get("frozen")))
        elif action in ("freeze", "release"):
            clock.set_clock(store, None, action == "freeze")
        elif action == "advance":
            amount = (request.form.get("amount") or "").strip()
            unit = {"seconds": 1, "minutes": 60, "hours": 3600, "days": 86400}.get(
                request.form.get("unit") or "seconds")
            try:
                seconds = float(amount) * unit if unit else -1
            except ValueError:
                seconds = -1
            if not math.isfinite(seconds) or seconds < 0:
                raise UiError(f"Advance by a number, 0 or more, of seconds, minutes, hours or "
                              f"days; got {amount!r}.")
            clock.advance(store, seconds)
        else:
            raise UiError(f"Unknown clock action {action!r}; one of set, freeze, release, "
                          f"advance, real.")

    # -- faults -----------------------------------------------------------------------------

    def ui_faults(self, request: Request) -> Response:
        """Fault rules (with remaining and calls) and maintenance; ``POST`` adds a rule."""
        store = self.server.store
        error, status, form = None, 200, {}
        if request.method == "POST":
            form = request.form
            try:
                faults.add(store, [_rule_from_form(form)],
                           operations=self.server.operation_names)
                return self._back(request, "faults")
            except (UiError, faults.RuleError) as refused:
                error, status = str(refused), 400
        return self.render(request, "faults.html", section="faults", status=status,
                           described=faults.describe(store), error=error, form=form,
                           dialects=faults.DIALECTS)

    def ui_fault_delete(self, request: Request, rule_id: int) -> Response:
        """``POST``: remove one fault rule."""
        if not self.server.store.delete_fault_rules(rule_id):
            raise UiError(f"No fault rule with id {rule_id}.", 404)
        return self._back(request, "faults")

    def ui_faults_delete(self, request: Request) -> Response:
        """``POST``: remove every fault rule."""
        self.server.store.delete_fault_rules()
        return self._back(request, "faults")

    def ui_maintenance(self, request: Request) -> Response:
        """``POST``: maintenance on (with a fault string, or the default one) or off."""
        on = request.form.get("maintenance") == "on"
        self.server.store.set_maintenance(
            (request.form.get("fault") or faults.MAINTENANCE) if on else None)
        return self._back(request, "faults")
