"""Operations (issue 17): the Prometheus metrics of --metrics-port parsed with the real text-format
parser of python3-prometheus-client, exact after known traffic; the hub label cap; the token the
listener wants off loopback; event-handler counters and durations; and --log-format json parsed
line by line with no secret in it.

Run with Debian's interpreter: /usr/bin/python3 -m pytest -q tests/integration/python/test_operations.py
"""
import asyncio
import base64
import hashlib
import hmac
import json
import socket
import threading
import time
import urllib.error
import urllib.request
from contextlib import AsyncExitStack
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import websockets
from prometheus_client.parser import text_string_to_metric_families

from conftest import Server
from rest_helpers import JSON_PROTOCOL, JsonClient, call, recv_json, run, service_client

TIMEOUT = 5


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def fetch(port, path="/metrics", headers=None, host="127.0.0.1"):
    request = urllib.request.Request(f"http://{host}:{port}{path}", headers=headers or {})
    with urllib.request.urlopen(request, timeout=TIMEOUT) as response:
        return response.status, response.headers.get("Content-Type"), response.read().decode()


def samples(port, **kwargs):
    """{(name, frozenset(labels)): value} of every sample /metrics exposes."""
    status, content_type, text = fetch(port, **kwargs)
    assert status == 200
    assert content_type.startswith("text/plain; version=0.0.4")
    out = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            out[(s.name, frozenset(s.labels.items()))] = s.value
    return out


def value(metrics, name, **labels):
    return metrics.get((name, frozenset(labels.items())))


def wait_for(port, predicate, what, timeout=5):
    """Polls /metrics until predicate(samples) holds; returns the last samples."""
    deadline = time.monotonic() + timeout
    while True:
        metrics = samples(port)
        if predicate(metrics):
            return metrics
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not reached; /metrics has "
                                 f"{sorted((k[0], sorted(k[1]), v) for k, v in metrics.items() if 'webpubsub' in k[0])}")
        time.sleep(0.05)


