"""The second step when signing, through the services: turning it on proves the app works;
signing, declining and confirming a review then need the code, each code works once, and a
wrong or missing one changes nothing. Turned off by the person (password and code) or by an
administrator; every change recorded."""

from __future__ import annotations

import io
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pyotp
import pytest
import sqlalchemy as sa
from pypdf import PdfReader

from careplan.db.models import (
    AccountEmail,
    AuditEvent,
    BackupCode,
    Notification,
    ReviewConfirmation,
    SignatureRecord,
    User,
)
from careplan.domain import second_factor as rules
from careplan.domain.errors import ContentInvalid
from careplan.reminders import account_mail
from careplan.reminders.messages import indiscretions
from careplan.services import account_settings, pdfs, reviews, second_factor, signoff
from careplan.services.accounts import actor_for
from careplan.services.errors import Invalid, NotFound
from tests.factories import PASSWORD, AdminFactory, Circle, make_agreement, make_plan

ISSUER = "app.example.org"  # what the app lists the account under: the service's address


def code(secret: str, steps: int = 0) -> str:
    """The code the app shows now, or `steps` steps of 30 seconds from now."""
    return pyotp.TOTP(secret).at(datetime.now(UTC) + timedelta(seconds=30 * steps))


def turned_on(db, user) -> str:
    return turned_on_with_codes(db, user)[0]


def turned_on_with_codes(db, user) -> tuple[str, list[str]]:
    setup = second_factor.begin(db, actor_for(user), ISSUER)
    codes = second_factor.turn_on(db, actor_for(user), setup.secret, code(setup.secret), PASSWORD)
    return setup.secret, codes


def stored(db, user) -> User:
    with db.read() as s:
        return s.get(User, user.id)


def counts(db) -> tuple[int, int, int]:
    with db.read() as s:
        return tuple(
            s.scalar(sa.select(sa.func.count()).select_from(t))
            for t in (SignatureRecord, ReviewConfirmation, AuditEvent)
        )


@pytest.fixture
def circle(app):
    return Circle()


def test_turning_it_on_needs_the_password_and_a_right_code_from_the_new_secret(db, circle):
    person = actor_for(circle.client)
    setup = second_factor.begin(db, person, ISSUER)
    assert "issuer=app.example.org" in setup.uri and "careplan" not in setup.uri.lower()
    before = counts(db)
    with pytest.raises(ContentInvalid) as refused:
        second_factor.turn_on(db, person, setup.secret, "123 45", "wrong password")
    assert set(refused.value.errors) == {"password", "code"}
    wrong = code(setup.secret, steps=5)  # a real code, but not of now
    with pytest.raises(ContentInvalid) as refused:
        second_factor.turn_on(db, person, setup.secret, wrong, PASSWORD)
    assert "does not match" in refused.value.errors["code"]
    with pytest.raises(Invalid):
        second_factor.turn_on(db, person, "not-a-secret", code(setup.secret), PASSWORD)
    assert stored(db, circle.client).second_factor_secret is None and counts(db) == before

    second_factor.turn_on(db, person, setup.secret, code(setup.secret), PASSWORD)
    row = stored(db, circle.client)
    assert row.second_factor_secret == setup.secret and second_factor.status(db, person).on
    assert row.second_factor_last_step is not None  # the code that turned it on is used up
    with db.read() as s:
        event = s.scalars(sa.select(AuditEvent).order_by(AuditEvent.id.desc())).first()
    assert (event.action, event.client_id) == ("account.second_factor_on", circle.client.id)
    with pytest.raises(Invalid):  # a second app needs the first one turned off
        other = second_factor.begin(db, person, ISSUER).secret
        second_factor.turn_on(db, person, other, code(other), PASSWORD)


def test_only_the_people_who_sign_set_it_up(db, circle):
    for person in (circle.supervisor, circle.advocate, circle.admin):
        with pytest.raises(NotFound):
            second_factor.begin(db, actor_for(person), ISSUER)


