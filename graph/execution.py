"""Execution under the authorizer.

Before any resolver runs, every coordinate the operation selects is decided for the viewer's
workgroups (policies.AccessScope.field_rules). When all of them are allowed — the common case —
execution is graphql-core's own, with no per-field cost. Otherwise only the fields with a rule
are intercepted: denied ones resolve to null with a FORBIDDEN error at their path, and fields
that differ between workgroups look up the row's workgroup in a precomputed table.

Fields without arguments and without a rule are read directly from their source
(graph.direct_fields), bypassing graphql-core's and Strawberry's per-field machinery, and the
objects of a list are executed one after the other without graphql-core's per-item value
completion; fields with a rule always take the guarded path.
"""

from collections import OrderedDict
from threading import Lock
from typing import Any

from graphql import (
    FieldNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLSchema,
    InlineFragmentNode,
    OperationDefinitionNode,
    get_named_type,
    is_abstract_type,
)
from graphql.execution.executor import to_nodes
from graphql.execution.values import get_argument_values
from graphql.pyutils import Path, gather_with_cancel
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

from graph.direct_fields import ContextOnlyInfo, HandBack, field_readers
from policies import Forbidden
from policies.arguments import ARGUMENT_REVEALS
from policies.scope import DENIED

ARGUMENTS = object()  # the field's rule is in its arguments (policies.arguments)


def argument_rules(scope, coordinates) -> dict[tuple[str, str], list[tuple[str, Any, str]]]:
    """For selected list fields with an argument that would reveal a field the viewer may not
    read everywhere the list reaches: (argument, what it reveals, the first such field)."""
    rules: dict[tuple[str, str], list[tuple[str, Any, str]]] = {}
    for (coordinate, argument), reveals in ARGUMENT_REVEALS.items():
        key = tuple(coordinate.split(".", 1))
        if key not in coordinates:
            continue
        unreadable = [
            field
            for field in reveals.fields
            if not scope.may_read_everywhere(reveals.row_type, field)
        ]
        if unreadable:
            rules.setdefault(key, []).append((argument, reveals, unreadable[0]))  # type: ignore[arg-type]
    return rules


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


_DIRECTIVES_APPLIED_BEFORE_EXECUTION = frozenset({"include", "skip"})