def b64(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def ops_token(key, aud="webpubsub-ops", exp_in=3600):
    header = b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    claims = b64(json.dumps({"aud": aud, "exp": int(time.time()) + exp_in}).encode())
    signature = hmac.new(key.encode(), f"{header}.{claims}".encode(), hashlib.sha256).digest()
    return f"{header}.{claims}.{b64(signature)}"


def test_metrics_count_known_traffic_exactly():
    port = free_port()
    server = Server(["--metrics-port", str(port)])
    try:
        hub, clients, sends = "opsmetrics", 3, 4
        service = service_client(server, hub)
        roles = ["webpubsub.joinLeaveGroup", "webpubsub.sendToGroup"]

        # Before any traffic: no hub, process metrics present.
        before = samples(port)
        assert value(before, "process_resident_memory_bytes") > 0
        assert value(before, "process_open_fds") > 0
        assert value(before, "process_cpu_seconds_total") >= 0
        assert value(before, "webpubsub_connections", hub=hub, protocol="json") is None

        async def scenario():
            async with AsyncExitStack() as stack:
                members = [await JsonClient.connect(service, stack, user_id=f"u{i}", roles=roles)
                           for i in range(clients)]
                for n, member in enumerate(members):
                    await member.send({"type": "joinGroup", "group": "g", "ackId": n + 1})
                    await recv_json(member.ws, lambda m: m.get("type") == "ack")
                url = (await call(service.get_client_access_token, user_id="simple"))["url"]
                simple = await stack.enter_async_context(websockets.connect(url, open_timeout=TIMEOUT))
                wait_for(port, lambda m: value(m, "webpubsub_connections", hub=hub, protocol="simple") == 1,
                         "the simple client counted")

                for n in range(sends):
                    await members[0].send({"type": "sendToGroup", "group": "g", "ackId": 100 + n,
                                           "dataType": "text", "data": f"m{n}"})
                await call(service.send_to_group, "g", "from rest", content_type="text/plain")
                for member in members:
                    for _ in range(sends + 1):
                        await member.next_data()

                m = samples(port)
                assert value(m, "webpubsub_connections", hub=hub, protocol="json") == clients
                assert value(m, "webpubsub_connections", hub=hub, protocol="simple") == 1
                assert value(m, "webpubsub_connections", hub=hub, protocol="protobuf") == 0
                # joinGroup and sendToGroup messages of the JSON clients; the simple one sent none.
                assert value(m, "webpubsub_messages_received_total", hub=hub, protocol="json") == clients + sends
                assert value(m, "webpubsub_messages_received_total", hub=hub, protocol="simple") == 0
                # Every group message reached every member (noEcho off): (M + 1 REST) * N.
                assert value(m, "webpubsub_messages_delivered_total", hub=hub, protocol="json") == (sends + 1) * clients
                assert value(m, "webpubsub_messages_delivered_total", hub=hub, protocol="simple") == 0
                assert value(m, "webpubsub_rest_requests_total", operation="SendToGroup", code="202") == 1

                # A REST close of the simple client, then a client-side close of one JSON client.
                simple_id = None
                # The simple client's id is only known to the server: close the user's connections.
                await call(service.close_user_connections, "simple")
                await asyncio.wait_for(simple.wait_closed(), TIMEOUT)
                await members[2].ws.close()
                m = wait_for(port, lambda m: value(m, "webpubsub_connections", hub=hub, protocol="json") == clients - 1
                             and value(m, "webpubsub_connections", hub=hub, protocol="simple") == 0
                             and value(m, "webpubsub_connections_closed_total", reason="client") == 1
                             and value(m, "webpubsub_connections_closed_total", reason="rest") == 1,
                             "the closes counted")
                assert value(m, "webpubsub_rest_requests_total", operation="CloseUserConnections", code="204") == 1
                assert value(m, "webpubsub_connections_closed_total", reason="slow_consumer") == 0
                assert value(m, "webpubsub_connections_closed_total", reason="protocol_error") == 0
                assert simple_id is None

                # A message that is not JSON: closed as a protocol error.
                await members[1].ws.send("not json")
                await asyncio.wait_for(members[1].ws.wait_closed(), TIMEOUT)
                wait_for(port, lambda m: value(m, "webpubsub_connections_closed_total", reason="protocol_error") == 1,
                         "the protocol error counted")

        run(scenario())
        # A REST call that matches no route is counted as "unmatched".
        req = urllib.request.Request(f"http://127.0.0.1:{server.port}/api/nowhere?api-version=2024-12-01")
        try:
            urllib.request.urlopen(req, timeout=TIMEOUT)
        except urllib.error.HTTPError as e:
            assert e.code == 401
        m = samples(port)
        assert value(m, "webpubsub_rest_requests_total", operation="unmatched", code="401") == 1
        assert "webpubsub_cluster_nodes" not in {k[0] for k in m}  # not in a cluster
    finally:
        server.stop()


def test_hub_label_cardinality_is_capped():
    port = free_port()
    server = Server(["--metrics-port", str(port), "--metrics-max-hubs", "2"])
    try:
        async def scenario():
            async with AsyncExitStack() as stack:
                for hub in ["caphuba", "caphubb", "caphubc", "caphubd"]:
                    await JsonClient.connect(service_client(server, hub), stack)
                m = samples(port)
                assert value(m, "webpubsub_connections", hub="caphuba", protocol="json") == 1
                assert value(m, "webpubsub_connections", hub="caphubb", protocol="json") == 1
                assert value(m, "webpubsub_connections", hub="_other", protocol="json") == 2
                assert value(m, "webpubsub_connections", hub="caphubc", protocol="json") is None
                hubs = {dict(k[1]).get("hub") for k in m if k[0] == "webpubsub_connections"}
                assert hubs == {"caphuba", "caphubb", "_other"}
        run(scenario())
    finally:
        server.stop()


def test_a_listener_off_loopback_wants_a_token_signed_with_the_access_key():
    port = free_port()
    key = "ops-test-key-0123456789abcdef0123456789"
    server = Server(["--metrics-port", str(port), "--metrics-host", "0.0.0.0", "--access-key", key])
    try:
        for path in ["/metrics", "/", "/trace", "/overview.json"]:
            try:
                fetch(port, path)
                raise AssertionError(f"{path} answered without a token")
            except urllib.error.HTTPError as e:
                assert e.code == 401
        bad = [ops_token("another-key-0123456789abcdef0123456789"), ops_token(key, aud="something-else"),
               ops_token(key, exp_in=-3600)]
        for token in bad:
            try:
                fetch(port, headers={"Authorization": f"Bearer {token}"})
                raise AssertionError(f"accepted a bad token {token}")
            except urllib.error.HTTPError as e:
                assert e.code == 401
        good = ops_token(key)
        assert value(samples(port, headers={"Authorization": f"Bearer {good}"}),
                     "webpubsub_connections_closed_total", reason="client") == 0
        status, _, body = fetch(port, f"/overview.json?access_token={good}")
        assert status == 200 and json.loads(body)["hubs"] == []
    finally:
        server.stop()


class Upstream:
    """An event handler: accepts the abuse-protection check, answers every event 200 (`slow`
    events after 300 ms, `fail` events with 500)."""

    def __init__(self):
        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_OPTIONS(self):
                self.send_response(200)
                self.send_header("WebHook-Allowed-Origin", "*")
                self.send_header("Content-Length", "0")
                self.end_headers()

            def do_POST(self):
                self.rfile.read(int(self.headers.get("Content-Length", "0")))
                event = self.headers.get("ce-eventName")
                if event == "slow":
                    time.sleep(0.3)
                self.send_response(500 if event == "fail" else 204)
                self.send_header("Content-Length", "0")
                self.end_headers()

        self.http = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.http.server_address[1]
        threading.Thread(target=self.http.serve_forever, daemon=True).start()

    def stop(self):
        self.http.shutdown()
        self.http.server_close()


def test_event_handler_calls_are_counted_with_their_duration(tmp_path):
    upstream = Upstream()
    port = free_port()
    hub = "opshandler"
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"hubs": {hub: {"eventHandlers": [{
        "urlTemplate": f"http://127.0.0.1:{upstream.port}/{{event}}",
        "systemEvents": ["connect", "connected", "disconnected"],
        "userEventPattern": "*",
    }]}}}))
    server = Server(["--config", str(config), "--metrics-port", str(port)])
    try:
        service = service_client(server, hub)

        async def scenario():
            async with AsyncExitStack() as stack:
                client = await JsonClient.connect(service, stack, user_id="h")
                for n, event in enumerate(["slow", "hello", "fail"]):
                    await client.send({"type": "event", "event": event, "ackId": n + 1,
                                       "dataType": "text", "data": "x"})
                    await recv_json(client.ws, lambda m: m.get("type") == "ack")
        run(scenario())

        def ready(m):
            return value(m, "webpubsub_event_handler_requests_total", hub=hub, event="disconnected",
                         outcome="success") == 1
        m = wait_for(port, ready, "the disconnected event counted")
        for event in ["connect", "connected", "slow", "hello"]:
            assert value(m, "webpubsub_event_handler_requests_total", hub=hub, event=event, outcome="success") == 1, event
            assert value(m, "webpubsub_event_handler_duration_seconds_count", hub=hub, event=event) == 1, event
        assert value(m, "webpubsub_event_handler_requests_total", hub=hub, event="fail", outcome="http_error") == 1
        # The slow event took >= 300 ms: in the 0.5 s bucket, not in the 0.25 s one.
        assert value(m, "webpubsub_event_handler_duration_seconds_bucket", hub=hub, event="slow", le="0.25") == 0
        assert value(m, "webpubsub_event_handler_duration_seconds_bucket", hub=hub, event="slow", le="0.5") == 1
        assert value(m, "webpubsub_event_handler_duration_seconds_sum", hub=hub, event="slow") >= 0.3
    finally:
        server.stop()
        upstream.stop()


