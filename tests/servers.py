"""Real `clientele serve` processes for end-to-end tests."""

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

CLIENTELE = Path(sys.executable).with_name("clientele")
# How many servers were started: they write to the test database behind the fixtures' back.
started = 0


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class Server:
    url: str
    process: subprocess.Popen

    def graphql(self, token: str, query: str, variables: dict | None = None) -> httpx.Response:
        return httpx.post(
            f"{self.url}/graphql",
            json={"query": query, "variables": variables or {}},
            headers={"Authorization": f"Bearer {token}"},
            timeout=10,
        )


@contextmanager
def running_server(database_url: str, secret: str, **env: str) -> Iterator[Server]:
    """Starts `clientele serve` on a free port and stops it afterwards."""
    global started
    started += 1
    port = free_port()
    environment = {
        **os.environ,
        "CLIENTELE_DATABASE_URL": database_url,
        "CLIENTELE_JWT_SECRET": secret,
        **env,
    }
    process = subprocess.Popen(
        [str(CLIENTELE), "serve", "--port", str(port)],
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 20
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"server exited early:\n{process.stdout.read()}")  # type: ignore[union-attr]
            try:
                if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("server did not become healthy within 20 s")
            time.sleep(0.1)
        yield Server(url=url, process=process)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
