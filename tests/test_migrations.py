"""Migrations build exactly the tables the models declare, and can be undone, on both databases."""

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, text

import models
from models.migrate import current_revision, downgrade, head_revision, upgrade


def test_migrated_database_matches_the_models(engine):
    # Given the session's database, migrated to head by the `engine` fixture
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        # When the models are compared with what the migrations built
        differences = compare_metadata(context, models.metadata)

    # Then there is nothing a new migration would have to add
    assert differences == []
    assert current_revision(engine) == head_revision()


def test_downgrade_to_base_and_upgrade_again(engine):
    # Given a migrated database; When it is downgraded to nothing
    downgrade(engine, "base")
    try:
        # Then no table of ours is left
        leftover = set(inspect(engine).get_table_names()) & set(models.metadata.tables)
        assert leftover == set()
        assert current_revision(engine) is None
    finally:
        # And upgrading restores the head revision
        upgrade(engine)
    assert current_revision(engine) == head_revision()
    assert set(models.metadata.tables) <= set(inspect(engine).get_table_names())


BACKFILL_ROWS = [
    "INSERT INTO workgroup (id, name, created_at) VALUES (901, 'Backfill', '2026-01-01')",
    "INSERT INTO app_user (id, email, created_at) VALUES (901, 'b@backfill.example', '2026-01-01')",
    "INSERT INTO customer (id, workgroup_id, company_name, primary_domain, status, created_at,"
    " updated_at, version, domains) VALUES (901, 901, 'B', 'b.example', 'ACTIVE', '2026-01-01',"
    " '2026-01-01', 1, '[]')",
    "INSERT INTO tag (id, workgroup_id, name, name_key) VALUES (901, 901, 'x', 'x')",
    "INSERT INTO customer_tag (customer_id, tag_id) VALUES (901, 901)",
    "INSERT INTO user_group (id, workgroup_id, name) VALUES (901, 901, 'G')",
    "INSERT INTO group_member (group_id, user_id) VALUES (901, 901)",
]


def test_tenant_keys_are_filled_from_the_linked_rows(engine):
    # Given a database at the revision before tenant keys, with linked rows
    downgrade(engine, "0006")
    try:
        with engine.begin() as connection:
            for statement in BACKFILL_ROWS:
                connection.execute(text(statement))
        # When it is upgraded
        upgrade(engine)
        # Then every link row carries the workgroup of the row it links
        with engine.connect() as connection:
            tags = connection.execute(text("SELECT workgroup_id FROM customer_tag")).all()
            members = connection.execute(text("SELECT workgroup_id FROM group_member")).all()
        assert tags == [(901,)]
        assert members == [(901,)]
    finally:
        upgrade(engine)
        with engine.begin() as connection:
            for table in ("group_member", "user_group", "customer_tag", "tag", "customer"):
                connection.execute(text(f"DELETE FROM {table} WHERE workgroup_id = 901"))
            connection.execute(text("DELETE FROM app_user WHERE id = 901"))
            connection.execute(text("DELETE FROM workgroup WHERE id = 901"))


