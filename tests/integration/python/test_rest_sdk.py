"""The REST API through Debian's python3-azure azure.messaging.webpubsubservice 1.1.0b1
(api-version 2022-11-01; issue 3 acceptance): send to all/user/group/connection, group and user
management, close, exists, permissions and get_client_access_token, each checked by what a
python3-websockets client connected to the server observes.

Run with Debian's interpreter: /usr/bin/python3 -m pytest tests/integration/python
"""
import asyncio
import base64
import contextlib

import pytest
import websockets
from azure.core.exceptions import HttpResponseError
from azure.messaging.webpubsubservice import WebPubSubServiceClient

from rest_helpers import (
    JSON_PROTOCOL,
    TIMEOUT,
    JsonClient,
    assert_closed_with,
    assert_members,
    assert_next_is_marker,
    call,
    connect_simple,
    recv_json,
    run,
    service_client,
)

_hub_n = [0]


def new_hub():
    _hub_n[0] += 1
    return f"pyrest{_hub_n[0]}"


def test_send_to_all_json_text_binary_excluded_filter(server):
    hub = new_hub()
    service = service_client(server, hub)

    async def scenario():
        async with contextlib.AsyncExitStack() as stack:
            a = await JsonClient.connect(service, stack, user_id="a")
            b = await JsonClient.connect(service, stack, user_id="b")
            simple = await connect_simple(service, stack, user_id="s")

            await call(service.send_to_all, {"hello": "python"})
            for c in (a, b):
                assert await c.next_data() == {"type": "message", "from": "server", "dataType": "json",
                                               "data": {"hello": "python"}}
            frame = await asyncio.wait_for(simple.recv(), TIMEOUT)
            assert isinstance(frame, str)
            assert frame.replace(" ", "") == '{"hello":"python"}'

            await call(service.send_to_all, "plain text", content_type="text/plain")
            assert await a.next_data() == {"type": "message", "from": "server", "dataType": "text",
                                           "data": "plain text"}
            assert (await b.next_data())["data"] == "plain text"
            assert await asyncio.wait_for(simple.recv(), TIMEOUT) == "plain text"

            payload = bytes([0, 1, 254, 255])
            await call(service.send_to_all, payload, content_type="application/octet-stream")
            m = await a.next_data()
            assert m["dataType"] == "binary" and base64.b64decode(m["data"]) == payload
            assert base64.b64decode((await b.next_data())["data"]) == payload
            assert await asyncio.wait_for(simple.recv(), TIMEOUT) == payload

            await call(service.send_to_all, "not b", content_type="text/plain", excluded=[b.connection_id])
            assert (await a.next_data())["data"] == "not b"
            assert await asyncio.wait_for(simple.recv(), TIMEOUT) == "not b"
            await assert_next_is_marker(service, b, "excluded")

            await call(service.send_to_all, "only b", content_type="text/plain", filter="userId eq 'b'")
            assert (await b.next_data())["data"] == "only b"
            await assert_next_is_marker(service, a, "filter")
            # the simple client got neither the filtered message nor the markers
            with pytest.raises(asyncio.TimeoutError):
                frame = await asyncio.wait_for(simple.recv(), 0.3)
                raise AssertionError(f"simple client got {frame!r}")

    run(scenario())


