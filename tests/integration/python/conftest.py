"""Shared fixtures: start the real webpubsub-server binary on a free port, stop it afterwards.

The binary comes from $WPS_SERVER_BIN (default: <repo>/build/release/src/webpubsub-server).
Run with Debian's interpreter: /usr/bin/python3 -m pytest tests/integration/python
"""
import os
import re
import signal
import subprocess
import threading
import time
from pathlib import Path

import pytest

REPO_DIR = Path(__file__).resolve().parents[3]
SERVER_BIN = os.environ.get(
    "WPS_SERVER_BIN", str(REPO_DIR / "build" / "release" / "src" / "webpubsub-server")
)
ENDPOINT_RE = re.compile(r"Endpoint=http://localhost:(\d+);AccessKey=([^;]+);Version=1\.0;")


class Server:
    def __init__(self, args=()):
        self.proc = subprocess.Popen(
            [SERVER_BIN, "--port", "0", *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self.output = []
        self._ready = threading.Event()
        self.port = None
        self.key = None
        threading.Thread(target=self._pump, daemon=True).start()
        if not self._ready.wait(15):
            self.stop()
            raise RuntimeError(
                "server did not print its Endpoint line within 15 s:\n" + "".join(self.output)
            )
        if self.port is None:
            self.stop()
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

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
        try:
            self.proc.wait(5)
        except subprocess.TimeoutExpired:
            pass


@pytest.fixture(scope="module")
def server():
    s = Server()
    try:
        yield s
    finally:
        s.stop()
