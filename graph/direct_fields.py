"""Fields read straight from their source.

Most of a large answer is fields without arguments: a row's column, a value derived from the
row, a row's related rows from the request's loaders. graphql-core and Strawberry spend most
of their per-field time around such fields — a resolve info, Strawberry's argument conversion
and Info, the resolver wrappers — not in reading them. A `FieldReader` calls the resolver (or
reads the attribute) directly, giving a resolver that asks for `info` only the request
context. A leaf's value is coerced on the spot; any other value is completed by graphql-core
as usual.

An exception is reported at the field's path as graphql-core reports it, once: the resolver is
not run again (a second run after, say, a lost connection would fail differently). A null for
a non-null leaf, a value its type cannot serialise, or a resolver that wants more of `info`
than the context is handed back to graphql-core, which runs the field again with a full Info
and reports it exactly as before; these resolvers only read, so running one twice changes
nothing.
"""

from collections.abc import Callable
from threading import Lock
from typing import Any
from weakref import WeakKeyDictionary

from graphql import (
    GraphQLField,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLSchema,
    get_nullable_type,
    is_leaf_type,
)
from graphql.pyutils import Undefined

STRAWBERRY_FIELD = "strawberry-definition"


class NeedsFullInfo(AttributeError):
    """A leaf resolver read more of `info` than the request context."""


class ContextOnlyInfo:
    """What a leaf resolver that asks for `info` gets on the direct path: the request context.
    Anything else it reads from `info` raises NeedsFullInfo, and the field is run again by
    graphql-core with a full Info."""

    __slots__ = ("context",)

    def __init__(self, context: Any):
        self.context = context

    def __getattr__(self, name: str) -> Any:
        raise NeedsFullInfo(name)


class HandBack(Exception):
    """The direct path cannot give this field's answer; graphql-core must."""


class FieldReader:
    __slots__ = ("coerce", "field", "leaf", "non_null", "read", "type")

    def __init__(self, read: Callable[[Any, ContextOnlyInfo], Any], field: GraphQLField):
        self.read = read
        self.field = field
        self.type = field.type
        self.non_null = isinstance(field.type, GraphQLNonNull)
        self.leaf = is_leaf_type(get_nullable_type(field.type))
        self.coerce = get_nullable_type(field.type).coerce_output_value if self.leaf else None

    def resolved(self, source: Any, info: ContextOnlyInfo) -> Any:
        """The resolver's result for `source`, to be completed by graphql-core. Raises what
        the resolver raised, or HandBack when graphql-core must run it."""
        try:
            return self.read(source, info)
        except NeedsFullInfo:
            raise HandBack from None

    def value(self, source: Any, info: ContextOnlyInfo) -> Any:
        """A leaf's answer for `source`. Raises what the resolver or the output coercion
        raised (to be reported at the field's path), or HandBack when graphql-core must
        decide."""
        try:
            result = self.read(source, info)
        except NeedsFullInfo:
            raise HandBack from None
        if result is None or result is Undefined:
            if self.non_null:
                raise HandBack  # graphql-core words this error itself
            return None
        if isinstance(result, Exception):
            raise result  # as graphql-core's value completion does
        coerced = self.coerce(result)
        if coerced is None or coerced is Undefined:
            raise HandBack
        return coerced


def _reader_of(field: GraphQLField) -> Callable[[Any, ContextOnlyInfo], Any] | None:
    strawberry_field = (field.extensions or {}).get(STRAWBERRY_FIELD)
    if strawberry_field is None or field.args or strawberry_field.extensions:
        return None
    if getattr(strawberry_field, "permission_classes", None):
        return None
    resolver = strawberry_field.base_resolver
    if resolver is None:
        name, default = strawberry_field.python_name, strawberry_field.default_resolver
        return lambda source, _info: default(source, name)
    if strawberry_field.is_async or resolver.arguments:
        return None
    function = resolver.wrapped_func
    if not callable(function):
        return None
    takes_self = resolver.self_parameter is not None
    source_names = [
        p.name for p in (resolver.root_parameter, resolver.parent_parameter) if p is not None
    ]
    info_name = resolver.info_parameter.name if resolver.info_parameter is not None else None

    def read(source: Any, info: ContextOnlyInfo) -> Any:
        keywords = dict.fromkeys(source_names, source)
        if info_name is not None:
            keywords[info_name] = info
        return function(source, **keywords) if takes_self else function(**keywords)

    return read


class FieldReaders:
    """Per schema: for each object type, its fields that can be read directly."""

    def __init__(self, schema: GraphQLSchema):
        roots = {
            t.name for t in (schema.query_type, schema.mutation_type, schema.subscription_type) if t
        }
        self._by_type: dict[str, dict[str, FieldReader]] = {}
        for named in schema.type_map.values():
            if not isinstance(named, GraphQLObjectType) or named.name.startswith("__"):
                continue
            if named.name in roots:
                continue  # root fields may change things; they keep graphql-core's path
            readers = {}
            for field_name, field in named.fields.items():
                read = _reader_of(field)
                if read is not None:
                    readers[field_name] = FieldReader(read, field)
            self._by_type[named.name] = readers

    def of(self, type_name: str) -> dict[str, FieldReader]:
        return self._by_type.get(type_name, {})


_readers: "WeakKeyDictionary[GraphQLSchema, FieldReaders]" = WeakKeyDictionary()
_readers_lock = Lock()


def field_readers(schema: GraphQLSchema) -> FieldReaders:
    readers = _readers.get(schema)
    if readers is None:
        with _readers_lock:
            readers = _readers.get(schema)
            if readers is None:
                readers = _readers[schema] = FieldReaders(schema)
    return readers
