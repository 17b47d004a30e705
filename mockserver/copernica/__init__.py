"""The Copernica SOAP API ("POM SOAP API") dialect, served at the root of the mock.

Its wire (a spyne service per object, their shared ``selections`` handlers, ``types``,
``values``, the catalogue and WSDL), its rules (accounts, users, databases with their
``fields``, ``field_types`` and ``database_copy``, profiles with their searches
(``profile_search``), subprofiles, contacts, unsubscribes; callbacks with their
expressions, URLs, signing and delivery), its part of the store (``schema``, ``tables``,
``callback_tables``), its part of the fixture format (``fixture_schema``, ``fixtures``) and
its half of a tenant (``tenant``).
"""
SERVICE_PATH = "/"
WSDL_QUERY = "SOAPAPI=WSDL"
WSDL_FILE = "copernica.wsdl"
SERVICE_NAME = "POM_SOAP_API"
PORT_NAME = "POMPort"
PORT_TYPE_NAME = "POMPortType"
BINDING_NAME = "POMBinding"


def endpoint(max_body: int | None = None, max_items: int | None = None):
    """The Copernica endpoint (a CopernicaEndpoint): spyne application, WSDL, request pipeline."""
    from mockserver.copernica.soap_endpoint import CopernicaEndpoint
    from mockserver.copernica.service import POM_SOAP_API
    from mockserver.copernica.types import TNS
    from mockserver.soap.wsdl_writing import WsdlNames

    kwargs = {"max_body": max_body} if max_body else {}
    if max_items:
        kwargs["max_items"] = max_items
    return CopernicaEndpoint([POM_SOAP_API], tns=TNS, name=PORT_TYPE_NAME,
                             address_path=SERVICE_PATH, gzip_responses=True,
                             names=WsdlNames(service=SERVICE_NAME, port=PORT_NAME,
                                             port_type=PORT_TYPE_NAME, binding=BINDING_NAME,
                                             soap_action=TNS + "#{operation}", style="rpc"),
                             **kwargs)
