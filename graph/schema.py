"""The schema: per-domain query and mutation classes composed into the roots."""

import logging

import strawberry
from graphql import GraphQLError
from strawberry.extensions import MaxTokensLimiter, ParserCache

from graph.access.mutations import AccessMutations
from graph.access.queries import AccessQueries
from graph.agreements.queries import AgreementQueries
from graph.audit.queries import AuditQueries
from graph.core.queries import NodeQueries
from graph.customers.mutations import CustomerMutations
from graph.customers.queries import CustomerQueries
from graph.execution import GuardedExecutionContext
from graph.imports.mutations import ImportMutations
from graph.imports.queries import ImportQueries
from graph.partner.mutations import PartnerMutations
from graph.support.mutations import SupportMutations
from graph.support.queries import SupportQueries
from graph.validation import DocumentValidator, validation_extension
from graph.viewer.queries import ViewerQueries
from graph.workgroups.mutations import WorkgroupMutations
from graph.workgroups.queries import WorkgroupQueries
from models.settings import Settings

log = logging.getLogger("clientele.graphql")


@strawberry.type
class Query(
    ViewerQueries,
    NodeQueries,
    WorkgroupQueries,
    CustomerQueries,
    AgreementQueries,
    AccessQueries,
    AuditQueries,
    SupportQueries,
    ImportQueries,
):
    pass


@strawberry.type
class Mutation(
    WorkgroupMutations,
    CustomerMutations,
    AccessMutations,
    SupportMutations,
    PartnerMutations,
    ImportMutations,
):
    pass


class ClienteleSchema(strawberry.Schema):
    def process_errors(self, errors: list[GraphQLError], execution_context=None) -> None:
        """Logs unexpected errors with the request id; expected ones are the client's business."""
        request_id = getattr(getattr(execution_context, "context", None), "request_id", "-")
        for error in errors:
            if error.original_error is not None and not isinstance(
                error.original_error, GraphQLError
            ):
                log.error(
                    "request %s: unexpected error at %s",
                    request_id,
                    error.path,
                    exc_info=error.original_error,
                )


def build_schema(settings: Settings | None = None) -> ClienteleSchema:
    settings = settings or Settings()
    validator = DocumentValidator(
        max_depth=settings.max_query_depth,
        max_aliases=settings.max_aliases,
        production=settings.production,
    )
    return ClienteleSchema(
        query=Query,
        mutation=Mutation,
        execution_context_class=GuardedExecutionContext,
        extensions=[
            lambda: ParserCache(maxsize=512),
            lambda: MaxTokensLimiter(max_token_count=settings.max_tokens),
            validation_extension(validator),
        ],
    )


def schema_sdl() -> str:
    return build_schema().as_str() + "\n"
