"""What every resolver gets: the viewer, their access scope, the session and loaders."""

from dataclasses import dataclass, field

from graphql import GraphQLError
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from graph.loaders import Loaders
from models.accounts import users as accounts
from models.accounts.tables import HeldRole, User
from models.settings import Settings
from policies import AccessScope, Authorizer, Forbidden, restrict


@dataclass
class Context:
    session: Session
    viewer: User
    scope: AccessScope
    settings: Settings
    request_id: str
    held: list[HeldRole] = field(default_factory=list)  # the viewer's own grants
    # Customers opened by id in this request, recorded for `Viewer.recentCustomers` after it.
    opened_customers: list[tuple[int, int]] = field(default_factory=list)  # (id, workgroup)
    # Values masked inside a field's answer (activity records): one FORBIDDEN error per
    # coordinate, at the first path where it was masked, counting the others.
    masked: dict[str, GraphQLError] = field(default_factory=dict)
    loaders: Loaders = field(init=False)

    def __post_init__(self) -> None:
        self.loaders = Loaders(self.session)

    def report_masked(self, coordinates: list[str], path: list[str | int]) -> None:
        for coordinate in coordinates:
            error = self.masked.get(coordinate)
            if error is None:
                error = self.masked[coordinate] = Forbidden(coordinate)
                error.path = path
                error.extensions["occurrences"] = 0  # type: ignore[index]
            error.extensions["occurrences"] += 1  # type: ignore[index]


def open_viewer(
    session: Session, email: str, authorizer: Authorizer
) -> tuple[User, list[HeldRole], AccessScope]:
    """The signed-in user (created on first sign-in), the roles they hold, and their access
    for this request."""
    try:
        user, held = accounts.sign_in(session=session, email=email)
        session.commit()
    except IntegrityError:  # another request created the user at the same moment
        session.rollback()
        user, held = accounts.sign_in(session=session, email=email)
    scope = AccessScope.build(
        authorizer=authorizer,
        user_id=user.id,
        held=[(h.role.value, h.workgroup_id) for h in held],
    )
    restrict(session, scope)  # every later read through the session sees only what they may
    return user, held, scope
