"""WSGI entry point: `gunicorn wsgi:app` (see README for production settings)."""

from careplan import create_app

app = create_app()