def test_signing_then_needs_the_code_and_each_code_signs_once(db, circle):
    secret = turned_on(db, circle.client)
    client = actor_for(circle.client)
    first, second = (make_plan(circle.key_worker, circle.client) for _ in range(2))
    before = counts(db)
    for typed, field in (("", "code"), ("12", "code"), (code(secret, steps=5), "code")):
        with pytest.raises(ContentInvalid) as refused:
            signoff.sign(db, client, first, 1, "signed", "", PASSWORD, code=typed)
        assert field in refused.value.errors
    with pytest.raises(ContentInvalid) as refused:  # the password is still asked first
        signoff.sign(db, client, first, 1, "signed", "", "wrong", code=code(secret, 1))
    assert set(refused.value.errors) == {"password"}
    assert counts(db) == before  # nothing signed, nothing recorded

    now = code(secret, steps=1)  # the step after the one that turned it on
    signoff.sign(db, client, first, 1, "signed", "", PASSWORD, code=now)
    with db.read() as s:
        method = s.scalar(
            sa.select(SignatureRecord.method).where(SignatureRecord.user_id == client.id)
        )
    assert method == rules.METHOD_WITH_CODE
    # The same code again, on another document: seen over a shoulder, it signs nothing.
    with pytest.raises(ContentInvalid) as refused:
        signoff.sign(db, client, second, 1, "signed", "", PASSWORD, code=now)
    assert "used already" in refused.value.errors["code"]
    assert "Nothing was signed" in refused.value.errors["code"]
    # The key worker has no second step: their password alone, as before.
    signoff.sign(db, actor_for(circle.key_worker), first, 1, "signed", "", PASSWORD)
    with db.read() as s:
        methods = dict(s.execute(sa.select(SignatureRecord.user_id, SignatureRecord.method)).all())
    assert methods[circle.key_worker.id] == rules.METHOD_PASSWORD


def test_a_code_typed_in_other_digits_signs_and_a_wrong_one_is_refused_plainly(db, circle):
    """Typed on an Arabic keyboard, say. Once, such a code reached the comparison and
    answered 500."""
    secret = turned_on(db, circle.client)
    client = actor_for(circle.client)
    doc = make_plan(circle.key_worker, circle.client)
    arabic = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")
    with pytest.raises(ContentInvalid) as refused:
        signoff.sign(db, client, doc, 1, "signed", "", PASSWORD, code="１２３４５６")
    assert set(refused.value.errors) == {"code"}  # refused as any wrong code is
    signoff.sign(db, client, doc, 1, "signed", "", PASSWORD, code=code(secret, 1).translate(arabic))
    with db.read() as s:
        method = s.scalar(sa.select(SignatureRecord.method))
    assert method == rules.METHOD_WITH_CODE


def test_a_review_confirmed_with_no_changes_needs_the_code_too(db, circle):
    doc = make_plan(circle.key_worker, circle.client)
    for person in (circle.client, circle.key_worker):
        signoff.sign(db, actor_for(person), doc, 1, "signed", "", PASSWORD)
    secret = turned_on(db, circle.key_worker)
    worker = actor_for(circle.key_worker)
    with pytest.raises(ContentInvalid) as refused:
        reviews.confirm_no_changes(db, worker, doc, 1, PASSWORD)
    assert "code" in refused.value.errors
    reviews.confirm_no_changes(db, worker, doc, 1, PASSWORD, code=code(secret, 1))
    with db.read() as s:
        assert s.scalar(sa.select(ReviewConfirmation.method)) == rules.METHOD_WITH_CODE


