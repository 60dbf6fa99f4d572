"""Putting an agreement's "when I am not well" plan into effect, and self-referral requests."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy import select

from ..db.engine import Database, locked
from ..db.models import ContingencyActivation, Document, SelfReferralRequest, User, utcnow
from ..domain.account_rules import called
from ..domain.contingency import (
    SelfReferralCheck,
    SelfReferralTerms,
    check_self_referral,
    validate_activation,
    validate_end_note,
    validate_self_referral_request,
)
from ..domain.crisis_alerts import AlertKind
from ..domain.errors import ContentInvalid
from ..domain.roles import Role
from ..domain.wording import Named, plan_ended_notice
from ..domain.writing_direction import plain_writing
from . import audit, crisis_alerts, reviews
from .access import require_read
from .actor import Actor
from .documents import _version
from .errors import Invalid, NotFound, ReadOnly
from .signoff import current_key_worker, tell_the_two


@dataclass(frozen=True)
class ActivationView:
    id: int
    version_number: int
    started_by: Named
    started_at: datetime
    observed: str
    actions_taken: str
    ends_on: date
    ended_at: datetime | None
    ended_by: Named
    end_note: str
    active: bool
    review_due: date


@dataclass(frozen=True)
class SelfReferralView:
    requested_by: Named
    requested_at: datetime
    nights: int
    last_discharge_on: date | None
    within_terms: bool
    reasons: list[str]
    note: str
    # False: asked while nothing was agreed, so it was a plain request, not checked.
    agreed: bool = True


@dataclass(frozen=True)
class CrisisRecord:
    activations: list[ActivationView]
    self_referrals: list[SelfReferralView]
    terms: SelfReferralTerms  # of the version in force; `terms.agreed` says if both signed it
    max_days: int  # the longest the plan may be in effect, as the version in force says
    alerts: list[crisis_alerts.AlertView] = field(default_factory=list)  # newest first
    essentials: crisis_alerts.Essentials | None = None  # what was agreed, repeated
    # The client has left the service: asking for help here would reach nobody.
    nobody_to_respond: bool = False
    # When the earliest request of each kind still waiting for a reply was sent: whoever asks
    # again is told so first (domain.crisis_alerts.earliest_waiting).
    waiting_since: dict[AlertKind, datetime] = field(default_factory=dict)

    @property
    def active(self) -> ActivationView | None:
        return next((a for a in self.activations if a.active), None)


@dataclass(frozen=True)
class SelfReferralSent(SelfReferralCheck):
    """The check of a request just recorded, and when an earlier one still waiting for a
    reply was sent (None: none is). It is taken all the same: the client is told."""

    earlier_waiting: datetime | None = None


# What a self-referral request records as the version it was checked against when nothing was
# agreed: no version's terms were checked (a draft's would have been counted as agreed).
NO_AGREED_VERSION = 0


def _in_force(s, doc: Document):
    """The version whose terms apply: the agreed one in force, or the latest while nothing is
    agreed yet (what careplan.services.crisis_alerts.essentials shows). A draft saved after
    the agreement changes nothing here until both have signed it. Self-referral terms count
    only from an agreed version (SelfReferralTerms.agreed)."""
    return _version(s, doc.id, doc.agreed_version or doc.head_number)[0]


# Asking for help when nobody here would answer would be worse than being told so plainly.
# Said to the client (only they could ask), as the answer to their request; the crisis page
# says it without a request to refer to (NOBODY_TO_TELL).
_HELP_NOW = (
    "If you need help now, please use the contacts in your agreement, or call the emergency "
    "services if you or someone else is in danger."
)
NOBODY_TO_RESPOND = (
    "Nobody at the service would see this: you do not have a key worker here at the moment. "
    + _HELP_NOW
)
NOBODY_TO_TELL = (
    "There is nobody at the service to tell right now: you do not have a key worker here at the "
    "moment. " + _HELP_NOW
)


def _agreed_agreement(s, actor: Actor, document_id: int, asks_for_help: bool = False):
    """The agreement and its version in force; only its two parties may act on it. The
    client's row, then the agreement's, are locked (the order signing and leaving the service
    take them in), so the same form sent twice puts the plan into effect (or ends it) once,
    and a client cannot leave the service while asking for help: the second sees what the
    first did."""
    client_id = s.scalar(select(Document.client_id).where(Document.id == document_id))
    if client_id is not None:
        locked(s, User, client_id)
    doc = locked(s, Document, document_id)
    if doc is None or doc.kind != "agreement":
        raise NotFound()
    access = require_read(s, actor, doc.client_id)
    if not access.sign:
        raise ReadOnly("Only the client and their key worker can do this.")
    if doc.head_number == 0:
        raise Invalid("This agreement has nothing written yet.")
    if asks_for_help and current_key_worker(s, doc.client_id) is None:
        raise Invalid(NOBODY_TO_RESPOND)
    return doc, _in_force(s, doc)


# Often the other person started it while this page was open, or the form went twice: the
# plan is running either way, which is what matters most to read.
ALREADY_IN_EFFECT = "The plan is already in effect, so it was not started a second time."


def start_contingency(
    db: Database,
    actor: Actor,
    document_id: int,
    observed: str,
    actions_taken: str,
    ends_on_raw: str,
    today: date,
    alerts: crisis_alerts.AlertSettings = crisis_alerts.DEFAULT_SETTINGS,
) -> str:
    """Put the plan into effect; the key worker and their team are alerted in the same
    transaction (careplan.services.crisis_alerts). Returns whose plan it is, as people here
    call them."""
    observed, actions_taken = plain_writing(observed), plain_writing(actions_taken)
    with db.write() as s:
        doc, version = _agreed_agreement(s, actor, document_id, asks_for_help=True)
        # Said before anything about the form: with the plan already running, correcting a
        # date would only lead to this refusal.
        if any(reviews.period_of(a).active(today) for a in _activations(s, doc.id)):
            raise ContentInvalid({"observed": ALREADY_IN_EFFECT})
        terms = version.content["terms"]
        ends_on = validate_activation(
            observed,
            actions_taken,
            ends_on_raw,
            today,
            terms["contingency_max_days"],
            agreed=doc.agreed_version is not None,
        )
        activation = ContingencyActivation(
            document_id=doc.id,
            version_number=version.number,
            started_by_id=actor.id,
            observed=observed.strip(),
            actions_taken=(actions_taken or "").strip(),
            ends_on=ends_on,
            review_window_days=terms["post_crisis_review_days"],
        )
        s.add(activation)
        s.flush()
        audit.record(
            s,
            actor,
            "contingency.start",
            "document",
            doc.id,
            client_id=doc.client_id,
            detail={"activation": activation.id, "ends_on": ends_on.isoformat()},
        )
        # A review after every crisis (careplan.services.reviews).
        reviews.schedule_post_crisis(s, actor, doc, activation, today)
        crisis_alerts.raise_alert(
            s, actor, doc, AlertKind.CONTINGENCY, utcnow(), alerts, activation_id=activation.id
        )
        client = s.get(User, doc.client_id)
        return called(client.display_name, client.preferred_name)


def end_contingency(db: Database, actor: Actor, document_id: int, note: str, today: date) -> date:
    """End the plan in effect; returns the day the look-back meeting is due by."""
    note = validate_end_note(note)
    with db.write() as s:
        doc, _ = _agreed_agreement(s, actor, document_id)
        current = next(
            (a for a in _activations(s, doc.id) if reviews.period_of(a).active(today)), None
        )
        if current is None:
            raise Invalid("The plan is not in effect at the moment.")
        current.ended_at = utcnow()
        current.ended_by_id = actor.id
        current.end_note = note
        audit.record(
            s,
            actor,
            "contingency.end",
            "document",
            doc.id,
            client_id=doc.client_id,
            detail={"activation": current.id},
        )
        # The other of the two hears at once: the client may be waiting on it, the key worker
        # may have arranged help around it.
        theirs = actor.id == current_key_worker(s, doc.client_id)
        tell_the_two(
            s, actor, doc,
            lambda to_client, client_name: plan_ended_notice(
                actor.name, actor.role, theirs=theirs, reader_is_client=to_client,
                client_name=client_name, noted=bool(note),
            ),
            f"/documents/{doc.id}/crisis-plan",
        )  # fmt: skip
        return reviews.crisis_ended(s, actor, doc, current, today)


def request_self_referral(
    db: Database,
    actor: Actor,
    document_id: int,
    nights_raw: str,
    last_discharge_raw: str,
    note: str,
    today: date,
    alerts: crisis_alerts.AlertSettings = crisis_alerts.DEFAULT_SETTINGS,
) -> SelfReferralSent:
    """Check and record the request; whatever the answer, someone is alerted to respond."""
    note = plain_writing(note)
    with db.write() as s:
        doc, version = _agreed_agreement(s, actor, document_id, asks_for_help=True)
        nights, last = validate_self_referral_request(nights_raw, last_discharge_raw, note, today)
        # Only terms both signed count: a draft (or one declined) gives no right to a stay.
        # The request is still taken and the team alerted: anyone may always ask for help.
        agreed = doc.agreed_version is not None
        terms = SelfReferralTerms.of(version.content, agreed)
        result = check_self_referral(terms, nights, today, last)
        checked_against = version.number if agreed else NO_AGREED_VERSION
        if _asked_just_now(s, actor, doc.id, checked_against, nights, last, (note or "").strip()):
            # The same form sent twice (a double tap): one request, one alert.
            return SelfReferralSent(**vars(result))
        earlier = crisis_alerts.waiting_since(s, doc.id).get(AlertKind.SELF_REFERRAL)
        request = SelfReferralRequest(
            document_id=doc.id,
            version_number=checked_against,
            requested_by_id=actor.id,
            nights=nights,
            last_discharge_on=last,
            within_terms=result.within_terms,
            reasons=list(result.reasons),
            note=(note or "").strip(),
        )
        s.add(request)
        s.flush()
        audit.record(
            s,
            actor,
            "self_referral.request",
            "document",
            doc.id,
            client_id=doc.client_id,
            detail={"within_terms": result.within_terms, "agreed": agreed, "nights": nights},
        )
        crisis_alerts.raise_alert(
            s, actor, doc, AlertKind.SELF_REFERRAL, utcnow(), alerts, self_referral_id=request.id
        )
        return SelfReferralSent(**vars(result), earlier_waiting=earlier)


# The same request again this soon is the same form sent twice, not a second request.
SAME_REQUEST_WITHIN = timedelta(minutes=2)


def _asked_just_now(
    s, actor: Actor, document_id: int, version_number: int, nights: int, last, note: str
) -> bool:
    """Under the agreement's lock (_agreed_agreement), so of two sent at once the second
    sees the first. Against other terms (agreed since) it is a new request."""
    return (
        s.scalar(
            select(SelfReferralRequest.id)
            .where(
                SelfReferralRequest.document_id == document_id,
                SelfReferralRequest.version_number == version_number,
                SelfReferralRequest.requested_by_id == actor.id,
                SelfReferralRequest.requested_at > utcnow() - SAME_REQUEST_WITHIN,
                SelfReferralRequest.nights == nights,
                SelfReferralRequest.last_discharge_on.is_(None)
                if last is None
                else SelfReferralRequest.last_discharge_on == last,
                SelfReferralRequest.note == note,
            )
            .limit(1)
        )
        is not None
    )


def crisis_record(db: Database, actor: Actor, document_id: int, today: date) -> CrisisRecord:
    with db.read() as s:
        doc = s.get(Document, document_id)
        if doc is None or doc.kind != "agreement":
            raise NotFound()
        require_read(s, actor, doc.client_id)
        names: dict[int, str] = {}
        activations = []
        for a in _activations(s, doc.id):
            period = reviews.period_of(a)
            activations.append(
                ActivationView(
                    a.id,
                    a.version_number,
                    _name(s, names, a.started_by_id),
                    a.started_at,
                    a.observed,
                    a.actions_taken,
                    a.ends_on,
                    a.ended_at,
                    _name(s, names, a.ended_by_id),
                    a.end_note,
                    period.active(today),
                    period.post_crisis_review_due(today),
                )
            )
        requests = [
            SelfReferralView(
                _name(s, names, r.requested_by_id),
                r.requested_at,
                r.nights,
                r.last_discharge_on,
                r.within_terms,
                list(r.reasons),
                r.note,
                r.version_number != NO_AGREED_VERSION,
            )
            for r in s.scalars(
                select(SelfReferralRequest)
                .where(SelfReferralRequest.document_id == doc.id)
                .order_by(SelfReferralRequest.id.desc())
            )
        ]
        in_force = _in_force(s, doc).content if doc.head_number else {}
        return CrisisRecord(
            activations,
            requests,
            SelfReferralTerms.of(in_force, agreed=doc.agreed_version is not None),
            in_force.get("terms", {}).get("contingency_max_days", 0),
            crisis_alerts.alerts_on(s, doc.id, utcnow()),
            crisis_alerts.essentials(s, doc),
            current_key_worker(s, doc.client_id) is None,
            crisis_alerts.waiting_since(s, doc.id),
        )


def _name(s, cache: dict, user_id: int | None) -> Named:
    if user_id is None:
        return Named("")
    if user_id not in cache:
        user = s.get(User, user_id)
        cache[user_id] = Named(user.display_name, Role(user.role).value, user.id)
    return cache[user_id]


def _activations(s, document_id: int) -> list[ContingencyActivation]:
    return list(
        s.scalars(
            select(ContingencyActivation)
            .where(ContingencyActivation.document_id == document_id)
            .order_by(ContingencyActivation.id.desc())
        )
    )


def in_effect_for_client(s, client_id: int, today: date) -> bool:
    """Is a crisis plan in effect in any of the client's agreements (the domain's rule, on
    the few plans not yet ended)?"""
    return any(
        reviews.period_of(a).active(today)
        for a in s.scalars(
            select(ContingencyActivation)
            .join(Document, Document.id == ContingencyActivation.document_id)
            .where(Document.client_id == client_id, ContingencyActivation.ended_at.is_(None))
        )
    )
