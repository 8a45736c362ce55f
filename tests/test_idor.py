"""IDOR matrix: every query, mutation and `node(id:)` that takes an id, sent by every role of
Home (and a user holding no role) with every id of Away.

An id of Away must be indistinguishable from an id that names nothing: the response (status and
JSON, request ids aside) is the same as with a random well-formed id of the same type, and the
database is exactly as it was (every row of every table). Operations with two ids are tried
with each slot in turn, the other holding an id of Home that the viewer can use.

A second part checks links across workgroups by a viewer who may see both: an object of one
workgroup must not be tied to an object of another.
"""

import random
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import graphql
import pytest
from sqlalchemy import select
from sqlmodel import Session
from starlette.testclient import TestClient

import models
from graph.app import create_app
from graph.ids import decode_id, encode_id
from models.accounts.tables import RoleAssignment, User
from models.settings import Settings
from policies import Authorizer
from tests.attack_support import (
    NODE_TYPES,
    AttackWorld,
    build_attack_world,
    dump_tables,
)
from tests.conftest import (
    ROLES,
    TEST_SECRET,
    GraphQLClient,
    World,
    empty_tables,
    without_request_ids,
)

VIEWERS = [World.email(role) for role in ROLES] + [World.NOBODY]
SCHEMA_PATH = Path(__file__).resolve().parent.parent / "schema.graphql"
INT_MAX = 2**31 - 1  # the id columns are INTEGER: 4 bytes on PostgreSQL
# Well-formed ids (graph/ids.py admits up to 18 digits) past what an id column holds.
BEYOND_INTEGER = (2**31, 10**18 - 1)
PAYLOAD = "errors { field message code }"


@dataclass(frozen=True)
class Target:
    """One operation with one id slot (`$id`) of `id_type`; `variables` names its other
    variables' values: ids of Home the viewer can use (the keys of `Matrix.home_values`)."""

    name: str
    id_type: str
    document: str
    variables: dict

    def __repr__(self) -> str:
        return self.name


