"""CSV exports over HTTP, streamed in constant memory, decided by the same authorizer."""

import csv
import io
from collections.abc import Iterator

import orjson
from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from graph.auth import Unauthenticated, bearer_token, identity_from_token
from graph.context import scope_for, sign_in
from graph.ids import decode_pk, encode_id
from models.accounts import User
from models.activity import ACTIVITY_ORDER, ActivityRecord
from models.agreements import Agreement, ConsumptionRecord, Package, ServiceAmount
from models.enums import ServiceCategory
from models.settings import Settings
from policies import Authorizer
from policies.coordinates import ACTIVITY_EXPORT, EDUCATION_EXPORT

BATCH = 1000
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: object) -> str:
    """Text a spreadsheet will not run as a formula."""
    if value is None:
        return ""
    text = str(value)
    return "'" + text if text.startswith(FORMULA_PREFIXES) else text


def csv_line(cells: list[object]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerow(cells)
    return buffer.getvalue()


class Refusal(Exception):
    CODES = {401: "UNAUTHENTICATED", 403: "FORBIDDEN", 404: "NOT_FOUND"}

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status
        self.message = message


def refusal_response(refusal: Refusal, request_id: str) -> Response:
    body = {
        "errors": [
            {
                "message": refusal.message,
                "extensions": {"code": Refusal.CODES[refusal.status], "requestId": request_id},
            }
        ]
    }
    headers = {"WWW-Authenticate": "Bearer"} if refusal.status == 401 else None
    return Response(
        orjson.dumps(body),
        status_code=refusal.status,
        media_type="application/json",
        headers=headers,
    )


class CsvExport:
    """A CSV of one workgroup's rows, for roles granted `coordinate` there. Rows are streamed
    from the database in batches, so memory stays flat whatever the size."""

    coordinate: str
    columns: list[str]
    filename: str

    def __init__(self, *, engine: Engine, authorizer: Authorizer, settings: Settings):
        self.engine = engine
        self.authorizer = authorizer
        self.settings = settings

    async def handle(self, request: Request) -> Response:
        request_id = request.state.request_id
        try:
            email = identity_from_token(
                bearer_token(request.headers.get("authorization")), self.settings
            )
            query = await run_in_threadpool(self._authorized_query, request, email)
        except Unauthenticated as error:
            return refusal_response(Refusal(401, str(error)), request_id)
        except Refusal as refusal:
            return refusal_response(refusal, request_id)
        return StreamingResponse(
            self._lines(query),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{self.filename}"'},
        )

    def _authorized_query(self, request: Request, email: str):
        workgroup_id = decode_pk(request.query_params.get("workgroupId"), "Workgroup")
        with Session(self.engine, expire_on_commit=False) as session:
            viewer = sign_in(session, email)
            scope = scope_for(session, viewer, self.authorizer)
            if workgroup_id is None or not scope.sees_workgroup_rows("Workgroup", workgroup_id):
                raise Refusal(404, "No workgroup with this id.")
            if not scope.may(self.coordinate, workgroup_id=workgroup_id):
                raise Refusal(403, f"Not allowed: {self.coordinate}.")
            return self.query(request, session, scope, workgroup_id)

    def query(self, request: Request, session: Session, scope, workgroup_id: int):
        raise NotImplementedError

    def cells(self, row) -> list[object]:
        raise NotImplementedError

    def _lines(self, query) -> Iterator[str]:
        yield csv_line(self.columns)
        with self.engine.connect() as connection:
            result = connection.execution_options(yield_per=BATCH).execute(query)
            for batch in result.partitions():
                yield "".join(csv_line(self.cells(row)) for row in batch)


class EducationExport(CsvExport):
    """GET /exports/education.csv?workgroupId=…[&agreementId=…]: education-on-demand
    consumption of one workgroup (or one of its agreements)."""

    coordinate = EDUCATION_EXPORT
    columns = ["date", "agreement", "package", "quantity", "hours", "description"]
    filename = "education-report.csv"

    def query(self, request, session, scope, workgroup_id):
        query = (
            select(
                ConsumptionRecord.date,
                Agreement.number,
                Package.name,
                ConsumptionRecord.quantity,
                ConsumptionRecord.hours_worked,
                ConsumptionRecord.description,
            )
            .join(ServiceAmount, ServiceAmount.id == ConsumptionRecord.service_amount_id)
            .join(Package, Package.id == ServiceAmount.package_id)
            .join(Agreement, Agreement.id == Package.agreement_id)
            .where(
                scope.visible("ConsumptionRecord"),
                ConsumptionRecord.workgroup_id == workgroup_id,
                ServiceAmount.category == ServiceCategory.EDUCATION_ON_DEMAND.value,
            )
            .order_by(ConsumptionRecord.date, ConsumptionRecord.id)
        )
        agreement_param = request.query_params.get("agreementId")
        if agreement_param is not None:
            agreement_id = decode_pk(agreement_param, "Agreement")
            visible = (
                agreement_id is not None
                and session.execute(
                    select(Agreement.id).where(
                        Agreement.id == agreement_id,
                        Agreement.workgroup_id == workgroup_id,
                        scope.visible("Agreement"),
                    )
                ).first()
            )
            if not visible:
                raise Refusal(404, "No agreement with this id in this workgroup.")
            query = query.where(Agreement.id == agreement_id)
        return query

    def cells(self, row) -> list[object]:
        day, number, package, quantity, hours, description = row
        return [
            day.isoformat(),
            safe_cell(number),
            safe_cell(package),
            quantity,
            "" if hours is None else hours,
            safe_cell(description),
        ]


class ActivityExport(CsvExport):
    """GET /exports/activity.csv?workgroupId=…: the workgroup's activity log, newest first."""

    coordinate = ACTIVITY_EXPORT
    columns = ["at", "actor", "action", "target_type", "target_id", "before", "after"]
    filename = "activity-log.csv"

    def query(self, request, session, scope, workgroup_id):
        return (
            select(
                ActivityRecord.at,
                User.email,
                ActivityRecord.action,
                ActivityRecord.target_type,
                ActivityRecord.target_id,
                ActivityRecord.before,
                ActivityRecord.after,
            )
            .outerjoin(User, User.id == ActivityRecord.actor_id)
            .where(scope.visible("ActivityRecord"), ActivityRecord.workgroup_id == workgroup_id)
            .order_by(*ACTIVITY_ORDER)
        )

    def cells(self, row) -> list[object]:
        at, actor, action, target_type, target_id, before, after = row
        return [
            at.isoformat(),
            safe_cell(actor),
            safe_cell(action),
            safe_cell(target_type),
            "" if target_id is None else encode_id(target_type, target_id),
            "" if before is None else safe_cell(orjson.dumps(before).decode()),
            "" if after is None else safe_cell(orjson.dumps(after).decode()),
        ]
