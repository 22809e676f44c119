"""The map page, embed page and vendored libraries, shipped as package data (`crimetiles.static`)."""
