"""The education report: GET /exports/education.csv?workgroupId=…[&agreementId=…] with a bearer
token. A CSV (UTF-8) of the EDUCATION_ON_DEMAND consumption of one workgroup, or of one of its
agreements, for the roles granted the export (admin, training_manager; docs/permissions.md). Cells a
spreadsheet would run as formulas are neutralised; the text survives a round trip through the
csv module.

The tests of this module only read; they share one world built once (see `shared`).
"""

import csv
import io
from collections.abc import Iterator
from decimal import Decimal

import pytest
from sqlmodel import Session

from graph.ids import encode_id
from models.accounts.tables import Workgroup
from tests.activity_factories import (
    EDUCATION,
    REACTIVE,
    Shared,
    agreement,
    amount,
    consume,
    gid,
    iso,
    package,
    shared_world,
)
from tests.conftest import World, grant, make_customer, make_workgroup, token_for

PATH = "/exports/education.csv"
HEADER = ["date", "agreement", "package", "quantity", "hours", "description"]
STUDIO_ADMIN = "admin@studio.example"

# Home's education consumption in the dashboard scenario (tests/activity_factories.py):
# (day, agreement, package, quantity, hours, description). Expired agreements, inactive and
# add-on packages are part of the report; other categories and other workgroups are not.
# fmt: off
HOME_EDUCATION = [
    (-60, "H-300", "Enterprise old",       "7",   None, "Old course"),
    (-31, "H-200", "Enterprise legacy",    "0.5", None, "Legacy"),
    (-20, "H-100", "Enterprise core",      "1.5", None, "Security workshop"),
    (-6,  "H-100", "Training pack",        "2",   None, "Pack"),
    (-3,  "H-100", "Enterprise extension", "1",   None, "Labs"),
    (-2,  "H-100", "Enterprise core",      "3",   "3",  "Azure basics"),
]
# fmt: on

NON_ASCII = "Schulung f\u00fcr Zo\u00eb \u2013 \u6771\u4eac \u2713"  # für Zoë, en dash, Tokyo, ✓

# Text that CSV has to quote or a spreadsheet might run: (as recorded, as the cell must read).
# fmt: off
TRICKY_TEXT = {
    "comma and quotes":  ('Workshop, "advanced" track', 'Workshop, "advanced" track'),
    "newlines":          ("line one\nline two\r\nline three", "line one\nline two\r\nline three"),
    "non-ASCII":         (NON_ASCII, NON_ASCII),
    "formula =":         ("=HYPERLINK(\"http://x.example\",\"x\")",
                          "'=HYPERLINK(\"http://x.example\",\"x\")"),
    "formula +":         ("+49 30 1234", "'+49 30 1234"),
    "formula -":         ("-2 hours, correction", "'-2 hours, correction"),
    "formula @":         ("@SUM(A1:A2)", "'@SUM(A1:A2)"),
    "apostrophe inside": ("Don't = panic", "Don't = panic"),
    "empty":             (None, ""),
}
# fmt: on
TRICKY_AGREEMENT = '=cmd|"/c calc"!A0'
TRICKY_PACKAGE = 'Training, "gold" tier'


def export(shared: Shared, email: str | None, workgroup_id: str | None, agreement_id=None):
    """GET the report as `email` (no token when None), for a workgroup and an agreement."""
    params = {"workgroupId": workgroup_id, "agreementId": agreement_id}
    headers = {}
    if email is not None:
        headers["Authorization"] = f"Bearer {token_for(email, shared.gql.settings)}"
    return shared.gql.http.get(
        PATH, params={k: v for k, v in params.items() if v is not None}, headers=headers
    )


def wid(workgroup: Workgroup) -> str:
    return encode_id("Workgroup", workgroup.id)  # type: ignore[arg-type]


def build_studio(session: Session) -> Workgroup:
    """A third workgroup whose education records hold TRICKY_TEXT, one record per day."""
    studio = make_workgroup(session, "Studio")
    grant(session, STUDIO_ADMIN, "admin", studio)
    customer = make_customer(session, studio, index="studio", company_name="Studio Customer")
    deal = agreement(session, customer, TRICKY_AGREEMENT, starts=-50, ends=50)
    line = amount(session, package(session, deal, TRICKY_PACKAGE), EDUCATION, 100)
    for offset, (recorded, _) in enumerate(TRICKY_TEXT.values()):
        consume(session, line, -1 - offset, 1, hours="0.25", description=recorded)
    consume(session, amount(session, package(session, deal, "Other"), REACTIVE, 9), -1, 1)
    session.commit()
    return studio


