"""Per-role fuzzing: queries generated from the checked-in schema.graphql (hypothesis-graphql),
run as every role of Home against a world where Home and Away hold a row of every kind.

Every generated query is sent by every role of Home and by a user holding no role; for each:
- no 5xx and no error with code INTERNAL_SERVER_ERROR; a 400 only for the request limits;
- every field value in the response whose coordinate the real policy (policies/policy.csv, through
  `Authorizer.allows` on the roles the viewer's scope holds in Home) forbids is null, with a
  FORBIDDEN error at exactly that path;
- nothing of Away anywhere: every global id in the response names a row outside Away, and no
  text carries Away's marker.
Invalid documents (hypothesis-graphql's NEGATIVE mode, and raw garbage) always get a clean
GraphQL error with status 400, never a 500.

Hypothesis' examples stay small, so whole-schema walks (every field reachable from each root
field, with ids of both workgroups, as deep as the request limits allow) complement them and
check the same properties for every role.

The seed is fixed, so CI runs the same examples every time: 100 generated queries (each sent by
8 viewers) and 100 of each invalid kind, about 30 s per database. For a longer local run:

    CLIENTELE_FUZZ_EXAMPLES=1000 .venv/bin/pytest -q tests/test_fuzz_roles.py [--db postgresql]

(CLIENTELE_FUZZ_SEED picks another seed for such a run.)
"""

import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC
from pathlib import Path
from typing import Any

import graphql
import hypothesis_graphql
import pytest
from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLEnumType,
    GraphQLField,
    GraphQLInterfaceType,
    GraphQLList,
    GraphQLObjectType,
    GraphQLSchema,
    InlineFragmentNode,
    NamedTypeNode,
    NameNode,
    SelectionSetNode,
    Undefined,
    get_named_type,
    is_leaf_type,
    is_non_null_type,
)
from graphql.language import Lexer, Source, TokenKind
from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis import strategies as st
from hypothesis_graphql import nodes
from sqlalchemy.engine import Engine
from sqlmodel import Session
from starlette.testclient import TestClient

from graph.app import create_app
from graph.auth import mint_token
from graph.ids import decode_id, encode_id
from graph.pagination import encode_cursor
from models.settings import Settings
from policies import AccessScope, Authorizer
from policies.authorizer import READ
from tests.attack_support import (
    AWAY_MARKER,
    NODE_TYPES,
    AttackWorld,
    absent_id,
    build_attack_world,
    primary_contact_of,
    user_id,
    workgroup_of,
)
from tests.conftest import ROLES, TEST_SECRET, World, empty_tables

SCHEMA_PATH = Path(__file__).resolve().parent.parent / "schema.graphql"
SCHEMA: GraphQLSchema = graphql.build_schema(SCHEMA_PATH.read_text())
EXAMPLES = int(os.environ.get("CLIENTELE_FUZZ_EXAMPLES", "100"))
NEGATIVE_EXAMPLES = int(os.environ.get("CLIENTELE_FUZZ_EXAMPLES", "100"))
SEED = int(os.environ.get("CLIENTELE_FUZZ_SEED", "20261122"))
# 400s a valid document may still get: the service's request limits.
LIMIT_CODES = {
    "QUERY_TOO_DEEP",
    "QUERY_TOO_COSTLY",
    "TOO_MANY_ALIASES",
    "TOO_MANY_DIRECTIVES",
    "TOO_MANY_OPERATIONS",
    "GRAPHQL_PARSE_FAILED",  # more tokens than CLIENTELE_MAX_TOKENS
}
CLEAN_REFUSALS = {"GRAPHQL_VALIDATION_FAILED", "GRAPHQL_PARSE_FAILED", "BAD_REQUEST"} | LIMIT_CODES
PRIMARY_CONTACT = "primary_contact"  # the relation role on a support case (policies/rows.py)
VIEWERS = [*ROLES, "nobody"]
ROOTS_WITH_ROWS = (
    "customers",
    "customer",
    "node",
    "workgroups",
    "agreements",
    "customerActivity",
    "supportCases",
    "supportCase",
    "activity",
    "roleAssignments",
)

