"""Types every domain shares: the Node interface and the user error of mutation payloads."""

import strawberry

from models.core.errors import ErrorCode, FieldError

UserErrorCode = strawberry.enum(ErrorCode, name="UserErrorCode")


@strawberry.interface(description="An object with an opaque global id, fetchable by `node(id:)`.")
class Node:
    id: strawberry.ID


@strawberry.type(description="An expected failure of a mutation: nothing was changed.")
class UserError:
    field: str | None = strawberry.field(description="The input field at fault, if one is.")
    message: str
    code: UserErrorCode


def user_errors(errors: list[FieldError]) -> list[UserError]:
    return [UserError(field=e.field, message=e.message, code=e.code) for e in errors]
