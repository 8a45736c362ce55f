"""Document validation with the service's limits, cached per parsed document.

Two passes. The limits come first and alone — operations per document, directives per
location, aliases, depth, estimated cost — so a hostile document is refused before the
specification's rules (some of them quadratic) spend time on it. The specification's rules
follow only for a document within the limits. Production also refuses introspection and hides
"Did you mean …" suggestions that would reveal schema names the client did not send.

The limits are the request's settings (`context.settings`) when the operation runs with one,
else those the validator was built with.
"""

import re
from collections import OrderedDict
from collections.abc import Iterator
from functools import lru_cache
from threading import Lock
from typing import Any, NamedTuple

from graphql import (
    FieldNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLInterfaceType,
    GraphQLObjectType,
    GraphQLSchema,
    InlineFragmentNode,
    IntValueNode,
    OperationDefinitionNode,
    ValidationRule,
    get_named_type,
    get_nullable_type,
    is_list_type,
    specified_rules,
    validate,
)
from graphql.type.introspection import SchemaMetaFieldDef, TypeMetaFieldDef, TypeNameMetaFieldDef
from graphql.validation import NoSchemaIntrospectionCustomRule
from strawberry.extensions import SchemaExtension
from strawberry.schema.schema import MaybeNullValidationRule, OneOfInputValidationRule

from models.settings import Settings

# How many items a list without `first` (a customer's agreements, a package's service amounts)
# is assumed to hold when estimating a query's cost.
UNPAGED_LIST_SIZE = 10


def depth_rule(max_depth: int) -> type[ValidationRule]:
    class MaxDepthRule(ValidationRule):
        def enter_operation_definition(self, node: OperationDefinitionNode, *_args):
            fragments = {
                f.name.value: f
                for f in self.context.document.definitions
                if f.kind == "fragment_definition"
            }
            depth = _depth(node.selection_set, fragments, 0, set(), {})
            if depth > max_depth:
                self.report_error(
                    GraphQLError(
                        f"The query is {depth} levels deep; at most {max_depth} are allowed.",
                        node,
                        extensions={"code": "QUERY_TOO_DEEP"},
                    )
                )

    return MaxDepthRule


def _depth(selection_set, fragments, level: int, visiting: set[str], memo: dict[str, int]) -> int:
    """The deepest level reached; each fragment's own depth is computed once (`memo`), so
    fragments that spread others several times cannot make this exponential."""
    if selection_set is None:
        return level
    deepest = level
    for selection in selection_set.selections:
        if isinstance(selection, FieldNode):
            if selection.selection_set is not None:
                deepest = max(
                    deepest, _depth(selection.selection_set, fragments, level + 1, visiting, memo)
                )
        elif isinstance(selection, InlineFragmentNode):
            deepest = max(
                deepest, _depth(selection.selection_set, fragments, level, visiting, memo)
            )
        elif isinstance(selection, FragmentSpreadNode):
            name = selection.name.value
            if name in visiting or name not in fragments:
                continue  # cycles and unknown fragments are reported by the standard rules
            if name not in memo:
                memo[name] = _depth(
                    fragments[name].selection_set, fragments, 0, visiting | {name}, memo
                )
            deepest = max(deepest, level + memo[name])
    return deepest


def alias_rule(max_aliases: int) -> type[ValidationRule]:
    class MaxAliasesRule(ValidationRule):
        def __init__(self, context):
            super().__init__(context)
            self.count = 0

        def enter_field(self, node: FieldNode, *_args):
            if node.alias is not None:
                self.count += 1
                if self.count == max_aliases + 1:
                    self.report_error(
                        GraphQLError(
                            f"At most {max_aliases} aliases are allowed in one document.",
                            node,
                            extensions={"code": "TOO_MANY_ALIASES"},
                        )
                    )

    return MaxAliasesRule


def directives_rule(max_directives: int) -> type[ValidationRule]:
    """At most `max_directives` directives on one field, fragment spread, inline fragment,
    fragment definition, operation or variable definition."""

    class MaxDirectivesRule(ValidationRule):
        def enter(self, node, *_args):
            directives = getattr(node, "directives", None)
            if directives and len(directives) > max_directives:
                self.report_error(
                    GraphQLError(
                        f"{len(directives)} directives in one place; at most "
                        f"{max_directives} are allowed.",
                        node,
                        extensions={"code": "TOO_MANY_DIRECTIVES"},
                    )
                )

    return MaxDirectivesRule


def operations_rule(max_operations: int) -> type[ValidationRule]:
    """At most `max_operations` operation definitions in one document (only one of them runs,
    but every one of them is validated)."""

    class MaxOperationsRule(ValidationRule):
        def enter_document(self, node, *_args):
            count = sum(isinstance(d, OperationDefinitionNode) for d in node.definitions)
            if count > max_operations:
                self.report_error(
                    GraphQLError(
                        f"The document has {count} operations; at most {max_operations} are "
                        "allowed (and one runs per request).",
                        extensions={"code": "TOO_MANY_OPERATIONS"},
                    )
                )

    return MaxOperationsRule


