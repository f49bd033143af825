"""Adapters: one module per technology and port."""
