"""The BACKCLICK SOAP API v2 dialect, in one folder.

Its wire (the spyne service and types, ``endpoint`` below), its rules (subscribers,
newsletters, transaction mails, access by API key or allowed IP, its mails), its part of the
store (``schema``, ``tables``, ``newsletter_tables``), its part of the fixture format
(``fixture_schema``, ``fixtures``) and its half of a tenant (``tenant``).
"""
SERVICE_PATH = "/bc/rpc/soap/backclickService"
WSDL_PATH = SERVICE_PATH + ".wsdl"
WSDL_FILE = "backclickService.wsdl"


def endpoint(max_body: int | None = None, max_items: int | None = None,
             wsdl_file: str | None = None):
    """The BACKCLICK endpoint (a SoapEndpoint): spyne application, WSDL and request pipeline;
    with ``wsdl_file``, serving that WSDL and its names (wsdl_import.WsdlFileError if not)."""
    from mockserver.backclick.service import BackclickService
    from mockserver.backclick.types import TNS
    from mockserver.soap.envelope import SoapEndpoint

    kwargs = {"max_body": max_body} if max_body else {}
    if max_items:
        kwargs["max_items"] = max_items
    served = SoapEndpoint([BackclickService], tns=TNS, name="backclickService",
                          address_path=SERVICE_PATH,
                          validation_prefix="Validation error: ", **kwargs)
    if wsdl_file:
        from mockserver.soap import wsdl_import
        user = wsdl_import.read(wsdl_file, served)
        served.adopt(user.operations, user.wsdl)
    return served


def wsdl_summary(wsdl_file: str) -> str:
    """The ready output's line on a user's BACKCLICK WSDL: how many of its operations the
    mock emulates; wsdl_import.WsdlFileError if it cannot be served."""
    from mockserver.soap import wsdl_import
    return wsdl_import.read(wsdl_file, endpoint()).summary("BACKCLICK")