def cost_rule(max_cost: int, max_page_size: int) -> type[ValidationRule]:
    """Refuses an operation whose estimated cost exceeds `max_cost`.

    The cost estimates the field resolutions the operation can cause. Every field costs 1;
    a field with a selection set adds its sub-selection's cost times a multiplier:
    - a field with a `first` argument: `first` as written; at its schema default when absent;
      at `max_page_size` when it is a variable (the document is validated once, whatever
      values are sent later, so a variable counts at the worst it could be);
    - a list without `first`: UNPAGED_LIST_SIZE;
    - anything else: 1.
    As in execution, a fragment spread again into a selection that already has it adds nothing;
    each fragment's cost is computed once, however many spreads reach it.
    """

    class MaxCostRule(ValidationRule):
        def enter_operation_definition(self, node: OperationDefinitionNode, *_args):
            schema = self.context.schema
            root = schema.get_root_type(node.operation)
            if root is None:
                return  # reported by the standard rules
            fragments = {
                f.name.value: f
                for f in self.context.document.definitions
                if f.kind == "fragment_definition"
            }
            estimate = _CostEstimate(schema, fragments, max_page_size, cap=max_cost + 1)
            cost = estimate.selection_set(node.selection_set, root, frozenset())
            if cost > max_cost:
                self.report_error(
                    GraphQLError(
                        f"The query's estimated cost is more than {max_cost}, the most allowed; "
                        "ask for smaller pages (`first`) or fewer nested lists.",
                        node,
                        extensions={"code": "QUERY_TOO_COSTLY", "maxCost": max_cost},
                    )
                )

    return MaxCostRule


_META_FIELDS = {
    "__schema": SchemaMetaFieldDef,
    "__type": TypeMetaFieldDef,
    "__typename": TypeNameMetaFieldDef,
}


@lru_cache(maxsize=4)
def _pages(schema: GraphQLSchema) -> frozenset[str]:
    """The types that fields with a `first` argument return: the connections. (A plain list
    with a `first`, like `recentCustomers`, is cut by it itself; its items are no page.)"""
    return frozenset(
        get_named_type(field.type).name
        for named in schema.type_map.values()
        if isinstance(named, GraphQLObjectType | GraphQLInterfaceType)
        for field in named.fields.values()
        if "first" in field.args and not is_list_type(get_nullable_type(field.type))
    )


class _CostEstimate:
    """Saturating arithmetic: nothing grows past `cap`, so a huge estimate stays cheap."""

    def __init__(self, schema, fragments: dict[str, Any], max_page_size: int, cap: int):
        self.schema = schema
        self.fragments = fragments
        self.max_page_size = max_page_size
        self.cap = cap
        self.memo: dict[str, int] = {}

    def selection_set(self, selection_set, parent_type, visiting, spread=None) -> int:
        """The cost of one selection set. Like execution, which collects the fields of a
        selection set once, a fragment spread again into the same selection set adds nothing
        (`spread`: the fragments already spread into it)."""
        spread = set() if spread is None else spread
        total = 0
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                total += self.field(selection, parent_type, visiting)
            elif isinstance(selection, InlineFragmentNode):
                condition = selection.type_condition
                inner = self.schema.get_type(condition.name.value) if condition else parent_type
                if inner is not None:
                    total += self.selection_set(selection.selection_set, inner, visiting, spread)
            elif isinstance(selection, FragmentSpreadNode):
                name = selection.name.value
                if name not in spread:
                    spread.add(name)
                    total += self.fragment(name, visiting)
            if total >= self.cap:
                return self.cap
        return total

    def field(self, node: FieldNode, parent_type, visiting: frozenset[str]) -> int:
        name = node.name.value
        definition = _META_FIELDS.get(name) or getattr(parent_type, "fields", {}).get(name)
        if definition is None or node.selection_set is None:
            return 1  # a leaf, or an unknown field (the standard rules report it)
        inner = self.selection_set(node.selection_set, get_named_type(definition.type), visiting)
        return min(self.cap, 1 + self.multiplier(node, parent_type, definition) * inner)

    def fragment(self, name: str, visiting: frozenset[str]) -> int:
        """A fragment's own cost, computed once however often it is spread (each spread of it
        inside counted once), so fragments spreading fragments stay cheap to estimate."""
        if name in visiting or name not in self.fragments:
            return 0  # cycles and unknown fragments are reported by the standard rules
        if name not in self.memo:
            fragment = self.fragments[name]
            fragment_type = self.schema.get_type(fragment.type_condition.name.value)
            self.memo[name] = (
                0
                if fragment_type is None
                else self.selection_set(
                    fragment.selection_set, fragment_type, visiting | {name}, {name}
                )
            )
        return self.memo[name]

    def multiplier(self, node: FieldNode, parent_type, definition) -> int:
        first = definition.args.get("first")
        if first is None:
            if not is_list_type(get_nullable_type(definition.type)):
                return 1
            # A page's own list (`edges`) is as long as the page, already counted by `first`.
            return 1 if parent_type.name in _pages(self.schema) else UNPAGED_LIST_SIZE
        for argument in node.arguments or ():
            if argument.name.value == "first":
                if isinstance(argument.value, IntValueNode):
                    return max(0, min(int(argument.value.value), self.max_page_size))
                return self.max_page_size  # a variable (or an invalid value): the worst case
        default = first.default_value
        if isinstance(default, int) and default >= 0:
            return min(default, self.max_page_size)
        return self.max_page_size


