"""mockserver: a local, stateful mock of email-marketing SOAP APIs."""

__version__ = "0.1.0"