def targets() -> list[Target]:
    wg, customer, case = "Workgroup", "Customer", "SupportCase"
    found = [
        # ---------------------------------------------------------------- queries
        Target(
            "customer", customer, "query($id: ID!) { customer(id: $id) { id companyName } }", {}
        ),
        Target(
            "workgroup",
            wg,
            "query($id: ID!) { workgroup(id: $id) { id name customers { totalCount } } }",
            {},
        ),
        Target("supportCase", case, "query($id: ID!) { supportCase(id: $id) { id title } }", {}),
        Target(
            "importJob",
            "ImportJob",
            "query($id: ID!) { importJob(id: $id) { id status total } }",
            {},
        ),
        Target(
            "startImport",
            "ImportJob",
            "mutation($id: ID!) { startImport(input: {importJobId: $id, dryRun: false})"
            f" {{ importJob {{ id status }} {PAYLOAD} }} }}",
            {},
        ),
        Target(
            "agreements(customerId)",
            customer,
            "query($id: ID) { agreements(customerId: $id) { totalCount edges { node { id } } } }",
            {},
        ),
        Target(
            "agreements(workgroupIds)",
            wg,
            "query($id: ID!) { agreements(workgroupIds: [$id]) { totalCount } }",
            {},
        ),
        Target(
            "customerActivity(agreementId)",
            "Agreement",
            "query($id: ID) { customerActivity(agreementId: $id) {"
            " agreements { id } enterprise { category purchased used } } }",
            {},
        ),
        Target(
            "customerActivity(workgroupIds)",
            wg,
            "query($id: ID!) { customerActivity(workgroupIds: [$id]) {"
            " agreements { id } enterprise { category purchased used } } }",
            {},
        ),
        Target(
            "customerActivity.addOnPackages(agreementId)",
            "Agreement",
            "query($id: ID!) { customerActivity { addOnPackages(agreementId: $id) { id } } }",
            {},
        ),
        Target(
            "customerActivity.drillDown(agreementId)",
            "Agreement",
            "query($id: ID) { customerActivity {"
            " drillDown(category: REACTIVE_SUPPORT, agreementId: $id) { used purchased } } }",
            {},
        ),
        Target(
            "customerActivity.addOnPackages(packageId)",
            "Package",
            "query($agreement: ID!, $id: ID) { customerActivity {"
            " addOnPackages(agreementId: $agreement, packageId: $id) { id } } }",
            {"agreement": "home agreement"},
        ),
        Target(
            "customers(workgroupId)",
            wg,
            "query($id: ID) { customers(workgroupId: $id) { totalCount } }",
            {},
        ),
        Target(
            "customers(projectId)",
            "Project",
            "query($id: ID) { customers(projectId: $id) { totalCount } }",
            {},
        ),
        Target(
            "supportCases(workgroupId)",
            wg,
            "query($id: ID) { supportCases(workgroupId: $id) { totalCount } }",
            {},
        ),
        Target(
            "roleAssignments(workgroupId)",
            wg,
            "query($id: ID!) { roleAssignments(workgroupId: $id) { id email } }",
            {},
        ),
        Target(
            "explainAccess(workgroupId)",
            wg,
            'query($id: ID!) { explainAccess(email: "admin@away.example",'
            ' coordinate: "Customer.rank", workgroupId: $id) { allowed policyLine deniedBy } }',
            {},
        ),
        Target(
            "activity(workgroupId)",
            wg,
            "query($id: ID) { activity(workgroupId: $id) { totalCount } }",
            {},
        ),
        Target(
            "activity(customerId)",
            customer,
            "query($id: ID) { activity(customerId: $id) { totalCount } }",
            {},
        ),
        Target(
            "me.permissions/can(workgroupId)",
            wg,
            "query($id: ID!) { me { permissions(workgroupId: $id)"
            ' can(coordinate: "Customer.rank", workgroupId: $id) } }',
            {},
        ),
        # ---------------------------------------------------------------- customers
        Target(
            "addCustomer",
            wg,
            "mutation($id: ID!) { addCustomer(input: {workgroupId: $id,"
            ' companyName: "Planted", primaryDomain: "planted.example"})'
            f" {{ customer {{ id }} {PAYLOAD} }} }}",
            {},
        ),
        Target(
            "updateCustomer",
            customer,
            'mutation($id: ID!) { updateCustomer(id: $id, input: {companyName: "Taken over"})'
            f" {{ customer {{ id }} {PAYLOAD} }} }}",
            {},
        ),
        Target(
            "updateCustomer(expectedVersion)",
            customer,
            'mutation($id: ID!) { updateCustomer(id: $id, input: {city: "Elsewhere"},'
            f" expectedVersion: 1) {{ customer {{ id }} {PAYLOAD} }} }}",
            {},
        ),
        Target(
            "archiveCustomer",
            customer,
            f"mutation($id: ID!) {{ archiveCustomer(id: $id) {{ customer {{ id }} {PAYLOAD} }} }}",
            {},
        ),
        Target(
            "reactivateCustomer",
            customer,
            "mutation($id: ID!) { reactivateCustomer(id: $id)"
            f" {{ customer {{ id }} {PAYLOAD} }} }}",
            {},
        ),
        # ---------------------------------------------------------------- roles
        Target(
            "grantRole",
            wg,
            'mutation($id: ID!) { grantRole(email: "mallory@home.example", role: ADMIN,'
            f" workgroupId: $id) {{ assignment {{ id }} {PAYLOAD} }} }}",
            {},
        ),
        Target(
            "revokeRole",
            wg,
            'mutation($id: ID!) { revokeRole(email: "helper@away.example", role: MEMBER,'
            f" workgroupId: $id) {{ assignment {{ id }} {PAYLOAD} }} }}",
            {},
        ),
        # ---------------------------------------------------------------- support
        Target(
            "openSupportCase(workgroupId)",
            wg,
            'mutation($id: ID!) { openSupportCase(input: {workgroupId: $id, title: "Planted",'
            f" severity: LOW}}) {{ supportCase {{ id }} {PAYLOAD} }} }}",
            {},
        ),
    ]
    for link, type_name in (
        ("customerId", customer),
        ("agreementId", "Agreement"),
        ("packageId", "Package"),
        ("serviceAmountId", "ServiceAmount"),
    ):
        found.append(
            Target(
                f"openSupportCase({link})",
                type_name,
                "mutation($home: ID!, $id: ID!) { openSupportCase(input: {workgroupId: $home,"
                f' title: "Linked", severity: LOW, {link}: $id}})'
                f" {{ supportCase {{ id }} {PAYLOAD} }} }}",
                {"home": "home workgroup"},
            )
        )
    found += [
        Target(
            "closeSupportCase",
            case,
            "mutation($id: ID!) { closeSupportCase(caseId: $id)"
            f" {{ supportCase {{ id }} {PAYLOAD} }} }}",
            {},
        ),
        Target(
            "shareSupportCase",
            case,
            'mutation($id: ID!) { shareSupportCase(caseId: $id, email: "colleague@home.example")'
            f" {{ supportCase {{ id }} {PAYLOAD} }} }}",
            {},
        ),
        Target(
            "unshareSupportCase",
            case,
            'mutation($id: ID!) { unshareSupportCase(caseId: $id, email: "helper@away.example")'
            f" {{ supportCase {{ id }} {PAYLOAD} }} }}",
            {},
        ),
    ]
    for verb in ("grantGroupAccess", "revokeGroupAccess"):
        found += [
            Target(
                f"{verb}(caseId)",
                case,
                f"mutation($id: ID!, $group: ID!) {{ {verb}(caseId: $id, groupId: $group)"
                f" {{ supportCase {{ id }} {PAYLOAD} }} }}",
                {"group": "home group"},
            ),
            Target(
                f"{verb}(groupId)",
                "Group",
                f"mutation($case: ID!, $id: ID!) {{ {verb}(caseId: $case, groupId: $id)"
                f" {{ supportCase {{ id }} {PAYLOAD} }} }}",
                {"case": "home case"},
            ),
        ]
    found += [
        Target(
            "createGroup",
            wg,
            'mutation($id: ID!) { createGroup(workgroupId: $id, name: "Planted")'
            f" {{ group {{ id }} {PAYLOAD} }} }}",
            {},
        ),
        Target(
            "addGroupMember",
            "Group",
            'mutation($id: ID!) { addGroupMember(groupId: $id, email: "colleague@home.example")'
            f" {{ group {{ id }} {PAYLOAD} }} }}",
            {},
        ),
        Target(
            "removeGroupMember",
            "Group",
            'mutation($id: ID!) { removeGroupMember(groupId: $id, email: "helper@away.example")'
            f" {{ group {{ id }} {PAYLOAD} }} }}",
            {},
        ),
        # ---------------------------------------------------------------- partner operations
        Target(
            "addContact(workgroupId)",
            wg,
            'mutation($id: ID!) { addContact(input: {workgroupId: $id, firstName: "Eve",'
            ' lastName: "Planted", email: "eve@planted.example"})'
            f" {{ contact {{ id }} {PAYLOAD} }} }}",
            {},
        ),
        Target(
            "addContact(customerId)",
            customer,
            "mutation($home: ID!, $id: ID!) { addContact(input: {workgroupId: $home,"
            ' customerId: $id, firstName: "Eve", lastName: "Planted",'
            f' email: "eve@planted.example"}}) {{ contact {{ id }} {PAYLOAD} }} }}',
            {"home": "home workgroup"},
        ),
        Target(
            "updateContact",
            "Contact",
            'mutation($id: ID!) { updateContact(id: $id, input: {jobTitle: "Planted"})'
            f" {{ contact {{ id }} {PAYLOAD} }} }}",
            {},
        ),
        Target(
            "inviteContact",
            "Contact",
            f"mutation($id: ID!) {{ inviteContact(id: $id) {{ contact {{ id }} {PAYLOAD} }} }}",
            {},
        ),
        Target(
            "moveContact(id)",
            "Contact",
            f"mutation($id: ID!) {{ moveContact(id: $id) {{ contact {{ id }} {PAYLOAD} }} }}",
            {},
        ),
        Target(
            "moveContact(customerId)",
            customer,
            "mutation($contact: ID!, $id: ID!) { moveContact(id: $contact, customerId: $id)"
            f" {{ contact {{ id }} {PAYLOAD} }} }}",
            {"contact": "home loose contact"},
        ),
        Target(
            "setMainContact(customerId)",
            customer,
            "mutation($id: ID!, $contact: ID!) {"
            " setMainContact(customerId: $id, contactId: $contact)"
            f" {{ contact {{ id }} {PAYLOAD} }} }}",
            {"contact": "home contact"},
        ),
        Target(
            "setMainContact(contactId)",
            "Contact",
            "mutation($customer: ID!, $id: ID!) {"
            " setMainContact(customerId: $customer, contactId: $id)"
            f" {{ contact {{ id }} {PAYLOAD} }} }}",
            {"customer": "home customer"},
        ),
        Target(
            "setTicketPolicy",
            customer,
            "mutation($id: ID!) { setTicketPolicy(customerId: $id, mainContactOnly: true)"
            f" {{ customer {{ id }} {PAYLOAD} }} }}",
            {},
        ),
        Target(
            "addTags",
            customer,
            'mutation($id: ID!) { addTags(customerId: $id, tags: ["planted"])'
            f" {{ customer {{ id }} {PAYLOAD} }} }}",
            {},
        ),
        Target(
            "removeTags",
            customer,
            'mutation($id: ID!) { removeTags(customerId: $id, tags: ["alpha"])'
            f" {{ customer {{ id }} {PAYLOAD} }} }}",
            {},
        ),
        Target(
            "createOrder",
            customer,
            "mutation($id: ID!) { createOrder(customerId: $id, catalog: AZURE,"
            ' lines: [{product: "Planted", quantity: 1}])'
            f" {{ order {{ id }} {PAYLOAD} }} }}",
            {},
        ),
        Target(
            "addContract",
            customer,
            'mutation($id: ID!) { addContract(customerId: $id, input: {name: "Planted",'
            f" type: HOURLY}}) {{ contract {{ id }} {PAYLOAD} }} }}",
            {},
        ),
        Target(
            "setServiceLevel",
            customer,
            "mutation($id: ID!) { setServiceLevel(customerId: $id, firstResponseMinutes: 1,"
            ' resolutionMinutes: 2, alertProfile: "Planted")'
            f" {{ serviceLevel {{ alertProfile }} {PAYLOAD} }} }}",
            {},
        ),
        Target(
            "createProject",
            wg,
            'mutation($id: ID!) { createProject(workgroupId: $id, name: "Planted")'
            f" {{ project {{ id }} {PAYLOAD} }} }}",
            {},
        ),
    ]
    for verb in ("addProjectMember", "removeProjectMember"):
        found += [
            Target(
                f"{verb}(projectId)",
                "Project",
                f"mutation($id: ID!, $customer: ID!) {{ {verb}(projectId: $id,"
                f" customerId: $customer) {{ project {{ id }} {PAYLOAD} }} }}",
                {"customer": "home customer"},
            ),
            Target(
                f"{verb}(customerId)",
                customer,
                f"mutation($project: ID!, $id: ID!) {{ {verb}(projectId: $project,"
                f" customerId: $id) {{ project {{ id }} {PAYLOAD} }} }}",
                {"project": "home project"},
            ),
        ]
    # ---------------------------------------------------------------- node, for every Node type
    fragments = " ".join(f"... on {t} {{ __typename }}" for t in NODE_TYPES)
    found += [
        Target(
            f"node<{type_name}>",
            type_name,
            f"query($id: ID!) {{ node(id: $id) {{ id {fragments} }} }}",
            {},
        )
        for type_name in NODE_TYPES
    ]
    return found