KNOWN_STDOUT = ("webpubsub-server listening on port ", "Connection string:", "Endpoint=")


def test_json_logs_one_object_a_line_and_no_secret():
    key = "json-log-secret-key-0123456789abcdef012"
    server = Server(["--log-format", "json", "--log-level", "trace", "--access-key", key])
    try:
        hub = "opslogs"
        service = service_client(server, hub)
        tokens = []

        async def scenario():
            async with AsyncExitStack() as stack:
                url = (await call(service.get_client_access_token, user_id="log-user",
                                  roles=["webpubsub.joinLeaveGroup"]))["url"]
                tokens.append(url.split("access_token=", 1)[1])
                ws = await stack.enter_async_context(
                    websockets.connect(url, subprotocols=[JSON_PROTOCOL], open_timeout=TIMEOUT))
                connected = await recv_json(ws, lambda m: m.get("event") == "connected")
                await call(service.send_to_all, "hello", content_type="text/plain")
                await recv_json(ws, lambda m: m.get("type") == "message")
                return connected["connectionId"]

        connection_id = run(scenario())
        time.sleep(0.3)
    finally:
        server.stop()
    output = "".join(server.output)
    records = []
    for line in output.splitlines():
        if line.startswith(KNOWN_STDOUT):
            continue
        record = json.loads(line)  # every other line is one JSON object
        assert isinstance(record, dict), line
        for field in ("time", "level", "component", "message"):
            assert isinstance(record.get(field), str) and record[field], (field, line)
        assert record["level"] in ("trace", "debug", "info", "warn", "error"), line
        assert record["time"].endswith("Z") and "T" in record["time"], line
        records.append(record)
    mine = [r for r in records if r.get("connectionId") == connection_id]
    assert any(r.get("event") == "connected" and r.get("hub") == hub and r.get("userId") == "log-user"
               for r in mine), mine
    assert any(r.get("event") == "disconnected" for r in mine), mine
    # No secret: not the key, not a client token or its signature.
    for line in output.splitlines():
        if line.startswith("Endpoint="):
            continue  # the connection string the operator asked for, on stdout
        assert key not in line, line
        for token in tokens:
            assert token not in line and token.rsplit(".", 1)[1] not in line, line