class GuardedExecutionContext(StrawberryGraphQLCoreExecutionContext):
    # Off: every field and list item takes graphql-core's own path (tests compare the two).
    reads_directly = True

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._field_rules: dict = {}
        # Resolve middleware (schema extensions with a `resolve` hook) must see every field.
        middleware = getattr(self.middleware_manager, "middlewares", None)
        direct = self.reads_directly and not middleware
        self._readers = field_readers(self.schema) if direct else None
        self._context_info = ContextOnlyInfo(self.context_value)
        self._direct_plans: dict[int, tuple[Any, Any]] = {}
        scope = getattr(self.context_value, "scope", None)
        if scope is None:
            return
        coordinates = selected_coordinates(self.schema, self.operation, self.fragment_definitions)
        rules = scope.field_rules(coordinates)
        self._argument_rules = argument_rules(scope, coordinates)
        if rules or self._argument_rules:
            self._field_rules = {**rules, **dict.fromkeys(self._argument_rules, ARGUMENTS)}
            # Only operations that select a guarded field pay for the check.
            self.execute_field = self._execute_guarded_field  # type: ignore[method-assign]

    def execute_fields(self, parent_type, source_value, path, grouped_field_set, position_context):
        plan = self._direct_plan(parent_type, grouped_field_set)
        if plan is None or position_context is not None:
            return super().execute_fields(
                parent_type, source_value, path, grouped_field_set, position_context
            )
        direct, rest = plan
        info, is_awaitable = self._context_info, self.is_awaitable
        results: dict[str, Any] = {}
        awaiting: list[str] = []
        for response_name, reader, field_details_list in direct:
            try:
                if reader.leaf:
                    results[response_name] = reader.value(source_value, info)
                    continue
                resolved = reader.resolved(source_value, info)
                field_path = Path(path, response_name, parent_type.name)
                resolve_info = self.build_resolve_info(
                    reader.field, to_nodes(field_details_list), parent_type, field_path
                )
                if is_awaitable(resolved):
                    completed = self.complete_awaitable_value(
                        reader.type, field_details_list, resolve_info, field_path, resolved, None
                    )
                else:
                    completed = self.complete_value(
                        reader.type, field_details_list, resolve_info, field_path, resolved, None
                    )
            except HandBack:
                rest = {**rest, response_name: field_details_list}
                continue
            except Exception as raw_error:
                # As graphql-core reports a resolver's error: at the field's path, null there
                # (raised on to the parent when the field is non-null).
                field_path = Path(path, response_name, parent_type.name)
                self.handle_field_error(raw_error, reader.type, field_details_list, field_path)
                results[response_name] = None
                continue
            if is_awaitable(completed):
                completed = self._settled(completed, reader.type, field_details_list, field_path)
                awaiting.append(response_name)
            results[response_name] = completed
        executed = (
            super().execute_fields(parent_type, source_value, path, rest, position_context)
            if rest
            else {}
        )
        if awaiting or is_awaitable(executed):

            async def merged() -> dict[str, Any]:
                done = await executed if is_awaitable(executed) else executed
                if awaiting:
                    settled = await gather_with_cancel(*(results[key] for key in awaiting))
                    results.update(zip(awaiting, settled, strict=True))
                return _in_order(grouped_field_set, results, done)

            return merged()
        return _in_order(grouped_field_set, results, executed) if rest else results

    def complete_iterable_value(
        self, item_type, field_details_list, info, path, items, position_context
    ):
        """A list of objects: each item's fields are executed directly, as graphql-core's
        value completion would after checking the item (null, an error, an awaitable or a
        value `is_type_of` refuses take graphql-core's own path, item by item)."""
        object_type = item_type.of_type if isinstance(item_type, GraphQLNonNull) else item_type
        if (
            self._readers is None
            or position_context is not None
            or not isinstance(object_type, GraphQLObjectType)
            or self.get_stream_usage(field_details_list, path) is not None
        ):
            return super().complete_iterable_value(
                item_type, field_details_list, info, path, items, position_context
            )
        grouped_field_set, new_defer_usages, _ = self.collect_subfields(
            object_type, field_details_list
        )
        if new_defer_usages:
            return super().complete_iterable_value(
                item_type, field_details_list, info, path, items, position_context
            )
        is_awaitable, is_type_of = self.is_awaitable, object_type.is_type_of
        completed: list[Any] = []
        awaiting: list[int] = []
        for index, item in enumerate(items):
            item_path = path.add_key(index, None)
            try:
                plain = (
                    item is not None
                    and not isinstance(item, Exception)
                    and not is_awaitable(item)
                    and (is_type_of is None or is_type_of(item, info) is True)
                )
            except Exception:
                plain = False  # graphql-core's path calls is_type_of again and reports it
            if not plain:
                if is_awaitable(item):
                    completed.append(
                        self.complete_awaitable_list_item_value(
                            item, item_type, field_details_list, info, item_path, None
                        )
                    )
                    awaiting.append(index)
                elif self.complete_list_item_value(
                    item, completed, item_type, field_details_list, info, item_path, None
                ):
                    awaiting.append(index)
                continue
            try:
                fields = self.execute_fields(object_type, item, item_path, grouped_field_set, None)
            except Exception as raw_error:
                self.handle_field_error(raw_error, item_type, field_details_list, item_path)
                completed.append(None)
                continue
            if is_awaitable(fields):
                completed.append(self._settled(fields, item_type, field_details_list, item_path))
                awaiting.append(index)
            else:
                completed.append(fields)
        if not awaiting:
            return completed

        async def all_settled() -> list[Any]:
            settled = await gather_with_cancel(*(completed[i] for i in awaiting))
            for index, value in zip(awaiting, settled, strict=True):
                completed[index] = value
            return completed

        return all_settled()

    async def _settled(self, fields, item_type, field_details_list, item_path):
        try:
            return await fields
        except Exception as raw_error:
            self.handle_field_error(raw_error, item_type, field_details_list, item_path)
            return None

    def _direct_plan(self, parent_type, grouped_field_set):
        """Which of the fields selected on `parent_type` are read directly, and which go through
        graphql-core. graphql-core reuses one grouped field set for every object of a list, so
        the plan is made once per selection, not once per row."""
        if self._readers is None:
            return None
        cached = self._direct_plans.get(id(grouped_field_set))
        if cached is not None and cached[0] is grouped_field_set:
            return cached[1]
        readers = self._readers.of(parent_type.name)
        direct, others = [], {}
        for response_name, field_details_list in grouped_field_set.items():
            name = field_details_list[0].node.name.value
            reader = readers.get(name)
            if (
                reader is not None
                and (parent_type.name, name) not in self._field_rules
                and _plain(field_details_list)
            ):
                direct.append((response_name, reader, field_details_list))
            else:
                others[response_name] = field_details_list
        plan = (direct, others) if direct else None
        # The set itself is kept with its plan, so its id() cannot be reused while cached.
        self._direct_plans[id(grouped_field_set)] = (grouped_field_set, plan)
        return plan

    def _execute_guarded_field(self, parent_type, source, field_details_list, path, position):
        field_name = field_details_list[0].node.name.value
        rule = self._field_rules.get((parent_type.name, field_name))
        denied = f"{parent_type.name}.{field_name}"
        if rule is ARGUMENTS:
            field_def = self.schema.get_field(parent_type, field_name)
            revealed = self._revealed(
                field_def, field_details_list, self._argument_rules[(parent_type.name, field_name)]
            )
            if revealed is None:
                return super().execute_field(
                    parent_type, source, field_details_list, path, position
                )
            denied = revealed
        elif rule is None or (rule is not DENIED and rule.allows(source)):
            return super().execute_field(parent_type, source, field_details_list, path, position)
        field_def = self.schema.get_field(parent_type, field_name)
        self.handle_field_error(Forbidden(denied), field_def.type, field_details_list, path)
        return None

    def _revealed(self, field_def, field_details_list, checks) -> str | None:
        """The first unreadable field an argument given to this field would reveal."""
        try:
            values = get_argument_values(
                field_def, field_details_list[0].node, self.variable_values
            )
        except GraphQLError:
            return None  # graphql-core reports the bad argument itself
        for argument, reveals, coordinate in checks:
            value = values.get(argument)
            if value is None:
                continue
            if reveals.values is None or getattr(value, "name", value) in reveals.values:
                return coordinate
        return None


def _plain(field_details_list) -> bool:
    """No directive on the field but @include/@skip, which collecting fields has applied."""
    return all(
        directive.name.value in _DIRECTIVES_APPLIED_BEFORE_EXECUTION
        for details in field_details_list
        for directive in details.node.directives or ()
    )


def _in_order(grouped_field_set, read: dict, executed: dict) -> dict:
    """Both halves of an object's answer, keyed in the order the client asked for them."""
    if not read:
        return executed
    merged = {}
    for key in grouped_field_set:
        if key in read:
            merged[key] = read[key]
        elif key in executed:
            merged[key] = executed[key]
    return merged
