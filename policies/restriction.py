"""The one restriction: every ORM read of a tenant table (policies.row_types) in a request's
session is narrowed to the rows its viewer may see.

The request's session carries the viewer's access scope; on every SELECT, UPDATE or DELETE it
executes — lists, by id, `session.get`, loaders, counts, subqueries, EXISTS — the scope's
condition for each tenant table is added wherever that table appears (SQLAlchemy's
`with_loader_criteria`), so no call site has to remember it. A read that must see everything
says so with `models.db.unrestricted(statement, why)`; sessions that serve nobody's request
are opened with `models.db.system_session(engine, why)`.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from sqlalchemy import event
from sqlalchemy.orm import ORMExecuteState, Session

from models.db import RESTRICTED, UNRESTRICTED
from policies.scope import TENANT_TABLES, AccessScope, tables_named

SCOPE = "clientele_scope"

# Set while a request is served: reads of tenant tables then must be restricted or say why not
# (the test suite's guard counts any that are neither).
serving_request: ContextVar[bool] = ContextVar("serving_request", default=False)


@contextmanager
def serving() -> Iterator[None]:
    """Marks the work inside as serving a request (for the guard over unrestricted reads)."""
    token = serving_request.set(True)
    try:
        yield
    finally:
        serving_request.reset(token)


class UnrestrictedRead(RuntimeError):
    """A read in a viewer's session that the restriction cannot reach (a programming error)."""


def restrict(session: Session, scope: AccessScope) -> None:
    """From now on, every read through `session` sees only what `scope`'s viewer may see."""
    session.info[SCOPE] = scope


@event.listens_for(Session, "do_orm_execute")
def _restrict_reads(state: ORMExecuteState) -> None:
    if not (state.is_select or state.is_update or state.is_delete):
        return
    why = state.execution_options.get(UNRESTRICTED) or state.session.info.get(UNRESTRICTED)
    if why:
        state.update_execution_options(**{UNRESTRICTED: why})
        return
    scope: AccessScope | None = state.session.info.get(SCOPE)
    if scope is None:
        return
    if not state.is_orm_statement:
        # A statement of bare table columns names no ORM entity for the criteria to attach to:
        # in a viewer's session that is refused, not run unrestricted.
        read = tables_named(state.statement) & TENANT_TABLES.keys()
        if read:
            raise UnrestrictedRead(
                f"A read of {', '.join(sorted(read))} by table columns cannot be restricted to "
                "the viewer: select the model's attributes, or say why it must read everything."
            )
        return
    # Only the tables the statement reads (and those their conditions read): the options' cache
    # keys are computed on every execution, so each one left out saves work.
    options: dict[str, object] = {}
    pending = list(tables_named(state.statement))
    while pending:
        table = pending.pop()
        if table in options:
            continue
        criteria = scope.loader_criteria(table)
        options[table] = criteria[0] if criteria else None
        if criteria:
            pending.extend(criteria[1])
    chosen = [options[t] for t in sorted(options) if options[t] is not None]
    if chosen:
        state.statement = state.statement.options(*chosen)
    state.update_execution_options(**{RESTRICTED: True})
