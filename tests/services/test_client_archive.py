"""A client's own archive: everything about them, nothing about anyone else."""

import io
import json
import zipfile
from types import SimpleNamespace

import pytest
import sqlalchemy as sa

from careplan.db.models import (
    AuditEvent,
    Comment,
    PdfRender,
    SignatureRecord,
    User,
    Version,
)
from careplan.domain import second_factor as second_factor_rules
from careplan.services import audit, backup_codes, comments, documents, pdfs, signoff
from careplan.services.accounts import actor_for
from careplan.services.client_archive import write_archive
from careplan.services.errors import NotFound
from careplan.services.fhir import ExportSettings
from tests.factories import (
    PASSWORD,
    AdvocateInvitationFactory,
    CaseloadLinkFactory,
    Circle,
    ClientFactory,
    make_plan,
)
from tests.portability import assert_valid_r4, resources


@pytest.fixture
def settings(app):
    return ExportSettings.from_config(app.config, app.instance_path)


def _agreed_plan(db, circle, versions: int, words: str) -> int:
    doc = make_plan(circle.key_worker, circle.client, versions=versions)
    content = documents.open_document(db, actor_for(circle.client), doc).content
    content["what_matters"]["text"] = words
    documents.save_version(db, actor_for(circle.client), doc, versions, content, "In my words")
    number = versions + 1
    signoff.sign(db, actor_for(circle.client), doc, number, "signed_with_comment", words, PASSWORD)
    signoff.sign(db, actor_for(circle.key_worker), doc, number, "signed", "", PASSWORD)
    comments.add_comment(db, actor_for(circle.advocate), doc, "goals", number, f"On {words}")
    return doc


def _archive(db, actor, client_id, settings) -> zipfile.ZipFile:
    out = io.BytesIO()
    write_archive(db, actor, client_id, settings, out)
    return zipfile.ZipFile(io.BytesIO(out.getvalue()))


def test_the_archive_holds_everything_about_the_client_and_nothing_about_another(app, db, settings):
    alex = Circle()
    # Bea shares Alex's key worker, advocate and supervisor: the people most likely to mix.
    bea = SimpleNamespace(
        client=ClientFactory(display_name="Beatrix Quill", email="beatrix@example.org"),
        key_worker=alex.key_worker,
        advocate=alex.advocate,
    )
    CaseloadLinkFactory(client_id=bea.client.id, key_worker_id=alex.key_worker.id)
    AdvocateInvitationFactory(client_id=bea.client.id, advocate_id=alex.advocate.id)

    alex_plan = _agreed_plan(db, alex, 2, "Alex wants a garden")
    alex_draft = make_plan(alex.key_worker, alex.client, versions=1)
    signoff.sign(
        db, actor_for(alex.client), alex_draft, 1, "declined", "Not yet, the dates", PASSWORD
    )
    bea_plan = _agreed_plan(db, bea, 1, "Zanzibar marmalade")
    documents.open_document(db, actor_for(alex.supervisor), alex_plan)
    documents.open_document(db, actor_for(alex.supervisor), bea_plan)
    pdf_settings = pdfs.PdfSettings.from_config(app.config, app.instance_path)
    assert pdfs.run_pending(db, pdf_settings) == 2
    app_key = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"  # the key of Alex's second step when signing
    with db.write() as s:
        s.get(User, alex.client.id).second_factor_secret = app_key
        backup = backup_codes.replace_all(s, alex.client.id)

    archive = _archive(db, actor_for(alex.client), alex.client.id, settings)
    names = archive.namelist()
    texts = {n: archive.read(n).decode("utf-8") for n in names if not n.endswith(".pdf")}

    with db.read() as s:
        versions = s.execute(
            sa.select(Version.document_id, Version.number, Version.content_hash).where(
                Version.document_id.in_([alex_plan, alex_draft])
            )
        ).all()
        signatures = s.scalars(
            sa.select(SignatureRecord).where(
                SignatureRecord.document_id.in_([alex_plan, alex_draft])
            )
        ).all()
        notes = s.scalars(sa.select(Comment).where(Comment.document_id == alex_plan)).all()
        render = s.scalar(sa.select(PdfRender).where(PdfRender.document_id == alex_plan))
        bea_render = s.scalar(sa.select(PdfRender).where(PdfRender.document_id == bea_plan))

    # Every version, as JSON and as FHIR.
    for doc_id, number, digest in versions:
        (version_file,) = [
            n for n in names if n.endswith(f"{doc_id:05d}-care-plan/version-{number}.json")
        ]
        assert json.loads(texts[version_file])["fingerprint_sha256"] == digest
        bundle = json.loads(texts[version_file.replace(".json", ".fhir.json")])
        assert_valid_r4(bundle)
        assert resources(bundle, "CarePlan")[0]["meta"]["versionId"] == str(number)
    assert len([n for n in names if n.endswith(".fhir.json")]) == len(versions) == 4

    # Every signature and comment, with the decline's reason.
    listed = [
        sig
        for n in names
        if n.endswith("document.json")
        for sig in json.loads(texts[n])["signatures"]
    ]
    assert sorted((s["version"], s["fingerprint_signed"]) for s in listed) == sorted(
        (s.version_number, s.content_hash) for s in signatures
    )
    assert "Not yet, the dates" in {s["comment"] for s in listed}
    plan_json = json.loads(texts[f"documents/{alex_plan:05d}-care-plan/document.json"])
    assert [c["comment"] for c in plan_json["comments"]] == [c.body for c in notes]

    # The access log, entry for entry.
    log = json.loads(texts["access-log.json"])
    page = audit.access_log(db, actor_for(alex.client))
    assert [(e["name"], e["what"]) for e in log] == [(e.who, e.what) for e in reversed(page)]

    # The sealed PDF, byte for byte.
    pdf_name = f"documents/{alex_plan:05d}-care-plan/signed-version-3.pdf"
    assert archive.read(pdf_name) == (settings.pdf_storage / render.file_name).read_bytes()
    assert [n for n in names if n.endswith(".pdf")] == [pdf_name]

    # The manifest lists every file with its hash.
    manifest = json.loads(archive.read("manifest.json"))
    assert {f["name"] for f in manifest["files"]} == set(names) - {"manifest.json"}

    # The same in words, to read on a phone: each document's latest words, its signed copy,
    # signatures with the decline's reason, comments, and who looked at the records.
    readable = texts["your-records.txt"]
    assert readable.startswith(f"Your records: {alex.client.display_name}\n")
    plan_part = readable[: readable.index("Who looked at your records")]
    assert "Version 3 is agreed and in force." in plan_part
    assert "What matters to me" in plan_part and ": Alex wants a garden" in plan_part
    signed_copy = (
        f"Signed copy of version 3: documents/{alex_plan:05d}-care-plan/signed-version-3.pdf"
    )
    assert signed_copy in plan_part
    assert f"{alex.client.display_name} (client) declined to sign version 1" in readable
    assert ": “Not yet, the dates”" in readable
    advocate = alex.advocate.display_name
    assert f"- {advocate} (advocate), on version 3, about “Goals and steps”," in readable
    assert "“On Alex wants a garden”" in readable
    seen = readable[readable.index("Who looked at your records") :]
    assert f"{alex.supervisor.display_name} (supervisor) read version 3 of your care plan" in seen
    assert "your-records.txt" in texts["README.txt"]

    # Nothing of Bea: not her name, words, e-mail, documents, rows or PDF.
    everything = "\n".join(texts.values())
    for trace in (
        "Beatrix Quill",
        "Zanzibar marmalade",
        "beatrix@example.org",
        bea_render.short_code,
    ):
        assert trace not in everything
    assert not any(f"{bea_plan:05d}-" in n for n in names)
    for name in [n for n in names if n.startswith("records/")]:
        for row in json.loads(texts[name]):
            assert bea.client.id not in (row.get("client_id"), row.get("user_id"))
            assert row.get("document_id") != bea_plan
    assert bea_render.file_sha256 not in everything.replace(render.file_sha256, "")
    users = json.loads(texts["records/users.json"])
    assert [u["id"] for u in users] == [alex.client.id] and "password_hash" not in users[0]
    assert "second_factor_secret" not in users[0] and app_key not in everything
    # That they have backup codes is theirs to see; the codes' hashes are not.
    kept = json.loads(texts["records/backup_codes.json"])
    assert len(kept) == 10 and all("code_hash" not in row for row in kept)
    assert not any(second_factor_rules.backup_hash(c) in everything for c in backup)

    # The export itself is in Alex's audit trail.
    with db.read() as s:
        last = s.scalar(sa.select(AuditEvent).order_by(AuditEvent.id.desc()).limit(1))
    assert (last.action, last.actor_id, last.client_id) == (
        "export",
        alex.client.id,
        alex.client.id,
    )


