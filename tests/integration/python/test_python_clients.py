"""Python clients against the server (issue 2 acceptance): python3-websockets connecting with a
Client Access URL minted by azure.messaging.webpubsubservice's get_client_access_token, as a
json.webpubsub.azure.v1 PubSub client and as a simple WebSocket client.

The how-to-connect Python sample (samples/python-simple-client.py) sends a name and waits for a
reply, which only an event handler can give; its test arrives with the event-handler issue.
"""
import asyncio
import base64
import json

import websockets
from azure.messaging.webpubsubservice import WebPubSubServiceClient

JSON_PROTOCOL = "json.webpubsub.azure.v1"
TIMEOUT = 5


def service_client(server, hub):
    return WebPubSubServiceClient.from_connection_string(server.connection_string, hub=hub)


def access_url(server, hub, **kwargs):
    token = service_client(server, hub).get_client_access_token(**kwargs)
    assert token["url"].startswith(f"ws://localhost:{server.port}/client/hubs/{hub}?access_token=")
    return token["url"]


async def recv_json(ws, pred=lambda m: True):
    """Receives frames until one parses as JSON and matches pred."""
    while True:
        frame = await asyncio.wait_for(ws.recv(), TIMEOUT)
        assert isinstance(frame, str), f"JSON protocol frames must be text, got {frame!r}"
        msg = json.loads(frame)
        if pred(msg):
            return msg


async def expect_silence(ws, seconds=0.5):
    try:
        frame = await asyncio.wait_for(ws.recv(), seconds)
    except asyncio.TimeoutError:
        return
    raise AssertionError(f"expected no message, got {frame!r}")


def run(coro):
    return asyncio.run(asyncio.wait_for(coro, 30))


def test_json_client_join_send_receive(server):
    hub = "py"
    roles = ["webpubsub.joinLeaveGroup", "webpubsub.sendToGroup"]
    sub_url = access_url(server, hub, user_id="py-sub", roles=roles)
    pub_url = access_url(server, hub, user_id="py-pub", roles=roles)

    async def scenario():
        async with websockets.connect(sub_url, subprotocols=[JSON_PROTOCOL], open_timeout=TIMEOUT) as sub, \
                websockets.connect(pub_url, subprotocols=[JSON_PROTOCOL], open_timeout=TIMEOUT) as pub:
            assert sub.subprotocol == JSON_PROTOCOL
            connected = await recv_json(sub)
            assert connected["type"] == "system" and connected["event"] == "connected"
            assert connected["userId"] == "py-sub"
            assert connected["connectionId"]
            pub_connected = await recv_json(pub)
            assert pub_connected["userId"] == "py-pub"

            await sub.send(json.dumps({"type": "joinGroup", "group": "pygroup", "ackId": 1}))
            assert await recv_json(sub, lambda m: m.get("type") == "ack") == {
                "type": "ack", "ackId": 1, "success": True}

            await pub.send(json.dumps({"type": "sendToGroup", "group": "pygroup", "ackId": 2,
                                       "data": {"hello": "from python"}}))
            ack = await recv_json(pub, lambda m: m.get("type") == "ack")
            assert ack["ackId"] == 2 and ack["success"] is True
            msg = await recv_json(sub, lambda m: m.get("type") == "message")
            assert msg == {"type": "message", "from": "group", "group": "pygroup",
                           "fromUserId": "py-pub", "dataType": "json",
                           "data": {"hello": "from python"}}

            payload = bytes([0, 159, 146, 150, 255])
            await pub.send(json.dumps({"type": "sendToGroup", "group": "pygroup", "dataType": "binary",
                                       "data": base64.b64encode(payload).decode()}))
            msg = await recv_json(sub, lambda m: m.get("type") == "message")
            assert msg["dataType"] == "binary"
            assert base64.b64decode(msg["data"]) == payload

            await sub.send(json.dumps({"type": "leaveGroup", "group": "pygroup", "ackId": 3}))
            assert (await recv_json(sub, lambda m: m.get("type") == "ack"))["success"] is True
            await pub.send(json.dumps({"type": "sendToGroup", "group": "pygroup", "dataType": "text",
                                       "data": "after leave", "ackId": 4}))
            assert (await recv_json(pub, lambda m: m.get("type") == "ack"))["success"] is True
            await expect_silence(sub)

            await sub.send(json.dumps({"type": "ping"}))
            assert await recv_json(sub) == {"type": "pong"}

    run(scenario())


def test_json_client_without_roles_is_forbidden(server):
    url = access_url(server, "py")

    async def scenario():
        async with websockets.connect(url, subprotocols=[JSON_PROTOCOL], open_timeout=TIMEOUT) as ws:
            await recv_json(ws, lambda m: m.get("event") == "connected")
            await ws.send(json.dumps({"type": "joinGroup", "group": "nope", "ackId": 1}))
            ack = await recv_json(ws, lambda m: m.get("type") == "ack")
            assert ack["success"] is False
            assert ack["error"]["name"] == "Forbidden"

    run(scenario())


def test_simple_client_connects_and_receives_only_published_data(server):
    hub = "py"
    simple_url = access_url(server, hub, groups=["py-simple"])
    pub_url = access_url(server, hub, roles=["webpubsub.sendToGroup"])

    async def scenario():
        async with websockets.connect(simple_url, open_timeout=TIMEOUT) as simple:
            assert simple.subprotocol is None
            # a simple client receives nothing by itself: no connected message, no envelope
            await expect_silence(simple, 0.7)
            async with websockets.connect(pub_url, subprotocols=[JSON_PROTOCOL], open_timeout=TIMEOUT) as pub:
                await recv_json(pub, lambda m: m.get("event") == "connected")
                await pub.send(json.dumps({"type": "sendToGroup", "group": "py-simple",
                                           "dataType": "text", "data": "plain text", "ackId": 1}))
                assert (await recv_json(pub, lambda m: m.get("type") == "ack"))["success"] is True
                assert await asyncio.wait_for(simple.recv(), TIMEOUT) == "plain text"
                await pub.send(json.dumps({"type": "sendToGroup", "group": "py-simple",
                                           "dataType": "binary", "data": base64.b64encode(b"\x01\x02").decode()}))
                assert await asyncio.wait_for(simple.recv(), TIMEOUT) == b"\x01\x02"
            await expect_silence(simple, 0.3)

    run(scenario())


def test_bad_token_is_rejected_with_401(server):
    other = WebPubSubServiceClient.from_connection_string(
        f"Endpoint=http://localhost:{server.port};AccessKey=NotTheServerKey0123456789abcdefghijklmn;Version=1.0;",
        hub="py")
    url = other.get_client_access_token()["url"]

    async def scenario():
        try:
            async with websockets.connect(url, open_timeout=TIMEOUT):
                pass
        except websockets.exceptions.InvalidStatusCode as e:
            return e.status_code
        raise AssertionError("connection with a token signed by another key was accepted")

    assert run(scenario()) == 401
