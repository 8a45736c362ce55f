"""What authorization costs on a large list.

Loads N customers (default 1,000) into one workgroup and times `customers(first: N)` with every
customer field selected, in-process (request parsing aside: sign-in, execution and JSON
encoding), with the authorizer on and switched off, on the same data. Runs are interleaved;
the report gives medians and the on/off ratio.

    .venv/bin/python -m benchmarks.authorization_overhead [--customers 1000] [--runs 30]
        [--database-url sqlite:///...]
"""

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

import orjson
from sqlmodel import Session

from graph.app import QUERIES_ONLY, GraphQLEndpoint
from graph.schema import build_schema
from models.access.roles import grant_role
from models.core.enums import Role
from models.customers.tables import Customer, CustomerTag, Tag
from models.db import make_engine
from models.migrate import upgrade
from models.settings import Settings
from models.workgroups.operations import create_workgroup
from policies import Authorizer

EVERY_FIELD = """
query($first: Int!) {
  customers(first: $first) {
    totalCount
    edges { node {
      id companyName primaryDomain domains primaryLocation city state address postalCode
      phone fax industry companySize rank businessId renewalPolicy relationship status tags
      workgroup { id name } createdAt updatedAt archivedAt version
    } }
  }
}
"""
# What a sales agent may read: every field above but rank and businessId.
SALES_FIELDS = EVERY_FIELD.replace("rank businessId ", "")

ADMIN = "admin@bench.example"
SALES = "sales@bench.example"


def load(engine, count: int) -> None:
    with Session(engine) as session:
        workgroup = create_workgroup(session=session, name="Bench", actor_id=None)
        grant_role(
            session=session, email=ADMIN, role=Role.ADMIN, workgroup_id=workgroup.id, actor_id=None
        )
        grant_role(
            session=session,
            email=SALES,
            role=Role.SALES_AGENT,
            workgroup_id=workgroup.id,
            actor_id=None,
        )
        tags = [
            Tag(workgroup_id=workgroup.id, name=f"tag{i}", name_key=f"tag{i}") for i in range(5)
        ]
        session.add_all(tags)
        session.flush()
        rows = [
            Customer(
                workgroup_id=workgroup.id,
                company_name=f"Customer {i:05d}",
                primary_domain=f"customer{i}.example",
                domains=[f"mail.customer{i}.example"],
                primary_location=["US", "DE", "JP", "PL", "NO"][i % 5],
                city="City",
                state="State",
                address=f"{i} Main Street",
                postal_code="12345",
                phone="+1 555 0100",
                fax="+1 555 0101",
                industry="RETAIL",
                company_size="EMPLOYEES_11_50",
                rank=i % 100,
                business_id=f"B{i}",
                renewal_policy="AUTO_RENEW",
                relationship="DIRECT",
            )
            for i in range(count)
        ]
        session.add_all(rows)
        session.flush()
        session.add_all(
            CustomerTag(customer_id=r.id, tag_id=tags[i % 5].id, workgroup_id=r.workgroup_id)
            for i, r in enumerate(rows)
        )
        session.commit()


def endpoint(engine, settings: Settings, *, enabled: bool) -> GraphQLEndpoint:
    return GraphQLEndpoint(
        schema=build_schema(settings),
        engine=engine,
        authorizer=Authorizer.from_files(enabled=enabled),
        settings=settings,
    )


def timed(target: GraphQLEndpoint, email: str, query: str, first: int) -> tuple[float, dict]:
    started = time.perf_counter()
    status, body = target.execute(
        email=email,
        params={"query": query, "variables": {"first": first}},
        allowed=QUERIES_ONLY,
        request_id="bench",
    )
    orjson.dumps(body)
    elapsed = time.perf_counter() - started
    assert status == 200, body
    return elapsed, body


def compare(on, off, email, query, first, runs) -> dict:
    _, on_body = timed(on, email, query, first)
    _, off_body = timed(off, email, query, first)
    assert on_body == off_body, "authorizer on and off must return the same data here"
    times = {"on": [], "off": []}
    for run in range(runs):
        order = (("on", on), ("off", off)) if run % 2 == 0 else (("off", off), ("on", on))
        for name, target in order:
            times[name].append(timed(target, email, query, first)[0])
    on_median = statistics.median(times["on"])
    off_median = statistics.median(times["off"])
    return {
        "median_on_ms": round(on_median * 1000, 2),
        "median_off_ms": round(off_median * 1000, 2),
        "ratio_on_off": round(on_median / off_median, 3),
        "rows": len(on_body["data"]["customers"]["edges"]),
        "runs": runs,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--json", type=Path, default=None, help="also write results here")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as folder:
        url = args.database_url or f"sqlite:///{folder}/bench.db"
        engine = make_engine(url)
        upgrade(engine)
        load(engine, args.customers)
        settings = Settings(database_url=url, max_page_size=max(1000, args.customers))
        on, off = (
            endpoint(engine, settings, enabled=True),
            endpoint(engine, settings, enabled=False),
        )
        results = {
            "admin, every field": compare(on, off, ADMIN, EVERY_FIELD, args.customers, args.runs),
            "sales agent, its readable fields": compare(
                on, off, SALES, SALES_FIELDS, args.customers, args.runs
            ),
        }
        engine.dispose()

    print(
        f"customers(first: {args.customers}) on {url.split(':')[0]}, {args.runs} interleaved runs"
    )
    print("| case | authorizer on (ms) | off (ms) | on/off |")
    print("|---|---|---|---|")
    for case, r in results.items():
        print(f"| {case} | {r['median_on_ms']} | {r['median_off_ms']} | {r['ratio_on_off']} |")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
