"""Benchmarks of the relay and the integration against the alternatives (see README.md)."""
