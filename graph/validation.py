"""Document validation with the service's limits, cached per document.

Two passes. The limits come first and alone — operations per document, directives per
location, aliases, depth, selections (fragments expanded), estimated cost, and no NUL in a
string literal — so a hostile document is refused before the specification's rules (some of
them quadratic) spend time on it. The specification's rules follow only for a document within
the limits, and see it with the identical selections of each selection set merged (as
execution merges them); a response name selected more than `max_repeated_fields` times at one
place is refused first, so comparing overlapping fields stays far from quadratic. Production
also refuses introspection and hides "Did you mean …" suggestions that would reveal schema
names the client did not send.

Verdicts are cached by the document's tokens, so whitespace, commas and comments do not make a
document new. Variables are checked for NUL on every request (`validation_extension`).

The limits are the request's settings (`context.settings`) when the operation runs with one,
else those the validator was built with.
"""

import re
from bisect import bisect_left
from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import replace
from functools import lru_cache
from hashlib import blake2b
from threading import Lock
from typing import Any, NamedTuple

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLInterfaceType,
    GraphQLObjectType,
    GraphQLSchema,
    InlineFragmentNode,
    IntValueNode,
    OperationDefinitionNode,
    SelectionSetNode,
    StringValueNode,
    TokenKind,
    ValidationRule,
    get_named_type,
    get_nullable_type,
    is_list_type,
    print_ast,
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


def selections_rule(max_selections: int) -> type[ValidationRule]:
    """At most `max_selections` selections — fields, inline fragments and fragment spreads —
    in the document, each fragment counted again wherever it is spread (see `_walk`)."""

    class MaxSelectionsRule(ValidationRule):
        def enter_document(self, node: DocumentNode, *_args):
            count, _ = _walk(node, max_selections)
            if count > max_selections:
                self.report_error(
                    GraphQLError(
                        f"The document makes more than {max_selections} selections (fields "
                        "and fragments, each fragment counted wherever it is spread); at most "
                        f"{max_selections} are allowed.",
                        extensions={"code": "TOO_MANY_SELECTIONS", "maxSelections": max_selections},
                    )
                )

    return MaxSelectionsRule


class NoNulRule(ValidationRule):
    """No NUL character in a string literal: no text the service stores or searches may hold
    one (PostgreSQL refuses it), so it is a bad value wherever it is written."""

    def enter_string_value(self, node: StringValueNode, *_args):
        if "\x00" in node.value:
            self.report_error(
                GraphQLError(
                    "A string holds a NUL character (\\u0000), which no text may contain.",
                    node,
                    extensions={"code": "BAD_USER_INPUT"},
                )
            )


def nul_in_variables(variables: dict[str, Any] | None) -> GraphQLError | None:
    """A BAD_USER_INPUT error naming the first variable value (or key) holding a NUL."""
    if not variables:
        return None
    stack: list[tuple[str, Any]] = [(f"${name}", value) for name, value in variables.items()]
    while stack:
        where, value = stack.pop()
        if isinstance(value, str):
            found = "\x00" in value
        elif isinstance(value, dict):
            found = any(isinstance(key, str) and "\x00" in key for key in value)
            stack.extend((f"{where}.{key}", item) for key, item in value.items())
        elif isinstance(value, list):
            found = False
            stack.extend((f"{where}[{index}]", item) for index, item in enumerate(value))
        else:
            found = False
        if found:
            return GraphQLError(
                f"Variable {where!r} holds a NUL character (\\u0000), which no text may contain.",
                extensions={"code": "BAD_USER_INPUT"},
            )
    return None


def _walk(document: DocumentNode, limit: int) -> tuple[int, tuple[FieldNode, int] | None]:
    """(selections counted, the field whose response name is selected most often at one place,
    with that count), the count stopping at `limit + 1`.

    Every operation is walked with its fragments expanded, like execution collects them, and
    then every fragment definition no operation spread (the standard rules validate those
    too): a place is a response path (fields merge by response name, type conditions aside),
    and a fragment spread again at a place where it was spread already adds nothing but
    itself. Each step counts a selection, so the walk ends after `limit + 1` steps whatever the
    document; a fragment already being expanded on the way (a cycle, reported by the standard
    rules) is not expanded again.
    """
    fragments = {
        d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
    }
    places: dict[tuple[int, str], int] = {}  # (parent place, response name) -> place
    fields_at: list[int] = []  # place -> fields selected there
    spread_at: list[set[str]] = []  # place -> fragments spread there
    reached: set[str] = set()  # fragments expanded so far
    worst: tuple[FieldNode, int] | None = None
    count = 0
    roots = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    roots += fragments.values()
    for definition in roots:
        if isinstance(definition, FragmentDefinitionNode) and definition.name.value in reached:
            continue
        root = len(fields_at)
        fields_at.append(0)
        spread_at.append(set())
        visiting: frozenset[str] = frozenset()
        if isinstance(definition, FragmentDefinitionNode):
            visiting = frozenset({definition.name.value})
            spread_at[root].add(definition.name.value)
            reached.add(definition.name.value)
        stack: list[tuple[SelectionSetNode, int, frozenset[str]]] = [
            (definition.selection_set, root, visiting)
        ]
        while stack:
            selection_set, place, visiting = stack.pop()
            for selection in selection_set.selections:
                count += 1
                if count > limit:
                    return count, worst
                if isinstance(selection, FieldNode):
                    name = (selection.alias or selection.name).value
                    inner = places.get((place, name))
                    if inner is None:
                        inner = places[(place, name)] = len(fields_at)
                        fields_at.append(0)
                        spread_at.append(set())
                    fields_at[inner] += 1
                    if worst is None or fields_at[inner] > worst[1]:
                        worst = (selection, fields_at[inner])
                    if selection.selection_set is not None:
                        stack.append((selection.selection_set, inner, visiting))
                elif isinstance(selection, InlineFragmentNode):
                    stack.append((selection.selection_set, place, visiting))
                elif isinstance(selection, FragmentSpreadNode):
                    name = selection.name.value
                    fragment = fragments.get(name)
                    if fragment is None or name in visiting or name in spread_at[place]:
                        continue
                    spread_at[place].add(name)
                    reached.add(name)
                    stack.append((fragment.selection_set, place, visiting | {name}))
    return count, worst


