"""The FHIR file and the client's archive, downloaded over real HTTP from gunicorn."""

from __future__ import annotations

import http.cookiejar
import io
import json
import os
import re
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
import zipfile

import pytest

from careplan.paths import PROJECT_ROOT
from careplan.services import signoff
from careplan.services.accounts import actor_for
from tests.factories import PASSWORD, Circle, make_plan
from tests.portability import assert_valid_r4

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def server(database_url, tmp_path):
    port = _free_port()
    log = tmp_path / "gunicorn.log"
    env = {
        **os.environ,
        "DATABASE_URL": database_url.replace("postgresql+psycopg://", "postgresql://"),
        "CAREPLAN_INSTANCE_PATH": str(tmp_path / "instance"),
        "CAREPLAN_ARGON2_TIME_COST": "1",
        "CAREPLAN_ARGON2_MEMORY_KIB": "1024",
    }
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "--workers",
            "1",
            "--bind",
            f"127.0.0.1:{port}",
            "wsgi:app",
        ],
        cwd=PROJECT_ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=log.open("wb"),
    )
    deadline = time.monotonic() + 60
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                pytest.fail(f"gunicorn did not start: {log.read_text()[-2000:]}")
            time.sleep(0.2)
    yield f"http://127.0.0.1:{port}"
    proc.terminate()
    proc.wait(timeout=30)


def _browser(base: str, user) -> urllib.request.OpenerDirector:
    opener = urllib.request.build_opener(
        urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar())
    )
    token = CSRF.search(opener.open(f"{base}/login").read().decode()).group(1)
    form = {"email": user.email, "password": PASSWORD, "csrf_token": token}
    opener.open(f"{base}/login", urllib.parse.urlencode(form).encode())
    return opener


def test_fhir_and_archive_download_from_gunicorn(app, db, server):
    circle = Circle()
    doc = make_plan(circle.key_worker, circle.client, versions=2)
    for person in (circle.client, circle.key_worker):
        signoff.sign(db, actor_for(person), doc, 2, "signed", "", PASSWORD)
    web = _browser(server, circle.client)

    response = web.open(f"{server}/documents/{doc}/versions/2/fhir.json")
    assert response.status == 200
    assert response.headers["Content-Type"] == "application/fhir+json; fhirVersion=4.0"
    assert response.headers["Cache-Control"] == "no-store"
    assert "FHIR" in response.headers.get_filename()
    assert_valid_r4(json.loads(response.read()))

    response = web.open(f"{server}/clients/{circle.client.id}/archive.zip")
    assert response.status == 200 and response.headers["Content-Type"] == "application/zip"
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers.get_filename().endswith(".zip")
    archive = zipfile.ZipFile(io.BytesIO(response.read()))
    assert archive.testzip() is None
    assert len([n for n in archive.namelist() if n.endswith(".fhir.json")]) == 2

    worker = _browser(server, circle.key_worker)
    with pytest.raises(urllib.error.HTTPError) as refused:
        worker.open(f"{server}/clients/{circle.client.id}/archive.zip")
    assert refused.value.code == 404
