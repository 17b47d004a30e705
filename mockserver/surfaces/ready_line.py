"""The ready line ``serve`` prints once it answers requests, and the URLs a client needs
(the pytest plugin and the embedded server hand them out too)."""
from __future__ import annotations

from mockserver import backclick


def urls(host: str, port: int) -> dict[str, str]:
    """The URLs a client needs, for the ready line and the pytest plugin."""
    shown = "127.0.0.1" if host in ("0.0.0.0", "") else ("[::1]" if host == "::" else host)
    if ":" in shown and not shown.startswith("["):
        shown = f"[{shown}]"
    base = f"http://{shown}:{port}"
    return {"base": base + "/", "backclick_wsdl": base + backclick.SERVICE_PATH + "?wsdl",
            "copernica_wsdl": base + "/?SOAPAPI=WSDL",
            "admin": base + "/_mock/", "ui": base + "/_mock/ui/"}


def ready_line(host: str, port: int, opening=None) -> str:
    """The one line ``serve`` prints once it answers requests: the URL (a browser gets the
    links to the WSDLs, the UI and the admin API there) and what the store holds (an
    Opening of settings.open_store_telling); 80 columns for ``make serve``."""
    line = f"mockserver ready on {urls(host, port)['base']}"
    return f"{line}  {opening.phrase()}" if opening is not None else line
