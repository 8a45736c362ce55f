"""CSV import of contacts: matched on e-mail, attached to the customer of their domain."""

import pytest
from sqlalchemy import func, select

from graph.ids import encode_id
from models.customers.operations import archive_customer
from models.customers.tables import Customer
from models.imports.jobs import ImportJob
from models.partner.tables import Contact
from tests.conftest import World, make_customer
from tests.import_support import csv_text, job, run, start, upload, uploaded_job

ADMIN = World.email("admin")
HEADER = ["E-mail", "First name", "Last name", "Job title"]


def contacts(session) -> list[tuple[str, str, int | None]]:
    return sorted(
        session.execute(select(Contact.email, Contact.last_name, Contact.customer_id)).all()
    )


def test_contacts_attach_to_the_customer_of_their_domain_and_reimport_changes_nothing(
    client, settings, gql, session, world
):
    # Given a customer whose primary domain is acme.example, and another with an extra domain
    acme = make_customer(session, world.home, index="acme", primary_domain="acme.example")
    other = make_customer(session, world.home, index="o", domains=["other-mail.example"])
    rows = [
        HEADER,
        ["Ann@Acme.example", "Ann", "Archer", "CTO"],
        ["bob@other-mail.example", "Bob", "Baker", ""],
        ["cy@gmail.example", "Cy", "Cole", ""],
    ]

    # When the file is imported, and then imported again
    first = run(
        gql,
        ADMIN,
        uploaded_job(client, settings, ADMIN, "contacts", world.home, csv_text(rows))["id"],
        dry_run=False,
    )
    second = run(
        gql,
        ADMIN,
        uploaded_job(client, settings, ADMIN, "contacts", world.home, csv_text(rows))["id"],
        dry_run=False,
    )

    # Then the contacts exist once, attached by domain, and the second run changed nothing
    assert (first["status"], first["created"]) == ("SUCCEEDED", 3)
    assert (second["created"], second["updated"], second["unchanged"]) == (0, 0, 3)
    assert contacts(session) == [
        ("ann@acme.example", "Archer", acme.id),
        ("bob@other-mail.example", "Baker", other.id),
        ("cy@gmail.example", "Cole", None),
    ]


def test_an_existing_contact_is_updated_and_attached_when_it_had_no_customer(
    client, settings, gql, session, world
):
    acme = make_customer(session, world.home, index="acme", primary_domain="acme.example")
    gql(
        ADMIN,
        """mutation($input: AddContactInput!) { addContact(input: $input) { errors { code } } }""",
        {
            "input": {
                "workgroupId": encode_id("Workgroup", world.home.id),
                "firstName": "Ann",
                "lastName": "Old",
                "email": "ann@acme.example",
            }
        },
    )
    body = csv_text([HEADER, ["ann@acme.example", "Ann", "New", "CTO"]])

    finished = run(
        gql,
        ADMIN,
        uploaded_job(client, settings, ADMIN, "contacts", world.home, body)["id"],
        dry_run=False,
    )

    assert (finished["created"], finished["updated"]) == (0, 1)
    assert contacts(session) == [("ann@acme.example", "New", acme.id)]


def test_a_contact_file_needs_email_and_names_mapped(client, settings, gql, session, world):
    uploaded = uploaded_job(
        client,
        settings,
        ADMIN,
        "contacts",
        world.home,
        csv_text([["mail", "name"], ["a@b.c", "A"]]),
    )

    # The suggested mapping finds neither column: starting without a mapping is refused
    refused = start(gql, ADMIN, uploaded["id"], dry_run=True)

    assert refused["data"]["startImport"]["errors"] == [
        {
            "field": "mapping",
            "message": "Map a column to each required field: email, firstName, lastName.",
            "code": "REQUIRED",
        }
    ]
    assert job(gql, ADMIN, uploaded["id"])["status"] == "UPLOADED"


