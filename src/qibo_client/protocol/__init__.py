"""The Qibo wire protocol, in one place: paths, headers, extensions, JSON readers and writers.

The HTTP adapter, the local adapter and the local server all speak through
this package, so a protocol change is a change here (``docs/protocol.md``
describes what it speaks). It imports the standard library and the domain's
records only: no HTTP library, no qibo.
"""
