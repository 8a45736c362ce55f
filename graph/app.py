"""The Starlette application: POST /graphql (JSON), GraphiQL in development, /healthz."""

import contextvars
import logging
import re
import uuid
from contextlib import asynccontextmanager
from typing import Any

import orjson
from graphql import GraphQLError, GraphQLSyntaxError
from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlmodel import Session
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import ClientDisconnect, Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route
from strawberry.exceptions import MissingQueryError
from strawberry.http.ides import get_graphql_ide_html
from strawberry.schema.exceptions import CannotGetOperationTypeError, InvalidOperationTypeError
from strawberry.types.graphql import OperationType

from graph.auth import Unauthenticated, bearer_token, identity_from_token
from graph.context import Context, open_viewer
from graph.customers.queries import remember_opened_customers
from graph.exports import ActivityExport, CustomerExport, EducationExport
from graph.imports.upload import ImportFiles
from graph.logs import REQUEST_ID, configure_logging
from graph.schema import ClienteleSchema, build_schema
from models.db import make_engine
from models.migrate import pending_migration_message
from models.settings import Settings, get_settings
from policies import Authorizer
from policies.restriction import serving

log = logging.getLogger("clientele.http")

_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
_SUGGESTION = re.compile(r" Did you mean [^?]*\?")  # graphql-core's did_you_mean() text
QUERIES_ONLY = (OperationType.QUERY,)
QUERIES_AND_MUTATIONS = (OperationType.QUERY, OperationType.MUTATION)


class ConfigurationError(RuntimeError):
    pass


class JSONBody(Response):
    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)


def _database_lost(error: BaseException | None) -> bool:
    """A connection that broke while a resolver used it (not a bad statement)."""
    if not isinstance(error, DBAPIError):
        return False
    # SQLite's "no such table" is an OperationalError too, but it carries its statement.
    return error.connection_invalidated or (
        isinstance(error, OperationalError) and error.statement is None
    )


def error_body(message: str, code: str, request_id: str) -> dict[str, Any]:
    return {"errors": [{"message": message, "extensions": {"code": code, "requestId": request_id}}]}