# (record id, action, target type, target id, after), written as revision 0007 wrote them
OLD_RECORDS = [
    (9001, "customer.update", "Customer", 9201, '{"city": "Bonn"}'),
    (9002, "contact.add", "Contact", 9201, '{"email": "a@b.example", "customerId": 9201}'),
    (9003, "contact.update", "Contact", 9201, '{"job_title": "CTO"}'),
    (9004, "contact.move", "Contact", 9201, '{"customerId": 9202}'),
    (9005, "contact.invite", "Contact", 9201, '{"email": "a@b.example"}'),
    (9006, "contact.move", "Contact", 9201, '{"customerId": null}'),
    (9007, "contact.update", "Contact", 9201, '{"phone": "1"}'),
    (9008, "contact.update", "Contact", 9202, '{"phone": "2"}'),
    (9009, "project.member.add", "Project", 9201, '{"customerId": 9202}'),
    (9010, "case.open", "SupportCase", 9201, '{"number": 1}'),
    (9011, "import.customers", "ImportJob", 9201, '{"created": 1}'),
    (9012, "project.member.remove", "Project", 9201, '{"customerId": 987654}'),
]
# The customer each record concerns once upgraded.
CUSTOMER_OF_RECORD = {
    9001: 9201,  # its target
    9002: 9201,  # where the contact was added
    9003: 9201,  # where the contact was then
    9004: 9202,  # where it moved to
    9005: 9202,
    9006: 9202,  # moved to no customer: the one it left
    9007: None,  # at no customer
    9008: 9201,  # never placed by the log: where it is now
    9009: 9202,  # the member
    9010: 9201,  # the case's customer
    9011: None,
    9012: None,  # a customer that does not exist
}
OLD_ROWS = [
    "INSERT INTO workgroup (id, name, created_at) VALUES (902, 'Trail', '2026-01-01')",
    "INSERT INTO app_user (id, email, created_at) VALUES (902, 't@trail.example', '2026-01-01')",
    *(
        "INSERT INTO customer (id, workgroup_id, company_name, primary_domain, status, created_at,"
        f" updated_at, version, domains) VALUES ({pk}, 902, 'T', 't{pk}.example', 'ACTIVE',"
        " '2026-01-01', '2026-01-01', 1, '[]')"
        for pk in (9201, 9202)
    ),
    *(
        "INSERT INTO contact (id, workgroup_id, customer_id, first_name, last_name, email,"
        f" is_main, created_at) VALUES ({pk}, 902, {customer}, 'A', 'B', 'c{pk}@b.example',"
        " false, '2026-01-01')"
        for pk, customer in ((9201, "NULL"), (9202, "9201"))
    ),
    "INSERT INTO support_case (id, workgroup_id, number, title, status, severity, classification,"
    " customer_id, primary_contact_id, created_at) VALUES (9201, 902, 1, 'T', 'OPEN', 'LOW',"
    " 'STANDARD', 9201, 902, '2026-01-01')",
    *(
        "INSERT INTO activity_record (id, at, workgroup_id, action, target_type, target_id, after)"
        f" VALUES ({pk}, '2026-01-01', 902, '{action}', '{kind}', {target}, '{after}')"
        for pk, action, kind, target, after in OLD_RECORDS
    ),
]


def _remove_workgroup_902(engine) -> None:
    with engine.begin() as connection:
        for table in ("activity_record", "support_case", "contact", "customer"):
            connection.execute(text(f"DELETE FROM {table} WHERE workgroup_id = 902"))
        connection.execute(text("DELETE FROM app_user WHERE id = 902"))
        connection.execute(text("DELETE FROM workgroup WHERE id = 902"))


def test_activity_records_are_given_the_customer_they_concern(engine):
    # Given a database at the revision before, with records as that revision wrote them
    downgrade(engine, "0007")
    try:
        with engine.begin() as connection:
            for statement in OLD_ROWS:
                connection.execute(text(statement))
        # When it is upgraded
        upgrade(engine)
        # Then each record names the customer it concerns, where that can be told
        with engine.connect() as connection:
            found = dict(
                connection.execute(
                    text("SELECT id, customer_id FROM activity_record WHERE workgroup_id = 902")
                ).all()
            )
        assert found == CUSTOMER_OF_RECORD
    finally:
        upgrade(engine)
        _remove_workgroup_902(engine)


def test_contacts_sharing_an_address_at_one_customer_stop_the_upgrade(engine):
    # Given a database at the revision before, where one customer has two contacts whose
    # addresses differ only in case
    downgrade(engine, "0007")
    try:
        with engine.begin() as connection:
            for statement in OLD_ROWS[:4]:
                connection.execute(text(statement))
            for pk, email in ((9203, "dup@b.example"), (9204, "DUP@b.example")):
                connection.execute(
                    text(
                        "INSERT INTO contact (id, workgroup_id, customer_id, first_name,"
                        " last_name, email, is_main, created_at) VALUES"
                        f" ({pk}, 902, 9201, 'A', 'B', '{email}', false, '2026-01-01')"
                    )
                )
        # When it is upgraded
        with pytest.raises(RuntimeError) as refused:
            upgrade(engine)
        # Then the upgrade stops, naming them, and leaves the database as it was
        assert "customer 9201: dup@b.example (2 contacts)" in str(refused.value)
        assert current_revision(engine) == "0007"
        # and once one of them is moved to no customer, it goes through
        with engine.begin() as connection:
            connection.execute(text("UPDATE contact SET customer_id = NULL WHERE id = 9204"))
        upgrade(engine)
        assert current_revision(engine) == head_revision()
    finally:
        with engine.begin() as connection:
            connection.execute(text("UPDATE contact SET customer_id = NULL WHERE id = 9204"))
        upgrade(engine)
        _remove_workgroup_902(engine)
