"""Drivers: carry out the domain's waiting decisions against a transport (blocking, asyncio)."""
