"""The tile server: reads a build directory (see docs/artifact.md), never computes densities."""
