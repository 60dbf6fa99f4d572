"""The FHIR download on the document page and the client's archive on their own page."""

import io
import json
import zipfile

from careplan.domain.fhir import MEDIA_TYPE
from careplan.services import signoff
from careplan.services.accounts import actor_for
from tests.conftest import login
from tests.factories import PASSWORD, Circle, ClientFactory, make_plan
from tests.portability import assert_valid_r4, resources


def test_the_agreed_version_downloads_as_fhir_from_the_document_page(app, db):
    circle = Circle()
    doc = make_plan(circle.key_worker, circle.client, versions=2)
    web = login(app.test_client(), circle.client)
    link = f"/documents/{doc}/versions/2/fhir.json"
    assert link not in web.get(f"/documents/{doc}").get_data(as_text=True)  # not agreed yet
    for person in (circle.client, circle.key_worker):
        signoff.sign(db, actor_for(person), doc, 2, "signed", "", PASSWORD)
    assert link in web.get(f"/documents/{doc}").get_data(as_text=True)

    response = web.get(link)
    assert response.status_code == 200
    assert response.headers["Content-Type"] == MEDIA_TYPE
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["Content-Disposition"].startswith("attachment")
    bundle = json.loads(response.data)
    assert_valid_r4(bundle)
    assert resources(bundle, "CarePlan")[0]["status"] == "active"

    history = web.get(f"/documents/{doc}/history").get_data(as_text=True)
    assert "downloaded it in FHIR format (version 2)" in history
    for outsider in (circle.admin, ClientFactory()):
        other = login(app.test_client(), outsider)
        assert other.get(link).status_code == 404


def test_a_client_downloads_their_archive_and_nobody_else_can(app, db):
    circle = Circle()
    make_plan(circle.key_worker, circle.client, versions=2)
    url = f"/clients/{circle.client.id}/archive.zip"
    web = login(app.test_client(), circle.client)
    assert url in web.get(f"/clients/{circle.client.id}").get_data(as_text=True)
    response = web.get(url)
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/zip"
    assert response.headers["Cache-Control"] == "no-store"
    names = zipfile.ZipFile(io.BytesIO(response.data)).namelist()
    assert "access-log.json" in names and len([n for n in names if n.endswith(".fhir.json")]) == 2

    for other in (circle.key_worker, circle.supervisor, circle.advocate, circle.admin):
        page = login(app.test_client(), other)
        if other is not circle.admin:
            assert url not in page.get(f"/clients/{circle.client.id}").get_data(as_text=True)
        assert page.get(url).status_code == 404
