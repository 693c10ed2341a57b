"""The pure domain: aggregates, commands and the application that handles them.

Nothing here imports ``adapters`` or ``api`` or does I/O of its own.
"""
