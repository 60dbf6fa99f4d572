"""Benchmarks for careplan. See bench/README.md."""