class GraphQLEndpoint:
    def __init__(
        self, *, schema: ClienteleSchema, engine: Engine, authorizer: Authorizer, settings: Settings
    ):
        self.schema = schema
        self.engine = engine
        self.authorizer = authorizer
        self.settings = settings

    async def handle(self, request: Request) -> Response:
        request_id = request.state.request_id
        if request.method == "GET":
            params, failure = self._from_query_string(request, request_id)
            allowed = QUERIES_ONLY
        else:
            params, failure = await self._from_body(request, request_id)
            allowed = QUERIES_AND_MUTATIONS
        if failure is not None:
            return failure
        try:
            token = bearer_token(request.headers.get("authorization"))
            # The token is checked in the worker thread too: fetching a JWKS may block. The
            # copied context carries the request id into the thread's log records.
            status, body = await run_in_threadpool(
                contextvars.copy_context().run,
                self.authenticate_and_execute,
                token=token,
                params=params,
                allowed=allowed,
                request_id=request_id,
            )
        except Unauthenticated as refusal:
            return JSONBody(
                error_body(str(refusal), "UNAUTHENTICATED", request_id),
                status_code=401,
                headers={"WWW-Authenticate": "Bearer"},
            )
        except OperationalError:
            log.exception("request %s: database unavailable", request_id)
            return JSONBody(
                error_body("The database is unavailable; try again.", "UNAVAILABLE", request_id),
                status_code=503,
            )
        except PoolTimeout:  # every connection busy for the pool's whole timeout: overloaded
            log.warning("request %s: no database connection free in time", request_id)
            return JSONBody(
                error_body("The service is busy; try again.", "UNAVAILABLE", request_id),
                status_code=503,
                headers={"Retry-After": "1"},
            )
        except Exception as error:  # outside execution (sign-in, roles): mask it like one inside
            log.exception("request %s: unexpected error", request_id)
            message = "Unexpected error." if self.settings.production else str(error)
            return JSONBody(
                error_body(message, "INTERNAL_SERVER_ERROR", request_id), status_code=500
            )
        return JSONBody(body, status_code=status)

    # -------------------------------------------------------------- reading the request

    def _from_query_string(self, request: Request, request_id: str):
        query = request.query_params.get("query")
        if query is None:
            if not self.settings.production and "text/html" in request.headers.get("accept", ""):
                return None, HTMLResponse(get_graphql_ide_html(graphql_ide="graphiql"))
            return None, JSONBody(
                error_body("Send a GraphQL query.", "BAD_REQUEST", request_id), status_code=400
            )
        variables = request.query_params.get("variables")
        try:
            decoded = orjson.loads(variables) if variables else None
        except orjson.JSONDecodeError:
            decoded = []
        if decoded is not None and not isinstance(decoded, dict):
            return None, JSONBody(
                error_body("`variables` must be a JSON object.", "BAD_REQUEST", request_id),
                status_code=400,
            )
        return {
            "query": query,
            "variables": decoded,
            "operationName": request.query_params.get("operationName"),
        }, None

    async def _from_body(self, request: Request, request_id: str):
        content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if content_type != "application/json":
            return None, JSONBody(
                error_body(
                    "POST requests must be application/json.", "UNSUPPORTED_MEDIA_TYPE", request_id
                ),
                status_code=415,
            )
        declared = request.headers.get("content-length")
        if (
            declared is not None
            and declared.isdigit()
            and int(declared) > self.settings.max_body_bytes
        ):
            return None, self._too_large(request_id)
        chunks: list[bytes] = []
        size = 0
        try:
            async for chunk in request.stream():
                size += len(chunk)
                if size > self.settings.max_body_bytes:
                    return None, self._too_large(request_id)
                chunks.append(chunk)  # joined once: adding up many small chunks is quadratic
        except ClientDisconnect:
            log.info("request %s: the client disconnected before its body was read", request_id)
            return None, Response(status_code=400)  # nobody is left to read it
        try:
            payload = orjson.loads(b"".join(chunks))
        except orjson.JSONDecodeError:
            return None, JSONBody(
                error_body("The body is not valid JSON.", "BAD_REQUEST", request_id),
                status_code=400,
            )
        if isinstance(payload, list):
            return None, JSONBody(
                error_body(
                    "Batched operations are not supported; send one operation per request.",
                    "BATCHING_NOT_SUPPORTED",
                    request_id,
                ),
                status_code=400,
            )
        if (
            not isinstance(payload, dict)
            or not isinstance(payload.get("query"), str)
            or not isinstance(payload.get("variables") or {}, dict)
            or not isinstance(payload.get("operationName") or "", str)
        ):
            return None, JSONBody(
                error_body(
                    'Send {"query": string, "variables"?: object, "operationName"?: string}.',
                    "BAD_REQUEST",
                    request_id,
                ),
                status_code=400,
            )
        return payload, None

    def _too_large(self, request_id: str) -> Response:
        return JSONBody(
            error_body(
                f"The request body exceeds {self.settings.max_body_bytes} bytes.",
                "PAYLOAD_TOO_LARGE",
                request_id,
            ),
            status_code=413,
        )

    # -------------------------------------------------------------- executing

    def authenticate_and_execute(self, *, token: str, **execute: Any) -> tuple[int, dict[str, Any]]:
        """Raises Unauthenticated before anything else happens if the token is not good."""
        return self.execute(email=identity_from_token(token, self.settings), **execute)

    def execute(
        self, *, email: str, params: dict, allowed, request_id: str
    ) -> tuple[int, dict[str, Any]]:
        with serving():
            return self._execute(email=email, params=params, allowed=allowed, request_id=request_id)

    def _execute(
        self, *, email: str, params: dict, allowed, request_id: str
    ) -> tuple[int, dict[str, Any]]:
        with Session(self.engine, expire_on_commit=False) as session:
            viewer, held, scope = open_viewer(session, email, self.authorizer)
            context = Context(
                session=session,
                viewer=viewer,
                scope=scope,
                settings=self.settings,
                request_id=request_id,
                held=held,
            )
            try:
                result = self.schema.execute_sync(
                    params["query"],
                    variable_values=params.get("variables"),
                    context_value=context,
                    operation_name=params.get("operationName"),
                    allowed_operation_types=allowed,
                )
            except InvalidOperationTypeError as error:
                if error.operation_type is OperationType.SUBSCRIPTION:
                    return 400, error_body(
                        "Subscriptions are not supported.", "BAD_REQUEST", request_id
                    )
                return 405, error_body(
                    "Mutations are only accepted over POST.", "METHOD_NOT_ALLOWED", request_id
                )
            except (MissingQueryError, CannotGetOperationTypeError) as error:
                message = (
                    error.as_http_error_reason()
                    if isinstance(error, CannotGetOperationTypeError)
                    else "Send a GraphQL query."
                )
                return 400, error_body(message, "BAD_REQUEST", request_id)
            finally:
                # Detached first: rolling back would expire every row the answer loaded, one
                # by one (8 ms for 2,000 rows; 1 ms this way).
                session.expunge_all()
                session.rollback()
            remember_opened_customers(context)
        if result.errors and any(_database_lost(e.original_error) for e in result.errors):
            # Partial data from a half-dead connection would look like an empty answer.
            raise OperationalError(None, None, ConnectionError("database connection lost"))
        body: dict[str, Any] = {"data": result.data}
        status = 200
        errors = [*(result.errors or ()), *context.masked.values()]
        if errors:
            body["errors"] = [self._format_error(e, request_id) for e in errors]
            if result.data is None and all(not e.path for e in errors):
                status = 400  # the document was refused before execution
        return status, body

    def _format_error(self, error: GraphQLError, request_id: str) -> dict[str, Any]:
        original = error.original_error
        if original is not None and not isinstance(original, GraphQLError):
            log_message = "Unexpected error." if self.settings.production else str(error)
            formatted: dict[str, Any] = {"message": log_message}
            if error.locations:
                formatted["locations"] = [loc._asdict() for loc in error.locations]
            if error.path:
                formatted["path"] = error.path
            formatted["extensions"] = {"code": "INTERNAL_SERVER_ERROR", "requestId": request_id}
            return formatted
        formatted = error.formatted
        extensions = dict(formatted.get("extensions") or {})
        if "code" not in extensions:
            extensions["code"] = (
                "GRAPHQL_PARSE_FAILED"
                if isinstance(error, GraphQLSyntaxError)
                else "GRAPHQL_VALIDATION_FAILED"
                if not error.path
                else "BAD_USER_INPUT"
            )
        extensions["requestId"] = request_id  # what to quote when asking about this error
        formatted["extensions"] = extensions
        if self.settings.production:
            # Variable coercion runs outside validation and still suggests schema names.
            formatted["message"] = _SUGGESTION.sub("", formatted["message"])
        return formatted


