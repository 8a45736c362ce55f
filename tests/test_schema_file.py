"""schema.graphql is the schema the code builds; regenerate it with `python3 dev.py schema`."""

from pathlib import Path

from graph.schema import schema_sdl

SCHEMA_FILE = Path(__file__).resolve().parents[1] / "schema.graphql"


def test_checked_in_schema_matches_the_code():
    assert SCHEMA_FILE.read_text() == schema_sdl(), (
        "schema.graphql is stale: run `python3 dev.py schema` and commit it"
    )
