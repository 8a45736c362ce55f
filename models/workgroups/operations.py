"""Creating workgroups."""

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from models.accounts.tables import WORKGROUP_NAME_MAX, Workgroup
from models.audit.activity import record_activity
from models.core.errors import DomainError, ErrorCode, FieldError


def create_workgroup(*, session: Session, name: str, actor_id: int | None) -> Workgroup:
    name = (name or "").strip()
    if not name:
        raise DomainError([FieldError("name", "A workgroup needs a name.", ErrorCode.REQUIRED)])
    if len(name) > WORKGROUP_NAME_MAX:
        raise DomainError(
            [
                FieldError(
                    "name",
                    f"A workgroup name has at most {WORKGROUP_NAME_MAX} characters.",
                    ErrorCode.TOO_LONG,
                )
            ]
        )
    clash = session.execute(
        select(Workgroup.id).where(Workgroup.name.ilike(name))  # type: ignore[union-attr]
    ).first()
    if clash is not None:
        raise DomainError(
            [FieldError("name", f"A workgroup named {name!r} exists.", ErrorCode.DUPLICATE)]
        )
    workgroup = Workgroup(name=name)
    session.add(workgroup)
    try:
        session.flush()
    except IntegrityError as failure:  # created by a concurrent transaction meanwhile
        raise DomainError(
            [FieldError("name", f"A workgroup named {name!r} exists.", ErrorCode.DUPLICATE)]
        ) from failure
    record_activity(
        session=session,
        actor_id=actor_id,
        workgroup_id=workgroup.id,
        action="workgroup.create",
        target_type="Workgroup",
        target_id=workgroup.id,
        after={"name": name},
    )
    return workgroup
