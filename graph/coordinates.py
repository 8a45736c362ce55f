"""Every coordinate the policy must decide: schema fields, row types, input fields, per-category
row grants, exports and role grants — each with the action it is decided for."""

from functools import cache

from graphql import GraphQLInputObjectType, GraphQLObjectType, GraphQLSchema

from models.core.enums import Role
from policies.authorizer import GRANT, READ, WRITE
from policies.coordinates import non_schema_coordinates
from policies.scope import MUTATION_ROOT, ROW_TYPES


@cache
def all_coordinates(schema: GraphQLSchema) -> tuple[tuple[str, str], ...]:
    found: list[tuple[str, str]] = [(name, READ) for name in sorted(ROW_TYPES)]
    found += non_schema_coordinates()
    found += [(f"Role.{role.value}", GRANT) for role in Role]
    for name, graphql_type in sorted(schema.type_map.items()):
        if name.startswith("__"):
            continue
        if isinstance(graphql_type, GraphQLObjectType):
            action = WRITE if name == MUTATION_ROOT else READ
            found += [(f"{name}.{field}", action) for field in graphql_type.fields]
        elif isinstance(graphql_type, GraphQLInputObjectType):
            found += [(f"{name}.{field}", WRITE) for field in graphql_type.fields]
    return tuple(found)


def action_of(schema: GraphQLSchema, coordinate: str) -> str | None:
    """The action `coordinate` is decided for, or None when the policy knows no such thing."""
    return dict(all_coordinates(schema)).get(coordinate)