TARGETS = targets()


@dataclass
class Matrix:
    attack: AttackWorld
    gql: GraphQLClient
    engine: object
    away_ids: dict[str, list[str]]
    home_values: dict[str, str]
    rng: random.Random


def away_ids_by_type(session: Session, attack: AttackWorld) -> dict[str, list[str]]:
    """Every id of Away, by type; for users, those who hold roles only in Away."""
    found = {type_name: list(sides["away"]) for type_name, sides in attack.ids.items()}
    away_only = (
        session.execute(
            select(User.id)
            .join(RoleAssignment, RoleAssignment.user_id == User.id)
            .where(RoleAssignment.workgroup_id == attack.world.away.id)
            .where(
                User.id.not_in(  # type: ignore[union-attr]
                    select(RoleAssignment.user_id).where(
                        (RoleAssignment.workgroup_id != attack.world.away.id)
                        | RoleAssignment.workgroup_id.is_(None)  # type: ignore[union-attr]
                    )
                )
            )
        )
        .scalars()
        .all()
    )
    found["User"] = [encode_id("User", pk) for pk in sorted(set(away_only))]
    return found


@pytest.fixture(scope="module")
def matrix(engine, database_url) -> Iterator[Matrix]:
    settings = Settings(database_url=database_url, jwt_secret=TEST_SECRET, env="development")
    app = create_app(settings, engine=engine, authorizer=Authorizer.from_files())
    try:
        with Session(engine, expire_on_commit=False) as session:
            attack = build_attack_world(session)
            away = away_ids_by_type(session, attack)
        home_values = {
            "home workgroup": attack.home_id,
            "home agreement": encode_id("Agreement", attack.dash.current.id),  # type: ignore[arg-type]
            "home group": encode_id("Group", attack.home_group.id),  # type: ignore[arg-type]
            "home case": encode_id("SupportCase", attack.home_case.id),  # type: ignore[arg-type]
            "home contact": encode_id("Contact", attack.home_contact.id),  # type: ignore[arg-type]
            "home loose contact": encode_id(
                "Contact",
                attack.home_loose_contact.id,  # type: ignore[arg-type]
            ),
            "home customer": encode_id(
                "Customer",
                attack.world.home_customers[0].id,  # type: ignore[arg-type]
            ),
            "home project": encode_id("Project", attack.home_project.id),  # type: ignore[arg-type]
        }
        with TestClient(app) as http:
            yield Matrix(
                attack, GraphQLClient(http, settings), engine, away, home_values, random.Random(7)
            )
    finally:
        empty_tables(engine)


