"""Granting and revoking roles in a workgroup, and listing who holds which."""

from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from models.accounts.emails import email_problem, normalize_email
from models.accounts.tables import RoleAssignment, User, Workgroup
from models.accounts.users import get_or_create_user
from models.audit.activity import record_activity
from models.core.enums import Role
from models.core.errors import DomainError, ErrorCode, FieldError


def grant_role(
    *, session: Session, email: str, role: Role, workgroup_id: int | None, actor_id: int | None
) -> RoleAssignment:
    """Gives a role; the user is created if new and gets the access on first sign-in."""
    problem = email_problem(email)
    if problem:
        raise DomainError([FieldError("email", problem, ErrorCode.INVALID)])
    user = get_or_create_user(session=session, email=email)
    query = select(RoleAssignment).where(
        RoleAssignment.user_id == user.id, RoleAssignment.role == role
    )
    query = query.where(
        RoleAssignment.workgroup_id.is_(None)  # type: ignore[union-attr]
        if workgroup_id is None
        else RoleAssignment.workgroup_id == workgroup_id
    )
    if session.execute(query).scalars().first() is not None:
        raise DomainError(
            [
                FieldError(
                    "role", f"{user.email} already holds {role.value} here.", ErrorCode.DUPLICATE
                )
            ]
        )
    assignment = RoleAssignment(user_id=user.id, workgroup_id=workgroup_id, role=role)
    session.add(assignment)
    holder = user.email  # a failed flush expires the session's objects
    try:
        session.flush()
    except IntegrityError as failure:  # granted by someone else at the same moment
        raise DomainError(
            [FieldError("role", f"{holder} already holds {role.value} here.", ErrorCode.DUPLICATE)]
        ) from failure
    record_activity(
        session=session,
        actor_id=actor_id,
        workgroup_id=workgroup_id,
        action="role.grant",
        target_type="User",
        target_id=user.id,
        after={"email": user.email, "role": role.name},  # as the API's Role enum names it
    )
    return assignment


def revoke_role(
    *, session: Session, email: str, role: Role, workgroup_id: int, actor_id: int | None
) -> None:
    """Takes a role away; the last admin of a workgroup cannot be removed."""
    user = (
        session.execute(select(User).where(User.email == normalize_email(email))).scalars().first()
    )
    assignment = None
    if user is not None:
        assignment = (
            session.execute(
                select(RoleAssignment).where(
                    RoleAssignment.user_id == user.id,
                    RoleAssignment.role == role.value,
                    RoleAssignment.workgroup_id == workgroup_id,
                )
            )
            .scalars()
            .first()
        )
    if assignment is None:
        raise DomainError(
            [FieldError("email", f"{email} does not hold {role.value} here.", ErrorCode.NOT_FOUND)]
        )
    # Takes the write lock (SQLite) / the row lock (PostgreSQL) first. A concurrent revoke that
    # deleted the row meanwhile leaves nothing to delete: this one did not take the role away.
    removed = session.execute(
        delete(RoleAssignment).where(RoleAssignment.id == assignment.id)
    ).rowcount  # type: ignore[attr-defined]
    if removed != 1:
        raise DomainError(
            [FieldError("email", f"{email} does not hold {role.value} here.", ErrorCode.NOT_FOUND)]
        )
    if role is Role.ADMIN:
        # Counted after the delete, with the workgroup row locked: two admins revoking each
        # other at once cannot both see "another admin is left".
        session.execute(select(Workgroup.id).where(Workgroup.id == workgroup_id).with_for_update())
        admins_left = session.execute(
            select(func.count())
            .select_from(RoleAssignment)
            .where(
                RoleAssignment.workgroup_id == workgroup_id,
                RoleAssignment.role == Role.ADMIN.value,
            )
        ).scalar_one()
        if admins_left == 0:
            raise DomainError(
                [
                    FieldError(
                        "role",
                        "This is the workgroup's last admin; grant admin to someone else first.",
                        ErrorCode.LAST_ADMIN,
                    )
                ]
            )
    record_activity(
        session=session,
        actor_id=actor_id,
        workgroup_id=workgroup_id,
        action="role.revoke",
        target_type="User",
        target_id=user.id,  # type: ignore[union-attr]
        before={"email": user.email, "role": role.name},  # type: ignore[union-attr]
    )


def role_assignments(*, session: Session, workgroup_id: int) -> list[tuple[RoleAssignment, User]]:
    rows = session.execute(
        select(RoleAssignment, User)
        .join(User, User.id == RoleAssignment.user_id)
        .where(RoleAssignment.workgroup_id == workgroup_id)
        .order_by(User.email, RoleAssignment.role)
    ).all()
    return [(assignment, user) for assignment, user in rows]