def test_turning_it_off_needs_password_and_code_or_an_administrator(db, circle):
    secret = turned_on(db, circle.client)
    person = actor_for(circle.client)
    with pytest.raises(ContentInvalid) as refused:
        second_factor.turn_off(db, person, PASSWORD, "")
    assert "code" in refused.value.errors
    with pytest.raises(ContentInvalid) as refused:
        second_factor.turn_off(db, person, "wrong", code(secret, 1))
    assert "password" in refused.value.errors
    assert second_factor.status(db, person).on
    second_factor.turn_off(db, person, PASSWORD, code(secret, 1))
    assert not second_factor.status(db, person).on
    with pytest.raises(Invalid):
        second_factor.turn_off(db, person, PASSWORD, code(secret, 2))

    turned_on(db, circle.client)
    for outsider in (circle.key_worker, circle.supervisor, circle.client):
        with pytest.raises(NotFound):
            second_factor.remove_for(db, actor_for(outsider), circle.client.id, "Lost phone")
    admin = AdminFactory()
    second_factor.remove_for(db, actor_for(admin), circle.client.id, "Lost phone")
    row = stored(db, circle.client)
    assert row.second_factor_secret is None and row.second_factor_last_step is None
    with db.read() as s:  # their backup codes went with it
        assert s.scalar(sa.select(sa.func.count()).select_from(BackupCode)) == 0
    with db.read() as s:
        actions = s.scalars(
            sa.select(AuditEvent.action)
            .where(AuditEvent.action.like("%second_factor%"))
            .order_by(AuditEvent.id)
        ).all()
    assert actions == [
        "account.second_factor_on",
        "account.second_factor_off",
        "account.second_factor_on",
        "user.second_factor_removed",
    ]
    # Each change is e-mailed to the person, whoever made it: written with the change, then
    # sent by the app at once.
    db.account_notices.wait(30)
    with db.read() as s:
        emails = s.execute(
            sa.select(AccountEmail.to_address, AccountEmail.kind, AccountEmail.status).order_by(
                AccountEmail.id
            )
        ).all()
    assert emails == [
        (circle.client.email, kind, "sent")
        for kind in ("second_factor_on", "second_factor_off") * 2
    ]
    # The one the administrator turned off says it was the service, not "if this was not you".
    with db.read() as s:
        details = s.scalars(
            sa.select(AccountEmail.detail)
            .where(AccountEmail.kind == "second_factor_off")
            .order_by(AccountEmail.id)
        ).all()
    assert details == [{}, {"by_service": True}]
    # Without it, they sign with their password alone.
    doc = make_plan(circle.key_worker, circle.client)
    signoff.sign(db, person, doc, 1, "signed", "", PASSWORD)


def test_the_sealed_pdf_says_how_each_signer_proved_who_they_were(app, db, circle):
    secret = turned_on(db, circle.client)
    doc = make_plan(circle.key_worker, circle.client)
    signoff.sign(db, actor_for(circle.client), doc, 1, "signed", "", PASSWORD, code=code(secret, 1))
    signoff.sign(db, actor_for(circle.key_worker), doc, 1, "signed", "", PASSWORD)
    settings = pdfs.PdfSettings.from_config(app.config, app.instance_path)
    pdfs.run_pending(db, settings)
    result = pdfs.sealed_pdf(db, actor_for(circle.client), doc, 1, settings)
    text = " ".join(
        " ".join(p.extract_text().split())
        for p in PdfReader(io.BytesIO(result.path.read_bytes())).pages
    )
    assert (
        "Identity confirmed by: password re-entered and a code from their authenticator app" in text
    )
    assert "Identity confirmed by: password re-entered" in text.replace(
        "password re-entered and a code from their authenticator app", ""
    )


