"""Meta-tests over the row-type declarations (policies.row_types) and the one restriction
(policies.restriction): every table holding tenant data is declared, every GraphQL type backed
by one is bound to it, and a read the restriction did not narrow is noticed."""

import pytest
from graphql import GraphQLObjectType
from sqlalchemy import select
from sqlmodel import Session

import models
from graph.schema import build_schema
from models.customers.tables import Customer
from models.db import unrestricted
from policies import Authorizer
from policies.restriction import UnrestrictedRead, restrict, serving_request
from policies.row_types import LINK_TABLES, ROW_TYPES, tenant_tables
from policies.scope import AccessScope
from tests import restriction_guard
from tests.conftest import make_customer, make_workgroup

# Tables that hold no tenant's data: the users themselves (shared by every workgroup).
GLOBAL_TABLES = {"app_user"}


def test_every_table_with_tenant_data_is_declared():
    # Given every table of the models
    tables = models.metadata.tables
    # Then each is a declared row type or link table, or one of the known global tables
    undeclared = set(tables) - set(tenant_tables()) - GLOBAL_TABLES
    assert undeclared == set(), "declare these in policies/row_types.py"
    # and every declared table carries its tenant key
    for name in tenant_tables():
        assert "workgroup_id" in tables[name].columns or name == "workgroup", name


def test_every_declared_row_type_is_a_graphql_type_of_its_name():
    schema = build_schema()._schema
    missing = [name for name in ROW_TYPES if name not in schema.type_map]
    assert missing == []


def _backing_tables(definition) -> set[type]:
    """The tables a GraphQL type's resolvers take as their source (`root: CustomerRow`)."""
    found = set()
    for field in definition.fields:
        resolver = field.base_resolver
        if resolver is None or resolver.root_parameter is None:
            continue
        annotation = resolver.root_parameter.annotation
        if isinstance(annotation, type) and hasattr(annotation, "__table__"):
            found.add(annotation)
    return found


def test_every_graphql_type_backed_by_a_tenant_table_is_bound_to_it():
    # Given the GraphQL object types and the tables their resolvers read
    schema = build_schema()
    tenant = {row.table for row in ROW_TYPES.values()} | {link.table for link in LINK_TABLES}
    unbound = []
    for name, graphql_type in schema._schema.type_map.items():
        if not isinstance(graphql_type, GraphQLObjectType):
            continue
        definition = (graphql_type.extensions or {}).get("strawberry-definition")
        if definition is None:
            continue
        for table in _backing_tables(definition) & tenant:
            # Then such a type is the row type declared for that table, of the same name
            row = ROW_TYPES.get(name)
            if row is None or row.table is not table:
                unbound.append(f"{name} reads {table.__name__}")
    assert unbound == []


def test_the_guard_notices_a_read_without_the_restriction(engine):
    # Given a customer, and a request being served
    with Session(engine) as session:
        make_customer(session, make_workgroup(session, "Guarded"))
    found_before = len(restriction_guard.unguarded)
    token = serving_request.set(True)
    try:
        # When the request reads customers through a session that knows no viewer
        with Session(engine) as session:
            session.execute(select(Customer.id)).all()
        # Then the guard keeps it
        caught = restriction_guard.unguarded[found_before:]
        assert len(caught) == 1 and "customer" in caught[0]
        del restriction_guard.unguarded[found_before:]

        # And a restricted read or one that says why it reads everything is not kept
        with Session(engine) as session:
            restrict(session, _nobody_scope())
            assert session.execute(select(Customer.id)).all() == []
            session.execute(unrestricted(select(Customer.id), "a test")).all()
        assert restriction_guard.unguarded[found_before:] == []
    finally:
        serving_request.reset(token)


def _nobody_scope() -> AccessScope:
    return AccessScope.build(authorizer=Authorizer.from_files(), user_id=None, held=[])


def test_a_read_by_table_columns_in_a_viewers_session_is_refused(engine):
    # Given a session restricted to a viewer
    with Session(engine) as session:
        restrict(session, _nobody_scope())
        # When it is asked to read a tenant table by its bare columns (no ORM entity for the
        # restriction to attach to)
        # Then it refuses instead of reading every row
        with pytest.raises(UnrestrictedRead, match="customer"):
            session.execute(select(Customer.__table__.c.id)).all()  # type: ignore[attr-defined]
        # and the same read said to be meant for everything runs
        session.execute(unrestricted(select(Customer.__table__.c.id), "a test")).all()  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    "read",
    [
        lambda s: s.execute(select(Customer)).scalars().all(),
        lambda s: s.execute(select(Customer.id).where(Customer.id.in_(select(Customer.id)))).all(),
        lambda s: [s.get(Customer, 1)] if s.get(Customer, 1) else [],
    ],
    ids=["entity", "subquery", "get"],
)
def test_a_viewer_without_roles_reads_no_customer_by_any_form_of_read(engine, read):
    # Given a customer
    with Session(engine) as session:
        make_customer(session, make_workgroup(session, "Hidden"))
    # When a session restricted to a viewer without roles reads it in any form
    with Session(engine) as session:
        restrict(session, _nobody_scope())
        # Then nothing comes back
        assert read(session) == []