@pytest.fixture(autouse=True)
def _empty_tables() -> Iterator[None]:
    """The module's world is emptied once, by `matrix`."""
    yield


def id_arguments_of_the_schema() -> set[str]:
    """Every argument (and input field) of type ID of every root field, as "field.argument"
    ("openSupportCase.input.customerId" for input fields)."""
    schema = graphql.build_schema(SCHEMA_PATH.read_text())
    found = set()
    for root in (schema.query_type, schema.mutation_type):
        for field_name, field in root.fields.items():
            for argument_name, argument in field.args.items():
                named = graphql.get_named_type(argument.type)
                if named.name == "ID":
                    found.add(f"{field_name}.{argument_name}")
                elif isinstance(named, graphql.GraphQLInputObjectType):
                    found |= {
                        f"{field_name}.{argument_name}.{name}"
                        for name, input_field in named.fields.items()
                        if graphql.get_named_type(input_field.type).name == "ID"
                    }
    return found


def id_arguments_given(document: str) -> set[str]:
    """The same names for the root fields of `document` whose value is the `$id` variable."""
    found = set()
    operation = graphql.parse(document).definitions[0]
    for selection in operation.selection_set.selections:  # type: ignore[attr-defined]
        for argument in selection.arguments or ():
            name = f"{selection.name.value}.{argument.name.value}"
            value = argument.value
            if isinstance(value, graphql.ObjectValueNode):
                found |= {
                    f"{name}.{f.name.value}"
                    for f in value.fields
                    if isinstance(f.value, graphql.VariableNode) and f.value.name.value == "id"
                }
            elif "$id" in graphql.print_ast(value):
                found.add(name)
    return found


