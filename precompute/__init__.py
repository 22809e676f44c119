"""Offline pipeline: incidents + boundaries -> densities per polygon, hex and year -> build directory.

This folder is installed as `crimetiles.precompute` (the `package-dir` table of pyproject.toml
maps each top-level folder into the one `crimetiles` package): `crimetiles.precompute.build` is
`precompute/build.py`.
"""
