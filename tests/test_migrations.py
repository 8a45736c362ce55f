"""Migrations build exactly the tables the models declare, and can be undone, on both databases."""

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect

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