def test_bad_contact_rows_are_named_and_nothing_is_written(client, settings, gql, session, world):
    archived = make_customer(session, world.home, index="arch", primary_domain="gone.example")
    archive_customer(session=session, customer=archived, expected_version=None, actor_id=None)
    session.commit()
    body = csv_text(
        [
            ["email", "first name", "last name", "customer domain"],
            ["ok@x.example", "Ok", "Fine", ""],
            ["not-an-address", "No", "Mail", ""],
            ["ok@x.example", "Twice", "Here", ""],
            ["c@x.example", "", "Nameless", ""],
            ["d@x.example", "D", "Dee", "unknown.example"],
            ["e@x.example", "E", "Ee", "gone.example"],
        ]
    )
    uploaded = uploaded_job(client, settings, ADMIN, "contacts", world.home, body)

    finished = run(gql, ADMIN, uploaded["id"], dry_run=False)

    assert finished["status"] == "FAILED"
    assert sorted((e["row"], e["column"]) for e in finished["errors"]) == [
        (3, "email"),
        (4, "email"),
        (5, "first name"),
        (6, "customer domain"),
        (7, "customer domain"),
    ]
    assert contacts(session) == []


# ---------------------------------------------------------------- who may import


ROLES_WITHOUT_IMPORT = [
    "sales_agent",
    "customer_activity",
    "training_manager",
    "support_viewer",
    "member",
]


@pytest.mark.parametrize("role", ["admin", "admin_agent"])
def test_admins_and_admin_agents_import(client, settings, gql, session, world, role):
    body = csv_text(
        [["company name", "primary domain"], ["By Role", f"{role.replace('_', '-')}.example"]]
    )
    uploaded = uploaded_job(client, settings, World.email(role), "customers", world.home, body)
    finished = run(gql, World.email(role), uploaded["id"], dry_run=False)
    assert (finished["status"], finished["created"]) == ("SUCCEEDED", 1)


@pytest.mark.parametrize("role", ROLES_WITHOUT_IMPORT)
def test_other_roles_may_neither_start_nor_read_an_import(
    client, settings, gql, session, world, role
):
    # Given a file an admin uploaded
    body = csv_text([["company name", "primary domain"], ["Denied", "denied.example"]])
    uploaded = uploaded_job(client, settings, ADMIN, "customers", world.home, body)

    # When another role tries to run it or read it
    started = gql(World.email(role), START_ONLY, {"id": uploaded["id"]})
    read = gql(World.email(role), READ_ONLY, {"id": uploaded["id"]})

    # Then both are FORBIDDEN and nothing ran
    assert started["data"] is None or started["data"]["startImport"] is None
    assert started["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert read["data"]["importJob"] is None
    assert read["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    session.expire_all()
    assert session.execute(select(ImportJob.status)).scalar_one() == "UPLOADED"
    assert (
        session.execute(
            select(func.count())
            .select_from(Customer)
            .where(Customer.primary_domain == "denied.example")
        ).scalar_one()
        == 0
    )


def test_another_workgroups_admin_sees_no_such_import(client, settings, gql, session, world):
    body = csv_text([["company name", "primary domain"], ["Mine", "mine.example"]])
    uploaded = uploaded_job(client, settings, ADMIN, "customers", world.home, body)

    started = gql(World.ADMIN_AWAY, START_ONLY, {"id": uploaded["id"]})
    read = gql(World.ADMIN_AWAY, READ_ONLY, {"id": uploaded["id"]})

    assert started["data"]["startImport"]["errors"][0]["code"] == "NOT_FOUND"
    assert read == {"data": {"importJob": None}}
    assert (
        upload(client, settings, World.ADMIN_AWAY, "customers", world.home, body).status_code == 404
    )
    session.expire_all()
    assert session.execute(select(ImportJob.status)).scalar_one() == "UPLOADED"


START_ONLY = """
mutation($id: ID!) {
  startImport(input: {importJobId: $id, dryRun: false}) { errors { code } }
}
"""
READ_ONLY = "query($id: ID!) { importJob(id: $id) { status } }"
