"""The SOAP wire both dialects share.

Reading envelopes (``envelope``: the request pipeline of an endpoint) and their defences
against hostile input (``defences``), normalising members to the model's order and namespace
(``members``), writing faults (``faults``) and WSDLs (``wsdl_writing``), spyne's protocol as
the wire drives it (``spyne_protocol``), serving a user's own WSDL (``wsdl_import``), and the
shim that lets spyne load on every supported Python. Nothing here knows a vendor's rules.
"""
