"""Execution under the authorizer.

Before any resolver runs, every coordinate the operation selects is decided for the viewer's
workgroups (policies.AccessScope.field_rules). When all of them are allowed — the common case —
execution is graphql-core's own, with no per-field cost. Otherwise only the fields with a rule
are intercepted: denied ones resolve to null with a FORBIDDEN error at their path, and fields
that differ between workgroups look up the row's workgroup in a precomputed table.
"""

from collections import OrderedDict
from threading import Lock
from typing import Any

from graphql import (
    FieldNode,
    FragmentSpreadNode,
    GraphQLObjectType,
    GraphQLSchema,
    InlineFragmentNode,
    OperationDefinitionNode,
    get_named_type,
    is_abstract_type,
)
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

from policies import Forbidden
from policies.scope import DENIED

_COORDINATE_CACHE_SIZE = 256
_coordinate_cache: "OrderedDict[int, tuple[Any, frozenset[tuple[str, str]]]]" = OrderedDict()
_coordinate_lock = Lock()


def selected_coordinates(
    schema: GraphQLSchema, operation: OperationDefinitionNode, fragments: dict[str, Any]
) -> frozenset[tuple[str, str]]:
    """Every (object type, field) the operation can resolve, with fragments expanded and
    fields selected on interfaces attributed to each implementing type."""
    key = id(operation)
    with _coordinate_lock:
        cached = _coordinate_cache.get(key)
        if cached is not None and cached[0] is operation:
            _coordinate_cache.move_to_end(key)
            return cached[1]
    root = schema.get_root_type(operation.operation)
    found: set[tuple[str, str]] = set()
    _collect(schema, [root], operation.selection_set, fragments, found, set())
    result = frozenset(found)
    with _coordinate_lock:
        _coordinate_cache[key] = (operation, result)
        while len(_coordinate_cache) > _COORDINATE_CACHE_SIZE:
            _coordinate_cache.popitem(last=False)
    return result


def _collect(schema, parent_types, selection_set, fragments, found, expanded) -> None:
    """Adds to `found` every coordinate reachable from `selection_set` on `parent_types`.

    A fragment spread is expanded once per (fragment, parent type names): expanding it again
    for the same types adds nothing, and fragments spreading others several times would
    otherwise cost an exponential number of expansions. The key is made of type *names*, never
    of the identity of a short-lived list, whose id() Python reuses: a stale match would skip a
    fragment under other types and leave its fields unguarded."""
    if selection_set is None:
        return
    for selection in selection_set.selections:
        if isinstance(selection, FieldNode):
            name = selection.name.value
            if name.startswith("__"):
                continue
            child_types: list[GraphQLObjectType] = []
            for parent in parent_types:
                field = parent.fields.get(name)
                if field is None:
                    continue
                found.add((parent.name, name))
                child_types.extend(_object_types(schema, get_named_type(field.type)))
            if selection.selection_set is not None and child_types:
                _collect(
                    schema,
                    _unique(child_types),
                    selection.selection_set,
                    fragments,
                    found,
                    expanded,
                )
        elif isinstance(selection, InlineFragmentNode):
            types = (
                _narrow(schema, parent_types, selection.type_condition.name.value)
                if selection.type_condition
                else parent_types
            )
            _collect(schema, types, selection.selection_set, fragments, found, expanded)
        elif isinstance(selection, FragmentSpreadNode):
            fragment = fragments.get(selection.name.value)
            if fragment is None:
                continue
            types = _narrow(schema, parent_types, fragment.type_condition.name.value)
            key = (selection.name.value, tuple(sorted(t.name for t in types)))
            if key in expanded:
                continue
            expanded.add(key)
            _collect(schema, types, fragment.selection_set, fragments, found, expanded)


def _object_types(schema: GraphQLSchema, named) -> list[GraphQLObjectType]:
    if isinstance(named, GraphQLObjectType):
        return [named]
    if is_abstract_type(named):
        return list(schema.get_possible_types(named))
    return []


def _narrow(schema, parent_types, type_name: str) -> list[GraphQLObjectType]:
    condition = schema.get_type(type_name)
    allowed = {t.name for t in _object_types(schema, condition)} if condition else set()
    return [t for t in parent_types if t.name in allowed]


def _unique(types: list[GraphQLObjectType]) -> list[GraphQLObjectType]:
    return list({t.name: t for t in types}.values())


class GuardedExecutionContext(StrawberryGraphQLCoreExecutionContext):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        scope = getattr(self.context_value, "scope", None)
        if scope is None:
            return
        coordinates = selected_coordinates(self.schema, self.operation, self.fragment_definitions)
        rules = scope.field_rules(coordinates)
        if rules:
            self._field_rules = rules
            # Only operations that select a guarded field pay for the check.
            self.execute_field = self._execute_guarded_field  # type: ignore[method-assign]

    def _execute_guarded_field(self, parent_type, source, field_details_list, path, position):
        field_name = field_details_list[0].node.name.value
        rule = self._field_rules.get((parent_type.name, field_name))
        if rule is None or (rule is not DENIED and rule.allows(source)):
            return super().execute_field(parent_type, source, field_details_list, path, position)
        field_def = self.schema.get_field(parent_type, field_name)
        self.handle_field_error(
            Forbidden(f"{parent_type.name}.{field_name}"),
            field_def.type,
            field_details_list,
            path,
        )
        return None
