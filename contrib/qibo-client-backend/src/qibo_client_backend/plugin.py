"""Runs circuits on a Qibo server as a qibo backend: qibo.set_backend("qibo-client-backend").

This module is the package's entry point in the ``qibo_client`` group. The
backend is not a transport, renderer or result store, so it implements none
of qibo-client's hooks; the entry point only announces the package.
"""
