"""Pytest fixtures for the SDK contract tests: start `genesys_exporter simulate` as a
real subprocess on 127.0.0.1:0, wait (bounded) for its announced URL, stop it after.
"""

import os
import queue
import re
import subprocess
import tempfile
import threading
import time
from pathlib import Path

import pytest

from sdk_support import authed_client

REPO = Path(__file__).resolve().parents[2]
BINARY = Path(os.environ.get("GENESYS_EXPORTER_BIN", REPO / "target" / "debug" / "genesys_exporter"))
STARTUP_DEADLINE_S = 60.0
STOP_DEADLINE_S = 15.0
URL_RE = re.compile(r"http://(\d{1,3}(?:\.\d{1,3}){3}):(\d+)")

#: Credentials of the OAuth client every simulator here is started with.
CLIENT_ID = "sdk-contract-client"
CLIENT_SECRET = "sdk-contract-secret"

#: Flags of the default simulator: a generous rate limit so only the 429 test hits it, and
#: traffic at the weekday peak around the clock, so real-time answers hold interactions
#: whatever the hour the tests run at.
DEFAULT_FLAGS = {
    "--seed": "4242",
    "--queues": "40",
    "--traffic-profile": "flat",
    "--client-id": CLIENT_ID,
    "--client-secret": CLIENT_SECRET,
    "--rate-limit": "100000",
    "--token-ttl": "1h",
    "--fault-rate": "0",
    "--latency": "0ms",
}


class Simulator:
    """One running `genesys_exporter simulate` process."""

    def __init__(self, flags):
        self.flags = dict(DEFAULT_FLAGS, **flags)
        self.base_url = None
        self.lines = queue.Queue()
        self.log = tempfile.TemporaryFile(mode="w+")
        argv = [str(BINARY), "simulate", "--listen", "127.0.0.1:0", "--log.level", "warn"]
        for name, value in self.flags.items():
            for one in value if isinstance(value, list) else [value]:
                argv += [name, one]
        self.argv = argv
        self.proc = subprocess.Popen(
            argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=self.log,
            text=True, encoding="utf-8", errors="replace",
        )
        threading.Thread(target=self._drain, daemon=True).start()
        self._await_url()

    def _drain(self):
        for line in self.proc.stdout:
            self.lines.put(line)
        self.lines.put(None)

    def _await_url(self):
        deadline = time.monotonic() + STARTUP_DEADLINE_S
        while time.monotonic() < deadline:
            try:
                line = self.lines.get(timeout=0.5)
            except queue.Empty:
                continue
            if line is None:
                break
            match = URL_RE.search(line)
            if match:
                self.base_url = f"http://{match.group(1)}:{match.group(2)}"
                return
        self.stop()
        self.log.seek(0)
        raise RuntimeError(
            f"simulator did not announce http://IP:PORT within {STARTUP_DEADLINE_S:.0f}s "
            f"(exit {self.proc.returncode}); argv {self.argv}; stderr:\n{self.log.read()[-4000:]}"
        )

    def client(self, client_id=CLIENT_ID, client_secret=CLIENT_SECRET, http_client=None):
        """An SDK `ApiClient` holding a fresh token of this simulator."""
        return authed_client(self.base_url, client_id, client_secret, http_client)

    def stop(self):
        """Terminates the process (then kills it if it lingers)."""
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=STOP_DEADLINE_S)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=STOP_DEADLINE_S)


@pytest.fixture(scope="session")
def start_simulator():
    """Factory: `start_simulator(**{'--flag': 'value'})` starts one more simulator (a list value
    repeats the flag)."""
    if not BINARY.is_file():
        pytest.fail(f"simulator binary {BINARY} not found: run `cargo build --bins` first")
    started = []

    def start(**flags):
        sim = Simulator(flags)
        started.append(sim)
        return sim

    yield start
    for sim in started:
        sim.stop()


@pytest.fixture(scope="session")
def sim(start_simulator):
    """The default simulator (seed 4242, 40 queues, flat traffic, no faults)."""
    return start_simulator()


@pytest.fixture(scope="session")
def api(sim):
    """An SDK `ApiClient` with a token for the default simulator (no hidden retries)."""
    return sim.client()
