"""Sign-off rules: when a document is agreed, and what state it is in.

A signature binds one person, in one role, to one version by its content hash. A document is
agreed when the client and their current key worker have both signed the same version.
Signatures never move: a signature on version 2 says nothing about version 3.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from .roles import Role


class Outcome(StrEnum):
    SIGNED = "signed"
    SIGNED_WITH_COMMENT = "signed_with_comment"
    DECLINED = "declined"

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


def decide(
    head: VersionRef | None,
    versions: dict[int, str],
    signatures: list[Signature],
    client_id: int,
    key_worker_id: int | None,
) -> SignOff:
    """The sign-off state, from the versions' hashes and every signature ever made.

    Only a person's latest outcome on a version counts, and only if it was made on that
    version's exact content hash.
    """
    if head is None:
        return SignOff(State.NOTHING_WRITTEN, None, SIGNING_ROLES)
    latest: dict[tuple[int, int], Signature] = {}
    for sig in sorted(signatures, key=lambda s: s.at):
        if versions.get(sig.version_number) == sig.content_hash:
            latest[(sig.version_number, sig.user_id)] = sig

    def outcome(number: int, user_id: int | None) -> Outcome | None:
        sig = latest.get((number, user_id)) if user_id is not None else None
        return sig.outcome if sig else None

    def agreed_on(number: int) -> bool:
        a, b = outcome(number, client_id), outcome(number, key_worker_id)
        return bool(a and a.agrees and b and b.agrees)

    agreed = next(
        (VersionRef(n, versions[n]) for n in sorted(versions, reverse=True) if agreed_on(n)), None
    )
    if agreed and agreed.number == head.number:
        return SignOff(State.AGREED, agreed, ())
    on_head = {
        Role.CLIENT: outcome(head.number, client_id),
        Role.KEY_WORKER: outcome(head.number, key_worker_id),
    }
    waiting = tuple(role for role, o in on_head.items() if not (o and o.agrees))
    if any(o is Outcome.DECLINED for o in on_head.values()):
        return SignOff(State.DECLINED, agreed, waiting)
    if len(waiting) < 2:
        return SignOff(State.AWAITING_SIGNATURE, agreed, waiting)
    return SignOff(State.DRAFT, agreed, waiting)


def validate_outcome(outcome_raw: str, comment: str) -> tuple[Outcome, str]:
    from .errors import ContentInvalid

    comment = (comment or "").strip()
    try:
        outcome = Outcome(outcome_raw)
    except ValueError as exc:
        raise ContentInvalid(
            {"outcome": "Please choose: sign, sign with a comment, or decline."}
        ) from exc
    if outcome is Outcome.SIGNED_WITH_COMMENT and not comment:
        raise ContentInvalid(
            {"comment": "Please write your comment, or choose to sign without one."}
        )
    if outcome is Outcome.DECLINED and not comment:
        raise ContentInvalid(
            {"comment": "Please say why you are not signing. It is kept with the document."}
        )
    if len(comment) > 2000:
        raise ContentInvalid({"comment": "Please keep this under 2000 characters."})
    if outcome is Outcome.SIGNED:
        comment = ""
    return outcome, comment
