"""Automation rules: what they say, the tickets they look at, when they fire."""
