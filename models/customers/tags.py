"""A customer's tags: read per customer, and replaced row by row."""

from sqlalchemy import (
    delete,
    func,
    select,
)
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session

from engine.among import among
from models.customers.tables import Customer, CustomerTag, Tag


def tags_by_customer(*, session: Session, customer_ids: list[int]) -> dict[int, list[str]]:
    found: dict[int, list[str]] = {cid: [] for cid in customer_ids}
    if not customer_ids:
        return found
    rows = session.execute(
        select(CustomerTag.customer_id, Tag.name)
        .join(Tag, Tag.id == CustomerTag.tag_id)
        .where(among(CustomerTag.customer_id, customer_ids))
        .order_by(CustomerTag.customer_id, func.lower(Tag.name))
    ).all()
    for customer_id, name in rows:
        found[customer_id].append(name)
    return found


def tag_keys(tags: list[str]) -> set[str]:
    return {tag.lower() for tag in tags}


def set_tags(session: Session, customer: Customer, names: list[str]) -> None:
    """Makes `names` the customer's tags, row by row: links to other tags are deleted and
    missing ones inserted, so a link that stays is never deleted and inserted again, and a
    link inserted meanwhile by a concurrent transaction is skipped instead of refused."""
    keys = {name.lower(): name for name in names}
    dialect = session.get_bind().dialect.name
    insert = postgresql_insert if dialect == "postgresql" else sqlite_insert
    if keys:
        # A tag new to the workgroup may be created by a concurrent transaction at the same
        # time: insert what is missing, skipping what exists or appears meanwhile (in the order
        # of their keys, so that two transactions never wait for each other's rows in turn).
        session.execute(
            insert(Tag)
            .values(
                [
                    {"workgroup_id": customer.workgroup_id, "name": keys[key], "name_key": key}
                    for key in sorted(keys)
                ]
            )
            .on_conflict_do_nothing(index_elements=["workgroup_id", "name_key"])
        )
    tag_ids = sorted(
        session.execute(
            select(Tag.id).where(
                Tag.workgroup_id == customer.workgroup_id,
                Tag.name_key.in_(list(keys)),  # type: ignore[attr-defined]
            )
        ).scalars()
    )
    unwanted = delete(CustomerTag).where(CustomerTag.customer_id == customer.id)
    if tag_ids:
        unwanted = unwanted.where(CustomerTag.tag_id.not_in(tag_ids))  # type: ignore[attr-defined]
    session.execute(unwanted.execution_options(synchronize_session=False))
    if tag_ids:
        session.execute(
            insert(CustomerTag)
            .values(
                [
                    {
                        "customer_id": customer.id,
                        "tag_id": tag_id,
                        "workgroup_id": customer.workgroup_id,
                    }
                    for tag_id in tag_ids
                ]
            )
            .on_conflict_do_nothing(index_elements=["customer_id", "tag_id"])
        )
