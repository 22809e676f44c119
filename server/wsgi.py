"""WSGI entry point for gunicorn: `gunicorn 'server.wsgi:app'`, configured by CRIMETILES_* env vars."""

from __future__ import annotations

from server.app import create_app
from server.config import ServerConfig

app = create_app(ServerConfig.from_env())
