"""The benchmark suite: each query beside its floor (handwritten SQL → orjson) and beside the
same query with the authorizer switched off; statements and Casbin evaluations per request at
growing row counts; and, with --http, requests/s and latency over real HTTP.

    .venv/bin/python -m benchmarks [--database-url URL] [--customers 2000] [--runs 15] [--http]

Without --database-url a temporary SQLite database is built with `bench-data`. Results are
printed as Markdown and written to benchmarks/results/latest-<database>.{md,json}.
"""

import argparse
import json
import platform
import statistics
import tempfile
import time
from pathlib import Path

from sqlalchemy import select

from benchmarks import floors, http_load
from benchmarks.harness import Harness
from models.accounts.tables import Workgroup
from models.customers.tables import Customer
from models.db import make_engine
from models.demo.benchdata import WORKGROUPS, BenchUsers, build
from models.migrate import upgrade

RESULTS = Path(__file__).with_name("results")

Q1 = """query($id: ID!) { customer(id: $id) { id companyName primaryDomain primaryLocation city
  industry companySize rank businessId status tags workgroup { name } } }"""
Q2 = """query($first: Int!, $wg: ID) { customers(workgroupId: $wg, first: $first) {
  edges { node { id companyName
  agreements { id number endsOn packages { id name kind serviceAmounts {
    id category kind unit purchased used available } } } } } } }"""
Q3 = """query($first: Int!, $wg: ID) { customers(workgroupId: $wg, first: $first) {
  totalCount edges { node {
  id companyName primaryDomain domains primaryLocation city state address postalCode phone fax
  industry companySize rank businessId renewalPolicy relationship status tags
  workgroup { id name } createdAt updatedAt archivedAt version } } } }"""
Q5 = """query($first: Int!) { supportCases(first: $first) { totalCount edges { node {
  id number title status severity classification createdAt primaryContact { email } } } } }"""
Q6 = """query($workgroupIds: [ID!]) { customerActivity(workgroupIds: $workgroupIds) {
  agreements { id number endsOn } enterprise { category kind unit purchased used available } } }"""

Q6_EVERY_WORKGROUP = Q6.replace("($workgroupIds: [ID!])", "").replace(
    "(workgroupIds: $workgroupIds)", ""
)


def median_ms(samples: list[float]) -> float:
    return round(statistics.median(samples) * 1000, 2)


