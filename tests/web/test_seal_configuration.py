"""Without a readable sealing certificate production does not start, and /verify answers
plainly when the certificate goes missing while the app runs."""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from careplan import create_app
from careplan.extensions import DB_KEY
from careplan.pdf import ensure_dev_certificate
from tests.conftest import FAST_ARGON2, csrf_token

ROOT = Path(__file__).resolve().parents[2]


def _start_in_production(tmp_path, **env) -> subprocess.CompletedProcess:
    """Load wsgi.py, as gunicorn does, in a production environment."""
    environment = {
        **{k: v for k, v in os.environ.items() if not k.startswith("CAREPLAN_")},
        "CAREPLAN_ENV": "production",
        "SECRET_KEY": "s" * 48,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'prod.db'}",
        "CAREPLAN_INSTANCE_PATH": str(tmp_path / "instance"),
        **env,
    }
    return subprocess.run(
        [sys.executable, "-c", "import wsgi"],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_production_refuses_to_start_without_a_sealing_certificate(tmp_path):
    started = _start_in_production(tmp_path)
    assert started.returncode != 0
    assert "Refusing to start" in started.stderr
    assert "CAREPLAN_PDF_SEAL_CERT_PATH" in started.stderr
    assert "CAREPLAN_PDF_SEAL_KEY_PATH" in started.stderr
    # No development certificate was made for it either.
    assert not (tmp_path / "instance" / "pdf-seal").exists()


def test_production_refuses_a_certificate_it_cannot_read(tmp_path):
    cert, key = ensure_dev_certificate(tmp_path / "seal")
    started = _start_in_production(
        tmp_path,
        CAREPLAN_PDF_SEAL_CERT_PATH=str(tmp_path / "no-such-cert.pem"),
        CAREPLAN_PDF_SEAL_KEY_PATH=str(key),
    )
    assert started.returncode != 0
    assert "CAREPLAN_PDF_SEAL_CERT_PATH" in started.stderr and "no-such-cert.pem" in started.stderr
    started = _start_in_production(
        tmp_path, CAREPLAN_PDF_SEAL_CERT_PATH=str(cert), CAREPLAN_PDF_SEAL_KEY_PATH=str(key)
    )
    assert started.returncode == 0, started.stderr[-2000:]


@pytest.fixture
def configured_seal(database_url, tmp_path):
    """An app sealing with configured certificate files, which the test then spoils."""
    dev_cert, dev_key = ensure_dev_certificate(tmp_path / "made")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    shutil.copyfile(dev_cert, cert)
    shutil.copyfile(dev_key, key)
    app = create_app(
        {
            "ENV": "testing",
            "DATABASE_URL": database_url,
            "PDF_SEAL_CERT_PATH": str(cert),
            "PDF_SEAL_KEY_PATH": str(key),
            **FAST_ARGON2,
        },
        instance_path=tmp_path / "instance",
    )
    yield app, cert
    app.extensions[DB_KEY].dispose()


@pytest.mark.parametrize("spoil", ["deleted", "not_a_certificate"])
def test_verify_answers_plainly_when_the_certificate_cannot_be_read(configured_seal, spoil):
    app, cert = configured_seal
    if spoil == "deleted":
        cert.unlink()
    else:
        cert.write_text("-----BEGIN CERTIFICATE-----\nnot one\n-----END CERTIFICATE-----\n")
    client = app.test_client()
    token = csrf_token(client)

    upload = client.post(
        "/verify",
        data={"csrf_token": token, "file": (io.BytesIO(b"%PDF-1.7\n"), "a.pdf")},
        content_type="multipart/form-data",
    )
    assert upload.status_code == 200
    assert "Files cannot be checked here at the moment" in upload.get_data(as_text=True)
    # Codes are checked against the database alone, so they still work.
    by_code = client.post("/verify", data={"csrf_token": token, "code": "AAAA-BBBB-CCCC"})
    assert by_code.status_code == 200
    assert "No agreed document has this code" in by_code.get_data(as_text=True)
