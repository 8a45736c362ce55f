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
# How long a server may take to answer /healthz. The wait ends as soon as it answers; the
# deadline is only there so that a server that never will fails the test instead of hanging
# it, and is generous because a busy machine (the two test legs side by side on two CPUs) once
# took more than 20 s to start one.
START_TIMEOUT = float(os.environ.get("CLIENTELE_TEST_SERVER_START_SECONDS", "120"))
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


def _wait_until_ready(url: str, process: subprocess.Popen) -> None:
    """Returns once the server answers GET /healthz with 200; raises, with everything the server
    wrote, if it exits first or has not answered within START_TIMEOUT seconds."""
    deadline = time.monotonic() + START_TIMEOUT
    while True:
        if process.poll() is not None:
            raise RuntimeError(
                f"`clientele serve` exited with status {process.returncode} before it answered "
                f"{url}/healthz; its output:\n{_output_of(process)}"
            )
        try:
            if httpx.get(f"{url}/healthz", timeout=5).status_code == 200:
                return
        except httpx.TransportError:
            pass  # not listening yet, or too busy to answer in time: ask again
        if time.monotonic() > deadline:
            process.terminate()
            raise RuntimeError(
                f"`clientele serve` did not answer {url}/healthz with 200 within "
                f"{START_TIMEOUT:g} s (CLIENTELE_TEST_SERVER_START_SECONDS); its output:\n"
                f"{_output_of(process)}"
            )
        time.sleep(0.1)


def _output_of(process: subprocess.Popen) -> str:
    """What an ended (or ending) server wrote to its stdout and stderr."""
    try:
        output, _ = process.communicate(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        output, _ = process.communicate()
    return output or ""


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
        _wait_until_ready(url, process)
        yield Server(url=url, process=process)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
