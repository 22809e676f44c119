"""The map page, the embed page and QGIS layer definitions (owned by the page work, issue 4)."""
from __future__ import annotations

from flask import Blueprint

bp = Blueprint("pages", __name__)
