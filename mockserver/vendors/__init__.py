"""The vendors put together: what needs both BACKCLICK and Copernica at once.

The store's whole schema (each vendor's part beside the machinery's), the fixture document
with a section per vendor, a tenant made of a mandator and an account, and the background
work of both. The surfaces use this; the vendors never import it, nor each other.
"""
