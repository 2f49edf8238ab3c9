"""Benchmarks: `make bench` (python -m bench). Prints numbers; asserts nothing about speed."""
