"""WSGI entry point for gunicorn: `gunicorn 'crimetiles.server.wsgi:app'`, configured by CRIMETILES_* env vars."""

from __future__ import annotations

from crimetiles.server.app import create_app
from crimetiles.server.config import ServerConfig

app = create_app(ServerConfig.from_env())
