"""activity records name their customer; one contact per e-mail address at a customer

`activity_record.customer_id` is the customer a change concerns (its own change, or one of its
contacts, contracts, service level, tags, orders, project memberships or cases), so that
Customer.feed reads one index range per customer. Existing records get it where it can be
derived: from a customer or case target, from the customer id the record holds (project
memberships; a contact's adding and moving), and for a contact's other records from the
customer its latest adding or moving put it at (the contact's current customer when the log
never placed it).

`uq_contact_email_per_customer` lets a customer have one contact per e-mail address, compared
case-insensitively. A database whose customers already have such duplicates is not changed:
the upgrade stops and names them, to be merged or moved first.

Revision ID: 0008
Revises: 0007

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


revision: str = '0008'
down_revision: Union[str, Sequence[str], None] = '0007'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

PLACING = ('contact.add', 'contact.move')
MEMBERSHIP = ('project.member.add', 'project.member.remove')
DUPLICATES_SHOWN = 20

records = sa.table(
    'activity_record',
    sa.column('id', sa.Integer),
    sa.column('action', sa.String),
    sa.column('target_type', sa.String),
    sa.column('target_id', sa.Integer),
    sa.column('after', sa.JSON),
    sa.column('customer_id', sa.Integer),
)
contacts = sa.table(
    'contact',
    sa.column('id', sa.Integer),
    sa.column('customer_id', sa.Integer),
    sa.column('email', sa.String),
)


def upgrade() -> None:
    connection = op.get_bind()
    _refuse_duplicate_contacts(connection)

    with op.batch_alter_table('activity_record') as batch_op:
        batch_op.add_column(sa.Column('customer_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            'fk_activity_record_customer_id_customer', 'customer', ['customer_id'], ['id']
        )
    op.execute(
        "UPDATE activity_record SET customer_id = target_id WHERE target_type = 'Customer'"
    )
    op.execute(
        'UPDATE activity_record SET customer_id = (SELECT support_case.customer_id FROM '
        'support_case WHERE support_case.id = activity_record.target_id) '
        "WHERE target_type = 'SupportCase'"
    )
    _fill_from_recorded_customer_ids(connection)
    op.create_index('ix_activity_customer_at', 'activity_record', ['customer_id', 'at'])

    op.create_index(
        'uq_contact_email_per_customer',
        'contact',
        ['customer_id', sa.text('lower(email)')],
        unique=True,
        sqlite_where=sa.text('customer_id IS NOT NULL'),
        postgresql_where=sa.text('customer_id IS NOT NULL'),
    )


def downgrade() -> None:
    op.drop_index(
        'uq_contact_email_per_customer',
        table_name='contact',
        sqlite_where=sa.text('customer_id IS NOT NULL'),
        postgresql_where=sa.text('customer_id IS NOT NULL'),
    )
    op.drop_index('ix_activity_customer_at', table_name='activity_record')
    with op.batch_alter_table('activity_record') as batch_op:
        batch_op.drop_constraint('fk_activity_record_customer_id_customer', type_='foreignkey')
        batch_op.drop_column('customer_id')


def _refuse_duplicate_contacts(connection) -> None:
    key = sa.func.lower(contacts.c.email)
    duplicates = connection.execute(
        sa.select(contacts.c.customer_id, key, sa.func.count())
        .where(contacts.c.customer_id.is_not(None))
        .group_by(contacts.c.customer_id, key)
        .having(sa.func.count() > 1)
        .order_by(contacts.c.customer_id, key)
    ).all()
    if duplicates:
        listed = '; '.join(
            f'customer {customer}: {email} ({count} contacts)'
            for customer, email, count in duplicates[:DUPLICATES_SHOWN]
        )
        more = len(duplicates) - DUPLICATES_SHOWN
        raise RuntimeError(
            f'{len(duplicates)} e-mail addresses are each held by several contacts of one '
            f'customer (compared case-insensitively), which revision 0008 makes unique: {listed}'
            + (f'; and {more} more' if more > 0 else '')
            + '. Merge those contacts, or move all but one to no customer, and migrate again.'
        )


def _recorded_customer(after) -> int | None:
    """The customer id a record of this revision's time holds (a number then)."""
    value = after.get('customerId') if isinstance(after, dict) else None
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _fill_from_recorded_customer_ids(connection) -> None:
    found: dict[int, int | None] = {}
    for record_id, after in connection.execute(
        sa.select(records.c.id, records.c.after).where(records.c.action.in_(MEMBERSHIP))
    ):
        found[record_id] = _recorded_customer(after)

    # A contact's records, in order: adding and moving it say where it is from then on.
    rows = connection.execute(
        sa.select(records.c.id, records.c.action, records.c.target_id, records.c.after)
        .where(records.c.target_type == 'Contact')
        .order_by(records.c.id)
    ).all()
    placed_by_log = {target for _, action, target, _ in rows if action in PLACING}
    current = dict(
        connection.execute(
            sa.select(contacts.c.id, contacts.c.customer_id).where(
                contacts.c.customer_id.is_not(None)
            )
        ).all()
    )
    at: dict[int, int | None] = {}
    for record_id, action, contact_id, after in rows:
        if action in PLACING:
            customer = _recorded_customer(after)
            # moved to no customer: the record concerns the one it left
            found[record_id] = customer if customer is not None else at.get(contact_id)
            at[contact_id] = customer
        elif contact_id in at:
            found[record_id] = at[contact_id]
        elif contact_id not in placed_by_log:
            found[record_id] = current.get(contact_id)

    updates = [
        {'record_id': record_id, 'customer': customer}
        for record_id, customer in found.items()
        if customer is not None
    ]
    if updates:
        # Only ids of customers that exist (the foreign key), however old the record.
        connection.execute(
            sa.text(
                'UPDATE activity_record SET customer_id = :customer WHERE id = :record_id '
                'AND EXISTS (SELECT 1 FROM customer WHERE customer.id = :customer)'
            ),
            updates,
        )
