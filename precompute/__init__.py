"""Offline pipeline: incidents + boundaries -> densities per polygon, hex and year -> build directory."""