FUZZ_SETTINGS = settings(
    max_examples=EXAMPLES,
    database=None,
    deadline=None,
    phases=[Phase.explicit, Phase.generate, Phase.shrink],
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.function_scoped_fixture,
        HealthCheck.filter_too_much,
    ],
)


@dataclass(repr=False)
class Fuzz:
    attack: AttackWorld
    http: TestClient
    settings: Settings
    authorizer: Authorizer
    engine: Engine
    positive: Any = None
    negative: Any = None
    tokens: dict[str, str] = field(default_factory=dict)
    owners: dict[str, tuple[bool, int | None]] = field(default_factory=dict)  # id -> workgroup
    contacts: dict[str, int | None] = field(default_factory=dict)  # case id -> primary contact
    prepared: dict[str, tuple[DocumentNode, str]] = field(default_factory=dict)  # the last query

    def __repr__(self) -> str:  # keeps Hypothesis' report of a failing example short
        return "Fuzz(...)"

    def _repr_pretty_(self, printer, _cycle) -> None:
        printer.text(repr(self))

    def token(self, email: str) -> str:
        if email not in self.tokens:
            self.tokens[email] = mint_token(email, self.settings)
        return self.tokens[email]

    def post(self, email: str, query: str):
        return self.http.post(
            "/graphql",
            json={"query": query},
            headers={"Authorization": f"Bearer {self.token(email)}"},
        )


def id_values(attack: AttackWorld) -> st.SearchStrategy:
    """Ids that reach rows: every seeded id of both workgroups, absent ids of each type, and a
    few that are no id at all."""
    seeded = sorted(
        {gid for sides in attack.ids.values() for side in sides.values() for gid in side}
    )
    absent = [absent_id(type_name) for type_name in attack.ids]
    # Numbers past a 4-byte INTEGER column, which graph/ids.py still accepts (18 digits)
    absent += [encode_id(type_name, 2**31) for type_name in ("Customer", "Workgroup")]
    junk = ["", "x", "Q3VzdG9tZXI6", "Q3VzdG9tZXI6LTE", "Q3VzdG9tZXI6wrI", "%%%"]
    return st.one_of(st.sampled_from(seeded), st.sampled_from(absent), st.sampled_from(junk)).map(
        nodes.String
    )


def string_values(authorizer: Authorizer) -> st.SearchStrategy:
    """Free text, and the strings arguments expect: coordinates, e-mail addresses, tags,
    search terms, cursors."""
    known = sorted({line[2] for line in authorizer.policy_lines()})
    known += [World.email(role) for role in ROLES] + [World.ADMIN_AWAY, World.NOBODY]
    known += ["alpha", "beta", "home", "Company", "jam", "H-100"]
    known += [encode_cursor(offset) for offset in range(4)]
    return st.one_of(st.text(max_size=20), st.sampled_from(known)).map(nodes.String)


def int_values() -> st.SearchStrategy:
    """Mostly page sizes that are allowed, sometimes ones that are not."""
    return st.one_of(
        st.integers(min_value=0, max_value=5),
        st.integers(min_value=0, max_value=1000),
        st.sampled_from([-1, 1001, 2**31 - 1, -(2**31)]),
    ).map(nodes.Int)


def scalars(attack: AttackWorld, authorizer: Authorizer) -> dict[str, st.SearchStrategy]:
    return {
        "ID": id_values(attack),
        "String": string_values(authorizer),
        "Int": int_values(),
        "Date": st.dates().map(lambda d: nodes.String(d.isoformat())),
        "DateTime": st.datetimes(timezones=st.just(UTC)).map(lambda d: nodes.String(d.isoformat())),
        "JSON": st.just(nodes.String("{}")),
    }


def query_strategy(custom: dict, mode=hypothesis_graphql.Mode.POSITIVE) -> st.SearchStrategy:
    """Queries over the whole schema, and queries rooted at one field that returns rows (so
    that a small number of examples still goes deep into the data)."""
    return st.one_of(
        hypothesis_graphql.queries(SCHEMA, custom_scalars=custom, mode=mode),
        *(
            hypothesis_graphql.queries(SCHEMA, custom_scalars=custom, mode=mode, fields=[root])
            for root in ROOTS_WITH_ROWS
        ),
    )


