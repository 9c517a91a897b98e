// MQTT clients and the event handler (spec mqtt §8) with the official @azure/web-pubsub-express
// middleware: the `connect` event on CONNECT (with the MQTT fields), accept with overrides,
// refusals as CONNACK codes, `connected` / `disconnected` with the MQTT body, and user events
// published to `$webpubsub/server/events/{event}` answered on `.../succeeded`.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import mqtt from 'mqtt';
import { startServer, stopAll, withTimeout } from './harness.mjs';
import { serviceClient } from './rest-helpers.mjs';
import { startExpressHandler, hubConfig } from './webhook-helpers.mjs';

const cleanups = [];
after(async () => {
  for (const c of cleanups.reverse()) await c();
});

async function setup(hub, options) {
  const handler = await startExpressHandler(hub, options);
  cleanups.push(handler.close);
  const server = await startServer({ config: hubConfig(hub, handler.urlTemplate) });
  cleanups.push(() => stopAll(server));
  const service = serviceClient(server, hub);
  return { handler, server, service };
}

async function connect(service, { version = 5, clientId, roles = [], options = {} } = {}) {
  const { url } = await service.getClientAccessToken({ clientProtocol: 'mqtt', roles });
  const client = await mqtt.connectAsync(url, {
    protocolVersion: version,
    clientId,
    reconnectPeriod: 0,
    connectTimeout: 5000,
    ...options,
  });
  cleanups.push(() => client.end(true));
  return client;
}

test('connect event: MQTT fields, sessions ids, overrides of userId/groups/roles, connected', async () => {
  const hub = 'mqttwh1';
  const { handler, service } = await setup(hub, {
    handleConnect(req, res) {
      res.success({ userId: `u-${req.mqtt.username}`, groups: ['fromhandler'], roles: ['webpubsub.sendToGroup'] });
    },
  });
  const client = await connect(service, {
    clientId: 'whclient1',
    options: {
      username: 'alice',
      password: Buffer.from('secret'),
      properties: { userProperties: { up: 'v1' } },
    },
  });
  const c = await handler.events.wait((e) => e.kind === 'connect', 5000, 'connect');
  assert.equal(c.req.context.clientProtocol, 'mqtt');
  assert.equal(c.req.context.connectionId, 'whclient1');
  assert.ok(c.req.context.mqtt.physicalConnectionId);
  assert.equal(c.req.mqtt.protocolVersion, 5);
  assert.equal(c.req.mqtt.cleanStart, true);
  assert.equal(c.req.mqtt.username, 'alice');
  assert.equal(Buffer.from(c.req.mqtt.password, 'base64').toString(), 'secret');
  assert.deepEqual(c.req.mqtt.userProperties, [{ name: 'up', value: 'v1' }]);
  assert.deepEqual(c.req.subprotocols, ['mqtt']);
  const connected = await handler.events.wait((e) => e.kind === 'connected', 5000, 'connected');
  assert.equal(connected.req.context.userId, 'u-alice');
  assert.ok(connected.req.context.mqtt.sessionId);
  // The handler's userId, groups and roles apply.
  assert.equal(await service.userExists('u-alice'), true);
  const got = new Promise((resolve) => client.on('message', (topic, payload) => resolve({ topic, payload })));
  await service.group('fromhandler').sendToAll('to handler group', { contentType: 'text/plain' });
  const m = await withTimeout(got, 5000, 'group message');
  assert.equal(m.topic, 'fromhandler');
  await client.publishAsync('anygroup', 'allowed by handler role', { qos: 1 });
  // disconnected: initiated by the client, its DISCONNECT's code and user properties.
  await client.endAsync(false, { reasonCode: 0, properties: { userProperties: { bye: 'now' } } });
  const d = await handler.events.wait((e) => e.kind === 'disconnected', 5000, 'disconnected');
  assert.equal(d.req.context.connectionId, 'whclient1');
  assert.equal(d.req.mqtt.initiatedByClient, true);
  assert.equal(d.req.mqtt.disconnectPacket.code, 0);
  assert.deepEqual(d.req.mqtt.disconnectPacket.userProperties, [{ name: 'bye', value: 'now' }]);
});

