"""Load over real HTTP: `clientele serve` with 1 and 2 workers on loopback, an async client
sending a bounded number of requests at each concurrency."""

import asyncio
import os
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

import httpx

from graph.auth import mint_token
from models.settings import Settings

SECRET = "benchmark-secret-" + "b" * 32
REQUESTS_PER_LEVEL = 150
CONCURRENCY = (1, 8, 32)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _start(url: str, workers: int) -> tuple[subprocess.Popen, str]:
    port = _free_port()
    process = subprocess.Popen(
        [
            str(Path(sys.executable).with_name("clientele")),
            "serve",
            "--port",
            str(port),
            "--workers",
            str(workers),
        ],
        env={**os.environ, "CLIENTELE_DATABASE_URL": url, "CLIENTELE_JWT_SECRET": SECRET},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                return process, base
        except httpx.TransportError:
            time.sleep(0.2)
    process.kill()
    raise RuntimeError("server did not start")


async def _level(
    base: str, token: str, query: str, variables: dict, concurrency: int, requests: int = 0
):
    latencies: list[float] = []
    remaining = requests or REQUESTS_PER_LEVEL
    async with httpx.AsyncClient(
        base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=120
    ) as client:

        async def worker():
            nonlocal remaining
            while remaining > 0:
                remaining -= 1
                started = time.perf_counter()
                response = await client.post(
                    "/graphql", json={"query": query, "variables": variables}
                )
                response.raise_for_status()
                latencies.append(time.perf_counter() - started)

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        elapsed = time.perf_counter() - started
    latencies.sort()
    return {
        "rps": round(len(latencies) / elapsed, 1),
        "p50_ms": round(statistics.median(latencies) * 1000, 2),
        "p95_ms": round(latencies[int(len(latencies) * 0.95) - 1] * 1000, 2),
    }


def run(url: str, queries: list[tuple[str, str, dict]], email: str) -> list[dict]:
    token = mint_token(email, Settings(jwt_secret=SECRET))
    results = []
    for workers in (1, 2):
        process, base = _start(url, workers)
        try:
            for name, query, variables in queries:
                # Warm every worker (its pools, caches and first-request work) before measuring.
                asyncio.run(_level(base, token, query, variables, 8, requests=16 * workers))
                for concurrency in CONCURRENCY:
                    measured = asyncio.run(_level(base, token, query, variables, concurrency))
                    results.append(
                        {"query": name, "workers": workers, "concurrency": concurrency, **measured}
                    )
        finally:
            process.terminate()
            process.wait(timeout=15)
    return results
