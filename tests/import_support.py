"""Uploading files for import and waiting for their jobs, shared by the import tests."""

import csv
import io
import time

from graph.auth import mint_token
from graph.ids import encode_id

START = """
mutation($input: StartImportInput!) {
  startImport(input: $input) {
    importJob { id status dryRun }
    errors { field message code }
  }
}
"""
JOB = """
query($id: ID!) {
  importJob(id: $id) {
    id kind fileName status total processed created updated unchanged errorCount message
    dryRun columns
    mapping { column field }
    suggestedMapping { column field }
    fields { name label required }
    errors { row column message }
  }
}
"""
FINISHED = ("SUCCEEDED", "FAILED")


def csv_text(rows: list[list[str]]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerows(rows)
    return buffer.getvalue()


def upload(client, settings, email, kind, workgroup, body, *, content_type="text/csv", name=None):
    headers = {"Content-Type": content_type}
    if email is not None:
        headers["Authorization"] = f"Bearer {mint_token(email, settings)}"
    if isinstance(body, str):
        body = body.encode()
    query = f"workgroupId={encode_id('Workgroup', workgroup.id)}"
    if name:
        query += f"&fileName={name}"
    return client.post(f"/imports/{kind}?{query}", content=body, headers=headers)


def uploaded_job(client, settings, email, kind, workgroup, body) -> dict:
    response = upload(client, settings, email, kind, workgroup, body)
    assert response.status_code == 201, response.text
    return response.json()["importJob"]


def start(gql, email, job_id, *, dry_run, mapping=None) -> dict:
    variables = {"input": {"importJobId": job_id, "dryRun": dry_run}}
    if mapping is not None:
        variables["input"]["mapping"] = [{"column": c, "field": f} for c, f in mapping.items()]
    return gql(email, START, variables)


def job(gql, email, job_id) -> dict:
    body = gql(email, JOB, {"id": job_id})
    assert "errors" not in body, body
    return body["data"]["importJob"]


def wait_for(gql, email, job_id, timeout: float = 120.0) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        current = job(gql, email, job_id)
        if current["status"] in FINISHED:
            return current
        assert time.monotonic() < deadline, current
        time.sleep(0.05)


def run(gql, email, job_id, *, dry_run, mapping=None) -> dict:
    """Starts a dry run or a run and returns the finished job."""
    started = start(gql, email, job_id, dry_run=dry_run, mapping=mapping)
    payload = started["data"]["startImport"]
    assert payload["errors"] == [], payload
    return wait_for(gql, email, job_id)
