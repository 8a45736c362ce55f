"""Tables, the engine and the domain operations on them, one package per domain.

Importing this package registers every table on `metadata` (migrations and the tests'
schema read it from here)."""

from sqlmodel import SQLModel

# The modules that declare tables, imported for their side effect of registering them.
from models.accounts import tables as _accounts_tables
from models.agreements import tables as _agreements_tables
from models.audit import activity as _activity
from models.customers import recent as _recent
from models.customers import tables as _customers_tables
from models.imports import jobs as _import_jobs
from models.mail import outbox as _outbox
from models.partner import tables as _partner_tables
from models.support import tables as _support_tables

TABLE_MODULES = (
    _accounts_tables,
    _agreements_tables,
    _activity,
    _recent,
    _customers_tables,
    _import_jobs,
    _outbox,
    _partner_tables,
    _support_tables,
)

metadata = SQLModel.metadata