@pytest.fixture(scope="module")
def shared(engine, database_url) -> Iterator[Shared]:
    yield from shared_world(engine, database_url, lambda session, _world: build_studio(session))


@pytest.fixture(autouse=True)
def _empty_tables() -> Iterator[None]:
    """Overrides the per-test emptying of conftest: this module only reads, and `shared`
    empties the tables once when the module is done."""
    yield


def parse(response) -> list[list[str]]:
    """The CSV rows of a response, decoded as UTF-8 (strictly)."""
    text = response.content.decode("utf-8")
    return list(csv.reader(io.StringIO(text, newline="")))


def normalised(rows: list[list[str]]) -> list[tuple]:
    """Data rows with numbers as Decimals, so "2", "2.0" and "2.00" compare equal."""
    return sorted(
        (day, number, name, Decimal(quantity), Decimal(hours) if hours else None, text)
        for day, number, name, quantity, hours, text in rows
    )


def expected(rows) -> list[tuple]:
    return sorted(
        (iso(day), number, name, Decimal(quantity), Decimal(hours) if hours else None, text)
        for day, number, name, quantity, hours, text in rows
    )


def error_code(response) -> str:
    return response.json()["errors"][0]["extensions"]["code"]


# ------------------------------------------------------------------ who may export

# fmt: off
EXPORT_MATRIX = {
    "admin":             (World.email("admin"),             200),
    "training_manager":  (World.email("training_manager"),  200),
    "global_admin":      (World.GLOBAL_ADMIN,               200),
    "customer_activity": (World.email("customer_activity"), 403),
    "admin_agent":       (World.email("admin_agent"),       403),
    "sales_agent":       (World.email("sales_agent"),       403),
    "support_viewer":    (World.email("support_viewer"),    403),
    "member":            (World.email("member"),            403),
    "admin_away":        (World.ADMIN_AWAY,                 404),  # Home is not theirs
    "nobody":            (World.NOBODY,                     404),  # no workgroup at all
}
# fmt: on
CODES = {403: "FORBIDDEN", 404: "NOT_FOUND"}


@pytest.mark.parametrize(("email", "status"), EXPORT_MATRIX.values(), ids=EXPORT_MATRIX)
def test_who_may_export_home(shared: Shared, email, status):
    # Given Home's education consumption
    # When a viewer asks for Home's report
    response = export(shared, email, shared.home)

    # Then admins and training managers get the CSV; every other role is refused
    assert response.status_code == status, response.text
    if status == 200:
        assert response.headers["content-type"] == "text/csv; charset=utf-8"
        assert parse(response)[0] == HEADER
        return
    assert error_code(response) == CODES[status]
    assert "H-100" not in response.text and "Azure" not in response.text


def test_no_token_is_unauthenticated(shared: Shared):
    # Given no Authorization header
    # When the report is asked for
    response = export(shared, None, shared.home)

    # Then the answer is 401 with a Bearer challenge
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    assert error_code(response) == "UNAUTHENTICATED"


def test_a_bad_token_is_unauthenticated(shared: Shared):
    # Given a token that is not one
    # When the report is asked for with it
    response = shared.gql.http.get(
        PATH, params={"workgroupId": shared.home}, headers={"Authorization": "Bearer not.a.jwt"}
    )

    # Then the answer is 401
    assert response.status_code == 401
    assert error_code(response) == "UNAUTHENTICATED"


@pytest.mark.parametrize(
    "workgroup",
    ["away", "unknown", "a customer's id", "garbage", "missing"],
)
def test_a_workgroup_the_admin_cannot_see_is_not_found(shared: Shared, workgroup):
    # Given Home's admin and a workgroup id that is not Home's
    ids = {
        "away": wid(shared.world.away),
        "unknown": encode_id("Workgroup", 987654),
        "a customer's id": encode_id("Customer", shared.world.home_customers[0].id),  # type: ignore[arg-type]
        "garbage": "%%%",
        "missing": None,
    }

    # When they ask for its report
    response = export(shared, World.email("admin"), ids[workgroup])

    # Then it is not found, and nothing of another workgroup comes back
    assert response.status_code == 404, response.text
    assert error_code(response) == "NOT_FOUND"
    assert "Away training" not in response.text


# ------------------------------------------------------------------ what the report holds


def test_the_report_holds_every_education_record_of_the_workgroup(shared: Shared):
    # Given Home's education records, other categories, and Away's education record
    # When Home's admin exports Home's report
    response = export(shared, World.email("admin"), shared.home)

    # Then the header comes first, exactly, then one row per education record of Home
    assert response.content.startswith(b"date,agreement,package,quantity,hours,description\r\n")
    rows = parse(response)
    assert rows[0] == HEADER
    assert all(len(row) == len(HEADER) for row in rows)
    assert normalised(rows[1:]) == expected(HOME_EDUCATION)
    # and nothing of other categories or of Away
    assert "Mail flow issue" not in response.text
    assert "Away training" not in response.text


