"""The live stream: the log, as agents see it change, for Server-Sent Events clients."""
