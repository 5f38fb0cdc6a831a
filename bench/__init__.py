"""Benchmarks of the job engine (see docs/benchmarks.md and bench/run_all.py)."""