@pytest.fixture(scope="module")
def fuzz(engine, database_url) -> Iterator[Fuzz]:
    settings_ = Settings(database_url=database_url, jwt_secret=TEST_SECRET, env="development")
    authorizer = Authorizer.from_files()  # the real policy file, not a copy of it
    app = create_app(settings_, engine=engine, authorizer=authorizer)
    try:
        with Session(engine, expire_on_commit=False) as session:
            attack = build_attack_world(session)
        custom = scalars(attack, authorizer)
        with TestClient(app, raise_server_exceptions=False) as http:
            yield Fuzz(
                attack=attack,
                http=http,
                settings=settings_,
                authorizer=authorizer,
                engine=engine,
                positive=query_strategy(custom),
                negative=query_strategy(custom, hypothesis_graphql.Mode.NEGATIVE),
            )
    finally:
        empty_tables(engine)


@pytest.fixture(autouse=True)
def _empty_tables() -> Iterator[None]:
    """The module's world is read-only and emptied once, by `fuzz`."""
    yield


# ------------------------------------------------------------------ reading a response


def instrument(document: DocumentNode) -> DocumentNode:
    """The document with `__typename` in every selection set (to know each object's type) and
    the `id` of every support case (to know whether the viewer is its primary contact).
    `__typename` is no coordinate, and `SupportCase.id` is granted to every role wherever a
    case is visible, so what the response may hold stays the same."""

    def selections(selection_set: SelectionSetNode, parent) -> SelectionSetNode:
        out = []
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode) and selection.selection_set is not None:
                child = get_named_type(parent.fields[selection.name.value].type)
                selection = FieldNode(
                    alias=selection.alias,
                    name=selection.name,
                    arguments=selection.arguments,
                    directives=selection.directives,
                    selection_set=selections(selection.selection_set, child),
                )
            elif isinstance(selection, InlineFragmentNode):
                condition = (
                    SCHEMA.get_type(selection.type_condition.name.value)
                    if selection.type_condition
                    else parent
                )
                selection = InlineFragmentNode(
                    type_condition=selection.type_condition,
                    directives=selection.directives,
                    selection_set=selections(selection.selection_set, condition),
                )
            out.append(selection)
        out.append(FieldNode(name=NameNode(value="__typename")))
        case_type = SCHEMA.get_type("SupportCase")
        if parent is case_type or (
            isinstance(parent, GraphQLInterfaceType)
            and case_type in SCHEMA.get_possible_types(parent)
        ):
            out.append(
                InlineFragmentNode(
                    type_condition=NamedTypeNode(name=NameNode(value="SupportCase")),
                    selection_set=SelectionSetNode(
                        selections=(FieldNode(name=NameNode(value="id")),)
                    ),
                )
            )
        return SelectionSetNode(selections=tuple(out))

    definitions = []
    for definition in document.definitions:
        if isinstance(definition, graphql.OperationDefinitionNode):
            root = SCHEMA.get_root_type(definition.operation)
            definition = graphql.OperationDefinitionNode(
                operation=definition.operation,
                name=definition.name,
                variable_definitions=definition.variable_definitions,
                directives=definition.directives,
                selection_set=selections(definition.selection_set, root),
            )
        elif isinstance(definition, FragmentDefinitionNode):
            condition = SCHEMA.get_type(definition.type_condition.name.value)
            definition = FragmentDefinitionNode(
                name=definition.name,
                type_condition=definition.type_condition,
                directives=definition.directives,
                selection_set=selections(definition.selection_set, condition),
            )
        definitions.append(definition)
    return DocumentNode(definitions=tuple(definitions))


def _applies(schema: GraphQLSchema, concrete: GraphQLObjectType, condition_name: str) -> bool:
    condition = schema.get_type(condition_name)
    if condition is None:
        return False
    if condition is concrete:
        return True
    return isinstance(condition, GraphQLInterfaceType) and schema.is_sub_type(condition, concrete)


