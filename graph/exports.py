"""CSV exports over HTTP, streamed in constant memory, decided by the same authorizer.

Each export names the coordinate that grants it (decided in the workgroup exported from) and
builds a plan: the statement, the columns, and how a batch of rows becomes CSV cells. Rows are
read in batches of BATCH, so memory stays flat whatever the size of the export.
"""

import csv
import io
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from engine.among import among
from graph.auth import Unauthenticated, bearer_token, identity_from_token
from graph.context import open_viewer
from graph.ids import decode_pk, encode_id
from models.accounts.tables import User, Workgroup
from models.agreements.tables import Agreement, ConsumptionRecord, Package, ServiceAmount
from models.audit.activity import ACTIVITY_ORDER, ActivityRecord
from models.core.enums import ServiceCategory
from models.customers.tables import Customer, CustomerTag, Tag
from models.settings import Settings
from policies import AccessScope, Authorizer, restrict
from policies.authorizer import READ
from policies.coordinates import ACTIVITY_EXPORT, CUSTOMER_EXPORT, EDUCATION_EXPORT
from policies.restriction import serving

BATCH = 1000
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: object) -> str:
    """Text a spreadsheet will not run as a formula."""
    if value is None:
        return ""
    text = str(value)
    return "'" + text if text.startswith(FORMULA_PREFIXES) else text


def csv_lines(rows: list[list[object]]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerows(rows)
    return buffer.getvalue()


class Refusal(Exception):
    CODES = {400: "BAD_REQUEST", 401: "UNAUTHENTICATED", 403: "FORBIDDEN", 404: "NOT_FOUND"}

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


def authorized_workgroup(
    session: Session, email: str, authorizer: Authorizer, request: Request, coordinate: str
):
    """(viewer, scope, workgroup id) for the request's `workgroupId` when the viewer sees that
    workgroup and holds `coordinate` (write) there; else a 404 or 403 Refusal."""
    workgroup_id = decode_pk(request.query_params.get("workgroupId"), "Workgroup")
    viewer, _, scope = open_viewer(session, email, authorizer)
    if (
        workgroup_id is None
        or not scope.sees_workgroup_rows("Workgroup", workgroup_id)
        or session.get(Workgroup, workgroup_id) is None
    ):
        raise Refusal(404, "No workgroup with this id.")
    if not scope.may(coordinate, workgroup_id=workgroup_id):
        raise Refusal(403, f"Not allowed: {coordinate}.")
    return viewer, scope, workgroup_id


@dataclass
class ExportPlan:
    statement: Any
    columns: list[str]
    render: Callable[[Session, list[Any]], list[list[object]]]
    scope: AccessScope | None = None


class CsvExport:
    coordinate: str
    filename: str

    def __init__(self, *, engine: Engine, authorizer: Authorizer, settings: Settings):
        self.engine = engine
        self.authorizer = authorizer
        self.settings = settings

    async def handle(self, request: Request) -> Response:
        request_id = request.state.request_id
        try:
            token = bearer_token(request.headers.get("authorization"))
            # Checking a token may fetch a key set: off the event loop, like the plan.
            plan = await run_in_threadpool(self._authorized_plan, request, token)
        except Unauthenticated as error:
            return refusal_response(Refusal(401, str(error)), request_id)
        except Refusal as refusal:
            return refusal_response(refusal, request_id)
        return StreamingResponse(
            self._lines(plan),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{self.filename}"'},
        )

    def _authorized_plan(self, request: Request, token: str) -> ExportPlan:
        email = identity_from_token(token, self.settings)
        with Session(self.engine, expire_on_commit=False) as session:
            with serving():
                _, scope, workgroup_id = authorized_workgroup(
                    session, email, self.authorizer, request, self.coordinate
                )
                plan = self.plan(request, session, scope, workgroup_id)
            plan.scope = scope
            return plan

    def plan(
        self, request: Request, session: Session, scope: AccessScope, workgroup_id: int
    ) -> ExportPlan:
        raise NotImplementedError

    def _lines(self, plan: ExportPlan) -> Iterator[str]:
        yield csv_lines([plan.columns])
        with Session(self.engine) as session:
            restrict(session, plan.scope)  # type: ignore[arg-type]
            result = session.execute(plan.statement, execution_options={"yield_per": BATCH})
            for batch in result.partitions():
                yield csv_lines(plan.render(session, batch))


class EducationExport(CsvExport):
    """GET /exports/education.csv?workgroupId=…[&agreementId=…]: education-on-demand
    consumption of one workgroup (or one of its agreements)."""

    coordinate = EDUCATION_EXPORT
    filename = "education-report.csv"

    def plan(self, request, session, scope, workgroup_id):
        statement = (
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
                    )
                ).first()
            )
            if not visible:
                raise Refusal(404, "No agreement with this id in this workgroup.")
            statement = statement.where(Agreement.id == agreement_id)

        def render(_connection, batch):
            return [
                [
                    day.isoformat(),
                    safe_cell(number),
                    safe_cell(package),
                    quantity,
                    "" if hours is None else hours,
                    safe_cell(description),
                ]
                for day, number, package, quantity, hours, description in batch
            ]

        columns = ["date", "agreement", "package", "quantity", "hours", "description"]
        return ExportPlan(statement, columns, render)