def _merged(document: DocumentNode) -> DocumentNode:
    """The document with identical selections of one selection set kept once (the first), as
    execution merges them — `{ a a a }` is `{ a }` — so that the specification's rules do not
    compare a selection with its copies. Nodes are shared with the document (their locations
    stay the client's); only selection sets that lose a copy are new."""
    keys: dict[tuple, int] = {}  # a selection's shape -> a small number standing for it

    def shape_of(node) -> str:
        return "|".join(print_ast(part) for part in node or ())

    def merged(selection_set: SelectionSetNode | None) -> tuple[SelectionSetNode | None, int]:
        if selection_set is None:
            return None, -1
        kept, seen, changed = [], set(), False
        for selection in selection_set.selections:
            inner, inner_key = merged(getattr(selection, "selection_set", None))
            if isinstance(selection, FieldNode):
                shape: tuple = (
                    "field",
                    selection.alias.value if selection.alias else "",
                    selection.name.value,
                    shape_of(selection.arguments),
                )
            elif isinstance(selection, InlineFragmentNode):
                condition = selection.type_condition
                shape = ("inline", condition.name.value if condition else "")
            else:
                shape = ("spread", selection.name.value)
            key = keys.setdefault((*shape, shape_of(selection.directives), inner_key), len(keys))
            if key in seen:
                changed = True
                continue
            seen.add(key)
            if inner is not getattr(selection, "selection_set", None):
                selection = replace(selection, selection_set=inner)
                changed = True
            kept.append(selection)
        own = keys.setdefault(("set", *sorted(seen)), len(keys))
        if not changed:
            return selection_set, own
        return replace(selection_set, selections=tuple(kept)), own

    definitions, changed = [], False
    for definition in document.definitions:
        selection_set = getattr(definition, "selection_set", None)
        inner, _ = merged(selection_set)
        if inner is not selection_set:
            definition = replace(definition, selection_set=inner)
            changed = True
        definitions.append(definition)
    if not changed:
        return document
    return replace(document, definitions=tuple(definitions))


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
    max_selections: int = _default("max_selections")
    max_repeated_fields: int = _default("max_repeated_fields")

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
            max_selections=settings.max_selections,
            max_repeated_fields=settings.max_repeated_fields,
        )


class _Verdict(NamedTuple):
    errors: list[GraphQLError]
    # Per error, the indexes of the tokens its positions point at (to place the same errors
    # in another document with these tokens), or None when it has no position.
    tokens: list[tuple[int, ...] | None]


class _Verdicts:
    """The rules for one set of limits and the verdicts on the last `size` documents."""

    def __init__(self, limits: Limits, size: int):
        self.limits = limits
        self.limit_rules = (
            selections_rule(limits.max_selections),
            operations_rule(limits.max_operations),
            directives_rule(limits.max_directives),
            alias_rule(limits.max_aliases),
            depth_rule(limits.max_depth),
            cost_rule(limits.max_query_cost, limits.max_page_size),
            NoNulRule,
        )
        rules = [*specified_rules, MaybeNullValidationRule, OneOfInputValidationRule]
        if limits.production:
            rules.append(NoSchemaIntrospectionCustomRule)
        self.rules = tuple(rules)
        self.hide_suggestions = limits.production
        self.size = size
        self.cache: OrderedDict[bytes, _Verdict] = OrderedDict()


def _tokens(document: DocumentNode) -> Iterator[Any]:
    """The document's tokens, comments left out (the lexer already skips whitespace and
    commas)."""
    token = document.loc.start_token if document.loc else None
    while token is not None:
        if token.kind is not TokenKind.COMMENT:
            yield token
        token = token.next


def _token_key(document: DocumentNode) -> bytes:
    """A digest of the document's tokens: the same for documents that differ only in
    whitespace, commas or comments, which validate alike."""
    digest = blake2b(digest_size=20)
    if document.loc is None:  # parsed without locations: its printed form
        digest.update(print_ast(document).encode())
        return digest.digest()
    for token in _tokens(document):
        value = (token.value or "").encode("utf-8", "surrogatepass")
        digest.update(b"%s:%d:%s" % (token.kind.value.encode(), len(value), value))
    return digest.digest()


