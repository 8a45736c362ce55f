"""`clientele` — migrate, seed, serve, mint tokens, grant roles, export the schema."""

import argparse
import sys
from datetime import timedelta
from pathlib import Path

from models.settings import get_settings

ROLE_NAMES = [
    "admin",
    "admin_agent",
    "sales_agent",
    "customer_activity",
    "training_manager",
    "support_viewer",
    "member",
]


def _engine():
    from models.db import make_engine

    return make_engine(get_settings().database_url)


def cmd_migrate(_args) -> int:
    from models.migrate import current_revision, upgrade

    engine = _engine()
    upgrade(engine)
    print(f"Database at revision {current_revision(engine)}.")
    return 0


def cmd_seed(args) -> int:
    from models.db import session_scope
    from models.demo.seed import seed_demo
    from models.migrate import pending_migration_message

    if not args.demo:
        print("Nothing to seed: pass --demo for the demo data.", file=sys.stderr)
        return 2
    if get_settings().production:
        # The demo data holds a global admin (root@clientele.example) and well-known users.
        print(
            "Refusing to load the demo data in production (CLIENTELE_ENV=production): it "
            "would create a global admin and demo users. Nothing was changed.",
            file=sys.stderr,
        )
        return 2
    engine = _engine()
    pending = pending_migration_message(engine)
    if pending:
        print(pending, file=sys.stderr)
        return 2
    with session_scope(engine) as session:
        created = seed_demo(session=session)
    print("Demo data loaded." if created else "Demo data already present; nothing changed.")
    return 0


def cmd_serve(args) -> int:
    import uvicorn

    from models.migrate import pending_migration_message

    settings = get_settings()
    problems = settings.problems()
    if problems:
        print("Refusing to start: " + "; ".join(problems), file=sys.stderr)
        return 2
    pending = pending_migration_message(_engine())
    if pending:
        print(pending, file=sys.stderr)
        return 2
    print(f"Serving GraphQL on http://{args.host}:{args.port}/graphql ({settings.env} mode)")
    uvicorn.run(
        "graph.app:create_app",
        factory=True,
        host=args.host,
        port=args.port,
        workers=args.workers,
        http="graph.http_protocol:NoDelayH11Protocol",  # by name: each worker imports it
        log_level="info",
        access_log=False,
    )
    return 0


def cmd_token(args) -> int:
    from graph.auth import mint_token

    print(mint_token(args.email, get_settings(), ttl=timedelta(seconds=args.ttl)))
    return 0


def cmd_grant(args) -> int:
    from sqlalchemy import select

    from models.access.roles import grant_role
    from models.accounts.tables import Workgroup
    from models.core.enums import Role
    from models.core.errors import DomainError, ErrorCode
    from models.db import session_scope

    with session_scope(_engine()) as session:
        workgroup_id = None
        if args.workgroup != "*":
            workgroup = (
                session.execute(select(Workgroup).where(Workgroup.name == args.workgroup))
                .scalars()
                .first()
            )
            if workgroup is None:
                print(f"No workgroup named {args.workgroup!r}.", file=sys.stderr)
                return 2
            workgroup_id = workgroup.id
        try:
            grant_role(
                session=session,
                email=args.email,
                role=Role(args.role),
                workgroup_id=workgroup_id,
                actor_id=None,
            )
        except DomainError as error:
            if any(e.code is not ErrorCode.DUPLICATE for e in error.errors):
                print(str(error), file=sys.stderr)
                return 2
    where = "every workgroup" if workgroup_id is None else args.workgroup
    print(f"{args.email} holds {args.role} in {where}.")
    return 0


def cmd_bench_data(args) -> int:
    import time

    from models.demo.benchdata import build
    from models.migrate import pending_migration_message

    engine = _engine()
    pending = pending_migration_message(engine)
    if pending:
        print(pending, file=sys.stderr)
        return 2
    started = time.perf_counter()
    try:
        counts = build(engine, customers=args.customers, cases=args.cases, users=args.users)
    except ValueError as error:
        print(str(error), file=sys.stderr)
        return 2
    for table, count in counts.items():
        print(f"{table:>20} {count:>10,}")
    print(f"Loaded in {time.perf_counter() - started:.1f} s.")
    return 0


def cmd_export_schema(args) -> int:
    from graph.schema import schema_sdl

    sdl = schema_sdl()
    if args.path in (None, "-"):
        sys.stdout.write(sdl)
    else:
        Path(args.path).write_text(sdl)
        print(f"Wrote {args.path}.")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="clientele", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    commands.add_parser("migrate", help="apply database migrations").set_defaults(run=cmd_migrate)

    seed = commands.add_parser("seed", help="load data")
    seed.add_argument("--demo", action="store_true", help="the deterministic demo data set")
    seed.set_defaults(run=cmd_seed)

    serve = commands.add_parser("serve", help="serve GraphQL over HTTP")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--workers", type=int, default=1)
    serve.set_defaults(run=cmd_serve)

    token = commands.add_parser("token", help="print a signed token for EMAIL")
    token.add_argument("email")
    token.add_argument("--ttl", type=int, default=12 * 3600, help="seconds (default 12 hours)")
    token.set_defaults(run=cmd_token)

    grant = commands.add_parser("grant", help="give EMAIL a role in a workgroup")
    grant.add_argument("email")
    grant.add_argument("role", choices=ROLE_NAMES)
    grant.add_argument(
        "--workgroup", required=True, help='workgroup name, or "*" for every workgroup'
    )
    grant.set_defaults(run=cmd_grant)

    bench = commands.add_parser("bench-data", help="load the deterministic benchmark data set")
    bench.add_argument("--customers", type=int, default=10_000)
    bench.add_argument("--cases", type=int, default=100_000)
    bench.add_argument("--users", type=int, default=1000)
    bench.set_defaults(run=cmd_bench_data)

    export = commands.add_parser("export-schema", help="write the GraphQL SDL")
    export.add_argument("path", nargs="?", default=None)
    export.set_defaults(run=cmd_export_schema)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.run(args)


if __name__ == "__main__":
    sys.exit(main())