def _default(name: str) -> int:
    return Settings.model_fields[name].default


class Limits(NamedTuple):
    max_depth: int
    max_aliases: int
    production: bool
    max_directives: int = _default("max_directives")
    max_operations: int = _default("max_operations")
    max_query_cost: int = _default("max_query_cost")
    max_page_size: int = _default("max_page_size")

    @classmethod
    def from_settings(cls, settings: Settings) -> "Limits":
        return cls(
            max_depth=settings.max_query_depth,
            max_aliases=settings.max_aliases,
            production=settings.production,
            max_directives=settings.max_directives,
            max_operations=settings.max_operations,
            max_query_cost=settings.max_query_cost,
            max_page_size=settings.max_page_size,
        )


class _Verdicts:
    """The rules for one set of limits and the verdicts on the last `size` documents."""

    def __init__(self, limits: Limits, size: int):
        self.limit_rules = (
            operations_rule(limits.max_operations),
            directives_rule(limits.max_directives),
            alias_rule(limits.max_aliases),
            depth_rule(limits.max_depth),
            cost_rule(limits.max_query_cost, limits.max_page_size),
        )
        rules = [*specified_rules, MaybeNullValidationRule, OneOfInputValidationRule]
        if limits.production:
            rules.append(NoSchemaIntrospectionCustomRule)
        self.rules = tuple(rules)
        self.hide_suggestions = limits.production
        self.size = size
        self.cache: OrderedDict[int, tuple[object, list[GraphQLError]]] = OrderedDict()


class DocumentValidator:
    """Validates documents against fixed rules; remembers the verdict per parsed document."""

    def __init__(
        self,
        *,
        max_depth: int,
        max_aliases: int,
        production: bool,
        size: int = 512,
        **limits: Any,
    ):
        self.limits = Limits(
            max_depth=max_depth, max_aliases=max_aliases, production=production, **limits
        )
        self._size = size
        self._verdicts: dict[Limits, _Verdicts] = {}
        self._lock = Lock()

    @classmethod
    def from_settings(cls, settings: Settings, size: int = 512) -> "DocumentValidator":
        limits = Limits.from_settings(settings)._asdict()
        return cls(size=size, **limits)

    def __call__(self, schema, document, settings: Settings | None = None) -> list[GraphQLError]:
        limits = self.limits if settings is None else Limits.from_settings(settings)
        key = id(document)
        with self._lock:
            verdicts = self._verdicts.get(limits)
            if verdicts is None:
                verdicts = self._verdicts[limits] = _Verdicts(limits, self._size)
            hit = verdicts.cache.get(key)
            if hit is not None and hit[0] is document:
                verdicts.cache.move_to_end(key)
                return hit[1]
        errors = validate(schema, document, verdicts.limit_rules, max_errors=20)
        if not errors:
            errors = validate(
                schema,
                document,
                verdicts.rules,
                max_errors=20,
                hide_suggestions=verdicts.hide_suggestions,
            )
        if errors and verdicts.hide_suggestions:
            errors = [_without_unsent_types(schema, document, error) for error in errors]
        with self._lock:
            verdicts.cache[key] = (document, errors)
            while len(verdicts.cache) > verdicts.size:
                verdicts.cache.popitem(last=False)
        return errors


# graphql-core's messages name the type at fault ("Cannot query field 'x' on type 'Viewer'.").
# Without suggestions a client must learn nothing it did not send, so in production each phrase
# naming a type the document does not mention is reworded.
_TYPE_PHRASES = (
    (re.compile(r" (?:on|of) type '([^']+)'"), ""),
    (re.compile(r"in '([^']+)' enum"), "in this enum"),
    (re.compile(r"^Enum '([^']+)' cannot"), "This enum cannot"),
    (re.compile(r"expecting type '([^']+)'"), "expecting another type"),
    (re.compile(r"'([^']+)'"), "another type"),
)


def _without_unsent_types(schema, document, error: GraphQLError) -> GraphQLError:
    source = document.loc.source.body if document.loc else ""

    def unsent_type(quoted: str) -> bool:
        name = quoted.strip("[]!")
        return name in schema.type_map and not re.search(rf"\b{re.escape(name)}\b", source)

    message = error.message
    for pattern, replacement in _TYPE_PHRASES:
        message = pattern.sub(
            lambda m, new=replacement: new if unsent_type(m.group(1)) else m.group(0), message
        )
    if message == error.message:
        return error
    return GraphQLError(
        message, error.nodes, error.source, error.positions, error.path, None, error.extensions
    )


def validation_extension(validator: DocumentValidator) -> type[SchemaExtension]:
    class Validation(SchemaExtension):
        def on_validate(self) -> Iterator[None]:
            context = self.execution_context
            context.pre_execution_errors = validator(
                context.schema._schema,
                context.graphql_document,
                getattr(context.context, "settings", None),
            )
            yield

    return Validation