def field_values(document: DocumentNode, data: dict) -> Iterator[tuple[str, dict, str, list]]:
    """(coordinate, the object holding the value, its response key, path) of every field value
    the response holds, walking the document along the data."""
    fragments = {
        d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
    }
    operation = next(
        d for d in document.definitions if isinstance(d, graphql.OperationDefinitionNode)
    )

    def walk(value: dict, selection_set: SelectionSetNode, static, path: list):
        typename = value.get("__typename")
        concrete = SCHEMA.get_type(typename) if typename else static
        if not isinstance(concrete, GraphQLObjectType):
            return
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                name = selection.name.value
                key = selection.alias.value if selection.alias else name
                if name.startswith("__") or key not in value:
                    continue
                here = [*path, key]
                yield f"{concrete.name}.{name}", value, key, here
                child = value[key]
                if selection.selection_set is None or child is None:
                    continue
                child_type = get_named_type(concrete.fields[name].type)
                yield from each_item(child, selection.selection_set, child_type, here)
            elif isinstance(selection, InlineFragmentNode):
                if selection.type_condition is None or _applies(
                    SCHEMA, concrete, selection.type_condition.name.value
                ):
                    yield from walk(value, selection.selection_set, concrete, path)
            elif isinstance(selection, FragmentSpreadNode):
                fragment = fragments.get(selection.name.value)
                if fragment and _applies(SCHEMA, concrete, fragment.type_condition.name.value):
                    yield from walk(value, fragment.selection_set, concrete, path)

    def each_item(child, selection_set, child_type, path):
        if isinstance(child, list):
            for index, item in enumerate(child):
                if item is not None:
                    yield from each_item(item, selection_set, child_type, [*path, index])
        elif isinstance(child, dict):
            yield from walk(child, selection_set, child_type, path)

    root = SCHEMA.get_root_type(operation.operation)
    yield from walk({**data, "__typename": root.name}, operation.selection_set, root, [])