def test_send_to_user_group_connection(server):
    hub = new_hub()
    service = service_client(server, hub)

    async def scenario():
        async with contextlib.AsyncExitStack() as stack:
            u1 = await JsonClient.connect(service, stack, user_id="pyuser")
            u2 = await JsonClient.connect(service, stack, user_id="pyuser")
            g = await JsonClient.connect(service, stack, user_id="member", groups=["pyg"])
            other = await JsonClient.connect(service, stack, user_id="other")

            await call(service.send_to_user, "pyuser", {"to": "user"})
            for c in (u1, u2):
                assert (await c.next_data())["data"] == {"to": "user"}
            await assert_next_is_marker(service, other, "user-other")
            await assert_next_is_marker(service, g, "user-g")

            await call(service.send_to_user, "pyuser", "filtered", content_type="text/plain",
                       filter=f"connectionId eq '{u2.connection_id}'")
            assert (await u2.next_data())["data"] == "filtered"
            await assert_next_is_marker(service, u1, "user-filter")

            await call(service.send_to_group, "pyg", {"to": "group"})
            m = await g.next_data()
            assert m["dataType"] == "json" and m["data"] == {"to": "group"}
            assert m["from"] == "server" or (m["from"] == "group" and m["group"] == "pyg"), m
            for c in (u1, u2, other):
                await assert_next_is_marker(service, c, "group-non-member")

            await call(service.send_to_group, "pyg", "excluded", content_type="text/plain",
                       excluded=[g.connection_id])
            await assert_next_is_marker(service, g, "group-excluded")

            await call(service.send_to_connection, other.connection_id, "direct", content_type="text/plain")
            assert await other.next_data() == {"type": "message", "from": "server", "dataType": "text",
                                               "data": "direct"}
            for c in (u1, u2, g):
                await assert_next_is_marker(service, c, "conn-others")

            # fire-and-forget: unknown targets still 202 (the SDK raises on anything else)
            await call(service.send_to_user, "nobody", "x", content_type="text/plain")
            await call(service.send_to_group, "nogroup", "x", content_type="text/plain")
            await call(service.send_to_connection, "noconn", "x", content_type="text/plain")

    run(scenario())


def test_group_and_user_management(server):
    hub = new_hub()
    service = service_client(server, hub)

    async def scenario():
        async with contextlib.AsyncExitStack() as stack:
            a = await JsonClient.connect(service, stack, user_id="pa")
            a2 = await JsonClient.connect(service, stack, user_id="pa")
            b = await JsonClient.connect(service, stack, user_id="pb")

            await call(service.add_connection_to_group, "pg", b.connection_id)
            await assert_members(service, "pg", [b], [a, a2], "conn added")
            await call(service.remove_connection_from_group, "pg", b.connection_id)
            await assert_members(service, "pg", [], [a, a2, b], "conn removed")

            with pytest.raises(HttpResponseError) as err:
                await call(service.add_connection_to_group, "pg", "no-such-connection")
            assert err.value.status_code == 404

            await call(service.add_user_to_group, "pg", "pa")
            await assert_members(service, "pg", [a, a2], [b], "user added")
            await call(service.remove_user_from_group, "pg", "pa")
            await assert_members(service, "pg", [], [a, a2, b], "user removed")

            await call(service.add_user_to_group, "pg1", "pa")
            await call(service.add_user_to_group, "pg2", "pa")
            await call(service.add_connection_to_group, "pg1", b.connection_id)
            await call(service.add_connection_to_group, "pg2", b.connection_id)
            await call(service.remove_user_from_all_groups, "pa")
            await assert_members(service, "pg1", [b], [a, a2], "user left all (pg1)")
            await assert_members(service, "pg2", [b], [a, a2], "user left all (pg2)")
            await call(service.remove_connection_from_all_groups, b.connection_id)
            await assert_members(service, "pg1", [], [a, a2, b], "conn left all (pg1)")
            await assert_members(service, "pg2", [], [a, a2, b], "conn left all (pg2)")

    run(scenario())


def test_exists_true_then_false(server):
    hub = new_hub()
    service = service_client(server, hub)

    async def scenario():
        async with contextlib.AsyncExitStack() as stack:
            a = await JsonClient.connect(service, stack, user_id="pexists", groups=["peg"])
            assert await call(service.connection_exists, a.connection_id) is True
            assert await call(service.user_exists, "pexists") is True
            assert await call(service.group_exists, "peg") is True
            assert await call(service.connection_exists, "nope") is False
            assert await call(service.user_exists, "nope") is False
            assert await call(service.group_exists, "nope") is False

            await call(service.remove_connection_from_group, "peg", a.connection_id)
            assert await call(service.group_exists, "peg") is False
            await call(service.close_connection, a.connection_id, reason="exists-bye")
            await assert_closed_with(a, "exists-bye", "close for exists")
            for _ in range(100):
                if not await call(service.connection_exists, a.connection_id):
                    break
                await asyncio.sleep(0.03)
            assert await call(service.connection_exists, a.connection_id) is False
            assert await call(service.user_exists, "pexists") is False

    run(scenario())


