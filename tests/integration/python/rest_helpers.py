"""Helpers for the REST API tests (test_rest_*.py): the Python server SDK against the test
server, python3-websockets clients, and assertions on what those clients observe."""
import asyncio
import json
import uuid

import websockets
from azure.messaging.webpubsubservice import WebPubSubServiceClient

JSON_PROTOCOL = "json.webpubsub.azure.v1"
TIMEOUT = 5


def service_client(server, hub):
    return WebPubSubServiceClient.from_connection_string(server.connection_string, hub=hub)


def call(fn, *args, **kwargs):
    """Runs a blocking SDK call off the event loop, so the websockets keep being served."""
    return asyncio.wait_for(asyncio.to_thread(fn, *args, **kwargs), 10)


class JsonClient:
    """A json.webpubsub.azure.v1 client connected with a get_client_access_token URL."""

    def __init__(self, ws, connected):
        self.ws = ws
        self.connected = connected
        self.connection_id = connected["connectionId"]

    @classmethod
    async def connect(cls, service, stack, **token_kwargs):
        url = (await call(service.get_client_access_token, **token_kwargs))["url"]
        ws = await stack.enter_async_context(
            websockets.connect(url, subprotocols=[JSON_PROTOCOL], open_timeout=TIMEOUT))
        assert ws.subprotocol == JSON_PROTOCOL
        connected = await recv_json(ws, lambda m: m.get("type") == "system" and m.get("event") == "connected")
        return cls(ws, connected)

    async def next_data(self):
        return await recv_json(self.ws, lambda m: m.get("type") == "message")

    async def send(self, obj):
        await self.ws.send(json.dumps(obj))


_simple_sync = [0]


async def connect_simple(service, stack, **token_kwargs):
    """A simple client, returned once the server delivers to it (the WebSocket handshake can
    complete before the server has registered the connection): it also joins a group of its own
    that gets probes until one arrives; the probes are then discarded."""
    _simple_sync[0] += 1
    sync_group = f"py-simple-sync-{_simple_sync[0]}"
    groups = list(token_kwargs.pop("groups", None) or []) + [sync_group]
    url = (await call(service.get_client_access_token, groups=groups, **token_kwargs))["url"]
    ws = await stack.enter_async_context(websockets.connect(url, open_timeout=TIMEOUT))
    tag = f"{sync_group}-probe-"
    for n in range(100):
        await call(service.send_to_group, sync_group, f"{tag}{n}", content_type="text/plain")
        try:
            frame = await asyncio.wait_for(ws.recv(), 0.05)
            assert isinstance(frame, str) and frame.startswith(tag), f"unexpected frame {frame!r}"
            break
        except asyncio.TimeoutError:
            continue
    else:
        raise AssertionError(f"simple client never received a probe of {sync_group}")
    await call(service.send_to_group, sync_group, f"{tag}end", content_type="text/plain")
    while True:
        frame = await asyncio.wait_for(ws.recv(), TIMEOUT)
        assert isinstance(frame, str) and frame.startswith(tag), f"unexpected frame {frame!r}"
        if frame == f"{tag}end":
            return ws


async def recv_json(ws, pred=lambda m: True, timeout=TIMEOUT):
    while True:
        frame = await asyncio.wait_for(ws.recv(), timeout)
        assert isinstance(frame, str), f"JSON protocol frames must be text, got {frame!r}"
        msg = json.loads(frame)
        if pred(msg):
            return msg


async def assert_next_is_marker(service, client, label="marker"):
    """The client got no data message before a marker sent to it now."""
    marker = f"marker-{label}-{uuid.uuid4().hex[:8]}"
    await call(service.send_to_connection, client.connection_id, marker, content_type="text/plain")
    msg = await client.next_data()
    assert msg["data"] == marker, f"{label}: expected only the marker, got {msg!r}"


async def assert_members(service, group, members, others, label):
    """One text message to `group`: every member gets it next, no other client does."""
    tag = f"{label}-{uuid.uuid4().hex[:8]}"
    await call(service.send_to_group, group, tag, content_type="text/plain")
    for c in members:
        msg = await c.next_data()
        assert msg["data"] == tag, f"{label}: {msg!r}"
    for c in others:
        await assert_next_is_marker(service, c, label)


async def assert_closed_with(client, reason, label):
    """REST close: a disconnected system message with the reason, then close code 1000."""
    msg = await recv_json(client.ws, lambda m: m.get("type") == "system" and m.get("event") == "disconnected")
    assert msg.get("message") == reason, f"{label}: {msg!r}"
    try:
        await asyncio.wait_for(client.ws.recv(), TIMEOUT)
        raise AssertionError(f"{label}: expected the close after the disconnected message")
    except websockets.exceptions.ConnectionClosed as e:
        assert e.rcvd is not None and e.rcvd.code == 1000, f"{label}: close {e.rcvd!r}"


def run(coro, timeout=30):
    return asyncio.run(asyncio.wait_for(coro, timeout))
