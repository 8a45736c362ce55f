"""Support cases, who they are shared with, which groups may see them, and the groups.

Who may see a case is one SQL condition (policies.rows.case_visibility): admins and support
viewers see every case of their workgroups; anyone else holding a role there sees a case only
as its primary contact, as a user it is shared with, or as a member of a group given access.
"""

import datetime as dt

from sqlalchemy import (
    ColumnElement,
    and_,
    case,
    delete,
    exists,
    func,
    literal,
    or_,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.attributes import set_committed_value
from sqlmodel import Session

from engine.among import among
from models.accounts.emails import normalize_email
from models.accounts.tables import GroupMember, RoleAssignment, User, UserGroup, Workgroup
from models.agreements.tables import Agreement
from models.audit.activity import record_activity
from models.core.enums import AdditionalCaseReason, CaseClassification, CaseSeverity, CaseStatus
from models.core.errors import DomainError, ErrorCode, FieldError
from models.core.validation import check_text
from models.db import UNRESTRICTED, unrestricted, utcnow
from models.support.tables import CaseGroupAccess, CaseShare, SupportCase

NOT_COUNTED_CLASSIFICATIONS = (
    CaseClassification.SU.value,
    CaseClassification.DSA.value,
    CaseClassification.X85.value,
    CaseClassification.REC.value,
)


# ---------------------------------------------------------------- visibility


def member_rule(user_id: int | None) -> ColumnElement[bool]:
    """Cases this user reaches personally: primary contact, shared with them, or via a group.
    Correlated EXISTS, so each case is checked against a few index look-ups."""
    if user_id is None:
        return literal(False)
    shared = exists().where(CaseShare.case_id == SupportCase.id, CaseShare.user_id == user_id)
    via_group = exists().where(
        CaseGroupAccess.case_id == SupportCase.id,
        GroupMember.group_id == CaseGroupAccess.group_id,
        GroupMember.user_id == user_id,
    )
    return or_(SupportCase.primary_contact_id == user_id, shared, via_group)


# ---------------------------------------------------------------- reading


def case_query(
    *,
    workgroup_ids: list[int] | None = None,
    customer_id: int | None = None,
    status: CaseStatus | None = None,
    classification: CaseClassification | None = None,
    search: str | None = None,
):
    query = select(SupportCase)
    if workgroup_ids is not None:
        query = query.where(SupportCase.workgroup_id.in_(workgroup_ids))  # type: ignore[attr-defined]
    if customer_id is not None:
        query = query.where(SupportCase.customer_id == customer_id)
    if status is not None:
        query = query.where(SupportCase.status == status.value)
    if classification is not None:
        query = query.where(SupportCase.classification == classification.value)
    if search and search.strip():
        text = search.strip().lower()
        pattern = "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        matches = func.lower(SupportCase.title).like(pattern, escape="\\")
        if text.isascii() and text.isdigit() and len(text) < 10:
            matches = or_(matches, SupportCase.number == int(text))
        query = query.where(matches)
    return query


CASE_ORDER = (SupportCase.created_at.desc(), SupportCase.id.desc())  # type: ignore[attr-defined]


# The agreement a case names, whichever workgroup holds it: whether it is another workgroup's or
# expired is a fact about the case, told without showing the agreement (a table alias, so the
# viewer's restriction of agreements does not hide it).
LINKED_AGREEMENT = Agreement.__table__.alias("linked_agreement")  # type: ignore[attr-defined]


def additional_case_reason(today: dt.date):
    """SQL for why a case does not count against a current agreement, or NULL when it does."""
    linked = LINKED_AGREEMENT.c
    return case(
        (
            SupportCase.classification.in_(NOT_COUNTED_CLASSIFICATIONS),  # type: ignore[attr-defined]
            AdditionalCaseReason.CLASSIFICATION.value,
        ),
        (
            or_(
                SupportCase.agreement_id.is_(None),  # type: ignore[union-attr]
                SupportCase.package_id.is_(None),  # type: ignore[union-attr]
                SupportCase.service_amount_id.is_(None),  # type: ignore[union-attr]
                linked.id.is_(None),
            ),
            AdditionalCaseReason.NO_AGREEMENT.value,
        ),
        (
            linked.workgroup_id != SupportCase.workgroup_id,
            AdditionalCaseReason.OTHER_WORKGROUP.value,
        ),
        (
            ~and_(linked.starts_on <= today, linked.ends_on >= today),
            AdditionalCaseReason.EXPIRED_AGREEMENT.value,
        ),
        else_=None,
    )


def additional_cases_query(*, workgroup_ids: list[int] | None, today):
    reason = additional_case_reason(today).label("reason")
    query = (
        select(SupportCase, reason)
        .outerjoin(LINKED_AGREEMENT, LINKED_AGREEMENT.c.id == SupportCase.agreement_id)
        .where(reason.isnot(None))
    )
    if workgroup_ids is not None:
        query = query.where(SupportCase.workgroup_id.in_(workgroup_ids))  # type: ignore[attr-defined]
    return query


def shared_with(*, session: Session, case_ids: list[int]) -> dict[int, list[User]]:
    found: dict[int, list[User]] = {cid: [] for cid in case_ids}
    rows = session.execute(
        select(CaseShare.case_id, User)
        .join(User, User.id == CaseShare.user_id)
        .where(among(CaseShare.case_id, case_ids))
        .order_by(User.email)
    ).all()
    for case_id, user in rows:
        found[case_id].append(user)
    return found


def groups_with_access(*, session: Session, case_ids: list[int]) -> dict[int, list[UserGroup]]:
    found: dict[int, list[UserGroup]] = {cid: [] for cid in case_ids}
    rows = session.execute(
        select(CaseGroupAccess.case_id, UserGroup)
        .join(UserGroup, UserGroup.id == CaseGroupAccess.group_id)
        .where(among(CaseGroupAccess.case_id, case_ids))
        .order_by(UserGroup.name)
    ).all()
    for case_id, group in rows:
        found[case_id].append(group)
    return found


def group_members(*, session: Session, group_ids: list[int]) -> dict[int, list[User]]:
    found: dict[int, list[User]] = {gid: [] for gid in group_ids}
    rows = session.execute(
        select(GroupMember.group_id, User)
        .join(User, User.id == GroupMember.user_id)
        .where(among(GroupMember.group_id, group_ids))
        .order_by(User.email)
    ).all()
    for group_id, user in rows:
        found[group_id].append(user)
    return found


# ---------------------------------------------------------------- changing


def _delete_once(session: Session, statement, field: str, message: str) -> None:
    """Deletes; when a concurrent transaction deleted the row first, this one removed nothing
    and says so, instead of reporting a second success."""
    if session.execute(statement).rowcount == 0:
        raise DomainError([FieldError(field, message, ErrorCode.NOT_FOUND)])


def _flush_unique(session: Session, field: str, message: str) -> None:
    """Flushes; a unique key taken by a concurrent transaction meanwhile is a DUPLICATE."""
    try:
        session.flush()
    except IntegrityError as failure:
        raise DomainError([FieldError(field, message, ErrorCode.DUPLICATE)]) from failure


def holds_role_in(session: Session, user_id: int, workgroup_id: int) -> bool:

    return (
        session.execute(
            select(RoleAssignment.id)
            .where(
                RoleAssignment.user_id == user_id,
                or_(
                    RoleAssignment.workgroup_id == workgroup_id,
                    RoleAssignment.workgroup_id.is_(None),  # type: ignore[union-attr]
                ),
            )
            # Whoever the viewer is, a case's people must belong to its workgroup.
            .execution_options(**{UNRESTRICTED: "membership of the case's workgroup"})
        ).first()
        is not None
    )


def _workgroup_user(session: Session, email: str, workgroup_id: int, field: str) -> User:
    """A known user holding a role in the workgroup, or a user error."""
    user = (
        session.execute(select(User).where(User.email == normalize_email(email))).scalars().first()
    )
    if user is None or not holds_role_in(session, user.id, workgroup_id):  # type: ignore[arg-type]
        raise DomainError(
            [FieldError(field, f"No user {email!r} in this workgroup.", ErrorCode.NOT_FOUND)]
        )
    return user


def open_case(
    *,
    session: Session,
    workgroup_id: int,
    opener: User,
    title: str,
    description: str | None,
    severity: CaseSeverity,
    classification: CaseClassification,
    customer_id: int | None,
    agreement_id: int | None,
    package_id: int | None,
    service_amount_id: int | None,
    primary_contact_email: str | None,
) -> SupportCase:
    errors = check_text("title", title, max_length=200, required=True)
    errors += check_text("description", description, max_length=10_000)
    if errors:
        raise DomainError(errors)
    contact = (
        _workgroup_user(session, primary_contact_email, workgroup_id, "primaryContactEmail")
        if primary_contact_email
        else opener
    )
    # Serialize numbering per workgroup: concurrent openers wait here, then see each other's case.
    session.execute(select(Workgroup.id).where(Workgroup.id == workgroup_id).with_for_update())
    # The number is computed inside the INSERT itself, so that no other opener can take it
    # between reading the highest number and writing the next one (on SQLite, where the row
    # lock above is a no-op, the statement runs under the database's write lock).
    next_number = (
        select(func.coalesce(func.max(SupportCase.number), 0) + 1)
        .where(SupportCase.workgroup_id == workgroup_id)
        .scalar_subquery()
    )
    support_case = SupportCase(
        workgroup_id=workgroup_id,
        number=next_number,  # type: ignore[arg-type]
        title=title.strip(),
        description=description,
        severity=severity.value,
        classification=classification.value,
        customer_id=customer_id,
        agreement_id=agreement_id,
        package_id=package_id,
        service_amount_id=service_amount_id,
        primary_contact_id=contact.id,  # type: ignore[arg-type]
    )
    session.add(support_case)
    session.flush()
    record_activity(
        session=session,
        actor_id=opener.id,
        workgroup_id=workgroup_id,
        action="case.open",
        target_type="SupportCase",
        target_id=support_case.id,
        customer_id=customer_id,
        after={
            "number": support_case.number,
            "title": support_case.title,
            "primaryContact": contact.email,
        },
    )
    return support_case


def close_case(*, session: Session, support_case: SupportCase, actor_id: int) -> SupportCase:
    if support_case.status == CaseStatus.CLOSED.value:
        raise DomainError([FieldError(None, "The case is already closed.", ErrorCode.INVALID)])
    # Closed only if still open: a concurrent transaction that closed it meanwhile leaves
    # nothing to change, and this one is told so instead of reporting a second closing.
    closed_at = utcnow()
    closed = session.execute(
        unrestricted(
            update(SupportCase)
            .where(SupportCase.id == support_case.id, SupportCase.status != CaseStatus.CLOSED.value)
            .values(status=CaseStatus.CLOSED.value, closed_at=closed_at)
            .execution_options(synchronize_session=False),
            "closing the case the viewer may close (read through their restriction)",
        )
    ).rowcount  # type: ignore[attr-defined]
    if closed != 1:
        raise DomainError([FieldError(None, "The case is already closed.", ErrorCode.INVALID)])
    set_committed_value(support_case, "status", CaseStatus.CLOSED.value)
    set_committed_value(support_case, "closed_at", closed_at)
    record_activity(
        session=session,
        actor_id=actor_id,
        workgroup_id=support_case.workgroup_id,
        action="case.close",
        target_type="SupportCase",
        target_id=support_case.id,
        customer_id=support_case.customer_id,
        before={"status": CaseStatus.OPEN.value, "closedAt": None},
        after={"status": CaseStatus.CLOSED.value, "closedAt": closed_at.isoformat()},
    )
    return support_case


def share_case(
    *, session: Session, support_case: SupportCase, email: str, actor_id: int, share: bool
) -> SupportCase:
    if share:
        user = _workgroup_user(session, email, support_case.workgroup_id, "email")
    else:  # a share outlives its user's roles; it can always be taken back
        user = (
            session.execute(select(User).where(User.email == normalize_email(email)))
            .scalars()
            .first()
        )
        if user is None:
            raise DomainError([FieldError("email", "The case is not shared.", ErrorCode.NOT_FOUND)])
    existing = session.get(CaseShare, (support_case.id, user.id))
    if share and existing is not None:
        raise DomainError([FieldError("email", "The case is already shared.", ErrorCode.DUPLICATE)])
    if not share and existing is None:
        raise DomainError([FieldError("email", "The case is not shared.", ErrorCode.NOT_FOUND)])
    if share:
        session.add(
            CaseShare(
                case_id=support_case.id,  # type: ignore[arg-type]
                user_id=user.id,  # type: ignore[arg-type]
                workgroup_id=support_case.workgroup_id,
            )
        )
        _flush_unique(session, "email", "The case is already shared.")
    else:
        _delete_once(
            session,
            delete(CaseShare).where(
                CaseShare.case_id == support_case.id, CaseShare.user_id == user.id
            ),
            "email",
            "The case is not shared.",
        )
    record_activity(
        session=session,
        actor_id=actor_id,
        workgroup_id=support_case.workgroup_id,
        action="case.share" if share else "case.unshare",
        target_type="SupportCase",
        target_id=support_case.id,
        customer_id=support_case.customer_id,
        # a share is added (after) or taken back (before)
        before=None if share else {"email": user.email},
        after={"email": user.email} if share else None,
    )
    return support_case


def set_group_access(
    *, session: Session, support_case: SupportCase, group: UserGroup, actor_id: int, grant: bool
) -> SupportCase:
    if group.workgroup_id != support_case.workgroup_id:
        raise DomainError(
            [
                FieldError(
                    "groupId", "No group with this id in the case's workgroup.", ErrorCode.NOT_FOUND
                )
            ]
        )
    existing = session.get(CaseGroupAccess, (support_case.id, group.id))
    if grant and existing is not None:
        raise DomainError(
            [FieldError("groupId", "The group has access already.", ErrorCode.DUPLICATE)]
        )
    if not grant and existing is None:
        raise DomainError([FieldError("groupId", "The group has no access.", ErrorCode.NOT_FOUND)])
    if grant:
        session.add(
            CaseGroupAccess(
                case_id=support_case.id,  # type: ignore[arg-type]
                group_id=group.id,  # type: ignore[arg-type]
                workgroup_id=support_case.workgroup_id,
            )
        )
        _flush_unique(session, "groupId", "The group has access already.")
    else:
        _delete_once(
            session,
            delete(CaseGroupAccess).where(
                CaseGroupAccess.case_id == support_case.id, CaseGroupAccess.group_id == group.id
            ),
            "groupId",
            "The group has no access.",
        )
    record_activity(
        session=session,
        actor_id=actor_id,
        workgroup_id=support_case.workgroup_id,
        action="case.group_access.grant" if grant else "case.group_access.revoke",
        target_type="SupportCase",
        target_id=support_case.id,
        customer_id=support_case.customer_id,
        before=None if grant else {"group": group.name},
        after={"group": group.name} if grant else None,
    )
    return support_case


def create_group(*, session: Session, workgroup_id: int, name: str, actor_id: int) -> UserGroup:
    errors = check_text("name", name, max_length=100, required=True)
    if errors:
        raise DomainError(errors)
    name = name.strip()
    clash = session.execute(
        select(UserGroup.id).where(
            UserGroup.workgroup_id == workgroup_id, func.lower(UserGroup.name) == name.lower()
        )
    ).first()
    if clash:
        raise DomainError(
            [FieldError("name", "A group with this name exists.", ErrorCode.DUPLICATE)]
        )
    group = UserGroup(workgroup_id=workgroup_id, name=name)
    session.add(group)
    _flush_unique(session, "name", "A group with this name exists.")
    record_activity(
        session=session,
        actor_id=actor_id,
        workgroup_id=workgroup_id,
        action="group.create",
        target_type="Group",
        target_id=group.id,
        after={"name": name},
    )
    return group


def set_group_member(
    *, session: Session, group: UserGroup, email: str, actor_id: int, member: bool
) -> UserGroup:
    if member:
        user = _workgroup_user(session, email, group.workgroup_id, "email")
    else:
        user = (
            session.execute(select(User).where(User.email == normalize_email(email)))
            .scalars()
            .first()
        )
        if user is None:
            raise DomainError([FieldError("email", "Not a member.", ErrorCode.NOT_FOUND)])
    existing = session.get(GroupMember, (group.id, user.id))
    if member and existing is not None:
        raise DomainError([FieldError("email", "Already a member.", ErrorCode.DUPLICATE)])
    if not member and existing is None:
        raise DomainError([FieldError("email", "Not a member.", ErrorCode.NOT_FOUND)])
    if member:
        session.add(
            GroupMember(
                group_id=group.id,  # type: ignore[arg-type]
                user_id=user.id,  # type: ignore[arg-type]
                workgroup_id=group.workgroup_id,
            )
        )
        _flush_unique(session, "email", "Already a member.")
    else:
        _delete_once(
            session,
            delete(GroupMember).where(
                GroupMember.group_id == group.id, GroupMember.user_id == user.id
            ),
            "email",
            "Not a member.",
        )
    record_activity(
        session=session,
        actor_id=actor_id,
        workgroup_id=group.workgroup_id,
        action="group.member.add" if member else "group.member.remove",
        target_type="Group",
        target_id=group.id,
        before=None if member else {"email": user.email},
        after={"email": user.email} if member else None,
    )
    return group
