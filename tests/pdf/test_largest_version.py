"""Anything that can be agreed can be printed: the largest version the validation allows is
saved, signed by both (with the longest comment), and its sealed PDF made by the real job
(sandboxed WeasyPrint, pyHanko seal) within the configured limits, then read back whole."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from careplan import pdf
from careplan.db.models import PdfRender
from careplan.domain.kinds import kind_for
from careplan.domain.local_time import service_day
from careplan.extensions import LIBRARY_KEY
from careplan.services import documents, pdfs, signoff
from careplan.services.accounts import actor_for
from tests.factories import PASSWORD, Circle

from .largest import largest_agreement, largest_care_plan, words
from .support import page_texts, squash

LONGEST_COMMENT = words(2000)
PAGE_NUMBER = re.compile(r"Page\d+of\d+$")


@pytest.mark.parametrize("kind", ["care_plan", "agreement"])
def test_the_largest_version_allowed_is_agreed_and_printed_whole(app, db, kind):
    circle = Circle()
    worker, client = actor_for(circle.key_worker), actor_for(circle.client)
    if kind == "agreement":
        template = app.extensions[LIBRARY_KEY].current().templates["smi_self_referral"]
        doc = documents.create_document(db, worker, circle.client.id, kind, template=template)
        content = largest_agreement(template)
    else:
        doc = documents.create_document(db, worker, circle.client.id, kind)
        content = largest_care_plan()
    assert documents.save_version(db, worker, doc, 0, content).saved
    signoff.sign(db, client, doc, 1, "signed_with_comment", LONGEST_COMMENT, PASSWORD)
    signoff.sign(db, worker, doc, 1, "signed", "", PASSWORD)

    settings = pdfs.PdfSettings.from_config(app.config, app.instance_path)
    assert pdfs.run_pending(db, settings) == 1
    with db.read() as s:
        render = s.scalar(sa.select(PdfRender))
    assert (render.status, render.error) == ("ready", "")
    data = pdfs.sealed_pdf(db, client, doc, 1, settings).path.read_bytes()
    assert pdfs.verify_file(db, settings, data).genuine

    page = documents.open_document(db, client, doc)
    pages = page_texts(data)
    assert f"Page {len(pages)} of {len(pages)}" in pages[-1]
    # Each page ends with its running footer; without them, text that runs over pages is whole.
    title = pdf.document_title(page.kind_label, 1, service_day(render.agreed_at), draft=False)
    footer = squash(f"{title} · check code {render.short_code}")
    header = squash(settings.service_name)  # the running header, extracted before the footer
    printed = "".join(
        PAGE_NUMBER.sub("", squash(text)).removesuffix(footer).removesuffix(header)
        for text in pages
    )
    for section in pdf.sections_from_kind(kind_for(kind, page.template), page.content):
        for field in section.fields:
            assert squash(field.text) in printed, (section.title, field.label)
        for goal in section.goals:
            assert squash(goal.title) in printed, section.title
            for step in goal.steps:
                assert squash(step.what) in printed, goal.title
    assert squash(LONGEST_COMMENT) in printed
