"""Helpers the tests and benchmarks share: databases, Zalo-shaped payloads."""
