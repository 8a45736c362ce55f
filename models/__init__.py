"""Tables, the engine and the domain operations on them."""

from sqlmodel import SQLModel

from models import accounts, activity, agreements, customers  # noqa: F401  (registers tables)

metadata = SQLModel.metadata
