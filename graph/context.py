"""What every resolver gets: the viewer, their access scope, the session and loaders."""

from dataclasses import dataclass, field

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from graph.loaders import Loaders
from models.accounts import User, get_or_create_user, roles_of
from models.settings import Settings
from policies import AccessScope, Authorizer


@dataclass
class Context:
    session: Session
    viewer: User
    scope: AccessScope
    settings: Settings
    request_id: str
    loaders: Loaders = field(init=False)

    def __post_init__(self) -> None:
        self.loaders = Loaders(self.session)


def sign_in(session: Session, email: str) -> User:
    """The viewer's user row; created on first sign-in."""
    try:
        user = get_or_create_user(session=session, email=email)
        session.commit()
    except IntegrityError:  # another request created it at the same moment
        session.rollback()
        user = get_or_create_user(session=session, email=email)
    return user


def scope_for(session: Session, viewer: User, authorizer: Authorizer) -> AccessScope:
    held = roles_of(session=session, user_id=viewer.id)  # type: ignore[arg-type]
    return AccessScope.build(
        authorizer=authorizer,
        user_id=viewer.id,
        held=[(h.role.value, h.workgroup_id) for h in held],
    )
