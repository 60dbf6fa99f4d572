"""The sealed PDF of an agreed version, end to end through the services (real renders)."""

import io
import os
import re
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from pypdf import PdfReader

from careplan import pdf
from careplan.db.models import AuditEvent, CaseloadLink, Document, PdfRender, utcnow
from careplan.domain import local_time
from careplan.domain.local_time import long_date, service_day, time_zone
from careplan.services import documents, pdfs, signoff
from careplan.services.accounts import actor_for
from careplan.services.errors import Agreed, NotFound
from tests.conftest import csrf_token, downloads_recorded, login
from tests.factories import (
    PASSWORD,
    CaseloadLinkFactory,
    Circle,
    KeyWorkerFactory,
    make_plan,
)


@pytest.fixture
def settings(app):
    return pdfs.PdfSettings.from_config(app.config, app.instance_path)


@pytest.fixture
def agreed(db, app):
    circle = Circle()
    doc = make_plan(circle.key_worker, circle.client, versions=2)
    signoff.sign(
        db,
        actor_for(circle.client),
        doc,
        2,
        "signed_with_comment",
        "Revisit goal 1 in May",
        PASSWORD,
    )
    signoff.sign(db, actor_for(circle.key_worker), doc, 2, "signed", "", PASSWORD)
    return circle, doc


