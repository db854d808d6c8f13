"""Benchmarks for tornado_alf: ``python benchmarks/run.py [--quick]`` (see run.py)."""
