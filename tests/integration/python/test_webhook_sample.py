"""The Python client sample of how-to-connect.md (samples/python-simple-client.py) run as written
against a hub whose event handler greets (issue 4 acceptance): the sample connects as a simple
WebSocket client, reads a name from stdin, sends it, and prints the reply. The reply can only come
from the event handler, an @azure/web-pubsub-express app (js/webhook-helpers.mjs greeter) started
as a child process. Only the Client_Access_URL placeholder is filled in; the name is fed through
the sample's stdin."""
import json
import os
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from azure.messaging.webpubsubservice import WebPubSubServiceClient

from conftest import Server

INTEGRATION_DIR = Path(__file__).resolve().parents[1]
SAMPLES = INTEGRATION_DIR / "samples"


class Greeter:
    """node js/webhook-helpers.mjs greeter <hub>: an express handler answering "Hello, <name>!"."""

    def __init__(self, hub):
        node = shutil.which("node")
        if node is None:
            pytest.fail("node is required for the express event handler")
        self.proc = subprocess.Popen(
            [node, "js/webhook-helpers.mjs", "greeter", hub],
            cwd=INTEGRATION_DIR,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self.output = []
        self.port = None
        ready = threading.Event()

        def pump():
            for line in self.proc.stdout:
                self.output.append(line)
                if line.startswith("HANDLER_PORT=") and self.port is None:
                    self.port = int(line.strip().split("=", 1)[1])
                    ready.set()
            ready.set()

        threading.Thread(target=pump, daemon=True).start()
        if not ready.wait(15) or self.port is None:
            self.stop()
            pytest.fail("the express handler did not start:\n" + "".join(self.output))

    def stop(self):
        if self.proc.poll() is None:
            self.proc.kill()
        try:
            self.proc.wait(5)
        except subprocess.TimeoutExpired:
            pass


def test_how_to_connect_python_sample_gets_a_greeting(tmp_path):
    hub = "pygreeting"
    greeter = Greeter(hub)
    server = None
    try:
        config = tmp_path / "config.json"
        config.write_text(json.dumps({"hubs": {hub: {"eventHandlers": [{
            "urlTemplate": f"http://127.0.0.1:{greeter.port}/api/webpubsub/hubs/{{hub}}/",
            "systemEvents": ["connect", "connected", "disconnected"],
            "userEventPattern": "*",
        }]}}}))
        server = Server(["--config", str(config)])
        service = WebPubSubServiceClient.from_connection_string(server.connection_string, hub=hub)
        url = service.get_client_access_token(user_id="python-sample")["url"]

        source = (SAMPLES / "python-simple-client.py").read_text()
        assert source.count("'Client_Access_URL'") == 1
        sample = tmp_path / "python-simple-client.py"
        sample.write_text(source.replace("Client_Access_URL", url))
        env = {**os.environ, "PYTHONWARNINGS": "ignore::DeprecationWarning"}
        proc = subprocess.run(
            [sys.executable, str(sample)], input="Ada Lovelace\n", capture_output=True, text=True,
            timeout=20, env=env)
        details = (f"exit {proc.returncode}\nstdout:\n{proc.stdout}\nstderr:\n{proc.stderr}\n"
                   f"server:\n{''.join(server.output)}\nhandler:\n{''.join(greeter.output)}")
        assert proc.returncode == 0, details
        lines = proc.stdout.splitlines()
        assert "What's your name? > Ada Lovelace" in lines, details
        assert "< Hello, Ada Lovelace!" in lines, details
    finally:
        if server is not None:
            server.stop()
        greeter.stop()