def text_of(data: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


def test_the_sealed_pdf_is_made_once_outside_the_request_and_holds_everything(db, agreed, settings):
    circle, doc = agreed
    client = actor_for(circle.client)
    assert pdfs.sealed_pdf(db, client, doc, 2, settings).status == "pending"
    assert pdfs.run_pending(db, settings) == 1
    assert pdfs.run_pending(db, settings) == 0  # rendered once only
    result = pdfs.sealed_pdf(db, client, doc, 2, settings)
    data = result.path.read_bytes()
    text = re.sub(r"\s+", " ", text_of(data))
    page = documents.open_document(db, client, doc)
    for field in ("I live with my sister for now.", "Find a flat", "Call the council", "Dr Patel"):
        assert field in text
    assert page.content["what_matters"]["text"] in text
    assert circle.client.display_name in text and circle.key_worker.display_name in text
    assert "Revisit goal 1 in May" in text
    assert page.shown.content_hash in text.replace(" ", "")
    assert "Care plan" in result.filename and "Page 1 of" in text
    verdict = pdfs.verify_file(db, settings, data)
    assert (
        verdict.genuine
        and verdict.version_number == 2
        and verdict.content_hash == page.shown.content_hash
    )
    with db.read() as s:
        assert (
            s.scalar(sa.select(AuditEvent.action).order_by(AuditEvent.id.desc()).limit(1))
            == "download"
        )
    # The history says which version's PDF was downloaded.
    assert documents.history(db, client, doc).events[0].what == "downloaded a PDF (version 2)"


def test_the_sealed_pdf_gives_the_review_agreed_and_a_draft_none(db, agreed, settings):
    circle, doc = agreed
    client = actor_for(circle.client)
    with db.read() as s:
        due = s.get(Document, doc).next_review_on
    assert due is not None
    pdfs.run_pending(db, settings)
    sealed = re.sub(
        r"\s+", " ", text_of(pdfs.sealed_pdf(db, client, doc, 2, settings).path.read_bytes())
    )
    assert f"Next review by {long_date(due)}, as set when this was agreed. It can be held" in sealed
    assert "sooner: the app shows the date now set." in sealed

    content = documents.open_document(db, client, doc).content
    content["what_matters"] = {"text": "Seeing my sister every week."}
    documents.save_version(db, client, doc, 2, content, "a new draft")
    draft, _ = pdfs.draft_pdf(db, client, doc, 3, settings)
    assert "Next review" not in text_of(draft)


def test_the_pdf_and_the_check_give_the_day_agreed_in_the_service_s_zone(
    db, agreed, settings, monkeypatch
):
    # Agreed at 23:30 UTC on 1 July: 00:30 on 2 July in London, as the signatures' times say.
    monkeypatch.setattr(local_time, "_days_zone", time_zone("Europe/London"))
    circle, doc = agreed
    with db.write() as s:
        s.execute(sa.update(PdfRender).values(agreed_at=datetime(2026, 7, 1, 23, 30, tzinfo=UTC)))
    pdfs.run_pending(db, settings)
    stored = pdfs.sealed_pdf(db, actor_for(circle.client), doc, 2, settings)
    assert "agreed 2 July 2026" in text_of(stored.path.read_bytes())
    assert "2 July 2026" in stored.filename
    with db.read() as s:
        code = s.scalar(sa.select(PdfRender.short_code))
    assert pdfs.verify_code(db, code).agreed_on == date(2026, 7, 2)


def test_any_change_to_the_file_is_detected(db, agreed, settings):
    circle, doc = agreed
    pdfs.run_pending(db, settings)
    data = pdfs.sealed_pdf(db, actor_for(circle.client), doc, 2, settings).path.read_bytes()
    flipped = bytearray(data)
    flipped[len(flipped) // 3] ^= 0x01
    assert not pdfs.verify_file(db, settings, bytes(flipped)).genuine
    appended = data + b"\n% appended\n"
    assert not pdfs.verify_file(db, settings, appended).genuine


def test_a_failed_render_is_retried_and_never_leaves_a_partial_file(
    db, agreed, settings, monkeypatch
):
    circle, doc = agreed

    def broken(*args, **kwargs):
        raise pdf.RenderFailed("the renderer ran out of time")

    monkeypatch.setattr(pdf, "render_pdf", broken)
    assert pdfs.run_pending(db, settings) == 0
    with db.read() as s:
        render = s.scalar(sa.select(PdfRender))
    assert (render.status, render.attempts) == ("pending", 1) and "ran out of time" in render.error
    assert not list(settings.storage.glob("*")) if settings.storage.exists() else True
    for _ in range(pdfs.MAX_ATTEMPTS):
        with db.write() as s:  # let the back-off pass
            s.execute(sa.update(PdfRender).values(next_attempt_at=render.created_at))
        pdfs.run_pending(db, settings)
    assert pdfs.sealed_pdf(db, actor_for(circle.client), doc, 2, settings).status == "failed"
    monkeypatch.undo()
    pdfs.retry_failed(db, actor_for(circle.client), doc, 2)
    assert pdfs.run_pending(db, settings) == 1


def test_only_people_who_can_read_the_document_get_its_pdf(db, agreed, settings):
    circle, doc = agreed
    for outsider in (Circle().client, circle.admin):
        with pytest.raises(NotFound):
            pdfs.sealed_pdf(db, actor_for(outsider), doc, 2, settings)
        with pytest.raises(NotFound):
            pdfs.draft_pdf(db, actor_for(outsider), doc, 1, settings)


def test_a_draft_is_watermarked_on_every_page_and_not_sealed(db, agreed, settings):
    circle, doc = agreed
    data, filename = pdfs.draft_pdf(db, actor_for(circle.client), doc, 1, settings)
    pages = PdfReader(io.BytesIO(data)).pages
    assert all("DRAFT" in p.extract_text() for p in pages)
    assert "draft" in filename
    assert not pdfs.verify_file(db, settings, data).genuine
    # The history says which version, and that it was a draft (it said "downloaded a PDF").
    seen = documents.history(db, actor_for(circle.supervisor), doc).events[0]
    assert seen.what == "downloaded a draft PDF (version 1)"


def test_an_agreed_version_has_no_draft_pdf_saying_it_was_never_agreed(app, db, agreed, settings):
    """Its paper copy is the sealed PDF; a draft's cover says "not agreed by both of you". So
    with a version agreed before it, and for a draft after it, which still has one."""
    circle, doc = agreed  # version 2 agreed
    client, worker = actor_for(circle.client), actor_for(circle.key_worker)
    content = documents.open_document(db, client, doc).content
    for number in (3, 4):
        content["what_matters"] = {"text": f"Take {number}."}
        documents.save_version(db, client, doc, number - 1, content, f"v{number}")
        if number == 3:
            for who in (client, worker):
                signoff.sign(db, who, doc, 3, "signed", "", PASSWORD)
    downloads = downloads_recorded(db)
    for number in (2, 3):  # agreed and since replaced; agreed and in force
        with pytest.raises(Agreed) as refused:
            pdfs.draft_pdf(db, client, doc, number, settings)
        assert refused.value.number == number
    assert downloads_recorded(db) == downloads  # nothing recorded as downloaded
    data, _ = pdfs.draft_pdf(db, client, doc, 4, settings)
    assert "not been agreed by both of you" in PdfReader(io.BytesIO(data)).pages[0].extract_text()
    browser = login(app.test_client(), circle.client)
    answer = browser.get(f"/documents/{doc}/versions/3/draft.pdf")
    assert answer.status_code == 302
    assert answer.headers["Location"].endswith(f"/documents/{doc}/versions/3/signed.pdf")
    page = browser.get(f"/documents/{doc}/versions/3").get_data(as_text=True)
    assert "draft.pdf" not in page and f"/documents/{doc}/versions/3/signed.pdf" in page
    assert "/versions/4/draft.pdf" in browser.get(f"/documents/{doc}").get_data(as_text=True)
    # Version 2, agreed and since replaced, offers its own signed PDF, not a draft one.
    page = browser.get(f"/documents/{doc}/versions/2").get_data(as_text=True)
    assert "draft.pdf" not in page and f"/documents/{doc}/versions/2/signed.pdf" in page
    assert "Download the signed PDF of version 2" in page


def test_verify_page_and_cli(app, db, agreed, settings, tmp_path):
    circle, doc = agreed
    pdfs.run_pending(db, settings)
    path = pdfs.sealed_pdf(db, actor_for(circle.client), doc, 2, settings).path
    anonymous = app.test_client()
    token = csrf_token(anonymous)
    good = anonymous.post(
        "/verify",
        data={"csrf_token": token, "file": (io.BytesIO(path.read_bytes()), "a.pdf")},
        content_type="multipart/form-data",
    )
    assert "Genuine" in good.get_data(as_text=True)
    assert "Find a flat" not in good.get_data(as_text=True)  # nothing of the content is shown
    with db.read() as s:
        code = s.scalar(sa.select(PdfRender.short_code))
    by_code = anonymous.post(
        "/verify", data={"csrf_token": token, "code": code.lower().replace("-", " ")}
    )
    assert "version 2" in by_code.get_data(as_text=True)
    wrong = anonymous.post("/verify", data={"csrf_token": token, "code": "AAAA-BBBB-CCCC"})
    assert "No agreed document has this code" in wrong.get_data(as_text=True)
    # Kept in its box, to correct one character; the answer is where the form lands.
    assert 'value="AAAA-BBBB-CCCC"' in wrong.get_data(as_text=True)
    assert 'action="/verify#result"' in wrong.get_data(as_text=True)
    assert (
        'id="code" name="code" type="text" autocomplete="off" placeholder="ABCD-EFGH-JKLM" value=""'
        in by_code.get_data(as_text=True)
    )  # genuine: done
    # Nothing chosen or typed: said as a mistake in the form, not as a failed check.
    empty = anonymous.post("/verify", data={"csrf_token": token, "code": "  "})
    assert empty.status_code == 422
    assert "Nothing was checked: please choose a PDF file, or type the code" in empty.get_data(
        as_text=True
    )
    assert "Not confirmed" not in empty.get_data(as_text=True)
    # A PDF with a code typed: the code must be the one printed on it (another document's
    # code was left unread, and the page said "Genuine").
    for typed, matches in ((code.lower(), True), ("AAAA-BBBB-CCCC", False), ("ABC", False)):
        both = anonymous.post(
            "/verify",
            data={
                "csrf_token": token,
                "code": typed,
                "file": (io.BytesIO(path.read_bytes()), "a.pdf"),
            },
            content_type="multipart/form-data",
        ).get_data(as_text=True)
        assert ("Genuine" in both) is matches, typed
        assert ("is not the one printed on it" in both) is not matches, typed

    runner = app.test_cli_runner()
    with db.read() as s:
        agreed_on = local_time.long_date(service_day(s.scalar(sa.select(PdfRender.agreed_at))))
    # The date in words ("6 December 2026"), as the PDF and the verify page say it.
    said = runner.invoke(args=["verify", str(path)]).output
    assert said.startswith(f"GENUINE: Care plan, version 2, agreed on {agreed_on}, fingerprint ")
    tampered = tmp_path / "tampered.pdf"
    tampered.write_bytes(Path(path).read_bytes() + b"%%EOF\n")
    result = runner.invoke(args=["verify", str(tampered)])
    assert result.exit_code != 0 and "NOT GENUINE" in result.output


def test_pdfs_sealed_before_the_certificate_was_replaced_still_check_out(
    app, db, agreed, settings, tmp_path
):
    """Certificates are replaced (they expire; a key may be moved): the earlier ones, named in
    PDF_SEAL_EARLIER_CERT_PATHS, keep the PDFs sealed with them genuine."""
    circle, doc = agreed
    pdfs.run_pending(db, settings)
    data = pdfs.sealed_pdf(db, actor_for(circle.client), doc, 2, settings).path.read_bytes()
    old_cert = settings.credentials.cert_path
    new_cert, new_key = pdf.ensure_dev_certificate(tmp_path / "new")
    config = {**app.config, "PDF_SEAL_CERT_PATH": str(new_cert), "PDF_SEAL_KEY_PATH": str(new_key)}

    replaced = pdfs.PdfSettings.from_config(config, app.instance_path)
    verdict = pdfs.verify_file(db, replaced, data)
    assert not verdict.genuine and "not made with this service's certificate" in verdict.message

    earlier = {**config, "PDF_SEAL_EARLIER_CERT_PATHS": os.pathsep.join([str(old_cert)])}
    kept = pdfs.PdfSettings.from_config(earlier, app.instance_path)
    assert pdfs.verify_file(db, kept, data).genuine
    # PDFs sealed from now on are sealed with the new certificate, and check out too.
    later = make_plan(circle.key_worker, circle.client)
    for person in (circle.client, circle.key_worker):
        signoff.sign(db, actor_for(person), later, 1, "signed", "", PASSWORD)
    pdfs.run_pending(db, kept)
    new = pdfs.sealed_pdf(db, actor_for(circle.client), later, 1, kept).path.read_bytes()
    assert pdfs.verify_file(db, kept, new).genuine
    assert not pdfs.verify_file(db, settings, new).genuine  # the old certificate alone


def test_download_through_the_web_waits_then_serves_the_stored_file(app, db, agreed, settings):
    circle, doc = agreed
    web = login(app.test_client(), circle.client)
    waiting = web.get(f"/documents/{doc}/versions/2/signed.pdf")
    assert waiting.status_code == 202 and 'http-equiv="refresh"' in waiting.get_data(as_text=True)
    pdfs.run_pending(db, settings)
    ready = web.get(f"/documents/{doc}/versions/2/signed.pdf")
    assert ready.status_code == 200 and ready.data.startswith(b"%PDF")
    assert (
        ready.data
        == pdfs.sealed_pdf(db, actor_for(circle.client), doc, 2, settings).path.read_bytes()
    )


def test_a_pdf_waiting_long_past_the_agreement_is_said_to_be_taking_too_long(
    app, db, agreed, settings
):
    """With no scheduler running (stopped, or never started) the PDF is never made: past a
    couple of minutes the page stops only saying "being prepared", and says whom to tell."""
    circle, doc = agreed
    url = f"/documents/{doc}/versions/2/signed.pdf"
    client = login(app.test_client(), circle.client)
    # Just agreed: the note is there for the page's script to show, hidden.
    assert '<p class="warning" id="taking-long" hidden>' in client.get(url).get_data(True)
    state = f"{url}/state"
    assert client.get(state).get_json() == {"status": "pending", "taking_long": False}
    with db.write() as s:
        render = s.scalar(sa.select(PdfRender).where(PdfRender.version_number == 2))
        render.agreed_at = render.agreed_at - pdfs.TAKING_LONG - timedelta(seconds=1)
    assert client.get(state).get_json() == {"status": "pending", "taking_long": True}
    waiting = client.get(url)
    page = waiting.get_data(as_text=True)
    assert waiting.status_code == 202 and '<p class="warning" id="taking-long">' in page
    assert "This is taking longer than it should." in page and "your key worker" in page
    worker = login(app.test_client(), circle.key_worker)
    assert "an administrator" in worker.get(url).get_data(as_text=True)
    pdfs.run_pending(db, settings)
    # Asking whether it is made records no download; downloading it does, once.
    downloads = _downloads(db)
    assert client.get(state).get_json() == {"status": "ready", "taking_long": False}
    assert _downloads(db) == downloads
    assert client.get(url).status_code == 200 and _downloads(db) == downloads + 1


def _downloads(db) -> int:
    with db.read() as s:
        return s.scalar(
            sa.select(sa.func.count())
            .select_from(AuditEvent)
            .where(AuditEvent.action == "download")
        )


def test_a_replaced_version_is_still_genuine_but_said_to_be_no_longer_in_force(
    app, db, agreed, settings, tmp_path
):
    circle, doc = agreed
    assert pdfs.run_pending(db, settings) == 1
    sealed = pdfs.sealed_pdf(db, actor_for(circle.client), doc, 2, settings).path.read_bytes()
    worker = actor_for(circle.key_worker)
    content = documents.open_document(db, worker, doc).content
    content["what_matters"] = {"text": "Seeing my sister every week."}
    documents.save_version(db, worker, doc, 2, content, "what matters now")
    with db.read() as s:
        old_code = s.scalar(sa.select(PdfRender.short_code).where(PdfRender.version_number == 2))
    assert pdfs.verify_code(db, old_code).replaced_on is None  # version 3 is only a draft
    for person in (circle.client, circle.key_worker):
        signoff.sign(db, actor_for(person), doc, 3, "signed", "", PASSWORD)
    with db.read() as s:
        new_code, agreed_at = s.execute(
            sa.select(PdfRender.short_code, PdfRender.agreed_at).where(
                PdfRender.version_number == 3
            )
        ).one()
    old = pdfs.verify_code(db, old_code)
    assert old.genuine and old.version_number == 2 and old.replaced_on == service_day(agreed_at)
    assert old.short_fingerprint == f"{old.content_hash[:8]} … {old.content_hash[-8:]}"
    assert pdfs.verify_code(db, new_code).replaced_on is None
    assert pdfs.verify_file(db, settings, sealed).replaced_on == service_day(agreed_at)
    path = tmp_path / "version-2.pdf"
    path.write_bytes(sealed)
    said = app.test_cli_runner().invoke(args=["verify", str(path)]).output
    replaced_on = local_time.long_date(service_day(agreed_at))
    assert said.startswith("GENUINE")
    assert f"NO LONGER IN FORCE: a later version was agreed on {replaced_on}." in said

    anonymous = app.test_client()
    page = anonymous.post("/verify", data={"csrf_token": csrf_token(anonymous), "code": old_code})
    words = " ".join(re.sub(r"<[^>]+>", " ", page.get_data(as_text=True)).split())
    assert "No longer in force: a later version was agreed on" in words
    assert old.short_fingerprint in words


def test_the_pdf_says_who_wrote_each_part_as_the_page_does(db, settings):
    """Words the key worker wrote are not printed as the client's own: each part, goal and
    step says who wrote it and who last changed it, by name and role, as anyone reads it."""
    circle = Circle()
    client, worker = actor_for(circle.client), actor_for(circle.key_worker)
    doc = make_plan(circle.key_worker, circle.client)  # version 1: all the key worker's
    content = documents.open_document(db, client, doc).content
    content["domains"]["money"] = {"own_words": "My benefits run out by the second week."}
    content["what_matters"] = {"text": "Being listened to, in my words."}
    documents.save_version(db, client, doc, 1, content, "mine")
    for actor in (client, worker):
        signoff.sign(db, actor, doc, 2, "signed", "", PASSWORD)
    pdfs.run_pending(db, settings)
    data = pdfs.sealed_pdf(db, client, doc, 2, settings).path.read_bytes()
    text = re.sub(r"\s+", " ", text_of(data)).replace("\u200b", "")
    kim, sam = circle.key_worker.display_name, circle.client.display_name
    # The key worker's housing paragraph and goal, theirs; the money paragraph, the client's.
    assert f"I live with my sister for now. Written by {kim}, key worker" in text
    assert f"Find a flat Written by {kim}, key worker" in text
    assert f"My benefits run out by the second week. Written by {sam}, client" in text
    assert (
        f"Being listened to, in my words. Last changed by {sam}, client · first written by "
        f"{kim}, key worker" in text
    )


def test_a_declined_version_s_signature_page_does_not_say_everyone_signed(db, settings):
    circle = Circle()
    doc = make_plan(circle.key_worker, circle.client)
    reason = "The housing part is not what I said."
    signoff.sign(db, actor_for(circle.client), doc, 1, "declined", reason, PASSWORD)
    data, _ = pdfs.draft_pdf(db, actor_for(circle.client), doc, 1, settings)
    text = re.sub(r"\s+", " ", text_of(data))
    assert "Declined to sign" in text and reason in text
    assert "Who signed or declined this version" in text
    assert "signed or declined to sign this exact version" in text
    assert "Each person below signed this exact version" not in text


def test_a_render_that_outlives_its_lease_does_not_replace_the_pdf_on_record(db, agreed, settings):
    """A worker paused past its lease (swapped out, stopped): another takes the job over and
    its PDF is handed out; when the first wakes, its PDF must not replace that one, or the
    copy the client holds would no longer check out. Nor may its failure undo it."""
    circle, doc = agreed
    now = utcnow()
    stale = pdfs._claim(db, now)
    fresh = pdfs._claim(db, now + pdfs.LEASE + timedelta(seconds=1))
    assert (stale["id"], stale["attempts"], fresh["attempts"]) == (fresh["id"], 1, 2)
    assert pdfs._produce(db, settings, fresh) == 1
    handed_out = pdfs.sealed_pdf(db, actor_for(circle.client), doc, 2, settings)
    kept = handed_out.path.read_bytes()

    assert pdfs._produce(db, settings, stale) == 0  # it wakes and finishes
    pdfs._failed(db, stale, RuntimeError("woke up late"))
    with db.read() as s:
        row = s.scalar(sa.select(PdfRender))
    assert (row.status, row.file_name, row.error) == ("ready", handed_out.path.name, "")
    assert pdfs.verify_file(db, settings, kept).genuine
    assert sorted(p.name for p in settings.storage.glob(f"{doc}-v2-*.pdf")) == [row.file_name]


def test_files_an_attempt_killed_before_recording_them_left_are_removed_once_one_is_on_record(
    db, agreed, settings
):
    """A scheduler killed between writing its PDF (or part of it) and recording it left the
    file in storage, tracked nowhere: `careplan verify` called it "NOT GENUINE ... no record of
    producing this file". Another version's files, and the one on record, stay."""
    circle, doc = agreed
    settings.storage.mkdir(parents=True, exist_ok=True)
    left = [settings.storage / f"{doc}-v2-0123456789abcdef.pdf",
            settings.storage / f".{doc}-v2-fedcba9876543210.pdf.x1y2z3.tmp"]  # fmt: skip
    other = settings.storage / f"{doc}-v1-0123456789abcdef.pdf"
    for path in (*left, other):
        path.write_bytes(b"%PDF-1.7 written, never recorded")
    assert pdfs.run_pending(db, settings) == 1
    on_record = pdfs.sealed_pdf(db, actor_for(circle.client), doc, 2, settings).path
    assert on_record.exists() and not any(p.exists() for p in left) and other.exists()


def test_the_sealed_and_the_draft_pdf_name_the_client_and_key_worker_as_authors(
    db, agreed, settings
):
    # A PDF viewer's document properties show the author: the two who wrote it together.
    circle, doc = agreed
    client = actor_for(circle.client)
    authors = f"{circle.client.display_name} and {circle.key_worker.display_name}"
    pdfs.run_pending(db, settings)
    sealed = pdfs.sealed_pdf(db, client, doc, 2, settings).path.read_bytes()
    draft, _ = pdfs.draft_pdf(db, client, doc, 1, settings)
    for data in (sealed, draft):
        meta = PdfReader(io.BytesIO(data)).metadata
        assert meta.author == authors
        assert meta.title.startswith("Care plan, version ")
    assert pdfs.verify_file(db, settings, sealed).genuine


def test_two_versions_agreed_on_one_day_download_under_two_names(db, agreed, settings):
    # A phone saving both under one name keeps one copy, or the client cannot tell them apart:
    # the file name and the title a PDF viewer shows say which version it is, in plain words.
    circle, doc = agreed
    client, worker = actor_for(circle.client), actor_for(circle.key_worker)
    content = documents.open_document(db, worker, doc).content
    content["what_matters"] = {"text": "Seeing my sister every week."}
    documents.save_version(db, worker, doc, 2, content, "what matters now")
    draft, draft_name = pdfs.draft_pdf(db, client, doc, 3, settings)
    assert draft_name == "Care plan, version 3 – draft.pdf"
    assert PdfReader(io.BytesIO(draft)).metadata.title == "Care plan, version 3 – draft"
    for actor in (client, worker):
        signoff.sign(db, actor, doc, 3, "signed", "", PASSWORD)
    assert pdfs.run_pending(db, settings) == 2
    with db.read() as s:
        agreed_at = dict(s.execute(sa.select(PdfRender.version_number, PdfRender.agreed_at)).all())
    names = {}
    for number in (2, 3):
        day = local_time.long_date(service_day(agreed_at[number]))
        result = pdfs.sealed_pdf(db, client, doc, number, settings)
        assert result.filename == f"Care plan, version {number} – {day}.pdf"
        title = PdfReader(io.BytesIO(result.path.read_bytes())).metadata.title
        assert f"{title}.pdf" == result.filename
        names[number] = result.filename
    assert names[2] != names[3]


def _signature_page(data: bytes) -> str:
    text = re.sub(r"\s+", " ", text_of(data)).replace("\u200b", "")
    start = max(text.rfind("Signatures"), text.rfind("Who signed or declined this version"))
    return text[start : text.index("Content fingerprint")]


def test_a_draft_s_signature_page_says_who_has_not_signed_yet(db, settings):
    # A client printing a draft to talk it over sees where it stands: who signed, and who
    # still needs to, by name and role.
    circle = Circle()
    client, worker = actor_for(circle.client), actor_for(circle.key_worker)
    sam, kim = circle.client.display_name, circle.key_worker.display_name
    doc = make_plan(circle.key_worker, circle.client, versions=2)
    page = _signature_page(pdfs.draft_pdf(db, client, doc, 2, settings)[0])
    assert "Nobody has signed this version yet." in page
    assert "Still to sign A version is agreed once the client and their key worker" in page
    assert f"{sam}, Client Not signed yet" in page
    assert f"{kim}, Key worker Not signed yet" in page

    signoff.sign(db, client, doc, 2, "signed", "", PASSWORD)
    page = _signature_page(pdfs.draft_pdf(db, worker, doc, 2, settings)[0])
    signed, _, waiting = page.partition("Still to sign A version")
    assert f"{sam}, Client Signed on" in signed and kim not in signed
    assert f"{kim}, Key worker Not signed yet" in waiting and sam not in waiting

    # An older draft can no longer be signed by anyone: it says so, and lists nobody.
    page = _signature_page(pdfs.draft_pdf(db, client, doc, 1, settings)[0])
    assert "Not signed yet" not in page and "Still to sign" not in page
    assert "Nobody can sign this version any more: version 2 is the latest" in page


def test_a_draft_s_signature_page_says_a_decline_once_as_a_decline(db, settings):
    circle = Circle()
    client = actor_for(circle.client)
    doc = make_plan(circle.key_worker, circle.client)
    signoff.sign(db, client, doc, 1, "declined", "Not what I said.", PASSWORD)
    page = _signature_page(pdfs.draft_pdf(db, client, doc, 1, settings)[0])
    assert f"{circle.client.display_name}, Client Declined to sign" in page
    assert f"{circle.client.display_name}, Client Not signed yet" not in page
    assert f"{circle.key_worker.display_name}, Key worker Not signed yet" in page


def test_a_draft_waits_for_the_key_worker_who_holds_the_caseload_now(db, settings):
    # After a handover the new key worker is the one still to sign; with none, it says so.
    circle = Circle()
    client = actor_for(circle.client)
    doc = make_plan(circle.key_worker, circle.client)
    signoff.sign(db, actor_for(circle.key_worker), doc, 1, "signed", "", PASSWORD)
    _end_caseload(db, circle.client.id)
    new_worker = KeyWorkerFactory(team_id=circle.team.id)
    CaseloadLinkFactory(client_id=circle.client.id, key_worker_id=new_worker.id)
    page = _signature_page(pdfs.draft_pdf(db, client, doc, 1, settings)[0])
    signed, _, waiting = page.partition("Still to sign A version")
    assert f"{circle.key_worker.display_name}, Key worker Signed on" in signed
    assert f"{new_worker.display_name}, Key worker Not signed yet" in waiting
    assert f"{circle.client.display_name}, Client Not signed yet" in waiting
    assert circle.key_worker.display_name not in waiting

    _end_caseload(db, circle.client.id)
    page = _signature_page(pdfs.draft_pdf(db, client, doc, 1, settings)[0])
    assert "Key worker: none at the moment Not signed yet" in page


def _end_caseload(db, client_id: int) -> None:
    with db.write() as s:
        s.execute(
            sa.update(CaseloadLink)
            .where(CaseloadLink.client_id == client_id, CaseloadLink.ended_at.is_(None))
            .values(ended_at=utcnow())
        )
