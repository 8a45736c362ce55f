"""CSV import of customers: template, mapping, dry run, all-or-nothing runs, idempotence."""

import pytest
from sqlalchemy import func, select

from graph.auth import mint_token
from graph.ids import encode_id
from models.audit.activity import ActivityRecord
from models.customers.operations import archive_customer
from models.customers.tables import Customer
from models.customers.tags import tags_by_customer
from tests.conftest import World, make_customer
from tests.import_support import csv_text, job, run, start, upload, uploaded_job

ADMIN = World.email("admin")
TEMPLATE_HEADER = (
    "company name,primary domain,relationship,tags,country,city,domains,state,address,"
    "postal code,phone,fax,industry,company size,renewal policy,rank,business id"
)


def customers_of(session, workgroup) -> int:
    return session.execute(
        select(func.count()).select_from(Customer).where(Customer.workgroup_id == workgroup.id)
    ).scalar_one()


def new_customers(count: int, *, bad_row: int | None = None, prefix="imp") -> str:
    rows = [["company name", "primary domain", "country", "city", "tags"]]
    for n in range(count):
        domain = f"{prefix}-{n}.example" if n != bad_row else "not a domain"
        rows.append([f"Imported {n}", domain, "FR", "Lyon", "imported, batch"])
    return csv_text(rows)


# ---------------------------------------------------------------- template and upload


def test_the_template_is_the_header_row_of_every_importable_field(client, settings, world):
    # When an admin downloads the customer template
    response = client.get(
        f"/imports/customers/template.csv?workgroupId={encode_id('Workgroup', world.home.id)}",
        headers={"Authorization": f"Bearer {mint_token(ADMIN, settings)}"},
    )

    # Then it is one header row, the export's columns first, as UTF-8 with a byte-order mark
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert response.content.decode("utf-8-sig") == TEMPLATE_HEADER + "\r\n"


@pytest.mark.parametrize(
    "email,status",
    [(World.email("sales_agent"), 403), (World.email("member"), 403), (None, 401)],
)
def test_who_may_not_import_gets_no_template_and_no_upload(client, settings, world, email, status):
    headers = {"Authorization": f"Bearer {mint_token(email, settings)}"} if email else {}
    template = client.get(
        f"/imports/customers/template.csv?workgroupId={encode_id('Workgroup', world.home.id)}",
        headers=headers,
    )
    uploaded = upload(client, settings, email, "customers", world.home, new_customers(1))
    assert (template.status_code, uploaded.status_code) == (status, status)


def test_an_upload_names_its_columns_and_suggests_a_mapping(client, settings, gql, world):
    # Given a file whose headers are written differently from the template's
    body = csv_text([["Company Name", "primary_domain", "Notes"], ["A", "a.example", "x"]])

    # When it is uploaded
    uploaded = uploaded_job(client, settings, ADMIN, "customers", world.home, body)

    # Then the job knows the columns and maps what it recognises, nothing else
    assert uploaded["columns"] == ["Company Name", "primary_domain", "Notes"]
    assert uploaded["total"] == 1
    assert uploaded["status"] == "UPLOADED"
    current = job(gql, ADMIN, uploaded["id"])
    assert current["suggestedMapping"] == [
        {"column": "Company Name", "field": "companyName"},
        {"column": "primary_domain", "field": "primaryDomain"},
    ]
    assert {"name": "primaryDomain", "label": "primary domain", "required": True} in current[
        "fields"
    ]


@pytest.mark.parametrize(
    "body,content_type,status,message",
    [
        (b"\xff\xfecompany name\n", "text/csv", 400, "not UTF-8"),
        (b"", "text/csv", 400, "empty"),
        (b"a,a\n1,2\n", "text/csv", 400, "must differ"),
        (b'a,b\n"unclosed,2\n', "text/csv", 400, "not valid CSV"),
        (b"a\n1\n", "application/json", 415, "text/csv"),
    ],
)
def test_a_file_that_cannot_be_read_is_refused_and_stores_nothing(
    client, settings, session, world, body, content_type, status, message
):
    response = upload(
        client, settings, ADMIN, "customers", world.home, body, content_type=content_type
    )
    assert response.status_code == status, response.text
    assert message in response.json()["errors"][0]["message"]
    from models.imports.jobs import ImportJob

    assert session.execute(select(func.count()).select_from(ImportJob)).scalar_one() == 0