class RequestIdMiddleware:
    """Gives every request an id (the client's X-Request-ID if sane), echoes it back, and
    puts it in the log records made while serving the request (graph.logs.REQUEST_ID)."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = dict(scope.get("headers") or []).get(b"x-request-id", b"").decode("latin-1")
        request_id = incoming if _REQUEST_ID.match(incoming) else uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = request_id
        token = REQUEST_ID.set(request_id)

        async def send_with_id(message):
            if message["type"] == "http.response.start":
                message.setdefault("headers", [])
                message["headers"] = [
                    *message["headers"],
                    (b"x-request-id", request_id.encode()),
                ]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            REQUEST_ID.reset(token)


def create_app(
    settings: Settings | None = None,
    *,
    engine: Engine | None = None,
    authorizer: Authorizer | None = None,
    check_migrations: bool = True,
) -> Starlette:
    settings = settings or get_settings()
    problems = settings.problems()
    if problems:
        raise ConfigurationError("; ".join(problems))
    configure_logging(settings.log_level)
    engine = engine or make_engine(settings.database_url)
    if check_migrations:
        pending = pending_migration_message(engine)
        if pending:
            raise ConfigurationError(pending)
    endpoint = GraphQLEndpoint(
        schema=build_schema(settings),
        engine=engine,
        authorizer=authorizer or Authorizer.from_files(),
        settings=settings,
    )

    export_parts = {"engine": engine, "authorizer": endpoint.authorizer, "settings": settings}
    education = EducationExport(**export_parts)
    activity = ActivityExport(**export_parts)
    customers = CustomerExport(**export_parts)
    import_files = ImportFiles(**export_parts)

    async def healthz(request: Request) -> Response:
        try:
            await run_in_threadpool(_ping, engine)
        except OperationalError:
            return JSONBody({"status": "unavailable"}, status_code=503)
        return JSONBody({"status": "ok"})

    # Background work of this process, started with the app and stopped (gracefully) with it.
    background: list[Any] = []
    if settings.smtp_url:
        from models.mail.sender import MailSender

        background.append(MailSender(engine=engine, settings=settings))

    @asynccontextmanager
    async def lifespan(_app: Starlette):
        for service in background:
            service.start()
        try:
            yield
        finally:
            for service in reversed(background):
                await run_in_threadpool(service.stop)

    app = Starlette(
        lifespan=lifespan,
        routes=[
            Route("/graphql", endpoint.handle, methods=["GET", "POST"]),
            Route("/healthz", healthz, methods=["GET"]),
            Route("/exports/education.csv", education.handle, methods=["GET"]),
            Route("/exports/activity.csv", activity.handle, methods=["GET"]),
            Route("/exports/customers.csv", customers.handle, methods=["GET"]),
            Route("/imports/{kind}", import_files.upload, methods=["POST"]),
            Route("/imports/{kind}/template.csv", import_files.template, methods=["GET"]),
        ],
    )
    if settings.cors_origins:
        # Bearer tokens, not cookies: no credentials mode. Added first, so it runs inside
        # RequestIdMiddleware and a preflight answer carries a request id too.
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["GET", "POST"],
            allow_headers=["Authorization", "Content-Type", "X-Request-ID"],
            expose_headers=["X-Request-ID"],
            allow_credentials=False,
            max_age=600,
        )
    app.add_middleware(RequestIdMiddleware)
    app.state.endpoint = endpoint
    app.state.background = background
    return app


def _ping(engine: Engine) -> None:
    with engine.connect() as connection:
        connection.execute(text("SELECT 1"))
