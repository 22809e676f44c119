"""Offline pipeline: incidents + boundaries -> densities per polygon, hex and year -> build directory."""

__version__ = "0.1.0"
