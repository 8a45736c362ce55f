"""Meta-tests over the policy and the schema: nothing is left undecided, nothing is stale."""

import pytest
from casbin.util import key_match
from graphql import GraphQLNonNull

from graph.coordinates import all_coordinates
from graph.schema import build_schema
from policies import Authorizer
from policies.authorizer import AUTHENTICATED, READ
from policies.coordinates import non_schema_coordinates
from policies.scope import ROW_TYPES
from tests.conftest import ROLES

ALL_SUBJECTS = [*ROLES, AUTHENTICATED]


def schema_coordinates() -> list[tuple[str, str]]:
    """(coordinate, action) for everything the policy must decide."""
    return list(all_coordinates(build_schema()._schema))


COORDINATES = schema_coordinates()


@pytest.fixture(scope="module")
def authorizer() -> Authorizer:
    return Authorizer.from_files()


def deciding_lines(authorizer: Authorizer, subject: str, coordinate: str, action: str):
    roles = authorizer.implied_roles(subject)
    return [
        line
        for line in authorizer.policy_lines()
        if line[0] in roles and line[3] == action and key_match(coordinate, line[2])
    ]


@pytest.mark.parametrize("subject", ALL_SUBJECTS)
def test_every_coordinate_is_decided_for_every_role(authorizer, subject):
    undecided = [
        f"{coordinate} ({action})"
        for coordinate, action in COORDINATES
        if not deciding_lines(authorizer, subject, coordinate, action)
    ]
    assert not undecided, (
        f"policies/policy.csv decides nothing for {subject!r} on: {', '.join(undecided)}. "
        "Add an allow line for the roles that may, and a deny line for `authenticated`."
    )


def test_deny_lines_name_exact_coordinates(authorizer):
    # A wildcard deny would silently decide fields added later.
    wildcard_denies = [
        line for line in authorizer.policy_lines() if line[4] == "deny" and "*" in line[2]
    ]
    assert wildcard_denies == []


def test_every_policy_line_names_something_in_the_schema(authorizer):
    known = {coordinate for coordinate, _ in COORDINATES}
    stale = [
        line
        for line in authorizer.policy_lines()
        if not any(key_match(coordinate, line[2]) for coordinate in known)
    ]
    assert stale == []


def test_non_null_fields_of_row_types_are_readable_by_everyone_who_sees_the_row(authorizer):
    # A denied field resolves to null; on a non-null field that would null the whole row.
    schema = build_schema()._schema
    problems = []
    for type_name in ROW_TYPES:
        graphql_type = schema.type_map[type_name]
        for subject in ALL_SUBJECTS:
            roles = frozenset({subject, AUTHENTICATED})
            row_grants = [type_name] + [
                c for c, _ in non_schema_coordinates() if c.startswith(f"{type_name}#")
            ]
            if not any(authorizer.allows(roles, grant, READ) for grant in row_grants):
                continue
            for field_name, field in graphql_type.fields.items():
                coordinate = f"{type_name}.{field_name}"
                if isinstance(field.type, GraphQLNonNull) and not authorizer.allows(
                    roles, coordinate, READ
                ):
                    problems.append(f"{coordinate} for {subject}")
    assert problems == [], "make these nullable or grant them: " + ", ".join(problems)


def test_root_query_fields_that_may_be_denied_are_nullable(authorizer):
    # A denied non-null root field would null the whole response, not just its own path.
    query = build_schema()._schema.query_type
    problems = [
        name
        for name, field in query.fields.items()
        if isinstance(field.type, GraphQLNonNull)
        and not authorizer.allows(frozenset({AUTHENTICATED}), f"Query.{name}", READ)
    ]
    assert problems == []


def test_the_coverage_check_notices_an_undecided_field(authorizer):
    assert not deciding_lines(authorizer, "member", "Customer.notInThePolicy", READ)
    assert deciding_lines(authorizer, "admin", "Customer.rank", READ)
