"""WSGI entry point: `gunicorn wsgi:app` (see README for production settings)."""

from careplan import create_app
from careplan.long_lived import freeze_start_up_objects

app = create_app()
freeze_start_up_objects()
