"""The shortest path through the service: sign in, read customers, change one."""

from graph.ids import encode_id
from tests.conftest import World

CUSTOMERS = """
query { customers { totalCount edges { node { id companyName rank tags workgroup { name } } } } }
"""
UPDATE = """
mutation($id: ID!, $input: UpdateCustomerInput!) {
  updateCustomer(id: $id, input: $input) { customer { companyName version } errors { code } }
}
"""


def test_admin_reads_their_workgroups_customers(gql, world: World):
    body = gql(World.email("admin"), CUSTOMERS)

    assert "errors" not in body
    names = [e["node"]["companyName"] for e in body["data"]["customers"]["edges"]]
    assert names == ["Home Customer 0", "Home Customer 1", "Home Customer 2"]
    assert body["data"]["customers"]["totalCount"] == 3
    assert body["data"]["customers"]["edges"][0]["node"]["workgroup"] == {"name": "Home"}


def test_sales_agent_changes_company_name(gql, world: World):
    customer_id = encode_id("Customer", world.home_customers[0].id)

    body = gql(
        World.email("sales_agent"), UPDATE, {"id": customer_id, "input": {"companyName": "New"}}
    )

    assert body["data"]["updateCustomer"] == {
        "customer": {"companyName": "New", "version": 2},
        "errors": [],
    }