def test_a_file_over_the_size_limit_is_refused(client, settings, world):
    settings.import_max_bytes = 100
    response = upload(client, settings, ADMIN, "customers", world.home, new_customers(10))
    assert response.status_code == 413
    assert response.json()["errors"][0]["extensions"]["code"] == "PAYLOAD_TOO_LARGE"


# ---------------------------------------------------------------- mapping, dry run, run


def test_a_mapping_without_the_required_fields_is_refused_up_front(
    client, settings, gql, session, world
):
    uploaded = uploaded_job(client, settings, ADMIN, "customers", world.home, new_customers(3))

    # When the run maps only the company name, or a column the file does not have
    missing = start(
        gql, ADMIN, uploaded["id"], dry_run=False, mapping={"company name": "companyName"}
    )
    unknown = start(
        gql,
        ADMIN,
        uploaded["id"],
        dry_run=False,
        mapping={"company name": "companyName", "primary domain": "primaryDomain", "x": "city"},
    )

    # Then both are refused with the reason, and the job was not started
    errors = missing["data"]["startImport"]["errors"]
    assert errors == [
        {
            "field": "mapping",
            "message": "Map a column to each required field: primaryDomain.",
            "code": "REQUIRED",
        }
    ]
    assert unknown["data"]["startImport"]["errors"][0]["code"] == "INVALID"
    assert "no column 'x'" in unknown["data"]["startImport"]["errors"][0]["message"]
    assert job(gql, ADMIN, uploaded["id"])["status"] == "UPLOADED"
    assert customers_of(session, world.home) == 3


def test_a_dry_run_counts_what_would_change_and_writes_nothing(
    client, settings, gql, session, world
):
    # Given a file with two new customers and one that exists with another city
    body = csv_text(
        [
            ["company name", "primary domain", "city"],
            ["New One", "new-one.example", "Paris"],
            ["New Two", "new-two.example", ""],
            ["Home Customer 0", world.home_customers[0].primary_domain, "Hamburg"],
            ["Home Customer 1", world.home_customers[1].primary_domain, "Berlin"],
        ]
    )
    uploaded = uploaded_job(client, settings, ADMIN, "customers", world.home, body)
    records_before = session.execute(select(func.count()).select_from(ActivityRecord)).scalar_one()

    # When it is checked
    checked = run(gql, ADMIN, uploaded["id"], dry_run=True)

    # Then the counts say what a run would do, and nothing was written
    assert (checked["status"], checked["dryRun"]) == ("SUCCEEDED", True)
    assert (checked["created"], checked["updated"], checked["unchanged"]) == (2, 1, 1)
    assert checked["processed"] == checked["total"] == 4
    assert customers_of(session, world.home) == 3
    session.expire_all()
    assert session.get(Customer, world.home_customers[0].id).city == "Berlin"
    assert (
        session.execute(select(func.count()).select_from(ActivityRecord)).scalar_one()
        == records_before
    )


def test_one_bad_row_in_ten_thousand_writes_nothing_and_names_the_row(
    client, settings, gql, session, world
):
    # Given 10,000 new customers of which the 5,001st has a bad domain (spreadsheet row 5,002)
    uploaded = uploaded_job(
        client, settings, ADMIN, "customers", world.home, new_customers(10_000, bad_row=5_000)
    )

    # When it is run
    finished = run(gql, ADMIN, uploaded["id"], dry_run=False)

    # Then the run failed on that row alone and no customer was added
    assert finished["status"] == "FAILED"
    assert finished["errorCount"] == 1
    assert finished["errors"] == [
        {"row": 5_002, "column": "primary domain", "message": "A domain has no spaces."}
    ]
    assert finished["processed"] == 10_000
    assert "nothing was written" in finished["message"]
    assert customers_of(session, world.home) == 3

    # When the file is corrected and run, then run again
    fixed = uploaded_job(client, settings, ADMIN, "customers", world.home, new_customers(10_000))
    first = run(gql, ADMIN, fixed["id"], dry_run=False)
    again = uploaded_job(client, settings, ADMIN, "customers", world.home, new_customers(10_000))
    second = run(gql, ADMIN, again["id"], dry_run=False)

    # Then the first created all of them with their tags, the second changed nothing
    assert (first["status"], first["created"], first["updated"]) == ("SUCCEEDED", 10_000, 0)
    assert (second["status"], second["created"], second["unchanged"]) == ("SUCCEEDED", 0, 10_000)
    assert customers_of(session, world.home) == 10_003
    some = session.execute(
        select(Customer).where(Customer.primary_domain == "imp-7777.example")
    ).scalar_one()
    assert (some.company_name, some.primary_location, some.city, some.version) == (
        "Imported 7777",
        "FR",
        "Lyon",
        1,
    )
    assert tags_by_customer(session=session, customer_ids=[some.id])[some.id] == [
        "batch",
        "imported",
    ]
    records = (
        session.execute(
            select(ActivityRecord)
            .where(ActivityRecord.action == "import.customers")
            .order_by(ActivityRecord.id)
        )
        .scalars()
        .all()
    )
    assert [(r.after["created"], r.after["unchanged"]) for r in records] == [
        (10_000, 0),
        (0, 10_000),
    ]


