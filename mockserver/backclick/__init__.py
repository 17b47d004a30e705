"""The BACKCLICK SOAP API v2 dialect."""
SERVICE_PATH = "/bc/rpc/soap/backclickService"
WSDL_PATH = SERVICE_PATH + ".wsdl"
WSDL_FILE = "backclickService.wsdl"


def endpoint(max_body: int | None = None, max_items: int | None = None):
    """The BACKCLICK endpoint (a SoapEndpoint): spyne application, WSDL and request pipeline."""
    from mockserver.backclick.service import BackclickService
    from mockserver.backclick.types import TNS
    from mockserver.soap import SoapEndpoint

    kwargs = {"max_body": max_body} if max_body else {}
    if max_items:
        kwargs["max_items"] = max_items
    return SoapEndpoint([BackclickService], tns=TNS, name="backclickService",
                        address_path=SERVICE_PATH,
                        validation_prefix="Validation error: ", **kwargs)
