"""State changes through gunicorn over plain HTTP (tests/gunicorn.py): a care plan's whole
life (started, written, commented on, signed by both, downloaded, signed out), an account's
name and password, a decline, a reminder choice, the calendar feed and a handover. Every form
is posted with its page's CSRF token; every answer is checked where a browser lands, and in the
database."""

from __future__ import annotations

import html
import re
from urllib.error import HTTPError
from urllib.parse import urlsplit

import pytest
import sqlalchemy as sa

from bench.document_form import DocumentForm
from careplan.db.models import CaseloadLink, Comment, Document, SignatureRecord, Version
from careplan.services import pdfs
from tests.factories import PASSWORD, Circle, KeyWorkerFactory, make_plan
from tests.gunicorn import Browser, landed, refused

pytestmark = pytest.mark.slow


def test_a_plan_is_started_written_commented_signed_and_downloaded_over_http(app, db, gunicorn_url):
    circle = Circle()
    worker, client = Browser(gunicorn_url), Browser(gunicorn_url)
    worker.sign_in(circle.key_worker)
    client.sign_in(circle.client)

    # The key worker starts a plan from the client's records, and lands on its edit page.
    records = worker.get(f"/clients/{circle.client.id}").read().decode()
    path, page = landed(worker.post(f"/clients/{circle.client.id}/care-plans", {}, records))
    doc = int(re.fullmatch(r"/documents/(\d+)/edit", path).group(1))

    # ... writes it and saves: the plan's page shows the words.
    form = dict(DocumentForm(page).fields)
    form["what_matters-text"] = "Being asked before anyone rings my mum."
    form["change_note"] = "First draft"
    path, page = landed(worker.post(f"/documents/{doc}/edit", form, page))
    assert path == f"/documents/{doc}"
    assert "Being asked before anyone rings my mum." in page

    # The client comments on a part of it.
    page = client.get(f"/documents/{doc}").read().decode()
    section = re.search(r'name="section_key" value="([^"]+)"', page).group(1)
    comment = {"section_key": section, "version_number": "1", "body": "Yes, that is right."}
    path, page = landed(client.post(f"/documents/{doc}/comments", comment, page))
    assert path == f"/documents/{doc}" and "Yes, that is right." in page

    # Both sign version 1 with their passwords, leaving its empty parts blank on purpose.
    for browser in (client, worker):
        page = browser.get(f"/documents/{doc}").read().decode()
        signature = {"outcome": "signed", "password": PASSWORD, "confirm_blank": "yes"}
        path, _ = landed(browser.post(f"/documents/{doc}/versions/1/sign", signature, page))
        assert path == f"/documents/{doc}"

    with db.read() as s:
        assert s.scalar(sa.select(Document.signoff_state).where(Document.id == doc)) == "agreed"
        assert s.scalar(sa.select(sa.func.count()).where(Version.document_id == doc)) == 1
        assert s.scalar(sa.select(Comment.body).where(Comment.document_id == doc)) == (
            "Yes, that is right."
        )

    # The sealed PDF is made, and the client downloads it.
    assert pdfs.run_pending(db, pdfs.PdfSettings.from_config(app.config, app.instance_path)) == 1
    sealed = client.get(f"/documents/{doc}/versions/1/signed.pdf")
    assert sealed.status == 200 and sealed.read().startswith(b"%PDF")

    # Signing out ends the session: the plan asks for a sign-in again.
    page = client.get(f"/documents/{doc}").read().decode()
    path, _ = landed(client.post("/logout", {}, page))
    assert path == "/login"
    assert urlsplit(client.get(f"/documents/{doc}").url).path == "/login"


def test_a_client_changes_their_name_and_password_over_http(db, gunicorn_url):
    circle = Circle()
    phone, laptop = Browser(gunicorn_url), Browser(gunicorn_url)
    phone.sign_in(circle.client)
    laptop.sign_in(circle.client)

    page = phone.get("/me/account").read().decode()
    profile = {"preferred_name": "Sam", "pronouns": "they/them"}
    path, page = landed(phone.post("/me/account/profile", profile, page))
    assert path == "/me/account" and "Signed in as Sam" in page

    new_password = "kettle river orange lamp"
    change = {
        "current_password": PASSWORD,
        "password": new_password,
        "password_again": new_password,
    }
    path, page = landed(phone.post("/me/account/password", change, page))
    assert path == "/me/account" and "Your password is changed." in page

    # This session carries on; the other one has ended; only the new password signs in.
    home = f"/clients/{circle.client.id}"  # a client's start page is their records
    assert urlsplit(phone.get("/").url).path == home
    assert urlsplit(laptop.get("/").url).path == "/login"
    fresh = Browser(gunicorn_url)
    page = fresh.get("/login").read().decode()
    with pytest.raises(HTTPError) as refused:
        fresh.post("/login", {"email": circle.client.email, "password": PASSWORD}, page)
    assert refused.value.code == 401
    signing_in = {"email": circle.client.email, "password": new_password}
    path, _ = landed(fresh.post("/login", signing_in, page))
    assert path == home


