"""Helpers of `benchmarks/peers.py`: crimetiles against the tools users would pick instead."""
