"""The pure domain: aggregates, commands and the application that handles them.

Nothing here imports ``zalodesk.adapters`` or ``zalodesk.api`` or does I/O of its own.
"""