def test_the_matrix_covers_every_id_argument_of_the_schema():
    # Given every argument of type ID that a query or mutation takes (schema.graphql)
    wanted = id_arguments_of_the_schema()
    # Then the matrix tries ids of Away in each of them, and node(id:) for every Node type
    covered = set().union(*(id_arguments_given(t.document) for t in TARGETS))
    assert wanted - covered == set()
    assert {t.id_type for t in TARGETS if t.name.startswith("node<")} == set(NODE_TYPES)


def random_absent_id(matrix: Matrix, type_name: str) -> str:
    """A random well-formed id of `type_name` that names no row (and fits an INTEGER column:
    bigger numbers have a test of their own below)."""
    return encode_id(type_name, matrix.rng.randrange(10**6, INT_MAX))


def answer(matrix: Matrix, viewer: str, target: Target, id_value: str) -> tuple[int, object]:
    variables = {name: matrix.home_values[value] for name, value in target.variables.items()}
    variables["id"] = id_value
    response = matrix.gql.post(viewer, target.document, variables)
    assert response.status_code < 500, (target, viewer, response.text)
    return response.status_code, without_request_ids(response.json())


@pytest.mark.parametrize("target", TARGETS, ids=[t.name for t in TARGETS])
def test_an_id_of_away_is_answered_like_an_id_of_nothing(matrix: Matrix, target: Target):
    away_ids = matrix.away_ids[target.id_type]
    assert away_ids, f"the world has no {target.id_type} of Away"
    before = dump_tables(matrix.engine)
    try:
        for viewer in VIEWERS:
            # Given the answer to an id of the same type that names nothing
            baseline = answer(matrix, viewer, target, random_absent_id(matrix, target.id_type))
            for away_id in away_ids:
                assert decode_id(away_id, target.id_type)
                # When a viewer of Home sends an id of Away instead
                got = answer(matrix, viewer, target, away_id)
                # Then the answer is the same, status and body
                assert got == baseline, (viewer, target.name, away_id, got, baseline)
        # And nothing in the database changed
        assert dump_tables(matrix.engine) == before, target.name
    finally:
        restore(matrix.engine, before)


