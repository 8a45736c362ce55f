"""Which customers each user opened last, for the viewer's "recent customers"."""

from datetime import datetime, timedelta

from sqlalchemy import Column, Index, delete, select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Field, Session, SQLModel

from models.customers.tables import Customer
from models.db import UTCDateTime, utcnow


class CustomerView(SQLModel, table=True):
    __tablename__ = "customer_view"
    __table_args__ = (Index("ix_customer_view_user_at", "user_id", "viewed_at"),)

    user_id: int = Field(foreign_key="app_user.id", primary_key=True)
    customer_id: int = Field(foreign_key="customer.id", primary_key=True)
    workgroup_id: int = Field(foreign_key="workgroup.id", index=True)
    viewed_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )


KEPT_PER_USER = 20  # views older than a user's latest 20 are deleted as new ones come
RECENT_ORDER = (CustomerView.viewed_at.desc(), CustomerView.customer_id.desc())  # type: ignore[attr-defined]


def record_views(
    *, session: Session, user_id: int, customers: list[tuple[int, int]], at: datetime
) -> None:
    """Remembers that `user_id` opened `customers` ((id, workgroup id), in that order, the last
    one latest) at
    `at`: one upsert, and the views beyond the latest KEPT_PER_USER deleted. The caller
    commits."""
    latest_last = list(reversed(dict.fromkeys(reversed(customers))))
    if not latest_last:
        return
    insert = postgresql_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    statement = insert(CustomerView).values(
        [
            # A microsecond apart, so that the order of opening is the order of recency.
            {
                "user_id": user_id,
                "customer_id": cid,
                "workgroup_id": workgroup_id,
                "viewed_at": at + timedelta(microseconds=i),
            }
            for i, (cid, workgroup_id) in enumerate(latest_last)
        ]
    )
    session.execute(
        statement.on_conflict_do_update(
            index_elements=["user_id", "customer_id"],
            set_={"viewed_at": statement.excluded.viewed_at},
        )
    )
    kept = (
        select(CustomerView.customer_id)
        .where(CustomerView.user_id == user_id)
        .order_by(*RECENT_ORDER)
        .limit(KEPT_PER_USER)
    )
    session.execute(
        delete(CustomerView).where(
            CustomerView.user_id == user_id,
            CustomerView.customer_id.not_in(kept),  # type: ignore[attr-defined]
        )
    )


def recent_customers(*, session: Session, user_id: int, limit: int) -> list[Customer]:
    """The customers `user_id` opened, latest first, that they may still see — archived ones
    included. One statement."""
    return list(
        session.execute(
            select(Customer)
            .join(CustomerView, CustomerView.customer_id == Customer.id)
            .where(CustomerView.user_id == user_id)
            .order_by(*RECENT_ORDER)
            .limit(limit)
        ).scalars()
    )
