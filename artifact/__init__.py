"""The build directory format shared by `precompute` (writer) and `server` (reader).

This folder is installed as `crimetiles.artifact` (the `package-dir` table of pyproject.toml maps
each top-level folder into the one `crimetiles` package): `crimetiles.artifact.manifest` is
`artifact/manifest.py`. See `docs/artifact.md` for the specification.
"""