def test_an_id_beyond_the_integer_range_is_answered_like_an_id_of_nothing(matrix: Matrix):
    # Given every operation that takes an id, and the answer to an id that names nothing
    before = dump_tables(matrix.engine)
    viewer = World.email("admin")
    differing = []
    for target in TARGETS:
        baseline = answer(matrix, viewer, target, random_absent_id(matrix, target.id_type))
        for number in BEYOND_INTEGER:
            # When Home's admin sends a well-formed id whose number no id column can hold
            got = answer(matrix, viewer, target, encode_id(target.id_type, number))
            # Then the answer is the same (not an INTERNAL_SERVER_ERROR from the database)
            if got != baseline:
                differing.append((target.name, number, str(got)[:300]))
    assert differing == [], f"{len(differing)} answers differ, e.g. {differing[:3]}"
    assert dump_tables(matrix.engine) == before


# ------------------------------------------------------------------ links across workgroups
# The global admin sees both workgroups, so visibility alone does not keep their rows apart.
# (A case of one workgroup may name another's agreement: that is an "additional case".)

CROSS_LINKS = {
    "openSupportCase(customerId)": (
        "mutation($home: ID!, $away: ID!) { openSupportCase(input: {workgroupId: $home,"
        ' title: "Linked across", severity: LOW, customerId: $away})'
        f" {{ supportCase {{ id }} {PAYLOAD} }} }}",
        {"home": "home workgroup", "away": "away customer"},
    ),
    "addContact(customerId)": (
        "mutation($home: ID!, $away: ID!) { addContact(input: {workgroupId: $home,"
        ' customerId: $away, firstName: "Eve", lastName: "Across",'
        f' email: "eve@across.example"}}) {{ contact {{ id }} {PAYLOAD} }} }}',
        {"home": "home workgroup", "away": "away customer"},
    ),
    "moveContact(customerId)": (
        "mutation($home: ID!, $away: ID!) { moveContact(id: $home, customerId: $away)"
        f" {{ contact {{ id }} {PAYLOAD} }} }}",
        {"home": "home loose contact", "away": "away customer"},
    ),
    "setMainContact(contactId)": (
        "mutation($home: ID!, $away: ID!) { setMainContact(customerId: $home, contactId: $away)"
        f" {{ contact {{ id }} {PAYLOAD} }} }}",
        {"home": "home customer", "away": "away contact"},
    ),
    "addProjectMember(customerId)": (
        "mutation($home: ID!, $away: ID!) { addProjectMember(projectId: $home, customerId: $away)"
        f" {{ project {{ id }} {PAYLOAD} }} }}",
        {"home": "home project", "away": "away customer"},
    ),
    "grantGroupAccess(groupId)": (
        "mutation($home: ID!, $away: ID!) { grantGroupAccess(caseId: $home, groupId: $away)"
        f" {{ supportCase {{ id }} {PAYLOAD} }} }}",
        {"home": "home case", "away": "away group"},
    ),
}


