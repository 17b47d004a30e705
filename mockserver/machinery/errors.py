"""Typed domain errors. Their message is the vendor's text, character for character."""


class VendorError(Exception):
    """A documented vendor error; ``str(error)`` is the vendor's message."""


class AccessDenied(VendorError):
    """The caller may not use this mandator or account."""


class NotFound(VendorError):
    """A referenced object (list, template, channel, ...) does not exist."""


class InvalidRequest(VendorError):
    """The request is well-formed but breaks a rule of the vendor."""


class Busy(VendorError):
    """The vendor refuses the call for now (an import is running)."""
