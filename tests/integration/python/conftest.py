"""Shared fixtures: start the real webpubsub-server binary on a free port, stop it afterwards.

The binary comes from $WPS_SERVER_BIN (default: <repo>/build/release/src/webpubsub-server).
Run with Debian's interpreter: /usr/bin/python3 -m pytest tests/integration/python

A server is stopped with SIGTERM (SIGKILL only if it has not exited 10 s later), so that a
sanitizer build exits through main() and LeakSanitizer checks for leaks; its whole output is then
scanned for sanitizer reports, and one fails the test (or, for a fixture, its teardown).
"""
import os
import re
import signal
import subprocess
import threading
from pathlib import Path

import pytest

REPO_DIR = Path(__file__).resolve().parents[3]
SERVER_BIN = os.environ.get(
    "WPS_SERVER_BIN", str(REPO_DIR / "build" / "release" / "src" / "webpubsub-server")
)
ENDPOINT_RE = re.compile(r"Endpoint=http://localhost:(\d+);AccessKey=([^;]+);Version=1\.0;")
SANITIZER_RE = re.compile(
    r"WARNING: ThreadSanitizer|ERROR: AddressSanitizer|ERROR: LeakSanitizer|runtime error: "
)
# The server's shutdown grace is 3 s; the rest is for a sanitizer build's exit on a loaded machine.
STOP_TIMEOUT_S = 10


def sanitizer_report(output):
    """The sanitizer report in `output` (from a little before it), or None."""
    m = SANITIZER_RE.search(output)
    if m is None:
        return None
    start = output.rfind("\n", 0, max(0, m.start() - 200)) + 1
    return output[start:start + 6000]


class Server:
    def __init__(self, args=()):
        threads = os.environ.get("WPS_SERVER_THREADS")
        extra = ["--threads", threads] if threads and "--threads" not in args else []
        self.args = [SERVER_BIN, "--port", "0", *args, *extra]
        self.proc = subprocess.Popen(
            self.args,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            errors="replace",
        )
        self.output = []
        self._ready = threading.Event()
        self.port = None
        self.key = None
        self._pump_thread = threading.Thread(target=self._pump, daemon=True)
        self._pump_thread.start()
        if not self._ready.wait(15):
            self.stop(check=False)
            raise RuntimeError(
                "server did not print its Endpoint line within 15 s:\n" + "".join(self.output)
            )
        if self.port is None:
            self.stop(check=False)
            raise RuntimeError("server exited before it was ready:\n" + "".join(self.output))
        self.connection_string = (
            f"Endpoint=http://localhost:{self.port};AccessKey={self.key};Version=1.0;"
        )

    def _pump(self):
        for line in self.proc.stdout:
            self.output.append(line)
            m = ENDPOINT_RE.search(line)
            if m and self.port is None:
                self.port = int(m.group(1))
                self.key = m.group(2)
                self._ready.set()
        self._ready.set()

    def stop(self, check=True):
        """Stops the server (SIGTERM, then SIGKILL after STOP_TIMEOUT_S) and, with `check`,
        fails when its output holds a sanitizer report or it crashed while stopping."""
        stopped_by_us = self.proc.poll() is None
        if stopped_by_us:
            self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)
        self._pump_thread.join(5)  # the output to its end
        if not check:
            return
        output = "".join(self.output)
        report = sanitizer_report(output)
        if report is not None:
            pytest.fail(f"sanitizer report from {' '.join(self.args)}:\n{report}", pytrace=False)
        code = self.proc.returncode
        if stopped_by_us and code is not None and code < 0 and -code != signal.SIGKILL:
            pytest.fail(
                f"{' '.join(self.args)} died of signal {-code} after SIGTERM:\n{output[-3000:]}",
                pytrace=False,
            )


@pytest.fixture(scope="module")
def server():
    s = Server()
    try:
        yield s
    finally:
        s.stop()
