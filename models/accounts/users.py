"""Users: found or created by e-mail address; signing in with the roles they hold."""

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session

from models.accounts.emails import exact_email
from models.accounts.tables import HeldRole, RoleAssignment, User
from models.core.enums import Role
from models.db import UNRESTRICTED, utcnow


def get_or_create_user(*, session: Session, email: str) -> User:
    """The user with this e-mail, created if there is none. Two transactions creating one user
    at the same moment both get it: the insert skips a row that exists or is inserted
    meanwhile (it waits for the other transaction to end, or for SQLite's write lock)."""
    email = exact_email(email)
    user = session.exec(select(User).where(User.email == email)).scalars().first()
    if user is None:
        insert = (
            postgresql_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
        )
        session.execute(
            insert(User)
            .values(email=email, created_at=utcnow())
            .on_conflict_do_nothing(index_elements=["email"])
        )
        user = session.exec(select(User).where(User.email == email)).scalars().one()
    return user


def sign_in(*, session: Session, email: str) -> tuple[User, list[HeldRole]]:
    """The user with this e-mail and the roles they hold, in one statement; a user signing in
    for the first time is created (and holds nothing yet). An ambiguous address (see
    `ambiguity_problem`) raises AmbiguousEmail; the token check refuses it before this."""
    email = exact_email(email)
    rows = session.execute(
        select(User, RoleAssignment.role, RoleAssignment.workgroup_id)
        .outerjoin(RoleAssignment, RoleAssignment.user_id == User.id)
        .where(User.email == email)
        .execution_options(**{UNRESTRICTED: "sign-in: the viewer's own roles"})
    ).all()
    if not rows:
        return get_or_create_user(session=session, email=email), []
    held = [HeldRole(Role(role), workgroup_id) for _, role, workgroup_id in rows if role]
    return rows[0][0], held


def roles_of(*, session: Session, user_id: int) -> list[HeldRole]:
    rows = session.execute(
        select(RoleAssignment.role, RoleAssignment.workgroup_id)
        .where(RoleAssignment.user_id == user_id)
        .execution_options(**{UNRESTRICTED: "a user's roles, to decide or explain their access"})
    ).all()
    return [HeldRole(Role(role), workgroup_id) for role, workgroup_id in rows]