def test_close_connection_all_group_user_with_reason_and_excluded(server):
    hub = new_hub()
    service = service_client(server, hub)

    async def scenario():
        async with contextlib.AsyncExitStack() as stack:
            c1 = await JsonClient.connect(service, stack, user_id="c1")
            await call(service.close_connection, c1.connection_id, reason="one")
            await assert_closed_with(c1, "one", "close_connection")

            g1 = await JsonClient.connect(service, stack, groups=["cg"])
            g2 = await JsonClient.connect(service, stack, groups=["cg"])
            await call(service.close_group_connections, "cg", reason="group", excluded=[g2.connection_id])
            await assert_closed_with(g1, "group", "close_group_connections")
            await assert_next_is_marker(service, g2, "group-excluded")

            u1 = await JsonClient.connect(service, stack, user_id="cu")
            u2 = await JsonClient.connect(service, stack, user_id="cu")
            await call(service.close_user_connections, "cu", reason="user", excluded=[u1.connection_id])
            await assert_closed_with(u2, "user", "close_user_connections")
            await assert_next_is_marker(service, u1, "user-excluded")

            await call(service.close_all_connections, reason="all", excluded=[u1.connection_id])
            await assert_closed_with(g2, "all", "close_all_connections")
            await assert_next_is_marker(service, u1, "all-excluded")

    run(scenario())


def test_permissions_grant_check_revoke(server):
    hub = new_hub()
    service = service_client(server, hub)

    async def scenario():
        async with contextlib.AsyncExitStack() as stack:
            sub = await JsonClient.connect(service, stack, groups=["permg"])
            pub = await JsonClient.connect(service, stack, user_id="pub")

            async def publish(ack_id):
                await pub.send({"type": "sendToGroup", "group": "permg", "dataType": "text",
                                "data": f"p{ack_id}", "ackId": ack_id})
                return await recv_json(pub.ws, lambda m: m.get("type") == "ack" and m.get("ackId") == ack_id)

            assert await call(service.has_permission, "sendToGroup", pub.connection_id, target_name="permg") is False
            assert (await publish(1))["success"] is False
            await call(service.grant_permission, "sendToGroup", pub.connection_id, target_name="permg")
            assert await call(service.has_permission, "sendToGroup", pub.connection_id, target_name="permg") is True
            assert (await publish(2))["success"] is True
            m = await recv_json(sub.ws, lambda m: m.get("type") == "message")
            assert m["data"] == "p2" and m["group"] == "permg"
            await call(service.revoke_permission, "sendToGroup", pub.connection_id, target_name="permg")
            assert await call(service.has_permission, "sendToGroup", pub.connection_id, target_name="permg") is False
            assert (await publish(3))["success"] is False

    run(scenario())


def test_get_client_access_token_connects_with_user_roles_groups(server):
    hub = new_hub()
    service = service_client(server, hub)
    token = service.get_client_access_token(user_id="tok", roles=["webpubsub.joinLeaveGroup"], groups=["tg"])
    assert token["baseUrl"] == f"ws://localhost:{server.port}/client/hubs/{hub}"

    async def scenario():
        async with websockets.connect(token["url"], subprotocols=[JSON_PROTOCOL], open_timeout=TIMEOUT) as ws:
            connected = await recv_json(ws, lambda m: m.get("event") == "connected")
            assert connected["userId"] == "tok"
            client = JsonClient(ws, connected)
            await assert_members(service, "tg", [client], [], "token group")
            await client.send({"type": "joinGroup", "group": "other", "ackId": 1})
            assert (await recv_json(ws, lambda m: m.get("type") == "ack"))["success"] is True

    run(scenario())


def test_wrong_key_is_401(server):
    bad = WebPubSubServiceClient.from_connection_string(
        f"Endpoint=http://localhost:{server.port};AccessKey=WrongKeyWrongKeyWrongKey0123456789abcdef;Version=1.0;",
        hub="h")
    with pytest.raises(HttpResponseError) as err:
        bad.send_to_all("x", content_type="text/plain")
    assert err.value.status_code == 401
