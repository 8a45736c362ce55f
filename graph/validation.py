"""Document validation with the service's limits, cached per parsed document.

Limits (depth, aliases) hold in every mode; production also refuses introspection and hides
"Did you mean …" suggestions that would reveal schema names the client did not send.
"""

from collections import OrderedDict
from collections.abc import Iterator
from threading import Lock

from graphql import (
    FieldNode,
    FragmentSpreadNode,
    GraphQLError,
    InlineFragmentNode,
    OperationDefinitionNode,
    ValidationRule,
    specified_rules,
    validate,
)
from graphql.validation import NoSchemaIntrospectionCustomRule
from strawberry.extensions import SchemaExtension
from strawberry.schema.schema import MaybeNullValidationRule, OneOfInputValidationRule


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


class DocumentValidator:
    """Validates documents against fixed rules; remembers the verdict per parsed document."""

    def __init__(self, *, max_depth: int, max_aliases: int, production: bool, size: int = 512):
        rules = [
            *specified_rules,
            MaybeNullValidationRule,
            OneOfInputValidationRule,
            depth_rule(max_depth),
            alias_rule(max_aliases),
        ]
        if production:
            rules.append(NoSchemaIntrospectionCustomRule)
        self.rules = tuple(rules)
        self.hide_suggestions = production
        self._size = size
        self._cache: OrderedDict[int, tuple[object, list[GraphQLError]]] = OrderedDict()
        self._lock = Lock()

    def __call__(self, schema, document) -> list[GraphQLError]:
        key = id(document)
        with self._lock:
            hit = self._cache.get(key)
            if hit is not None and hit[0] is document:
                self._cache.move_to_end(key)
                return hit[1]
        errors = validate(
            schema, document, self.rules, max_errors=20, hide_suggestions=self.hide_suggestions
        )
        with self._lock:
            self._cache[key] = (document, errors)
            while len(self._cache) > self._size:
                self._cache.popitem(last=False)
        return errors


def validation_extension(validator: DocumentValidator) -> type[SchemaExtension]:
    class Validation(SchemaExtension):
        def on_validate(self) -> Iterator[None]:
            context = self.execution_context
            context.pre_execution_errors = validator(
                context.schema._schema, context.graphql_document
            )
            yield

    return Validation
