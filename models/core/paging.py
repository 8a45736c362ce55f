"""One page of children for each of many parents, in two statements (rows, then counts)."""

from collections import defaultdict
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import aliased
from sqlmodel import Session

from engine.among import among


def pages_by_parent(
    *,
    session: Session,
    query,
    entity,
    parent_column,
    order_by: tuple,
    parent_ids: list[int],
    offset: int,
    limit: int,
) -> dict[int, tuple[list[Any], int]]:
    """`query` selects `entity` rows (already filtered to what the viewer may see); the result
    maps each parent id to (its rows from `offset`, at most `limit`, and its total count)."""
    position = (
        func.row_number().over(partition_by=parent_column, order_by=order_by).label("position")
    )
    numbered = query.where(among(parent_column, parent_ids)).add_columns(position).subquery()
    row = aliased(entity, numbered)
    parent_key = numbered.c[parent_column.key]
    rows = session.execute(
        select(row)
        .where(numbered.c.position > offset, numbered.c.position <= offset + limit)
        .order_by(parent_key, numbered.c.position)
    ).scalars()
    grouped: dict[int, list[Any]] = defaultdict(list)
    for item in rows:
        grouped[getattr(item, parent_column.key)].append(item)
    counted = (
        query.where(among(parent_column, parent_ids))
        .with_only_columns(parent_column, func.count())
        .group_by(parent_column)
    )
    totals = dict(session.execute(counted).all())
    return {pid: (grouped.get(pid, []), totals.get(pid, 0)) for pid in parent_ids}
