"""The sealed PDF of an agreement whose words were typed with a hidden right-to-left override
reads, like its characters, in the order written (careplan.domain.writing_direction)."""

from __future__ import annotations

import io
import re

from pypdf import PdfReader

from careplan.services import pdfs, signoff
from careplan.services.accounts import actor_for
from tests.factories import PASSWORD, Circle, make_agreement
from tests.services.test_signing_empty_parts import FILLED

RLO, PDF = "\u202e", "\u202c"
HEBREW = "אני גר אצל אחותי כרגע."


def test_the_sealed_pdf_reads_the_words_in_the_order_they_were_written(app, db):
    circle = Circle()
    settings = pdfs.PdfSettings.from_config(app.config, app.instance_path)
    contingencies = {
        **FILLED["contingencies"],
        "warning_signs": {"text": f"I stop sleeping, {RLO}reversed{PDF} days."},
        "self_referral_how": {"text": HEBREW},
    }
    doc = make_agreement(
        circle.key_worker, circle.client, {**FILLED, "contingencies": contingencies}
    )
    for person in (circle.client, circle.key_worker):
        signoff.sign(db, actor_for(person), doc, 1, "signed", "", PASSWORD)
    assert pdfs.run_pending(db, settings) == 1

    sealed = pdfs.sealed_pdf(db, actor_for(circle.client), doc, 1, settings).path.read_bytes()
    pages = PdfReader(io.BytesIO(sealed)).pages
    text = re.sub(r"\s+", " ", " ".join(page.extract_text() for page in pages))
    assert "I stop sleeping, reversed days." in text
    assert "desrever" not in text and RLO not in text
    assert HEBREW.rstrip(".") in text  # right-to-left words still read as written
