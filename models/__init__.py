"""Tables, the engine and the domain operations on them."""

from sqlmodel import SQLModel

from models import accounts, activity, agreements, customers, partner, support  # noqa: F401

metadata = SQLModel.metadata
