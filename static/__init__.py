"""The map page, embed page and vendored libraries, shipped as package data.

This folder is installed as `crimetiles.static` (the `package-dir` table of pyproject.toml maps
each top-level folder into the one `crimetiles` package): the server reads `static/app.js` as the
resource `app.js` of `crimetiles.static`.
"""
