"""Benchmarks: ``python -m bench.NAME [--quick]``; the last line printed is JSON."""
