"""The guard behind every test: while a request is served, every SQL read of a tenant table
must carry the viewer's restriction, or say explicitly why it reads everything.

It watches every statement the suite's in-process requests run (SQLAlchemy's cursor event),
finds the tenant tables a read names, and keeps each read that is neither restricted nor
marked unrestricted. The autouse fixture in conftest fails a test that caused one.
"""

import re

from sqlalchemy import event
from sqlalchemy.engine import Engine

from models.db import RESTRICTED, UNRESTRICTED
from policies.restriction import serving_request
from policies.row_types import tenant_tables

TENANT_TABLES = frozenset(tenant_tables())
_NAMED_TABLE = re.compile(r'\b(?:FROM|JOIN)\s+"?(\w+)', re.IGNORECASE)

unguarded: list[str] = []
checked = [0]


def tables_read(statement: str) -> set[str]:
    return {name.lower() for name in _NAMED_TABLE.findall(statement)} & TENANT_TABLES


def _check(_conn, _cursor, statement, _parameters, context, _executemany) -> None:
    if not serving_request.get():
        return
    if not statement.lstrip().upper().startswith(("SELECT", "WITH")):
        return  # writes name rows the request has already read through its restriction
    tables = tables_read(statement)
    if not tables:
        return
    checked[0] += 1
    options = context.execution_options
    if options.get(RESTRICTED) or options.get(UNRESTRICTED):
        return
    unguarded.append(f"{sorted(tables)}: {' '.join(statement.split())[:300]}")


def install() -> None:
    event.listen(Engine, "before_cursor_execute", _check)
