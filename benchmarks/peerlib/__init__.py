"""Helpers of the benchmarks: the Durham demo and the crimetiles command every one of them runs
(`demo`), and those of `benchmarks/peers.py`, crimetiles against the tools users would pick instead."""
