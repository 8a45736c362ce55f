"""Tables, the engine and the domain operations on them."""

from sqlmodel import SQLModel

from models import accounts, activity, customers  # noqa: F401  (registers every table)

metadata = SQLModel.metadata
