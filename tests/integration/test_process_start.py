"""What a web worker loads when it starts: not WeasyPrint, which only the PDF render hosts use
(careplan.pdf.sandbox), nor pyHanko before something seals or checks a PDF, nor Alembic before
a migration. Loaded on import they took every process that imports the app about a second
longer to start (WeasyPrint half of it), and their memory."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

LOADED = """
import sys
import wsgi
app = wsgi.app
with app.test_client() as client:
    assert client.get("/login").status_code == 200
print(sorted(m for m in ("weasyprint", "pydyf", "tinycss2", "pyhanko", "alembic") if m in sys.modules))
"""


def test_the_app_starts_and_serves_a_page_without_loading_weasyprint_pyhanko_or_alembic(tmp_path):
    env = {
        **os.environ,
        "CAREPLAN_ENV": "testing",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'app.db'}",
        "CAREPLAN_INSTANCE_PATH": str(tmp_path),
    }
    done = subprocess.run(
        [sys.executable, "-c", LOADED], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
