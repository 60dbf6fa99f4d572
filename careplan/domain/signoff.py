"""Sign-off rules: when a document is agreed, what state it is in, and who may still sign.

A signature binds one person, in one role, to one version by its content hash. A version is
agreed when the client and their key worker have both signed it, the key worker still holding
the caseload at the moment the second signature made it agreed. Agreed is for good: a handover
or anything signed later never takes it back; a new draft is the way to change it.
Signatures never move: a signature on version 2 says nothing about version 3.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum

from .lengths import KEPT, too_long
from .roles import Role
from .writing_direction import plain_writing


class Outcome(StrEnum):
    SIGNED = "signed"
    SIGNED_WITH_COMMENT = "signed_with_comment"
    DECLINED = "declined"

    @classmethod
    def chosen(cls, raw: str) -> Outcome | None:
        """The outcome a form chose, or None if it chose none of these."""
        try:
            return cls(raw)
        except ValueError:
            return None

    @property
    def agrees(self) -> bool:
        return self is not Outcome.DECLINED

    @property
    def label(self) -> str:
        return {
            Outcome.SIGNED: "signed",
            Outcome.SIGNED_WITH_COMMENT: "signed with a comment",
            Outcome.DECLINED: "declined to sign",
        }[self]


SIGNING_ROLES = (Role.CLIENT, Role.KEY_WORKER)


@dataclass(frozen=True)
class Signature:
    user_id: int
    role: Role
    version_number: int
    content_hash: str
    outcome: Outcome
    at: datetime
    comment: str = ""


@dataclass(frozen=True)
class VersionRef:
    number: int
    content_hash: str


@dataclass(frozen=True)
class Tenure:
    """One key worker holding the client's caseload, from `started_at` until `ended_at`."""

    key_worker_id: int
    started_at: datetime
    ended_at: datetime | None = None

    def covers(self, at: datetime) -> bool:
        return self.started_at <= at and (self.ended_at is None or at < self.ended_at)


class Caseload:
    """Who was the client's key worker, and when."""

    def __init__(self, tenures: Iterable[Tenure]):
        self.tenures = tuple(tenures)

    @classmethod
    def always(cls, key_worker_id: int | None) -> Caseload:
        """Only the current key worker is known: count them as having always held it."""
        if key_worker_id is None:
            return cls(())
        return cls([Tenure(key_worker_id, datetime.min.replace(tzinfo=UTC))])

    def holder_at(self, at: datetime) -> int | None:
        return next((t.key_worker_id for t in self.tenures if t.covers(at)), None)

    @property
    def current(self) -> int | None:
        return next((t.key_worker_id for t in self.tenures if t.ended_at is None), None)

    @property
    def handed_on(self) -> frozenset[int]:
        """Key workers whose time with the client ended in a handover: another's began at that
        moment (a handover ends one and starts the next together), not later."""
        starts = {t.started_at for t in self.tenures}
        return frozenset(
            t.key_worker_id for t in self.tenures if t.ended_at is not None and t.ended_at in starts
        )


class State(StrEnum):
    NOTHING_WRITTEN = "nothing_written"
    DRAFT = "draft"  # latest version signed by nobody
    AWAITING_SIGNATURE = "awaiting_signature"  # one of the two has signed the latest version
    DECLINED = "declined"  # someone declined the latest version
    AGREED = "agreed"  # the latest version is agreed


@dataclass(frozen=True)
class SignOff:
    state: State
    agreed: VersionRef | None  # the version in force (may be older than the latest)
    waiting_for: tuple[Role, ...]  # who has not yet signed the latest version
    agreed_at: datetime | None = None  # when the version in force became agreed
    # Everyone's outcome on the latest version (whoever they were): nobody signs a version twice.
    on_head: Mapping[int, Outcome] = field(default_factory=dict)
    # Every version that was agreed, the one in force and those it replaced: each has a
    # signed PDF and no draft one.
    ever_agreed: frozenset[int] = frozenset()


def decide(
    head: VersionRef | None,
    versions: dict[int, str],
    signatures: list[Signature],
    client_id: int,
    key_worker: Caseload | int | None,
) -> SignOff:
    """The sign-off state, from the versions' hashes and every signature ever made.

    `key_worker` is the caseload's history, or only the current key worker's id. A signature
    counts only if it was made on the version's exact content hash. Each person signs a version
    once; should older records hold more, their latest outcome is the one that counts, but
    nothing recorded after a version became agreed changes that.
    """
    caseload = key_worker if isinstance(key_worker, Caseload) else Caseload.always(key_worker)
    if head is None:
        return SignOff(State.NOTHING_WRITTEN, None, SIGNING_ROLES)
    by_version: dict[int, list[Signature]] = {}
    for sig in sorted(signatures, key=lambda s: s.at):
        if versions.get(sig.version_number) == sig.content_hash:
            by_version.setdefault(sig.version_number, []).append(sig)

    when_agreed = {
        number: at
        for number, sigs in by_version.items()
        if (at := _agreed_at(sigs, client_id, caseload)) is not None
    }
    ever_agreed = frozenset(when_agreed)
    agreed, agreed_at = None, None
    if when_agreed:
        number = max(when_agreed)
        agreed, agreed_at = VersionRef(number, versions[number]), when_agreed[number]
    latest = {sig.user_id: sig.outcome for sig in by_version.get(head.number, [])}
    if agreed and agreed.number == head.number:
        return SignOff(State.AGREED, agreed, (), agreed_at, latest, ever_agreed)
    on_head = {
        Role.CLIENT: latest.get(client_id),
        Role.KEY_WORKER: latest.get(caseload.current) if caseload.current else None,
    }
    waiting = tuple(role for role, o in on_head.items() if not (o and o.agrees))
    if any(o is Outcome.DECLINED for o in on_head.values()):
        state = State.DECLINED
    elif len(waiting) < 2:
        state = State.AWAITING_SIGNATURE
    else:
        state = State.DRAFT
    return SignOff(state, agreed, waiting, agreed_at, latest, ever_agreed)


