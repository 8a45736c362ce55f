"""GraphQL errors with a machine-readable extensions.code."""

from graphql import GraphQLError


class BadUserInput(GraphQLError):
    def __init__(self, message: str, *, argument: str | None = None):
        extensions = {"code": "BAD_USER_INPUT"}
        if argument:
            extensions["argument"] = argument
        super().__init__(message, extensions=extensions)
