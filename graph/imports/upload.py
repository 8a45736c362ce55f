"""CSV files for import over HTTP, decided by the same authorizer as everything else.

POST /imports/{customers|contacts}?workgroupId=…&fileName=…  (body: the CSV file) stores the
file and answers 201 with the new import job (its columns and the suggested mapping); the
client then maps columns and starts a dry run or a run with the `startImport` mutation.
GET /imports/{customers|contacts}/template.csv?workgroupId=… is the header row to fill in.
"""

import logging

import orjson
from sqlalchemy.engine import Engine
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response

from graph.auth import Unauthenticated, bearer_token, identity_from_token
from graph.exports import Refusal, authorized_workgroup, refusal_response
from graph.ids import encode_id
from models.imports import jobs as domain
from models.settings import Settings
from policies import Authorizer
from policies.coordinates import IMPORT_COORDINATES
from policies.restriction import serving

log = logging.getLogger("clientele.http")

KINDS = {"customers": domain.ImportKind.CUSTOMERS, "contacts": domain.ImportKind.CONTACTS}
Refusal.CODES.setdefault(413, "PAYLOAD_TOO_LARGE")
Refusal.CODES.setdefault(415, "UNSUPPORTED_MEDIA_TYPE")


def job_summary(job: domain.ImportJob) -> dict:
    return {
        "id": encode_id("ImportJob", job.id),  # type: ignore[arg-type]
        "kind": job.kind,
        "fileName": job.file_name,
        "status": job.status,
        "columns": job.columns,
        "total": job.total,
        "suggestedMapping": [
            {"column": column, "field": field}
            for column, field in domain.suggested_mapping(job.kind, job.columns).items()
        ],
    }


class ImportFiles:
    def __init__(self, *, engine: Engine, authorizer: Authorizer, settings: Settings):
        self.engine = engine
        self.authorizer = authorizer
        self.settings = settings

    async def upload(self, request: Request) -> Response:
        """Everything that can refuse the upload — the token, the viewer's right to import
        into the workgroup, the declared size — is decided before a byte of the body is read;
        the body is then read with a running cap and kept as received, without copies."""
        request_id = request.state.request_id
        try:
            kind = self._kind(request)
            content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
            if content_type not in ("text/csv", "application/csv", "text/plain"):
                raise Refusal(415, "Send the file as text/csv.")
            token = bearer_token(request.headers.get("authorization"))
            await run_in_threadpool(self._allowed, request, token, kind)
            declared = request.headers.get("content-length")
            if declared and declared.isdigit() and int(declared) > self.settings.import_max_bytes:
                raise self._too_large()
            raw = await self._body(request)
            job = await run_in_threadpool(self._store, request, token, kind, raw)
        except Unauthenticated as error:
            return refusal_response(Refusal(401, str(error)), request_id)
        except Refusal as refusal:
            return refusal_response(refusal, request_id)
        except ClientDisconnect:
            log.info("request %s: the client disconnected before its file was read", request_id)
            return Response(status_code=400)  # nobody is left to read it
        return Response(
            orjson.dumps({"importJob": job}), status_code=201, media_type="application/json"
        )

    async def _body(self, request: Request) -> bytes:
        chunks: list[bytes] = []
        size = 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > self.settings.import_max_bytes:
                raise self._too_large()
            chunks.append(chunk)
        return chunks[0] if len(chunks) == 1 else b"".join(chunks)

    async def template(self, request: Request) -> Response:
        request_id = request.state.request_id
        try:
            kind = self._kind(request)
            token = bearer_token(request.headers.get("authorization"))
            await run_in_threadpool(self._allowed, request, token, kind)
        except Unauthenticated as error:
            return refusal_response(Refusal(401, str(error)), request_id)
        except Refusal as refusal:
            return refusal_response(refusal, request_id)
        return Response(
            # A byte-order mark, so that spreadsheet programs open it as UTF-8.
            "\ufeff" + domain.template(kind),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{kind.lower()}-template.csv"'},
        )

    def _kind(self, request: Request) -> domain.ImportKind:
        kind = KINDS.get(request.path_params.get("kind", ""))
        if kind is None:
            raise Refusal(404, "Imports are of customers or contacts.")
        return kind

    def _too_large(self) -> Refusal:
        return Refusal(413, f"The file exceeds {self.settings.import_max_bytes} bytes.")

    def _authorized_workgroup(
        self, session: Session, request: Request, token: str, kind: domain.ImportKind
    ) -> tuple[int, int]:
        """(workgroup id, viewer id) when the viewer may import `kind` into the workgroup."""
        email = identity_from_token(token, self.settings)
        coordinate = IMPORT_COORDINATES[kind.value]
        viewer, _, workgroup_id = authorized_workgroup(
            session, email, self.authorizer, request, coordinate
        )
        return workgroup_id, viewer.id  # type: ignore[return-value]

    def _allowed(self, request: Request, token: str, kind: domain.ImportKind) -> None:
        """Refuses (401, 404, 403) unless the token's viewer may import `kind` into the
        request's workgroup."""
        with serving(), Session(self.engine) as session:
            self._authorized_workgroup(session, request, token, kind)

    def _store(self, request: Request, token: str, kind: domain.ImportKind, raw: bytes) -> dict:
        with serving(), Session(self.engine, expire_on_commit=False) as session:
            # Decided again with the file in hand: a role revoked meanwhile is not used.
            workgroup_id, viewer_id = self._authorized_workgroup(session, request, token, kind)
            try:
                job = domain.create_upload(
                    session=session,
                    workgroup_id=workgroup_id,
                    kind=kind.value,
                    file_name=request.query_params.get("fileName") or f"{kind.lower()}.csv",
                    raw=raw,
                    max_rows=self.settings.import_max_rows,
                    actor_id=viewer_id,
                )
            except domain.UploadProblem as problem:
                raise Refusal(400, str(problem)) from None
            session.commit()
            return job_summary(job)
