"""The tile server: reads a build directory (see docs/artifact.md), never computes densities.

This folder is installed as `crimetiles.server` (the `package-dir` table of pyproject.toml maps
each top-level folder into the one `crimetiles` package): `crimetiles.server.app` is
`server/app.py`.
"""
