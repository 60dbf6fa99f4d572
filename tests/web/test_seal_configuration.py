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
from tests import factories
from tests.certificates import INTERMEDIATE as INTERMEDIATE_NAME
from tests.certificates import ROOT as ROOT_NAME
from tests.certificates import issue_chain
from tests.conftest import FAST_ARGON2, csrf_token, login
from tests.factories import AdminFactory

ROOT = Path(__file__).resolve().parents[2]


def _start_in_production(tmp_path, **env) -> subprocess.CompletedProcess:
    """Load wsgi.py, as gunicorn does, in a production environment."""
    environment = {
        **{k: v for k, v in os.environ.items() if not k.startswith("CAREPLAN_")},
        "CAREPLAN_ENV": "production",
        "SECRET_KEY": "s" * 48,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'prod.db'}",
        "CAREPLAN_INSTANCE_PATH": str(tmp_path / "instance"),
        "CAREPLAN_PUBLIC_BASE_URL": "https://plans.example.org",
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


def _admin_app(database_url, tmp_path, **config):
    app = create_app(
        {"ENV": "testing", "DATABASE_URL": database_url, **FAST_ARGON2, **config},
        instance_path=tmp_path / "instance",
    )
    factories.bind(app.extensions[DB_KEY])
    return app


def test_administrators_see_the_certificate_and_are_told_in_time_to_renew_it(
    database_url, tmp_path
):
    seal = issue_chain(tmp_path / "now", days_left=10)
    old = issue_chain(tmp_path / "before", days_left=400).cert
    app = _admin_app(
        database_url,
        tmp_path,
        PDF_SEAL_CERT_PATH=str(seal.cert),
        PDF_SEAL_KEY_PATH=str(seal.key),
        PDF_SEAL_EARLIER_CERT_PATHS=os.pathsep.join([str(old), str(tmp_path / "gone.pem")]),
    )
    try:
        admin = login(app.test_client(), AdminFactory())
        start = admin.get("/admin/users").get_data(as_text=True)
        assert 'class="warning"' in start and "runs out on" in start and "in 10 days" in start
        page = " ".join(admin.get("/admin/seal").get_data(as_text=True).split())
        assert "Riverside service seal" in page and "Example Trust CA" in page
        assert page.count("Valid until") == 2  # the current one and the earlier one
        assert "gone.pem" in page  # named, with why it cannot be read
        worker = login(app.test_client(), factories.KeyWorkerFactory())
        assert worker.get("/admin/seal").status_code == 404
    finally:
        factories.unbind()
        app.extensions[DB_KEY].dispose()


def test_a_certificate_far_from_its_end_asks_for_nothing(database_url, tmp_path):
    seal = issue_chain(tmp_path / "now", days_left=365)
    app = _admin_app(
        database_url, tmp_path, PDF_SEAL_CERT_PATH=str(seal.cert), PDF_SEAL_KEY_PATH=str(seal.key)
    )
    try:
        admin = login(app.test_client(), AdminFactory())
        assert "runs out" not in admin.get("/admin/users").get_data(as_text=True)
        page = admin.get("/admin/seal").get_data(as_text=True)
        assert "Riverside service seal" in page and "None. If you replace" in page
        assert "The certificates that vouch for it are not named" in page
    finally:
        factories.unbind()
        app.extensions[DB_KEY].dispose()


def test_the_chain_is_shown_and_its_end_and_mistakes_are_told(database_url, tmp_path):
    """The intermediate runs out before the service's certificate: that is what needs doing
    first. A certificate that has nothing to do with the seal is named as a mistake."""
    seal = issue_chain(tmp_path / "now", days_left=700, intermediate_days_left=10)
    stranger, _ = ensure_dev_certificate(tmp_path / "other")
    app = _admin_app(
        database_url,
        tmp_path,
        PDF_SEAL_CERT_PATH=str(seal.cert),
        PDF_SEAL_KEY_PATH=str(seal.key),
        PDF_SEAL_CHAIN_PATHS=os.pathsep.join(map(str, [*seal.chain, stranger])),
    )
    try:
        admin = login(app.test_client(), AdminFactory())
        start = " ".join(admin.get("/admin/users").get_data(as_text=True).split())
        assert 'class="warning"' in start
        assert f"vouches for the signing certificate (CN={INTERMEDIATE_NAME}) runs out" in start
        assert "in 10 days" in start
        page = " ".join(admin.get("/admin/seal").get_data(as_text=True).split())
        assert "Vouching for it" in page and page.count("Valid until") == 4
        # The root (issued by itself), and as the intermediate's issuer.
        assert page.count(f"CN={ROOT_NAME}") == 2 and "itself (self-signed)" in page
        assert page.count("does not vouch for the signing certificate") == 1
        assert "CN=careplan development seal does not vouch for the signing" in page
    finally:
        factories.unbind()
        app.extensions[DB_KEY].dispose()