@pytest.mark.parametrize("name", list(CROSS_LINKS))
def test_rows_of_two_workgroups_cannot_be_tied_together(matrix: Matrix, name: str):
    # Given the global admin, who may change both workgroups
    document, slots = CROSS_LINKS[name]
    values = {**matrix.home_values, **away_values(matrix)}
    before = dump_tables(matrix.engine)
    try:
        # When they tie a row of Home to a row of Away
        body = matrix.gql(World.GLOBAL_ADMIN, document, {k: values[v] for k, v in slots.items()})
        # Then a user error, and nothing changed
        payload = next(iter(body["data"].values()))
        assert "errors" not in body, body
        assert payload["errors"], (name, payload)
        assert dump_tables(matrix.engine) == before, name
    finally:
        restore(matrix.engine, before)


def away_values(matrix: Matrix) -> dict[str, str]:
    attack = matrix.attack
    return {
        "away customer": encode_id("Customer", attack.world.away_customers[0].id),  # type: ignore[arg-type]
        "away contact": encode_id("Contact", attack.away_contact.id),  # type: ignore[arg-type]
        "away group": encode_id("Group", attack.away_group.id),  # type: ignore[arg-type]
    }


def restore(engine, before: dict[str, list[tuple]]) -> None:
    """Takes out rows a failing test added, so the other tests of the module still see the
    seeded world (changed rows are left as they are: the failure is reported anyway)."""
    after = dump_tables(engine)
    if after == before:
        return
    with engine.begin() as connection:
        for table in reversed(models.metadata.sorted_tables):
            added = set(after[table.name]) - set(before[table.name])
            keys = [column.name for column in table.primary_key.columns]
            columns = [column.name for column in table.columns]
            for row in added:
                values = dict(zip(columns, row, strict=True))
                connection.execute(
                    table.delete().where(*(table.c[key] == values[key] for key in keys))
                )