def test_a_backup_code_stands_in_for_the_app_once(db, circle):
    _, codes = turned_on_with_codes(db, circle.client)
    person = actor_for(circle.client)
    assert account_settings.account(db, person).backup_codes_left == 10
    with db.read() as s:
        kept = s.scalars(sa.select(BackupCode.code_hash)).all()
    assert len(kept) == 10 and not set(kept) & set(codes)  # only hashes are kept
    first, second = (make_plan(circle.key_worker, circle.client) for _ in range(2))

    signoff.sign(db, person, first, 1, "signed", "", PASSWORD, code=codes[0])
    with db.read() as s:
        assert s.scalar(sa.select(SignatureRecord.method)) == rules.METHOD_WITH_BACKUP_CODE
        (notice,) = s.scalars(sa.select(Notification.text)).all()
    assert "You have 9 left." in notice
    # What the person reads, and the PDF's signature page prints, says nothing of the service.
    assert indiscretions(notice + rules.METHOD_WITH_BACKUP_CODE) == []
    before = counts(db)
    for wrong in (codes[0], "abcde-fghjk"):  # used already; never one of theirs
        with pytest.raises(ContentInvalid) as refused:
            signoff.sign(db, person, second, 1, "signed", "", PASSWORD, code=wrong)
        assert "used already" in refused.value.errors["code"]
    assert counts(db) == before
    # Someone else's code is not theirs either.
    _, others = turned_on_with_codes(db, circle.key_worker)
    with pytest.raises(ContentInvalid):
        signoff.sign(db, person, second, 1, "signed", "", PASSWORD, code=others[0])
    # A wrong password uses nothing up.
    with pytest.raises(ContentInvalid):
        signoff.sign(db, person, second, 1, "signed", "", "wrong", code=codes[1])
    assert account_settings.account(db, person).backup_codes_left == 9


def test_one_backup_code_sent_twice_at_once_signs_once(db, circle):
    _, codes = turned_on_with_codes(db, circle.client)
    person = actor_for(circle.client)
    docs = [make_plan(circle.key_worker, circle.client) for _ in range(2)]
    start = threading.Barrier(2)

    def sign(doc):
        start.wait()
        try:
            signoff.sign(db, person, doc, 1, "signed", "", PASSWORD, code=codes[3])
            return "signed"
        except ContentInvalid:
            return "refused"

    with ThreadPoolExecutor(2) as pool:
        outcomes = sorted(pool.map(sign, docs))
    assert outcomes == ["refused", "signed"]
    assert account_settings.account(db, person).backup_codes_left == 9


def test_new_backup_codes_replace_the_old_and_turning_off_removes_them(db, circle):
    secret, codes = turned_on_with_codes(db, circle.client)
    person = actor_for(circle.client)
    with pytest.raises(ContentInvalid) as refused:
        second_factor.replace_backup_codes(db, person, PASSWORD, "")
    assert "code" in refused.value.errors
    fresh = second_factor.replace_backup_codes(db, person, PASSWORD, code(secret, 1))
    assert len(fresh) == 10 and not set(fresh) & set(codes)
    doc = make_plan(circle.key_worker, circle.client)
    with pytest.raises(ContentInvalid):
        signoff.sign(db, person, doc, 1, "signed", "", PASSWORD, code=codes[5])
    # A backup code can turn the step off: the phone is gone for good.
    second_factor.turn_off(db, person, PASSWORD, fresh[0])
    assert not second_factor.status(db, person).on
    with db.read() as s:
        assert s.scalar(sa.select(sa.func.count()).select_from(BackupCode)) == 0
    with pytest.raises(Invalid):
        second_factor.replace_backup_codes(db, person, PASSWORD, fresh[1])


def test_codes_are_shown_only_while_they_are_the_person_s_own_current_ones(db, circle):
    """The page after the form shows the codes it carried only if they still work for the
    person who sees it: not once replaced or removed, nor to anyone else."""
    secret, codes = turned_on_with_codes(db, circle.client)
    person = actor_for(circle.client)
    assert second_factor.codes_to_show(db, person, codes) == codes
    assert second_factor.codes_to_show(db, person, []) == []
    assert second_factor.codes_to_show(db, actor_for(circle.key_worker), codes) == []
    with pytest.raises(NotFound):  # nobody in this role has any
        second_factor.codes_to_show(db, actor_for(circle.supervisor), codes)
    fresh = second_factor.replace_backup_codes(db, person, PASSWORD, code(secret, 1))
    assert second_factor.codes_to_show(db, person, codes) == []
    assert second_factor.codes_to_show(db, person, fresh) == fresh
    second_factor.remove_for(db, actor_for(AdminFactory()), circle.client.id, "Lost phone")
    assert second_factor.codes_to_show(db, person, fresh) == []