def strings_in(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from strings_in(item)
    elif isinstance(value, list):
        for item in value:
            yield from strings_in(item)


# ------------------------------------------------------------------ the properties


def viewer_email(viewer: str) -> str:
    return World.NOBODY if viewer == "nobody" else World.email(viewer)


def home_roles(fuzz: Fuzz, session: Session, viewer: str) -> tuple[int, frozenset[str]]:
    """The viewer's user id and the roles their access scope holds in Home."""
    uid = user_id(session, viewer_email(viewer))
    held = [] if viewer == "nobody" else [(viewer, fuzz.attack.world.home.id)]
    scope = AccessScope.build(authorizer=fuzz.authorizer, user_id=uid, held=held)
    return uid, scope.roles_in(fuzz.attack.world.home.id)


def prepared(fuzz: Fuzz, query: str) -> tuple[DocumentNode, str]:
    """The instrumented document and its text, once per query (every viewer sends it)."""
    if query not in fuzz.prepared:
        document = graphql.parse(query)
        instrumented = instrument(document)
        if graphql.validate(SCHEMA, instrumented):
            instrumented = document  # an alias in the generated query clashes with ours
        fuzz.prepared = {query: (instrumented, graphql.print_ast(instrumented))}
    return fuzz.prepared[query]


def shown(sent: str, body: Any) -> str:
    """The query and the response, cut to a size a failure report can show."""
    text = f"{sent}\n--- response:\n{body}"
    return text if len(text) <= 4000 else text[:4000] + " …"


def check_query(fuzz: Fuzz, viewer: str, query: str) -> set[tuple[str, bool]]:
    """Sends `query` as `viewer` and checks the response; returns the (coordinate, allowed)
    of every field value it checked."""
    checked: set[tuple[str, bool]] = set()
    instrumented, sent = prepared(fuzz, query)
    response = fuzz.post(viewer_email(viewer), sent)

    assert response.status_code < 500, shown(sent, response.text)
    body = response.json()
    errors = body.get("errors") or []
    codes = [(e.get("extensions") or {}).get("code") for e in errors]
    assert "INTERNAL_SERVER_ERROR" not in codes, shown(sent, errors)
    assert None not in codes, shown(sent, errors)
    if response.status_code == 400:
        assert errors and set(codes) <= LIMIT_CODES, shown(sent, body)
        return checked
    assert response.status_code == 200, shown(sent, response.text)
    data = body["data"]
    if data is None:  # a non-null root field failed (e.g. `first: -1`): a located error says so
        assert errors and all(e.get("path") for e in errors), shown(sent, body)
        return checked
    forbidden_at = {
        tuple(e.get("path") or ()) for e in errors if e["extensions"]["code"] == "FORBIDDEN"
    }

    with Session(fuzz.engine) as session:
        uid, roles = home_roles(fuzz, session, viewer)
        for coordinate, holder, key, path in field_values(instrumented, data):
            held = roles
            case_id = holder.get("id") if coordinate.startswith("SupportCase.") else None
            if case_id:
                if case_id not in fuzz.contacts:
                    fuzz.contacts[case_id] = primary_contact_of(session, case_id)
                if fuzz.contacts[case_id] == uid:
                    held = roles | {PRIMARY_CONTACT}
            allowed = fuzz.authorizer.allows(frozenset(held), coordinate, READ)
            checked.add((coordinate, allowed))
            if allowed:
                continue
            assert holder[key] is None, (viewer, coordinate, path, shown(sent, body))
            assert tuple(path) in forbidden_at, (viewer, coordinate, path, shown(sent, body))

        away = fuzz.attack.world.away.id
        for text in strings_in(data):
            assert AWAY_MARKER not in text.lower(), (viewer, text, shown(sent, body))
            if decode_id(text) is None:
                continue
            if text not in fuzz.owners:
                fuzz.owners[text] = workgroup_of(session, text)
            known, workgroup = fuzz.owners[text]
            assert not (known and workgroup == away), (viewer, text, shown(sent, body))
    return checked


# ------------------------------------------------------------------ whole-schema walks
# Hypothesis' small examples stay shallow; these walks select every field of every type the
# schema reaches from a root field, as deep as the request limits allow, so that every
# coordinate a query can reach is met (and checked for every role).

MAX_DEPTH = 12  # CLIENTELE_MAX_QUERY_DEPTH's default
MAX_TOKENS = 3900  # under CLIENTELE_MAX_TOKENS' default of 4000
MAX_SELECTIONS = 1500  # CLIENTELE_MAX_SELECTIONS' default
WALK_PAGE = 2


def token_count(query: str) -> int:
    lexer, count = Lexer(Source(query)), 0
    while lexer.advance().kind != TokenKind.EOF:
        count += 1
    return count


def selection_count(query: str) -> int:
    """Fields and fragments of a document without fragment definitions (as a walk is)."""
    selection_sets = [graphql.parse(query).definitions[0].selection_set]  # type: ignore[attr-defined]
    count = 0
    while selection_sets:
        for selection in selection_sets.pop().selections:
            count += 1
            if selection.selection_set is not None:
                selection_sets.append(selection.selection_set)
    return count


def literal(graphql_type, name: str, values: dict[str, str]) -> str:
    """A value for the required argument `name`: from `values`, else a plain one."""
    if name in values:
        return values[name]
    inner = graphql_type.of_type if is_non_null_type(graphql_type) else graphql_type
    if isinstance(inner, GraphQLList):
        return f"[{literal(inner.of_type, name, values)}]"
    named = get_named_type(graphql_type)
    if isinstance(named, GraphQLEnumType):
        return next(iter(named.values))
    return {"ID": '"none"', "String": '"Customer.rank"', "Int": "5", "Boolean": "true"}[named.name]


def required_arguments(field: GraphQLField, values: dict[str, str]) -> str:
    """The required arguments, and small pages wherever a list takes `first`."""
    given_ = [
        f"{name}: {literal(argument.type, name, values)}"
        for name, argument in field.args.items()
        if is_non_null_type(argument.type)
        and argument.default is None  # graphql-core 3.3: an SDL default lives here
        and argument.default_value is Undefined
        and name != "first"
    ]
    if "first" in field.args:
        given_.append(f"first: {WALK_PAGE}")
    return f"({', '.join(given_)})" if given_ else ""


def every_field(graphql_type, depth: int, values: dict[str, str], path: frozenset[str]) -> str:
    """Every field of `graphql_type`; object fields `depth` levels down, each type at most
    once on a path (a coordinate skipped for that is met on another root's walk)."""
    if not isinstance(graphql_type, GraphQLObjectType):
        return " ".join(
            f"... on {t.name} {{ {every_field(t, depth, values, path)} }}"
            for t in SCHEMA.get_possible_types(graphql_type)
        )
    path = path | {graphql_type.name}
    parts = []
    for name, schema_field in graphql_type.fields.items():
        named = get_named_type(schema_field.type)
        arguments = required_arguments(schema_field, values)
        if is_leaf_type(named):
            parts.append(f"{name}{arguments}")
        elif depth > 0 and named.name not in path:
            inner = every_field(named, depth - 1, values, path)
            parts.append(f"{name}{arguments} {{ {inner} }}")
    return " ".join(parts) or "__typename"


def walk_query(root: str, values: dict[str, str], arguments: str | None = None) -> str:
    """`root` with every field below it, as deep as the limits allow. Required arguments take
    their value from `values` (by argument name); `arguments` replaces the root's own.
    `node` is walked as the type its id names."""
    root_field = SCHEMA.query_type.fields[root]
    arguments = required_arguments(root_field, values) if arguments is None else arguments
    named = get_named_type(root_field.type)
    if root == "node":
        named = SCHEMA.get_type(decode_id(values["id"].strip('"'))[0])  # type: ignore[index]
    if is_leaf_type(named):
        return f"{{ {root}{arguments} }}"
    for depth in range(MAX_DEPTH - 2, -1, -1):
        fields = every_field(named, depth, values, frozenset())
        if root == "node":
            fields = f"... on {named.name} {{ {fields} }}"
        query = f"{{ {root}{arguments} {{ {fields} }} }}"
        if token_count(query) <= MAX_TOKENS and selection_count(query) <= MAX_SELECTIONS:
            return query
    raise AssertionError(f"no walk of {root} fits {MAX_TOKENS} tokens, {MAX_SELECTIONS} selections")


def gid_of(row) -> str:
    return encode_id(type(row).__name__, row.id)


def walks(attack: AttackWorld) -> list[tuple[str, str]]:
    """(name, query) of every walk: each root field, with the ids of both workgroups."""
    ids = attack.ids
    home, away = attack.home_id, attack.away_id
    current = encode_id("Agreement", attack.dash.current.id)  # type: ignore[arg-type]
    base = {"workgroupId": f'"{home}"', "agreementId": f'"{current}"'}

    def walk(root: str, arguments: str | None = None, **values: str) -> str:
        return walk_query(root, {**base, **{k: f'"{v}"' for k, v in values.items()}}, arguments)

    roots = ("me", "workgroups", "customers", "agreements", "customerActivity", "supportCases")
    found = [(root, walk(root)) for root in (*roots, "activity", "roles")]
    found += [
        ("customers/archived", walk("customers", "(status: ARCHIVED)")),
        (
            "customerActivity/additional cases",
            walk_query("customerActivity", {**base, "category": "ADDITIONAL_CASES"}),
        ),
        (
            "customerActivity/both workgroups",
            walk("customerActivity", f'(workgroupIds: ["{home}", "{away}"])'),
        ),
    ]
    for side, workgroup in (("home", home), ("away", away)):
        for root in ("workgroup", "roleAssignments", "explainAccess"):
            found.append((f"{root}/{side}", walk(root, id=workgroup, workgroupId=workgroup)))
        if side == "away":  # without the filter, the walks above cover Home
            for root in ("customers", "supportCases", "activity"):
                found.append((f"{root}/{side}", walk(root, f'(workgroupId: "{workgroup}")')))
            found.append(
                (
                    f"customerActivity/{side}",
                    walk("customerActivity", f'(workgroupIds: ["{workgroup}"])'),
                )
            )
        for type_name in NODE_TYPES:
            for gid in ids[type_name][side if type_name != "User" else "none"][:1]:
                found.append((f"node/{type_name}/{side}", walk("node", id=gid)))
        found.append((f"importJob/{side}", walk("importJob", id=ids["ImportJob"][side][0])))
        customer = ids["Customer"][side][0]  # Home's first customer holds most of its data
        found.append((f"customer/{side}", walk("customer", id=customer)))
        found.append((f"agreements/{side}", walk("agreements", f'(customerId: "{customer}")')))
        agreement = ids["Agreement"][side][0]
        found.append(
            (f"customerActivity/{side}", walk("customerActivity", f'(agreementId: "{agreement}")'))
        )
    for name, case in (
        ("home", attack.home_case),
        ("cross-linked", attack.cross_case),
        ("away", attack.away_case),
    ):
        found.append((f"supportCase/{name}", walk("supportCase", id=gid_of(case))))
    return found


def test_schema_walks_obey_the_policy_for_every_role(fuzz: Fuzz):
    # Given queries selecting every field reachable from each root field, with the ids of
    # Home and of Away, when every role of Home sends each of them
    checked: dict[str, set[tuple[str, bool]]] = {viewer: set() for viewer in VIEWERS}
    for _name, query in walks(fuzz.attack):
        for viewer in VIEWERS:
            # Then every response keeps to the policy and shows nothing of Away
            checked[viewer] |= check_query(fuzz, viewer, query)
    # And the walks met every field an admin can read, and every other viewer met denials
    assert {coordinate for coordinate, _ in checked["admin"]} >= readable_coordinates()
    for viewer in VIEWERS:
        if viewer != "admin":
            assert any(not allowed for _, allowed in checked[viewer]), viewer


def readable_coordinates() -> set[str]:
    """Every field of every object type a query can reach (payloads are mutations' own)."""
    found: set[str] = set()
    seen: set[str] = set()
    todo = [SCHEMA.query_type]
    while todo:
        graphql_type = todo.pop()
        if graphql_type.name in seen:
            continue
        seen.add(graphql_type.name)
        types = (
            [graphql_type]
            if isinstance(graphql_type, GraphQLObjectType)
            else list(SCHEMA.get_possible_types(graphql_type))
        )
        for object_type in types:
            for name, field_ in object_type.fields.items():
                found.add(f"{object_type.name}.{name}")
                named = get_named_type(field_.type)
                if not is_leaf_type(named):
                    todo.append(named)
    return found


@FUZZ_SETTINGS
@seed(SEED)
@given(data=st.data())
def test_generated_queries_obey_the_policy_for_every_role(fuzz: Fuzz, data):
    # Given a generated query, when every role of Home (and a user holding none) sends it,
    # then each response keeps to the policy and shows nothing of Away
    query = data.draw(fuzz.positive, label="query")
    for viewer in VIEWERS:
        check_query(fuzz, viewer, query)


@settings(FUZZ_SETTINGS, max_examples=NEGATIVE_EXAMPLES)
@seed(SEED)
@given(data=st.data())
def test_invalid_documents_get_a_clean_400(fuzz: Fuzz, data):
    query = data.draw(fuzz.negative, label="query")
    response = fuzz.post(World.email("admin"), query)
    assert response.status_code == 400, (query, response.text)
    body = response.json()
    codes = {(e.get("extensions") or {}).get("code") for e in body["errors"]}
    assert codes and codes <= CLEAN_REFUSALS, (query, body)
    assert body.get("data") is None, (query, body)


@settings(FUZZ_SETTINGS, max_examples=NEGATIVE_EXAMPLES)
@seed(SEED)
@given(
    data=st.data(),
    cut=st.integers(min_value=1, max_value=200),
    noise=st.text(alphabet="{}()[]:!$@#\"'\\ .,=\x00\ufffd", min_size=1, max_size=5),
)
def test_broken_documents_get_a_clean_400(fuzz: Fuzz, data, cut: int, noise: str):
    # Given a valid query cut short, with a few stray characters appended
    query = data.draw(fuzz.positive, label="query")
    broken = query[: max(1, len(query) - cut)] + noise
    response = fuzz.post(World.email("admin"), broken)
    # Then a 400 with GraphQL errors (or, if the cut still parses and validates, a 200)
    assert response.status_code in (200, 400), (broken, response.text)
    body = response.json()
    codes = {(e.get("extensions") or {}).get("code") for e in body.get("errors") or []}
    assert "INTERNAL_SERVER_ERROR" not in codes, (broken, body)
    if response.status_code == 400:
        assert codes and codes <= CLEAN_REFUSALS, (broken, body)