def test_a_decline_a_handover_and_the_calendar_feed_over_http(db, gunicorn_url):
    circle = Circle()
    doc = make_plan(circle.key_worker, circle.client)
    client, worker = Browser(gunicorn_url), Browser(gunicorn_url)
    client.sign_in(circle.client)
    worker.sign_in(circle.key_worker)

    # The client declines version 1 and says why; the plan shows it.
    page = client.get(f"/documents/{doc}").read().decode()
    decline = {"outcome": "declined", "comment": "Not the part about my mum.", "password": PASSWORD}
    path, page = landed(client.post(f"/documents/{doc}/versions/1/sign", decline, page))
    assert path == f"/documents/{doc}" and "Not the part about my mum." in page
    with db.read() as s:
        assert s.scalar(sa.select(Document.signoff_state).where(Document.id == doc)) == "declined"

    # The key worker cannot sign what the client declined (it could never be agreed): the
    # page offers declining only, and a signature sent anyway changes nothing.
    page = worker.get(f"/documents/{doc}").read().decode()
    assert "I agree and sign" not in page and "Decline to sign</button>" in page
    sign = {"outcome": "signed", "password": PASSWORD}
    code, refusal = refused(lambda: worker.post(f"/documents/{doc}/versions/1/sign", sign, page))
    assert code == 409 and "Version 1 was declined, so it cannot become agreed" in refusal
    with db.read() as s:
        assert s.scalar(sa.select(Document.signoff_state).where(Document.id == doc)) == "declined"
        assert s.scalar(sa.select(sa.func.count()).select_from(SignatureRecord)) == 1

    # After talking it through, the key worker offers the same words again; the decline stays.
    assert "Offer the same words again for signing" in page
    path, page = landed(worker.post(f"/documents/{doc}/versions/1/offer-again", {}, page))
    assert path == f"/documents/{doc}" and "The same words are now version 2" in page
    assert "Not the part about my mum." in page
    with db.read() as s:
        head = s.scalar(sa.select(Document.head_number).where(Document.id == doc))
        assert head == 2

    # The client picks another way to be reminded; the page shows the new choice.
    page = client.get("/me/reminders").read().decode()
    other = re.search(r'name="channel" value="([^"]+)">', page).group(1)  # one not checked
    path, page = landed(client.post("/me/reminders", {"channel": other}, page))
    assert path == "/me/reminders"
    assert re.search(rf'name="channel" value="{other}" checked>', page)

    # ... and makes a private calendar address: the feed answers without cookies, until stopped.
    path, page = landed(client.post("/me/calendar", {"action": "new"}, page))
    feed = urlsplit(re.search(r'id="calendar-address" readonly value="([^"]+)"', page).group(1))
    # A link a phone's calendar opens as a subscription, to the same address.
    assert f'href="webcal://{feed.netloc}{feed.path}?{feed.query}"' in page
    address = f"{feed.path}?{feed.query}".replace("&amp;", "&")
    with Browser(gunicorn_url).get(address) as calendar:
        assert calendar.headers["Content-Type"].startswith("text/calendar")
        assert calendar.read().startswith(b"BEGIN:VCALENDAR")
    client.post("/me/calendar", {"action": "stop"}, page)
    with pytest.raises(HTTPError) as gone:
        Browser(gunicorn_url).get(address)
    assert gone.value.code == 404

    # The key worker hands the client over; the new worker takes them on.
    newcomer = KeyWorkerFactory(team_id=circle.team.id)
    page = worker.get(f"/clients/{circle.client.id}/handover").read().decode()
    handover = {"to_worker_id": str(newcomer.id), "note": "Prefers texts before calls."}
    path, _ = landed(worker.post(f"/clients/{circle.client.id}/handover", handover, page))
    assert path == f"/clients/{circle.client.id}"
    incoming = Browser(gunicorn_url)
    incoming.sign_in(newcomer)
    page = incoming.get(f"/clients/{circle.client.id}").read().decode()
    assert "Prefers texts before calls." in page
    acknowledge = f"/clients/{circle.client.id}/handover/acknowledge"
    path, _ = landed(incoming.post(acknowledge, {}, page))
    with db.read() as s:
        holders = s.scalars(
            sa.select(CaseloadLink.key_worker_id).where(
                CaseloadLink.client_id == circle.client.id, CaseloadLink.ended_at.is_(None)
            )
        ).all()
    assert holders == [newcomer.id]
    # The client hears of it in Messages; the worker who handed over too, with no link to
    # records that are no longer theirs.
    page = client.get("/me/notifications").read().decode()
    assert f"{newcomer.display_name} is now your key worker." in page
    page = html.unescape(worker.get("/me/notifications").read().decode())
    taken = (
        f"{newcomer.display_name} has taken over as {circle.client.display_name}'s key worker. "
        f"Anything still waiting in your messages about {circle.client.display_name}, such as "
        "a request for help, is theirs to answer now."
    )
    assert taken in page and f">{taken}</a>" not in page
