"""Benchmarks for dedup: code you run, not tests that time things.

``python -m benchmarks hashing|report|scaling --help``. Every suite compares dedup against its
peers in the same run, each peer in a fresh process, and prints ratios, because the machines
these run on are shared and noisy. See ``benchmarks/README.md``.
"""