def test_only_the_client_themselves_may_have_their_archive(db, settings):
    circle = Circle()
    make_plan(circle.key_worker, circle.client)
    for other in (
        circle.key_worker,
        circle.supervisor,
        circle.advocate,
        circle.admin,
        ClientFactory(),
    ):
        with pytest.raises(NotFound):
            write_archive(db, actor_for(other), circle.client.id, settings, io.BytesIO())
    with db.read() as s:
        assert not s.scalar(sa.select(AuditEvent.id).where(AuditEvent.action == "export"))


def test_unsaved_edits_are_in_the_archive_only_when_the_client_wrote_them(db, settings):
    from careplan.services import drafts

    circle = Circle()
    doc = make_plan(circle.key_worker, circle.client)
    drafts.keep(db, actor_for(circle.client), doc, 1, "", [("what_matters-text", "my draft")])
    drafts.keep(db, actor_for(circle.key_worker), doc, 1, "", [("what_matters-text", "theirs")])
    archive = _archive(db, actor_for(circle.client), circle.client.id, settings)
    rows = json.loads(archive.read("records/edit_drafts.json"))
    assert [r["user_id"] for r in rows] == [circle.client.id]
    assert "theirs" not in archive.read("records/edit_drafts.json").decode()


def test_a_document_only_started_is_left_out_unless_the_client_is_writing_in_it(db, settings):
    from careplan.services import drafts

    circle = Circle()
    plan = make_plan(circle.key_worker, circle.client)
    worker, client = actor_for(circle.key_worker), actor_for(circle.client)
    started = documents.create_document(db, worker, circle.client.id)
    archive = _archive(db, client, circle.client.id, settings)
    folders = {n.split("/")[1] for n in archive.namelist() if n.startswith("documents/")}
    assert folders == {f"{plan:05d}-care-plan"}
    assert [r["id"] for r in json.loads(archive.read("records/documents.json"))] == [plan]
    assert "not one only started" in archive.read("README.txt").decode()

    # The client's own unsaved writing in it is theirs: then it is in, with their words.
    drafts.keep(db, client, started, 0, "", [("sections.x", "My own words")])
    archive = _archive(db, client, circle.client.id, settings)
    assert [r["id"] for r in json.loads(archive.read("records/documents.json"))] == [
        plan,
        started,
    ]
    assert "My own words" in archive.read("records/edit_drafts.json").decode()
