"""The append-only activity record, written in the same transaction as the change it describes."""

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, Index, select
from sqlmodel import Field, Session, SQLModel

from models.accounts.emails import normalize_email
from models.accounts.tables import User
from models.db import UTCDateTime, utcnow


class ActivityRecord(SQLModel, table=True):
    __tablename__ = "activity_record"
    __table_args__ = (
        Index("ix_activity_workgroup_at", "workgroup_id", "at"),
        Index("ix_activity_customer_at", "customer_id", "at"),  # Customer.feed, one page each
    )

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False))
    actor_id: int | None = Field(default=None, foreign_key="app_user.id")
    workgroup_id: int | None = Field(default=None, foreign_key="workgroup.id")
    action: str = Field(max_length=64)
    target_type: str = Field(max_length=32)
    target_id: int | None = None
    # The customer the change concerns (its own, or its contact's, contract's, tags'...): what
    # Customer.feed and activity(customerId:) select on.
    customer_id: int | None = Field(default=None, foreign_key="customer.id")
    before: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON))
    after: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON))


def record_activity(
    *,
    session: Session,
    actor_id: int | None,
    workgroup_id: int | None,
    action: str,
    target_type: str,
    target_id: int | None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    customer_id: int | None = None,
) -> ActivityRecord:
    """Adds the record to the caller's transaction; it commits or rolls back with the change.

    `before` and `after` hold the changed values in API terms (the GraphQL field names of the
    type policies/activity_subjects.py declares for `action`, references as global ids): an
    update both, for exactly the fields that changed (changed_values); a creation `after`
    only; a removal `before` only. `customer_id` names the customer the change concerns; a
    record whose target is a customer concerns that customer."""
    if customer_id is None and target_type == "Customer":
        customer_id = target_id
    record = ActivityRecord(
        actor_id=actor_id,
        workgroup_id=workgroup_id,
        action=action,
        target_type=target_type,
        target_id=target_id,
        customer_id=customer_id,
        before=before,
        after=after,
    )
    session.add(record)
    return record


def changed_values(
    before: dict[str, Any], after: dict[str, Any]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The values of `before` and of `after` whose keys differ between the two; both empty when
    nothing changed."""
    changed = [key for key in after if before.get(key) != after[key]]
    return {key: before.get(key) for key in changed}, {key: after[key] for key in changed}


def activity_query(
    *,
    workgroup_id: int | None = None,
    target: tuple[str, int] | None = None,
    target_type: str | None = None,
    customer_id: int | None = None,
    actor_email: str | None = None,
    at_from: datetime | None = None,
    at_to: datetime | None = None,
):
    """Activity records, filtered; newest first when ordered by ACTIVITY_ORDER."""
    query = select(ActivityRecord)
    if workgroup_id is not None:
        query = query.where(ActivityRecord.workgroup_id == workgroup_id)
    if target_type is not None:
        query = query.where(ActivityRecord.target_type == target_type)
    if target is not None:
        query = query.where(
            ActivityRecord.target_type == target[0], ActivityRecord.target_id == target[1]
        )
    if customer_id is not None:
        query = query.where(ActivityRecord.customer_id == customer_id)
    if actor_email is not None:
        query = query.where(
            ActivityRecord.actor_id.in_(  # type: ignore[union-attr]
                select(User.id).where(User.email == normalize_email(actor_email))
            )
        )
    if at_from is not None:
        query = query.where(ActivityRecord.at >= at_from)
    if at_to is not None:
        query = query.where(ActivityRecord.at <= at_to)
    return query


ACTIVITY_ORDER = (ActivityRecord.at.desc(), ActivityRecord.id.desc())  # type: ignore[attr-defined]
