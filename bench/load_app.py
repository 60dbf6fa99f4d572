"""What the load benchmark's gunicorn serves: the app as wsgi.py builds it, and beside it, in
the same processes, a bare Flask app at /bare (a one-line endpoint, and a static file of the
same size as a sealed PDF) to compare with."""

from __future__ import annotations

import os

from flask import Flask
from werkzeug.middleware.dispatcher import DispatcherMiddleware

from careplan import create_app
from careplan.long_lived import freeze_start_up_objects

careplan_app = create_app()
bare = Flask("bare", static_folder=os.environ["CAREPLAN_BENCH_STATIC"], static_url_path="/static")


@bare.get("/")
def hello():
    return "ok"


app = DispatcherMiddleware(careplan_app, {"/bare": bare})
freeze_start_up_objects()