def test_the_training_managers_report_equals_the_admins(shared: Shared):
    # Given Home's education records
    # When the training manager and the admin export Home's report
    trainer = export(shared, World.email("training_manager"), shared.home)
    admin = export(shared, World.email("admin"), shared.home)

    # Then both get the same rows
    assert trainer.status_code == admin.status_code == 200
    assert normalised(parse(trainer)[1:]) == normalised(parse(admin)[1:])
    assert len(parse(trainer)) == len(HOME_EDUCATION) + 1


def test_a_global_admin_exports_one_workgroup_at_a_time(shared: Shared):
    # Given education records in Home and in Away
    # When the global admin exports Away's report
    response = export(shared, World.GLOBAL_ADMIN, wid(shared.world.away))

    # Then it holds Away's one record only
    rows = parse(response)
    away_row = (-2, "W-100", "Away enterprise", "6", "6", "Away training")
    assert normalised(rows[1:]) == expected([away_row])


def test_an_agreement_narrows_the_report(shared: Shared):
    # Given Home's education records in H-100, H-200 and H-300
    # When the admin exports H-100's report
    response = export(shared, World.email("admin"), shared.home, gid(shared.dash.current))

    # Then only H-100's rows come
    assert response.status_code == 200
    rows = parse(response)
    assert rows[0] == HEADER
    assert normalised(rows[1:]) == expected(r for r in HOME_EDUCATION if r[1] == "H-100")


@pytest.mark.parametrize("agreement_id", ["away", "unknown", "a package's id", "garbage"])
def test_an_agreement_outside_the_workgroup_is_not_found(shared: Shared, agreement_id):
    # Given Home's workgroup and an agreement id that is not one of Home's
    ids = {
        "away": gid(shared.dash.away),
        "unknown": encode_id("Agreement", 987654),
        "a package's id": gid(shared.dash.enterprise),
        "garbage": "%%%",
    }

    # When Home's admin asks for Home's report of that agreement
    response = export(shared, World.email("admin"), shared.home, ids[agreement_id])

    # Then it is not found, and no row of any workgroup comes back
    assert response.status_code == 404, response.text
    assert error_code(response) == "NOT_FOUND"
    assert "Away training" not in response.text and "Azure basics" not in response.text


def test_text_survives_a_round_trip_through_the_csv_module(shared: Shared):
    # Given Studio's records: commas, quotes, newlines, non-ASCII text, formulas, empty
    # When Studio's admin exports the report
    response = export(shared, STUDIO_ADMIN, wid(shared.extra))

    # Then it is UTF-8, and parsing it back gives each text as recorded (formulas neutralised)
    assert response.status_code == 200
    assert NON_ASCII.encode() in response.content
    rows = parse(response)
    assert rows[0] == HEADER
    body = rows[1:]
    assert len(body) == len(TRICKY_TEXT), "one row per record, newlines kept inside cells"
    by_day = {row[0]: row for row in body}
    for offset, (name, (_, cell)) in enumerate(TRICKY_TEXT.items()):
        row = by_day[iso(-1 - offset)]
        assert row[5] == cell, name
        assert Decimal(row[3]) == 1 and Decimal(row[4]) == Decimal("0.25"), name


def test_agreement_and_package_cells_are_neutralised_and_quoted(shared: Shared):
    # Given Studio's agreement numbered like a formula and a package named with comma and quotes
    # When Studio's admin exports the report
    rows = parse(export(shared, STUDIO_ADMIN, wid(shared.extra)))

    # Then the number is neutralised, the name kept, in every row
    assert {(row[1], row[2]) for row in rows[1:]} == {("'" + TRICKY_AGREEMENT, TRICKY_PACKAGE)}


@pytest.mark.parametrize("prefix", ["=", "+", "-", "@"])
def test_no_cell_starts_a_formula(shared: Shared, prefix):
    # Given Studio's records with descriptions starting with a formula character
    # When the report is exported
    rows = parse(export(shared, STUDIO_ADMIN, wid(shared.extra)))

    # Then no text cell starts with it; the neutralised cells start with an apostrophe
    text_cells = [cell for row in rows[1:] for cell in (row[1], row[2], row[5])]
    assert not [cell for cell in text_cells if cell.startswith(prefix)]
    assert any(cell.startswith("'" + prefix) for cell in text_cells)
