"""Benchmark of the expert matching (issue 6): ``python -m bench.matching --help``."""
