"""Downloads for other systems and for keeping: a version as FHIR, and a client's archive."""

from __future__ import annotations

import io
import json
import tempfile

from flask import Blueprint, current_app, send_file
from flask_login import current_user, login_required

from ..domain.fhir import MEDIA_TYPE
from ..extensions import get_db, get_time_zone
from ..services import client_archive, fhir
from .downloads import as_download

bp = Blueprint("exports", __name__)


def _settings() -> fhir.ExportSettings:
    return fhir.ExportSettings.from_config(current_app.config, current_app.instance_path)


def _no_store(response):
    # Health records must not be kept in any cache, whoever is signed in.
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/documents/<int:document_id>/versions/<int:number>/fhir.json")
@login_required
def fhir_bundle(document_id: int, number: int):
    bundle = fhir.bundle_for(get_db(), current_user.actor, document_id, number, _settings())
    body = (json.dumps(bundle, indent=2, ensure_ascii=False) + "\n").encode("utf-8")
    response = send_file(io.BytesIO(body), mimetype=MEDIA_TYPE)
    return _no_store(as_download(response, fhir.download_name(bundle)))


@bp.get("/clients/<int:client_id>/archive.zip")
@login_required
def archive(client_id: int):
    out = tempfile.TemporaryFile()  # noqa: SIM115 - send_file closes it after the response
    try:
        name = client_archive.write_archive(
            get_db(), current_user.actor, client_id, _settings(), out, zone=get_time_zone()
        )
    except BaseException:
        out.close()
        raise
    out.seek(0)
    response = send_file(out, mimetype="application/zip")
    return _no_store(as_download(response, name))
