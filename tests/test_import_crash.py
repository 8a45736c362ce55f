"""A server killed (SIGKILL) in the middle of a large import: the database holds none of it,
the job says it was interrupted, and running it again imports every row once.

CLIENTELE_IMPORT_CRASH_ROWS sets the file's size (30,000 rows by default; 100,000 for the
size the import is built for — about a minute per run on SQLite)."""

import os
import time

import httpx
import pytest
from sqlalchemy import func, select
from sqlmodel import Session

from graph.auth import mint_token
from graph.ids import encode_id
from models.customers.tables import Customer
from models.settings import Settings
from tests.attack_support import ServerProcess
from tests.conftest import TEST_SECRET, World
from tests.import_support import JOB, START, csv_text

pytestmark = pytest.mark.e2e

ROWS = int(os.environ.get("CLIENTELE_IMPORT_CRASH_ROWS", "30000"))
BATCH = 500


def imported(engine) -> int:
    with Session(engine) as session:
        return session.execute(
            select(func.count())
            .select_from(Customer)
            .where(Customer.primary_domain.like("crash-%"))  # type: ignore[attr-defined]
        ).scalar_one()


def poll(server: ServerProcess, token: str, job_id: str) -> dict:
    response = server.post(token, JOB, {"id": job_id})
    assert response.status_code == 200, response.text
    return response.json()["data"]["importJob"]


def test_a_server_killed_mid_import_leaves_nothing_and_the_import_runs_again(
    database_url, engine, world, tmp_path
):
    token = mint_token(World.email("admin"), Settings(jwt_secret=TEST_SECRET))
    rows = [["company name", "primary domain", "tags"]] + [
        [f"Crash {n}", f"crash-{n}.example", "crash"] for n in range(ROWS)
    ]
    server = ServerProcess(
        database_url, TEST_SECRET, tmp_path / "server.log", CLIENTELE_IMPORT_BATCH_SIZE=str(BATCH)
    )
    try:
        # Given a large file uploaded to a running server, and a run under way
        server.start()
        uploaded = httpx.post(
            f"{server.url}/imports/customers?workgroupId={encode_id('Workgroup', world.home.id)}",
            content=csv_text(rows).encode(),
            headers={"Authorization": f"Bearer {token}", "Content-Type": "text/csv"},
            timeout=60,
        )
        assert uploaded.status_code == 201, uploaded.text
        job_id = uploaded.json()["importJob"]["id"]
        started = server.post(token, START, {"input": {"importJobId": job_id, "dryRun": False}})
        assert started.json()["data"]["startImport"]["errors"] == []
        deadline = time.monotonic() + 60
        while (current := poll(server, token, job_id))["processed"] < 4 * BATCH:
            assert current["status"] in ("QUEUED", "RUNNING"), current
            assert time.monotonic() < deadline, current
            time.sleep(0.01)
        assert current["status"] == "RUNNING" and current["processed"] < ROWS, current

        # When the server is killed part-way
        server.kill()

        # Then none of the file is in the database
        assert imported(engine) == 0

        # And after a restart the job says it was interrupted, and a new run imports it all
        server.start()
        interrupted = poll(server, token, job_id)
        assert interrupted["status"] == "FAILED"
        assert "interrupted" in interrupted["message"]
        again = server.post(token, START, {"input": {"importJobId": job_id, "dryRun": False}})
        assert again.json()["data"]["startImport"]["errors"] == []
        began = time.monotonic()
        deadline = began + 600
        while (current := poll(server, token, job_id))["status"] not in ("SUCCEEDED", "FAILED"):
            assert time.monotonic() < deadline, current
            time.sleep(0.2)
        print(f"\n{ROWS}-row import ran in {time.monotonic() - began:.1f} s")
        assert (current["status"], current["created"], current["errorCount"]) == (
            "SUCCEEDED",
            ROWS,
            0,
        ), current
        assert imported(engine) == ROWS
    finally:
        server.stop()
