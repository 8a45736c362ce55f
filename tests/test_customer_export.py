"""GET /exports/customers.csv: a whole workgroup, streamed, quoted, permission-checked."""

import csv
import io

import pytest

from graph.auth import mint_token
from graph.ids import encode_id
from models.customers.operations import archive_customer
from tests.conftest import World, make_customer

HEADER = [
    "id",
    "company name",
    "primary domain",
    "relationship",
    "tags",
    "status",
    "country",
    "city",
]


def export(client, settings, email, workgroup_id):
    headers = {"Authorization": f"Bearer {mint_token(email, settings)}"} if email else {}
    return client.get(f"/exports/customers.csv?workgroupId={workgroup_id}", headers=headers)


def parsed(response) -> list[list[str]]:
    assert response.headers["content-type"].startswith("text/csv")
    return list(csv.reader(io.StringIO(response.content.decode("utf-8"))))


def test_exports_every_customer_whatever_the_list_shows(client, settings, session, world: World):
    # Given an archived customer, which the default list leaves out
    archive_customer(
        session=session, customer=world.home_customers[0], expected_version=None, actor_id=None
    )
    session.commit()

    # When an admin exports the workgroup
    rows = parsed(
        export(client, settings, World.email("admin"), encode_id("Workgroup", world.home.id))
    )

    # Then every customer of Home is there, archived too, and none of Away
    assert rows[0] == HEADER
    assert sorted(r[1] for r in rows[1:]) == [
        "Home Customer 0",
        "Home Customer 1",
        "Home Customer 2",
    ]
    assert {r[5] for r in rows[1:]} == {"ACTIVE", "ARCHIVED"}
    assert rows[1][6:] == ["DE", "Berlin"]


def test_quoting_unicode_and_formula_cells(client, settings, session, world: World):
    # Given names a spreadsheet could misread or run
    make_customer(session, world.home, index="q1", company_name='Comma, "Quote"\nNewline')
    make_customer(session, world.home, index="q2", company_name='=HYPERLINK("x")', city="Zürich")
    make_customer(session, world.home, index="q3", company_name="東京 商事", tags=["a-b", "@c"])

    # When exported
    rows = parsed(
        export(client, settings, World.email("sales_agent"), encode_id("Workgroup", world.home.id))
    )
    by_name = {r[1]: r for r in rows[1:]}

    # Then each value survives the round trip, and formulas are neutralised
    assert 'Comma, "Quote"\nNewline' in by_name
    assert '\'=HYPERLINK("x")' in by_name
    assert by_name['\'=HYPERLINK("x")'][7] == "Zürich"
    assert by_name["東京 商事"][4] == "'@c, a-b"


@pytest.mark.parametrize(
    "role", ["customer_activity", "training_manager", "support_viewer", "member"]
)
def test_roles_that_may_not_export_get_403(client, settings, world: World, role):
    response = export(client, settings, World.email(role), encode_id("Workgroup", world.home.id))
    assert response.status_code == 403
    assert response.json()["errors"][0]["extensions"]["code"] == "FORBIDDEN"


def test_another_workgroup_is_404_and_no_token_401(client, settings, world: World):
    away = encode_id("Workgroup", world.away.id)
    assert export(client, settings, World.email("admin"), away).status_code == 404
    assert export(client, settings, World.email("admin"), "garbage").status_code == 404
    assert export(client, settings, None, away).status_code == 401
