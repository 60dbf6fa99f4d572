"""A person's backup codes for the second step (careplan.domain.second_factor), as rows of
hashes, inside the caller's write or read transaction."""

from __future__ import annotations

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from ..db.models import BackupCode, utcnow
from ..domain import second_factor


def unused(s: Session, user_id: int) -> int:
    return s.scalar(
        select(func.count())
        .select_from(BackupCode)
        .where(BackupCode.user_id == user_id, BackupCode.used_at.is_(None))
    )


def replace_all(s: Session, user_id: int) -> list[str]:
    """A fresh set in place of any earlier one; the codes themselves are not kept."""
    remove_all(s, user_id)
    codes = second_factor.new_backup_codes()
    s.add_all(
        BackupCode(user_id=user_id, code_hash=second_factor.backup_hash(code)) for code in codes
    )
    return codes


def are_all_kept(s: Session, user_id: int, codes: list[str]) -> bool:
    """Whether every one of `codes` is among this person's codes, used or not."""
    hashes = {second_factor.backup_hash(code) for code in codes}
    kept = s.scalars(
        select(BackupCode.code_hash).where(
            BackupCode.user_id == user_id, BackupCode.code_hash.in_(hashes)
        )
    ).all()
    return len(set(kept)) == len(hashes)


def remove_all(s: Session, user_id: int) -> None:
    s.execute(delete(BackupCode).where(BackupCode.user_id == user_id))


def use(s: Session, user_id: int, code: str) -> bool:
    """Marks the code used if it is this person's and unused. One conditional update, so of two
    forms sent at once with the same code only one gets it."""
    done = s.execute(
        update(BackupCode)
        .where(
            BackupCode.user_id == user_id,
            BackupCode.code_hash == second_factor.backup_hash(code),
            BackupCode.used_at.is_(None),
        )
        .values(used_at=utcnow())
    )
    return done.rowcount == 1
