"""Requests refused before the application sees them: what gunicorn's own parser refuses
(HTTP garbage, too long a request line, too large header fields) in the status and words of
the answer, and the request log's line of a request the intake refused."""
from __future__ import annotations

import time

from gunicorn.http import errors as http_errors

from mockserver.surfaces import request_log


def log_refusal(intake, status: int, read_timeout: float) -> None:
    """The request log's line of a request refused before the application saw it."""
    try:
        method = intake.parser.get_method().decode("latin-1")
    except Exception:  # noqa: BLE001 - not even a request line
        method = "-"
    url = intake.url.decode("latin-1") if intake.url else ""
    path, _, query = url.partition("?")
    started = intake.deadline - read_timeout  # the deadline is set when the request begins
    request_log.write(request_log.line(method, path or "-", query,
                                       request_log.dialect_of(path), "refused", status,
                                       (time.monotonic() - started) * 1000))


def refusal_of(exc) -> tuple[int, str, str]:
    """(HTTP status of the JSON form, message, SOAP faultcode) for an error gunicorn's
    worker hands to handle_error."""
    if isinstance(exc, (http_errors.InvalidResponseHeader, http_errors.InvalidResponseHeaderName,
                        http_errors.ConfigurationProblem)):  # the application's fault
        return 500, "Internal error in mockserver; see its log.", "Server"
    if isinstance(exc, http_errors.LimitRequestLine):
        return 414, f"The request line is too long: {exc}.", "Client"
    if isinstance(exc, http_errors.LimitRequestHeaders):
        return 431, f"The request's header fields are too large: {exc}.", "Client"
    if isinstance(exc, http_errors.ExpectationFailed):
        return 417, f"{exc}.", "Client"
    if isinstance(exc, http_errors.UnsupportedTransferCoding):
        return 501, f"{exc}.", "Client"
    if isinstance(exc, http_errors.ParseException):
        return 400, f"Malformed HTTP request: {exc}.", "Client"
    return 500, "Internal error in mockserver; see its log.", "Server"