def _token_indexes(document: DocumentNode, errors: list[GraphQLError]) -> list:
    if not any(error.positions for error in errors) or document.loc is None:
        return [None] * len(errors)
    starts = [token.start for token in _tokens(document)]
    indexes: list[tuple[int, ...] | None] = []
    for error in errors:
        found = []
        for position in error.positions or ():
            index = bisect_left(starts, position)
            if index == len(starts) or starts[index] != position:
                found = []
                break
            found.append(index)
        indexes.append(tuple(found) or None)
    return indexes


def _placed(document: DocumentNode, verdict: _Verdict) -> list[GraphQLError]:
    """The verdict's errors, placed in `document` (the same tokens, maybe spaced otherwise)."""
    if all(indexes is None for indexes in verdict.tokens) or document.loc is None:
        return verdict.errors
    starts = [token.start for token in _tokens(document)]
    placed = []
    for error, indexes in zip(verdict.errors, verdict.tokens, strict=True):
        if indexes is None:
            placed.append(error)
            continue
        placed.append(
            GraphQLError(
                error.message,
                source=document.loc.source,
                positions=[starts[index] for index in indexes],
                extensions=error.extensions,
            )
        )
    return placed


class DocumentValidator:
    """Validates documents against fixed rules; remembers the verdict per document's tokens."""

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
        # The last documents seen and their token keys: a parsed document (the parser cache
        # hands out the same one for the same text) needs no second pass over its tokens.
        self._keys: OrderedDict[int, tuple[DocumentNode, bytes]] = OrderedDict()
        self._lock = Lock()

    @classmethod
    def from_settings(cls, settings: Settings, size: int = 512) -> "DocumentValidator":
        limits = Limits.from_settings(settings)._asdict()
        return cls(size=size, **limits)

    def _key(self, document: DocumentNode) -> bytes:
        with self._lock:
            known = self._keys.get(id(document))
            if known is not None and known[0] is document:
                self._keys.move_to_end(id(document))
                return known[1]
        key = _token_key(document)
        with self._lock:
            self._keys[id(document)] = (document, key)
            while len(self._keys) > self._size:
                self._keys.popitem(last=False)
        return key

    def __call__(self, schema, document, settings: Settings | None = None) -> list[GraphQLError]:
        limits = self.limits if settings is None else Limits.from_settings(settings)
        key = self._key(document)
        with self._lock:
            verdicts = self._verdicts.get(limits)
            if verdicts is None:
                verdicts = self._verdicts[limits] = _Verdicts(limits, self._size)
            hit = verdicts.cache.get(key)
            if hit is not None:
                verdicts.cache.move_to_end(key)
        if hit is not None:
            return _placed(document, hit) if hit.errors else hit.errors
        errors = self._validate(schema, document, verdicts)
        with self._lock:
            verdicts.cache[key] = _Verdict(errors, _token_indexes(document, errors))
            while len(verdicts.cache) > verdicts.size:
                verdicts.cache.popitem(last=False)
        return errors

    @staticmethod
    def _validate(schema, document, verdicts: _Verdicts) -> list[GraphQLError]:
        errors = validate(schema, document, verdicts.limit_rules, max_errors=20)
        if errors:
            return errors
        merged = _merged(document)
        limit = verdicts.limits.max_repeated_fields
        _, worst = _walk(merged, verdicts.limits.max_selections)
        if worst is not None and worst[1] > limit:
            field = worst[0]
            name = (field.alias or field.name).value
            return [
                GraphQLError(
                    f"'{name}' is selected more than {limit} times in one place (fragments "
                    f"included, identical selections counted once); at most {limit} are "
                    "allowed.",
                    field,
                    extensions={"code": "TOO_MANY_REPEATED_FIELDS", "maxRepeatedFields": limit},
                )
            ]
        errors = validate(
            schema,
            merged,
            verdicts.rules,
            max_errors=20,
            hide_suggestions=verdicts.hide_suggestions,
        )
        if errors and verdicts.hide_suggestions:
            errors = [_without_unsent_types(schema, document, error) for error in errors]
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
    # What the client sent: names and strings, not comments (the verdict is shared by every
    # document with these tokens).
    sent = " ".join(
        token.value
        for token in _tokens(document)
        if token.kind in (TokenKind.NAME, TokenKind.STRING, TokenKind.BLOCK_STRING)
    )

    def unsent_type(quoted: str) -> bool:
        name = quoted.strip("[]!")
        return name in schema.type_map and not re.search(rf"\b{re.escape(name)}\b", sent)

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
            errors = validator(
                context.schema._schema,
                context.graphql_document,
                getattr(context.context, "settings", None),
            )
            if not errors:
                # Values sent with the document: checked on every request, before anything runs.
                nul = nul_in_variables(context.variables)
                errors = [nul] if nul is not None else []
            context.pre_execution_errors = errors
            yield

    return Validation