def _agreed_at(signatures: list[Signature], client_id: int, caseload: Caseload) -> datetime | None:
    """The moment a version became agreed (signatures in time order), or None.

    That is the first signature after which the client and the key worker of that moment both
    agree, the key worker having held the caseload when they signed too. A worker who handed
    the client over before the client signed does not complete the agreement; the new one does.
    """
    latest: dict[int, Signature] = {}
    for sig in signatures:
        latest[sig.user_id] = sig
        client = latest.get(client_id)
        worker_id = caseload.holder_at(sig.at)
        worker = latest.get(worker_id) if worker_id is not None else None
        if (
            client
            and client.outcome.agrees
            and worker
            and worker.outcome.agrees
            and caseload.holder_at(worker.at) == worker_id
        ):
            return sig.at
    return None


def refusal(
    decision: SignOff, version_number: int, user_id: int, outcome: Outcome | None = None
) -> str | None:
    """Why this person may not sign or decline the latest version now (None if they may).

    An agreed version stays in force until a newer one is agreed, so nobody signs or declines
    it any more; and nobody signs, or declines, the same version twice.
    """
    if decision.agreed and decision.agreed.number == version_number:
        if outcome is Outcome.DECLINED:
            return (
                f"Version {version_number} is agreed and stays in force, so it can no longer be "
                "declined. If something needs to change, edit the document: the new version is "
                "a draft until you have both signed it. Nothing was changed."
            )
        return (
            f"Version {version_number} is already agreed, so there is nothing more to sign. "
            "Nothing was changed."
        )
    mine = decision.on_head.get(user_id)
    if mine is not None:
        return (
            f"You have already {mine.label} version {version_number}. A signature is given "
            "once and cannot be changed. If something needs to change, edit the document: the "
            "new version needs both of you to sign it. Nothing was changed."
        )
    if decision.state is State.DECLINED and outcome is not None and outcome.agrees:
        # The other declined it: it can never be agreed, so a signature would agree to
        # nothing while saying "agreed once the other signs". Declining too stays open.
        return (
            f"Version {version_number} was declined, so it cannot become agreed as it is and "
            "a signature would agree to nothing. To agree to these same words, offer them "
            "again for signing and both sign that; or edit the document. Nothing was changed."
        )
    return None


def already_given(
    decision: SignOff, version_number: int, user_id: int, outcome: Outcome | None
) -> str | None:
    """What to tell this person if they already gave this same outcome on the latest version
    (the same form sent twice): done, not refused. None otherwise."""
    if outcome is None or decision.on_head.get(user_id) is not outcome:
        return None
    said = f"You have already {outcome.label} version {version_number}: it counts once."
    if decision.agreed and decision.agreed.number == version_number:
        return said + " It is agreed by both of you."
    if outcome.agrees and decision.state is State.AWAITING_SIGNATURE:
        return said + " It is agreed once the other person signs it too."
    return said


def validate_outcome(outcome_raw: str, comment: str) -> tuple[Outcome, str]:
    from .errors import ContentInvalid

    comment = plain_writing(comment).strip()
    outcome = Outcome.chosen(outcome_raw)
    if outcome is None:
        raise ContentInvalid({"outcome": "Please choose: sign, sign with a comment, or decline."})
    if outcome is Outcome.SIGNED_WITH_COMMENT and not comment:
        raise ContentInvalid(
            {"comment": "Please write your comment, or choose to sign without one."}
        )
    if outcome is Outcome.DECLINED and not comment:
        raise ContentInvalid(
            {"comment": "Please say why you are not signing. It is kept with the document."}
        )
    # A plain signature keeps no comment: refused, rather than dropping words the box said
    # everyone would read while the page says "You signed".
    if outcome is Outcome.SIGNED and comment:
        raise ContentInvalid(
            {
                "comment": "You wrote a comment, but chose “I agree and sign”, which keeps no "
                "comment. To keep it with your signature, choose “I agree and sign, with a "
                "comment”. To sign without it, empty the box."
            }
        )
    if said := too_long(comment, 2000):
        raise ContentInvalid({"comment": said + KEPT})
    return outcome, comment
