"""How every mutation runs: one transaction, user errors as data, inputs checked per field."""

from collections.abc import Callable
from typing import Any, TypeVar

from strawberry import UNSET
from strawberry.types import Info

from graph.context import Context
from graph.core.types import UserError, user_errors
from models.core.errors import DomainError, ErrorCode, FieldError

T = TypeVar("T")


def camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


def provided_fields(data: Any) -> dict[str, Any]:
    """The fields of a Strawberry input the client actually set (null included)."""
    return {name: value for name, value in vars(data).items() if value is not UNSET}


def authorize_mutation(
    info: Info, *, workgroup_id: int | None, inputs: Any = None, relations: tuple[str, ...] = ()
) -> None:
    """The mutation's own coordinate and each input field set must be granted in the workgroup
    the mutation acts in (for no workgroup: by the roles held in every workgroup), to the
    viewer's roles there plus their `relations` to the row acted on."""
    context: Context = info.context
    context.scope.require(
        f"{info.path.typename}.{info.field_name}", workgroup_id=workgroup_id, relations=relations
    )
    if inputs is not None:
        for name in provided_fields(inputs):
            context.scope.require(
                f"{type(inputs).__strawberry_definition__.name}.{camel(name)}",
                workgroup_id=workgroup_id,
                relations=relations,
            )


def run_in_transaction(info: Info, work: Callable[[], T]) -> tuple[T | None, list[UserError]]:
    """Runs `work` and commits; a DomainError rolls everything back and becomes user errors."""
    session = info.context.session
    try:
        result = work()
        session.commit()
    except DomainError as failure:
        session.rollback()
        return None, user_errors(failure.errors)
    except BaseException:
        session.rollback()
        raise
    return result, []


def not_found(field: str, what: str) -> list[UserError]:
    return user_errors([FieldError(field, f"No {what} with this id.", ErrorCode.NOT_FOUND)])
