"""The SOAP wire both dialects share.

Reading envelopes and their defences against hostile input, normalising members to the
model's order and namespace, writing faults and WSDLs, serving a user's own WSDL, and the
shim that lets spyne load on every supported Python. Nothing here knows a vendor's rules.
"""
