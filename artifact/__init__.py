"""The build directory format shared by `precompute` (writer) and `server` (reader).

See `docs/artifact.md` for the specification.
"""
