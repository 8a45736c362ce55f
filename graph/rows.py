"""Rows by global id. The session's restriction (policies.restriction) decides what the viewer
may see, so a row they may not see is None here, exactly like an id that names nothing."""

from typing import Any

from graph.ids import decode_pk
from policies.row_types import ROW_TYPES


def row_by_id(context: Any, type_name: str, global_id: str | None) -> Any | None:
    pk = decode_pk(global_id, type_name)
    if pk is None:
        return None
    return context.session.get(ROW_TYPES[type_name].table, pk)