test('connect refusals become CONNACK codes for 5.0 and 3.1.1; no connected event follows', async () => {
  const hub = 'mqttwh2';
  const { handler, service } = await setup(hub, {
    handleConnect(req, res) {
      if (req.mqtt.username === 'banned') return res.failWith({ mqtt: { code: 0x8a, reason: 'you are banned' } });
      return res.fail(401, 'bad credentials');
    },
  });
  await assert.rejects(connect(service, { clientId: 'r1', options: { username: 'x' } }), (e) => e.code === 0x87);
  await assert.rejects(connect(service, { version: 4, clientId: 'r2', options: { username: 'x' } }), (e) => e.code === 5);
  await assert.rejects(connect(service, { clientId: 'r3', options: { username: 'banned' } }), (e) => e.code === 0x8a);
  await new Promise((r) => setTimeout(r, 300));
  assert.ok(!handler.events.items.some((e) => e.kind === 'connected'), 'no connected after a refusal');
  assert.equal(await service.connectionExists('r1'), false);
});

test('server-side close: disconnected says not initiated by the client, with 0x98 and the reason', async () => {
  const hub = 'mqttwh3';
  const { handler, service } = await setup(hub, {});
  const client = await connect(service, { clientId: 'closeme' });
  const gone = new Promise((resolve) => client.once('disconnect', resolve));
  await service.closeConnection('closeme', { reason: 'maintenance' });
  assert.equal((await withTimeout(gone, 5000, 'DISCONNECT')).reasonCode, 0x98);
  const d = await handler.events.wait((e) => e.kind === 'disconnected', 5000, 'disconnected');
  assert.equal(d.req.reason, 'maintenance');
  assert.equal(d.req.mqtt.initiatedByClient, false);
  assert.equal(d.req.mqtt.disconnectPacket.code, 0x98);
});

test('user events: PUBLISH to $webpubsub/server/events/echo, answer on .../succeeded', async () => {
  const hub = 'mqttwh4';
  const { handler, service } = await setup(hub, {
    handleUserEvent(req, res) {
      if (req.context.eventName === 'bad') return res.fail(400, 'nope');
      res.success(`echo: ${req.data}`, 'text');
    },
  });
  const client = await connect(service, { clientId: 'evclient' });
  await client.subscribeAsync('$webpubsub/server/events/echo/succeeded').catch(() => {});
  const reply = new Promise((resolve) => client.on('message', (topic, payload, packet) => resolve({ topic, payload, packet })));
  await client.publishAsync('$webpubsub/server/events/echo', 'hello', {
    qos: 1,
    properties: { contentType: 'text/plain', correlationData: Buffer.from('corr') },
  });
  const u = await handler.events.wait((e) => e.kind === 'user', 5000, 'user event');
  assert.equal(u.req.context.eventName, 'echo');
  assert.equal(u.req.data, 'hello');
  const r = await withTimeout(reply, 5000, 'event reply');
  assert.equal(r.topic, '$webpubsub/server/events/echo/succeeded');
  assert.equal(r.payload.toString(), 'echo: hello');
  assert.equal(r.packet.properties.contentType, 'text/plain');
  assert.equal(r.packet.properties.correlationData.toString(), 'corr');
  assert.equal(r.packet.properties.userProperties['azure-status-code'], '200');
  // A failing handler: the answer goes to .../failed with the handler's status.
  const failed = new Promise((resolve) =>
    client.on('message', (topic, payload, packet) => topic.endsWith('/failed') && resolve({ topic, packet })),
  );
  await client.publishAsync('$webpubsub/server/events/bad', 'x', { qos: 1 });
  const f = await withTimeout(failed, 5000, 'failed reply');
  assert.equal(f.topic, '$webpubsub/server/events/bad/failed');
  assert.equal(f.packet.properties.userProperties['azure-status-code'], '400');
});

test('a resumed session raises connect again but no second connected; disconnected when the session ends', async () => {
  const hub = 'mqttwh5';
  const { handler, service } = await setup(hub, {
    handleConnect(req, res) {
      res.success();
    },
  });
  const opts = { clean: false, properties: { sessionExpiryInterval: 30 } };
  const first = await connect(service, { clientId: 'resumer', options: opts });
  await handler.events.wait((e) => e.kind === 'connected', 5000, 'connected');
  first.stream.destroy();
  await new Promise((r) => setTimeout(r, 300));
  const again = await connect(service, { clientId: 'resumer', options: opts });
  assert.equal(again.connackPacket.sessionPresent, true);
  await new Promise((r) => setTimeout(r, 300));
  const kinds = handler.events.items.map((e) => e.kind);
  assert.equal(kinds.filter((k) => k === 'connect').length, 2);
  assert.equal(kinds.filter((k) => k === 'connected').length, 1);
  assert.equal(kinds.filter((k) => k === 'disconnected').length, 0, 'a network drop does not end the session');
  await service.closeConnection('resumer', { reason: 'done' });
  const d = await handler.events.wait((e) => e.kind === 'disconnected', 5000, 'disconnected');
  assert.equal(d.req.reason, 'done');
});
