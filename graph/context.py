"""What every resolver gets: the viewer, their access scope, the session and loaders."""

from dataclasses import dataclass, field

from sqlmodel import Session

from graph.loaders import Loaders
from models.accounts import User
from models.settings import Settings
from policies import AccessScope


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
