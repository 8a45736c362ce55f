"""Tables, the engine and the domain operations on them."""

from sqlmodel import SQLModel

from models import (  # noqa: F401
    accounts,
    activity,
    agreements,
    customers,
    imports,
    outbox,
    partner,
    recent,
    support,
)

metadata = SQLModel.metadata
