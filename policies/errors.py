from graphql import GraphQLError


class Forbidden(GraphQLError):
    """The viewer's roles do not grant this coordinate; surfaced as extensions.code FORBIDDEN."""

    def __init__(self, coordinate: str):
        super().__init__(
            f"Not allowed: {coordinate}.",
            extensions={"code": "FORBIDDEN", "coordinate": coordinate},
        )
        self.coordinate = coordinate