def test_text_logs_stay_the_default():
    server = Server(["--log-level", "info"])
    server.stop()
    lines = [l for l in "".join(server.output).splitlines() if not l.startswith(KNOWN_STDOUT)]
    assert lines, "the server logged nothing"
    for line in lines:
        assert not line.startswith("{"), line
        assert " info  [" in line or " warn  [" in line, line


def test_the_development_key_is_refused_for_a_listener_off_loopback():
    import subprocess
    from conftest import SERVER_BIN
    proc = subprocess.run([SERVER_BIN, "--port", "0", "--metrics-port", str(free_port()),
                           "--metrics-host", "0.0.0.0"], capture_output=True, text=True, timeout=20)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "refusing to open the operations listener on '0.0.0.0'" in proc.stderr


def test_the_trace_feed_carries_connections_messages_rest_and_event_handler_calls(tmp_path):
    upstream = Upstream()
    port = free_port()
    hub = "opstrace"
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"hubs": {hub: {"eventHandlers": [{
        "urlTemplate": f"http://127.0.0.1:{upstream.port}/{{event}}",
        "systemEvents": ["connected"],
        "userEventPattern": "*",
    }]}}}))
    server = Server(["--config", str(config), "--metrics-port", str(port)])
    try:
        assert json.loads(fetch(port, "/overview.json")[2])["watchers"] is False
        feed = urllib.request.urlopen(f"http://127.0.0.1:{port}/trace/events", timeout=TIMEOUT)
        assert feed.headers.get("Content-Type") == "text/event-stream"
        assert json.loads(fetch(port, "/overview.json")[2])["watchers"] is True
        service = service_client(server, hub)

        async def scenario():
            async with AsyncExitStack() as stack:
                client = await JsonClient.connect(service, stack, user_id="tracer")
                await client.send({"type": "event", "event": "hello", "ackId": 1,
                                   "dataType": "text", "data": "x"})
                await recv_json(client.ws, lambda m: m.get("type") == "ack")
                await call(service.send_to_all, "hi", content_type="text/plain")
                return client.connection_id
        connection_id = run(scenario())

        seen = {}
        deadline = time.monotonic() + 10
        wanted = {("disconnected", "json"), ("event-handler", "connected: success")}
        while not wanted <= seen.keys() and time.monotonic() < deadline:
            line = feed.readline().decode()
            if not line.startswith("data: "):
                continue
            event = json.loads(line[6:])
            assert event["hub"] in (hub, ""), event
            key = (event["kind"], event["detail"].split(" (")[0])
            seen[key] = event
        feed.close()
        connected = seen[("connected", "json")]
        assert connected["userId"] == "tracer" and connected["connectionId"] == connection_id
        assert seen[("received", next(k[1] for k in seen if k[0] == "received"))]["connectionId"] == connection_id
        assert ("rest", "SendToAll 202") in seen
        assert ("published", "to all: 1 recipient(s)") in seen
        assert ("event-handler", "hello: success") in seen, sorted(seen)
        assert ("event-handler", "connected: success") in seen, sorted(seen)
        assert ("disconnected", "json") in seen
    finally:
        server.stop()
        upstream.stop()