class ActivityExport(CsvExport):
    """GET /exports/activity.csv?workgroupId=…: the workgroup's activity log, newest first."""

    coordinate = ACTIVITY_EXPORT
    filename = "activity-log.csv"

    def plan(self, request, session, scope, workgroup_id):
        statement = (
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
            .where(ActivityRecord.workgroup_id == workgroup_id)
            .order_by(*ACTIVITY_ORDER)
        )

        def values(action: str, recorded: dict | None) -> str:
            readable, _ = scope.masked_values(action, workgroup_id, recorded)
            return "" if readable is None else safe_cell(orjson.dumps(readable).decode())

        def render(_session, batch):
            return [
                [
                    at.isoformat(),
                    safe_cell(actor),
                    safe_cell(action),
                    safe_cell(target_type),
                    "" if target_id is None else encode_id(target_type, target_id),
                    values(action, before),
                    values(action, after),
                ]
                for at, actor, action, target_type, target_id, before, after in batch
            ]

        columns = ["at", "actor", "action", "target_type", "target_id", "before", "after"]
        return ExportPlan(statement, columns, render)


# (column, the field a viewer must be able to read to get it, how to render it)
CUSTOMER_COLUMNS: list[tuple[str, str, Callable[[Any, list[str]], object]]] = [
    ("id", "Customer.id", lambda row, _tags: encode_id("Customer", row.id)),
    ("company name", "Customer.companyName", lambda row, _tags: safe_cell(row.company_name)),
    ("primary domain", "Customer.primaryDomain", lambda row, _tags: safe_cell(row.primary_domain)),
    ("relationship", "Customer.relationship", lambda row, _tags: row.relationship or ""),
    ("tags", "Customer.tags", lambda _row, tags: safe_cell(", ".join(tags))),
    ("status", "Customer.status", lambda row, _tags: row.status),
    ("country", "Customer.primaryLocation", lambda row, _tags: row.primary_location or ""),
    ("city", "Customer.city", lambda row, _tags: safe_cell(row.city)),
]


class CustomerExport(CsvExport):
    """GET /exports/customers.csv?workgroupId=…: every customer of the workgroup, whatever a
    client's list shows, with only the columns the viewer may read."""

    coordinate = CUSTOMER_EXPORT
    filename = "customers.csv"

    def plan(self, request, session, scope, workgroup_id):
        columns = [
            column
            for column in CUSTOMER_COLUMNS
            if scope.may(column[1], workgroup_id=workgroup_id, action=READ)
        ]
        with_tags = any(name == "tags" for name, _, _ in columns)
        # The columns, as attributes of the ORM entity (so the session restricts the read).
        attributes = [getattr(Customer, c.key) for c in Customer.__table__.columns]  # type: ignore[attr-defined]
        statement = (
            select(*attributes)
            .where(Customer.workgroup_id == workgroup_id)
            .order_by(Customer.company_name, Customer.id)
        )

        def render(session, batch):
            rows = batch
            tags: dict[int, list[str]] = {}
            if with_tags:  # one look-up per batch, not per row
                for customer_id, name in session.execute(
                    select(CustomerTag.customer_id, Tag.name)
                    .join(Tag, Tag.id == CustomerTag.tag_id)
                    .where(among(CustomerTag.customer_id, [r.id for r in rows]))
                    .order_by(Tag.name)
                ):
                    tags.setdefault(customer_id, []).append(name)
            return [[cell(row, tags.get(row.id, [])) for _, _, cell in columns] for row in rows]

        return ExportPlan(statement, [name for name, _, _ in columns], render)