def test_a_backup_code_that_turns_the_step_off_says_no_codes_are_left(db, circle):
    """Turning the step off removes every backup code: the person is not told they have
    nine left, in the app or by e-mail."""
    _, codes = turned_on_with_codes(db, circle.client)
    person = actor_for(circle.client)
    second_factor.turn_off(db, person, PASSWORD, codes[0])
    with db.read() as s:
        (notice,) = s.scalars(sa.select(Notification.text)).all()
        kept = s.scalars(
            sa.select(AccountEmail).where(AccountEmail.kind == "backup_code_used")
        ).one()
    email = account_mail.account_email(kept.kind, kept.detail, kept.created_at, ISSUER)
    for said in (notice, " ".join(email.body.split())):
        assert "9 left" not in said and "make new ones" not in said
        assert "It turned the second step off, which removes all your backup codes" in said
    assert indiscretions(notice + email.body) == []


def test_a_backup_code_that_makes_new_ones_says_they_replace_all_the_old(db, circle):
    """New backup codes replace every old one, used or not: the person is not told they have
    eight left, in the app or by e-mail (and the old ones are not said to be removed)."""
    secret, codes = turned_on_with_codes(db, circle.client)
    person = actor_for(circle.client)
    doc = make_plan(circle.key_worker, circle.client)
    signoff.sign(db, person, doc, 1, "signed", "", PASSWORD, code=codes[0])
    second_factor.replace_backup_codes(db, person, PASSWORD, codes[1])
    assert account_settings.account(db, person).backup_codes_left == 10
    with db.read() as s:
        notices = s.scalars(sa.select(Notification.text).order_by(Notification.id)).all()
        kept = s.scalars(
            sa.select(AccountEmail)
            .where(AccountEmail.kind == "backup_code_used")
            .order_by(AccountEmail.id)
        ).all()
    emails = [account_mail.account_email(k.kind, k.detail, k.created_at, ISSUER) for k in kept]
    assert "You have 9 left." in notices[-2] and "You have 9 left." in emails[0].body
    for said in (notices[-1], " ".join(emails[1].body.split())):
        assert "8 left" not in said and "make new ones" not in said
        assert "It made new backup codes, which replace all your old ones." in said
    assert indiscretions(notices[-1] + emails[1].body) == []


def test_a_refused_signature_or_review_uses_up_no_code(db, circle):
    """A code works once, so a signature refused for another reason (a key part left empty
    without saying so, a version that is no longer the latest) must not use it: the person
    types the same code again and it works."""
    secret, codes = turned_on_with_codes(db, circle.client)
    person = actor_for(circle.client)
    agreement = make_agreement(circle.key_worker, circle.client)  # its key parts are empty
    now = code(secret, 1)
    for typed in (now, codes[0]):
        with pytest.raises(ContentInvalid) as refused:
            signoff.sign(db, person, agreement, 1, "signed", "", PASSWORD, code=typed)
        assert "code" not in refused.value.errors
    assert account_settings.account(db, person).backup_codes_left == 10
    signoff.sign(db, person, agreement, 1, "signed", "", PASSWORD, confirm_blank=True, code=now)

    plan = make_plan(circle.key_worker, circle.client, versions=2)
    with pytest.raises(Invalid, match="not the latest one"):
        signoff.sign(db, person, plan, 1, "signed", "", PASSWORD, code=codes[0])
    signoff.sign(db, person, plan, 2, "signed", "", PASSWORD, code=codes[0])
    signoff.sign(db, actor_for(circle.key_worker), plan, 2, "signed", "", PASSWORD)
    # Agreed: a review confirmed on the wrong version is refused, and the code still works.
    with pytest.raises(Invalid, match="Only the agreed version"):
        reviews.confirm_no_changes(db, person, plan, 1, PASSWORD, code=codes[1])
    assert not reviews.confirm_no_changes(db, person, plan, 2, PASSWORD, code=codes[1])
    assert account_settings.account(db, person).backup_codes_left == 8
