"""tenant key on every tenant table

Every table that holds tenant data carries its workgroup, so a row's workgroup never needs a
join: the link tables get `workgroup_id`, filled from the row they link.

Revision ID: 0007
Revises: 0006

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


revision: str = '0007'
down_revision: Union[str, Sequence[str], None] = '0006'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

# (table, the column naming the row it links, that row's table)
LINKS = (
    ('customer_tag', 'customer_id', 'customer'),
    ('order_line', 'order_id', 'customer_order'),
    ('project_member', 'project_id', 'project'),
    ('customer_view', 'customer_id', 'customer'),
    ('case_share', 'case_id', 'support_case'),
    ('case_group_access', 'case_id', 'support_case'),
    ('group_member', 'group_id', 'user_group'),
)


def upgrade() -> None:
    for table, link, parent in LINKS:
        with op.batch_alter_table(table) as batch_op:
            batch_op.add_column(sa.Column('workgroup_id', sa.Integer(), nullable=True))
        op.execute(
            f'UPDATE {table} SET workgroup_id = '
            f'(SELECT {parent}.workgroup_id FROM {parent} WHERE {parent}.id = {table}.{link})'
        )
        with op.batch_alter_table(table) as batch_op:
            batch_op.alter_column('workgroup_id', existing_type=sa.Integer(), nullable=False)
            batch_op.create_foreign_key(
                f'fk_{table}_workgroup_id_workgroup', 'workgroup', ['workgroup_id'], ['id']
            )
            batch_op.create_index(f'ix_{table}_workgroup_id', ['workgroup_id'], unique=False)


def downgrade() -> None:
    for table, _link, _parent in reversed(LINKS):
        with op.batch_alter_table(table) as batch_op:
            batch_op.drop_index(f'ix_{table}_workgroup_id')
            batch_op.drop_constraint(f'fk_{table}_workgroup_id_workgroup', type_='foreignkey')
            batch_op.drop_column('workgroup_id')
