"""Workgroups, users, their roles and groups."""

import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Column, Index, UniqueConstraint, delete, func, select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError
from sqlmodel import Field, Session, SQLModel

from models.activity import record_activity
from models.db import UNRESTRICTED, UTCDateTime, utcnow
from models.enums import Role
from models.errors import DomainError, ErrorCode, FieldError

WORKGROUP_NAME_MAX = 100
EMAIL_MAX = 254


class Workgroup(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=WORKGROUP_NAME_MAX, unique=True)
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )

    @property
    def workgroup_id(self) -> int | None:
        """A workgroup is its own permission domain."""
        return self.id


class User(SQLModel, table=True):
    __tablename__ = "app_user"

    id: int | None = Field(default=None, primary_key=True)
    email: str = Field(max_length=EMAIL_MAX, unique=True)
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )


class RoleAssignment(SQLModel, table=True):
    """A role held by a user in a workgroup; no workgroup means in every workgroup."""

    __tablename__ = "role_assignment"
    __table_args__ = (
        UniqueConstraint("user_id", "workgroup_id", "role", name="uq_role_assignment"),
        Index("ix_role_assignment_workgroup", "workgroup_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="app_user.id", index=True)
    workgroup_id: int | None = Field(default=None, foreign_key="workgroup.id")
    role: str = Field(max_length=32)
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )


class UserGroup(SQLModel, table=True):
    """A named set of users inside a workgroup (e.g. "Tier 2")."""

    __tablename__ = "user_group"
    __table_args__ = (UniqueConstraint("workgroup_id", "name", name="uq_user_group_name"),)

    id: int | None = Field(default=None, primary_key=True)
    workgroup_id: int = Field(foreign_key="workgroup.id")
    name: str = Field(max_length=100)


class GroupMember(SQLModel, table=True):
    __tablename__ = "group_member"
    __table_args__ = (Index("ix_group_member_user", "user_id", "group_id"),)

    group_id: int = Field(foreign_key="user_group.id", primary_key=True)
    user_id: int = Field(foreign_key="app_user.id", primary_key=True)
    workgroup_id: int = Field(foreign_key="workgroup.id", index=True)


@dataclass(frozen=True, slots=True)
class HeldRole:
    role: Role
    workgroup_id: int | None


_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


# Addresses are compared exactly, after surrounding ASCII blanks are dropped and the ASCII
# letters A-Z lower-cased; no other character is mapped. Python's str.lower() would also map
# e.g. the KELVIN SIGN (U+212A) to "k", making "admin@fabri\u212aam.example" someone else's
# address, so it is never used on an address.
_ASCII_BLANKS = " \t\n\r\f\v"
_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")
# Unicode categories of characters no address may hold: control, format (invisible, e.g.
# U+200B), surrogate, private use and unassigned.
_REFUSED_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Cn"})


class AmbiguousEmail(ValueError):
    """An address that Unicode normalisation or case mapping could turn into another one."""


def normalize_email(email: str) -> str:
    """The form an address is stored and compared in: ASCII blanks around it dropped, ASCII
    letters lower-cased, every other character exactly as given."""
    return email.strip(_ASCII_BLANKS).translate(_ASCII_LOWER)


def ambiguity_problem(email: str) -> str | None:
    """Why the (normalised) address could be taken for another one ("it holds ..."), or None.

    Refused: an address that NFKC normalisation changes (fullwidth or mathematical letters,
    the Kelvin sign, no-break spaces, decomposed accents...), and one with a non-ASCII
    character whose Unicode lower case, upper case or case fold holds an ASCII character
    (the Kelvin sign, dotless i, capital I with dot, sharp s) or that is invisible, private or
    unassigned. Every character of what is left is ASCII or stays non-ASCII under NFKC and
    case mapping, so no accepted address is another spelling of an ASCII one:
    "j\u00f6rg@example.de" works and is not "jorg@example.de". Non-ASCII letters are not
    case-folded either: "j\u00d6rg@example.de" is a user of its own, not "j\u00f6rg@...".
    """
    if unicodedata.normalize("NFKC", email) != email:
        changed = next((ch for ch in email if unicodedata.normalize("NFKC", ch) != ch), None)
        return (
            f"it holds {_character(changed)}, which Unicode compatibility normalisation (NFKC) "
            "changes"
            if changed
            else "it holds a character sequence, such as a letter and a combining accent, that "
            "Unicode normalisation (NFKC) composes into another"
        )
    for ch in email:
        if ch.isascii():
            continue
        name = _character(ch)
        if unicodedata.category(ch) in _REFUSED_CATEGORIES:
            return f"it holds {name}, an invisible, private-use or unassigned character"
        if any(c.isascii() for mapped in (ch.lower(), ch.upper(), ch.casefold()) for c in mapped):
            return f"it holds {name}, which Unicode case mapping turns into ASCII letters"
    return None


def _character(ch: str) -> str:
    return f"U+{ord(ch):04X} {unicodedata.name(ch, '(unnamed)')}"


def email_problem(email: str) -> str | None:
    email = normalize_email(email)
    if len(email) > EMAIL_MAX:
        return f"An e-mail address has at most {EMAIL_MAX} characters."
    if not _EMAIL.match(email) or any(ord(ch) < 32 for ch in email):
        return f"{email!r} is not an e-mail address."
    ambiguity = ambiguity_problem(email)
    if ambiguity:
        return f"{email!r} is not accepted: {ambiguity}."
    return None


def _exact_email(email: str) -> str:
    """The normalised address; raises AmbiguousEmail for one that could be another's."""
    email = normalize_email(email)
    problem = ambiguity_problem(email)
    if problem:
        raise AmbiguousEmail(f"{email!r} is not accepted: {problem}.")
    return email


def get_or_create_user(*, session: Session, email: str) -> User:
    """The user with this e-mail, created if there is none. Two transactions creating one user
    at the same moment both get it: the insert skips a row that exists or is inserted
    meanwhile (it waits for the other transaction to end, or for SQLite's write lock)."""
    email = _exact_email(email)
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
    email = _exact_email(email)
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
