"""Benchmarks, run by hand: bench/README.md."""
