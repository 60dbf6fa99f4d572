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


def _run(code: str, folder: Path) -> subprocess.CompletedProcess:
    env = {
        **os.environ,
        "CAREPLAN_ENV": "testing",
        "DATABASE_URL": f"sqlite:///{folder / 'app.db'}",
        "CAREPLAN_INSTANCE_PATH": str(folder),
    }
    return subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True
    )


def test_the_app_starts_and_serves_a_page_without_loading_weasyprint_pyhanko_or_alembic(tmp_path):
    done = _run(LOADED, tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


FROZEN = """
import gc
import wsgi
print(gc.get_freeze_count())
"""


def test_a_web_worker_keeps_what_it_built_at_start_out_of_full_collections(tmp_path):
    # A full collection walks every object not frozen: without this, the app's own each time.
    done = _run(FROZEN, tmp_path)
    assert done.returncode == 0, done.stderr
    assert int(done.stdout) > 100_000
