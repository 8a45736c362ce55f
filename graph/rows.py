"""Rows by global id. The session's restriction (policies.restriction) decides what the viewer
may see, so a row they may not see is None here, exactly like an id that names nothing."""

from typing import Any

from sqlalchemy import select

from graph.ids import decode_pk
from policies.row_types import ROW_TYPES


def row_by_id(context: Any, type_name: str, global_id: str | None) -> Any | None:
    pk = decode_pk(global_id, type_name)
    if pk is None:
        return None
    table = ROW_TYPES[type_name].table
    # Always a SELECT (never an identity-map hit): a row the session holds for another reason
    # is returned only when the restriction admits it now.
    return context.session.execute(select(table).where(table.id == pk)).scalars().first()
