"""The mock's own machinery, shared by both vendors and known to neither.

The virtual clock, the outbox of captured mail, the request journal, fault injection,
tenants, snapshots, the secrets the mock hands out, the background work each worker runs,
e-mail address and network checks, and the domain errors the vendors' rules raise.
"""
