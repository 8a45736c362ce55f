"""Migrations build exactly the tables the models declare, and can be undone, on both databases."""

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