def p95_ms(samples: list[float]) -> float:
    ordered = sorted(samples)
    return round(ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))] * 1000, 2)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url")
    parser.add_argument("--customers", type=int, default=2000)
    parser.add_argument("--cases", type=int, default=20_000)
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--http", action="store_true", help="also load real servers over HTTP")
    parser.add_argument(
        "--http-requests",
        type=int,
        default=http_load.REQUESTS_PER_LEVEL,
        help="requests per query, worker count and concurrency",
    )
    args = parser.parse_args()

    folder = tempfile.mkdtemp(prefix="clientele-bench-")
    url = args.database_url or f"sqlite:///{folder}/bench.db"
    engine = make_engine(url)
    upgrade(engine)
    with engine.connect() as connection:
        loaded = connection.execute(
            select(Workgroup.id).where(Workgroup.name == WORKGROUPS[0])
        ).first()
    if not loaded:
        started = time.perf_counter()
        build(engine, customers=args.customers, cases=args.cases, users=200)
        print(f"built bench data in {time.perf_counter() - started:.1f} s")

    with engine.connect() as connection:
        first_workgroup = connection.execute(
            select(Workgroup.id).where(Workgroup.name == WORKGROUPS[0])
        ).scalar_one()
        customer_id = connection.execute(
            select(Customer.id).where(Customer.workgroup_id == first_workgroup).limit(1)
        ).scalar_one()

    harness = Harness(url, engine)
    admin, sales = BenchUsers.GLOBAL_ADMIN, BenchUsers.email("sales_agent")
    activity, member = BenchUsers.email("customer_activity"), BenchUsers.MEMBER_WITH_CASES
    from graph.ids import encode_id

    first_wg_id = encode_id("Workgroup", first_workgroup)
    cases = [
        (
            "Q1 customer by id",
            admin,
            Q1,
            {"id": encode_id("Customer", customer_id)},
            lambda: floors.q1(engine, customer_id),
        ),
        (
            "Q2 50 customers → agreements → packages → amounts",
            admin,
            Q2,
            {"first": 50, "wg": first_wg_id},
            lambda: floors.q2(engine, first_workgroup, 50),
        ),
        (
            "Q3 1,000 customers x every field",
            admin,
            Q3,
            {"first": 1000, "wg": first_wg_id},
            lambda: floors.q3(engine, first_workgroup, 1000),
        ),
        (
            "Q4 Q2 as a sales agent (agreements denied)",
            sales,
            Q2,
            {"first": 50, "wg": first_wg_id},
            lambda: floors.q2_restricted(engine, first_workgroup, 50),
        ),
        (
            "Q5 a member's support cases (row rule)",
            member,
            Q5,
            {"first": 50},
            lambda: floors.q5(engine, member, 50),
        ),
        (
            "Q6 customerActivity for a workgroup",
            activity,
            Q6,
            {"workgroupIds": [encode_id("Workgroup", first_workgroup)]},
            lambda: floors.q6(engine, first_workgroup),
        ),
    ]
    rows = []
    for name, email, query, variables, floor in cases:
        rows.append(harness.compare(name, email, query, variables, floor, args.runs))
    rows.append(
        harness.compare_export(
            "Q7 customer CSV export",
            admin,
            first_workgroup,
            lambda: floors.q7(engine, first_workgroup),
            max(3, args.runs // 3),
        )
    )
    growth = [
        harness.growth("Q2", admin, Q2, "first", [5, 50, 500]),
        harness.growth("Q3", admin, Q3, "first", [10, 100, 1000]),
        harness.growth("Q5", member, Q5, "first", [10, 100, 1000]),
        harness.growth("Q6", activity, Q6_EVERY_WORKGROUP, None, [None]),
    ]
    report = {
        "machine": f"{platform.machine()}, {platform.python_implementation()} "
        f"{platform.python_version()}, {engine.dialect.name}",
        "database": engine.dialect.name,
        "customers": args.customers,
        "runs": args.runs,
        "queries": rows,
        "growth": growth,
        "http": [],
    }
    publish(report)  # the in-process results stand even if the load test fails
    if args.http:
        http_load.REQUESTS_PER_LEVEL = args.http_requests
        report["http"] = http_load.run(
            url,
            [
                ("Q1", Q1, {"id": encode_id("Customer", customer_id)}),
                ("Q2", Q2, {"first": 50, "wg": first_wg_id}),
            ],
            admin,
        )
        publish(report)


def publish(report: dict) -> None:
    markdown = render(report)
    print(markdown)
    RESULTS.mkdir(exist_ok=True)
    name = f"latest-{report.get('database', 'sqlite')}"
    (RESULTS / f"{name}.md").write_text(markdown)
    (RESULTS / f"{name}.json").write_text(json.dumps(report, indent=2) + "\n")


def render(report: dict) -> str:
    lines = [
        f"Machine: {report['machine']}; {report['customers']:,} customers; "
        f"{report['runs']} interleaved runs per cell; times are medians (p95) in ms.",
        "",
        "| query | GraphQL | authorizer off | floor | GraphQL/floor | on/off | authorizing "
        "| SQL | Casbin |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in report["queries"]:
        lines.append(
            f"| {r['name']} | {r['on_ms']} ({r['on_p95_ms']}) | {r['off_ms']} | {r['floor_ms']} "
            f"| {r['graphql_over_floor']} | {r['on_over_off']} "
            f"| {r.get('authorization_ms') if r.get('authorization_ms') is not None else '—'} "
            f"| {r['statements']} | {r['evaluations']} |"
        )
    lines += ["", "Per request as rows grow (statements / cold-cache Casbin evaluations):", ""]
    lines += ["| query | rows asked | statements | evaluations |", "|---|---|---|---|"]
    for g in report["growth"]:
        for step in g["steps"]:
            lines.append(
                f"| {g['name']} | {step['rows']} | {step['statements']} | {step['evaluations']} |"
            )
    if report["http"]:
        lines += ["", "Over HTTP (`clientele serve`, loopback):", ""]
        lines += [
            "| query | workers | concurrency | req/s | p50 ms | p95 ms |",
            "|---|---|---|---|---|---|",
        ]
        for h in report["http"]:
            lines.append(
                f"| {h['query']} | {h['workers']} | {h['concurrency']} | {h['rps']} "
                f"| {h['p50_ms']} | {h['p95_ms']} |"
            )
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
