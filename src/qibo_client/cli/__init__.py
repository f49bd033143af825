"""The ``qibo-client`` command line: run circuits, follow jobs, manage credentials.

:func:`qibo_client.cli.main.main` is the console script. Importing this
package imports nothing else: each command loads its code when it runs.
"""
