"""The domain: what a job, a quota and a result are, independent of any adapter.

Modules here import the standard library, the ports and each other; never
requests, rich, qibo or an adapter.
"""