def test_exported_customers_import_back_unchanged(client, settings, gql, session, world):
    # Given customers with quotes, commas, new lines, formula-like and non-ASCII names
    make_customer(session, world.home, index="q1", company_name='Comma, "Quote"\nNewline')
    make_customer(
        session,
        world.home,
        index="q2",
        company_name="=SUM(A1)",
        city="Zürich",
        relationship="CLOUD_RESELLER",
    )
    make_customer(session, world.home, index="q3", company_name="東京 商事", tags=["@home", "x"])
    archive_customer(
        session=session, customer=world.home_customers[2], expected_version=None, actor_id=None
    )
    session.commit()
    versions = dict(session.execute(select(Customer.id, Customer.version)).all())
    exported = client.get(
        f"/exports/customers.csv?workgroupId={encode_id('Workgroup', world.home.id)}",
        headers={"Authorization": f"Bearer {mint_token(ADMIN, settings)}"},
    )
    assert "'=SUM(A1)" in exported.text  # neutralised for spreadsheets

    # When the export is imported as it is
    uploaded = uploaded_job(client, settings, ADMIN, "customers", world.home, exported.content)
    finished = run(gql, ADMIN, uploaded["id"], dry_run=False)

    # Then every row matched an existing customer and nothing changed
    assert (finished["status"], finished["errorCount"]) == ("SUCCEEDED", 0)
    assert (finished["created"], finished["updated"], finished["unchanged"]) == (0, 0, 6)
    session.expire_all()
    assert dict(session.execute(select(Customer.id, Customer.version)).all()) == versions


def test_a_run_updates_only_the_mapped_fields_of_matched_customers(
    client, settings, gql, session, world
):
    customer = world.home_customers[1]
    version = customer.version
    body = csv_text(
        [
            ["primary domain", "company name", "city", "relationship", "tags"],
            [customer.primary_domain.upper(), "Renamed", "", "direct", "gamma"],
        ]
    )
    uploaded = uploaded_job(client, settings, ADMIN, "customers", world.home, body)

    finished = run(gql, ADMIN, uploaded["id"], dry_run=False)

    assert (finished["updated"], finished["created"]) == (1, 0)
    session.expire_all()
    changed = session.get(Customer, customer.id)
    assert (changed.company_name, changed.city, changed.relationship) == ("Renamed", None, "DIRECT")
    assert (changed.business_id, changed.rank, changed.version) == ("H-1", 1, version + 1)
    assert tags_by_customer(session=session, customer_ids=[customer.id])[customer.id] == ["gamma"]


def test_rows_that_cannot_be_imported_are_each_named(client, settings, gql, session, world):
    archived = world.home_customers[0]
    archive_customer(session=session, customer=archived, expected_version=None, actor_id=None)
    session.commit()
    body = csv_text(
        [
            ["company name", "primary domain", "country", "relationship", "rank"],
            ["Ok", "ok.example", "DE", "", ""],
            ["Dup", "ok.example", "", "", ""],
            ["", "blank-name.example", "", "", ""],
            ["Bad", "bad.example", "XX", "FRIEND", "many"],
            ["Archived", archived.primary_domain, "", "", ""],
            ["Extra", "extra.example", "", "", "", "surplus"],
        ]
    )
    uploaded = uploaded_job(client, settings, ADMIN, "customers", world.home, body)

    checked = run(gql, ADMIN, uploaded["id"], dry_run=True)

    assert checked["status"] == "SUCCEEDED"
    assert sorted((e["row"], e["column"] or "") for e in checked["errors"]) == [
        (3, "primary domain"),
        (4, "company name"),
        (5, "country"),
        (5, "rank"),
        (5, "relationship"),
        (6, "primary domain"),
        (7, ""),
    ]
    messages = {(e["row"], e["column"]): e["message"] for e in checked["errors"]}
    assert messages[(3, "primary domain")] == "The primary domain ok.example is also in row 2."
    assert "archived" in messages[(6, "primary domain")]
    assert checked["created"] == 1
