// MQTT 3.1.1 and 5.0 clients over WebSocket (docs/PROTOCOL.md "MQTT", spec mqtt.md) with the
// real MQTT.js client (npm `mqtt`), URLs minted by the official server SDK
// (getClientAccessToken({ clientProtocol: 'mqtt' })), in the same groups as JSON, protobuf and
// simple Web PubSub clients; and raw WebSocket bytes for what a library would never send.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import mqtt from 'mqtt';
import mqttPacket from 'mqtt-packet';
import { WebPubSubClient } from '@azure/web-pubsub-client';
import {
  startServer,
  jsonClient,
  simpleClient,
  closeAll,
  openSocket,
  clientToken,
  delay,
  withTimeout,
} from './harness.mjs';
import { serviceClient, eventually } from './rest-helpers.mjs';
import { up, data as pbData, decodeDownstream } from './protobuf-wire.mjs';

const HUB = 'mqtthub';
const ALL = ['webpubsub.joinLeaveGroup', 'webpubsub.sendToGroup'];
let server;
let service;
const mqttClients = [];
const others = [];
let seq = 0;

before(async () => {
  server = await startServer({ args: ['--max-message-bytes', '4096', '--handshake-timeout-ms', '1500'] });
  service = serviceClient(server, HUB);
});

after(async () => {
  for (const c of mqttClients) c.end(true);
  closeAll(...others);
  if (server) await server.stop();
});

function newId(prefix = 'c') {
  seq += 1;
  return `${prefix}${seq}x${Date.now() % 100000}`;
}

async function mqttUrl({ roles = ALL, userId, groups, hub = HUB } = {}) {
  const client = hub === HUB ? service : serviceClient(server, hub);
  const { url } = await client.getClientAccessToken({ clientProtocol: 'mqtt', roles, userId, groups });
  return url;
}

// An MQTT.js client; resolves once CONNACK arrived. Records every message.
async function mqttClient({ version = 5, clientId = newId(), url, tokenOptions = {}, options = {} } = {}) {
  // Listeners go on before CONNACK: a resumed session's waiting messages follow it at once.
  const client = mqtt.connect(url ?? (await mqttUrl(tokenOptions)), {
    protocolVersion: version,
    clientId,
    reconnectPeriod: 0,
    connectTimeout: 5000,
    ...options,
  });
  client.received = [];
  client.waiters = [];
  client.on('message', (topic, payload, packet) => {
    client.received.push({ topic, payload, packet });
    for (const w of client.waiters.splice(0)) w();
  });
  try {
    await withTimeout(
      new Promise((resolve, reject) => {
        client.once('connect', resolve);
        client.once('error', reject);
        client.once('close', () => reject(new Error('closed before CONNACK')));
      }),
      6000,
      `CONNACK for ${clientId}`,
    );
  } catch (err) {
    client.end(true);
    throw err;
  }
  mqttClients.push(client);
  client.nextMessage = (pred = () => true, ms = 5000) =>
    withTimeout(
      new Promise((resolve) => {
        const check = () => {
          const i = client.received.findIndex(pred);
          if (i >= 0) return resolve(client.received.splice(i, 1)[0]);
          client.waiters.push(check);
        };
        check();
      }),
      ms,
      `MQTT message for ${clientId}`,
    );
  return client;
}

// The SUBACK codes of a SUBSCRIBE (MQTT.js reports 5.0 failures as an error with the packet).
function grants(client, topics) {
  return withTimeout(
    new Promise((resolve) => client.subscribe(topics, { qos: 1 }, (err, subs, packet) => resolve(packet.granted))),
    5000,
    'SUBACK',
  );
}

function disconnectPacket(client) {
  return new Promise((resolve) => client.once('disconnect', resolve));
}

// ---- raw MQTT bytes ---------------------------------------------------------------------

function varint(n) {
  const out = [];
  do {
    let b = n & 0x7f;
    n >>= 7;
    if (n) b |= 0x80;
    out.push(b);
  } while (n);
  return Buffer.from(out);
}
function str(s) {
  const b = Buffer.from(s);
  const len = Buffer.alloc(2);
  len.writeUInt16BE(b.length);
  return Buffer.concat([len, b]);
}
function packet(first, body) {
  return Buffer.concat([Buffer.from([first]), varint(body.length), body]);
}
function connectPacket(level, clientId, { keepAlive = 60, flags = 0x02 } = {}) {
  const ka = Buffer.alloc(2);
  ka.writeUInt16BE(keepAlive);
  const props = level === 5 ? Buffer.from([0]) : Buffer.alloc(0);
  return packet(0x10, Buffer.concat([str('MQTT'), Buffer.from([level, flags]), ka, props, str(clientId)]));
}

async function rawMqtt(level = 5, tokenOptions = {}) {
  const url = await mqttUrl(tokenOptions);
  const sock = await openSocket(url, { protocols: ['mqtt'] });
  others.push(sock.ws);
  return sock;
}

// ---- handshake --------------------------------------------------------------------------

test('the endpoint echoes subprotocol mqtt and refuses other subprotocols and bad tokens', async () => {
  const url = await mqttUrl();
  const ok = await openSocket(url, { protocols: ['mqtt'] });
  assert.equal(ok.protocol, 'mqtt');
  ok.ws.terminate();
  await assert.rejects(openSocket(url, { protocols: ['mqttv3.1'] }), (e) => e.status === 400);
  await assert.rejects(openSocket(url), (e) => e.status === 400);
  // A token for the default client endpoint is not an MQTT token (audience).
  const wrongAud = clientToken({ port: server.port, hub: HUB, roles: ALL });
  await assert.rejects(
    openSocket(`ws://localhost:${server.port}/clients/mqtt/hubs/${HUB}?access_token=${wrongAud}`, {
      protocols: ['mqtt'],
    }),
    (e) => e.status === 401,
  );
  // Wrong hub: the MQTT token of another hub.
  const otherHub = await mqttUrl({ hub: 'otherhub' });
  await assert.rejects(
    openSocket(otherHub.replace('/hubs/otherhub', `/hubs/${HUB}`), { protocols: ['mqtt'] }),
    (e) => e.status === 401,
  );
  // No token on a hub without anonymous access: MQTT.js never gets a CONNACK, only a close.
  const anon = mqtt.connect(`ws://localhost:${server.port}/clients/mqtt/hubs/${HUB}`, {
    clientId: 'anon1',
    reconnectPeriod: 0,
    connectTimeout: 3000,
  });
  let anonConnected = false;
  anon.on('connect', () => (anonConnected = true));
  anon.on('error', () => {});
  await withTimeout(new Promise((resolve) => anon.once('close', resolve)), 5000, 'anonymous client closed');
  anon.end(true);
  assert.equal(anonConnected, false);
  // Other paths under /clients/mqtt stay 404.
  await assert.rejects(
    openSocket(`ws://localhost:${server.port}/clients/mqtt/x/${HUB}`, { protocols: ['mqtt'] }),
    (e) => e.status === 404,
  );
});

test('MQTT 5 and 3.1.1 clients connect; CONNACK announces what the server supports', async () => {
  const v5 = await mqttClient({ version: 5 });
  const props = v5.connackPacket?.properties ?? {};
  assert.equal(props.retainAvailable, false);
  assert.equal(props.wildcardSubscriptionAvailable, false);
  assert.equal(props.sharedSubscriptionAvailable, false);
  assert.equal(props.maximumQoS, 1);
  assert.equal(props.maximumPacketSize, 4096);
  const v4 = await mqttClient({ version: 4 });
  assert.ok(v4.connected);
  // The client id is the connection id for REST.
  assert.equal(await service.connectionExists(v5.options.clientId), true);
  assert.equal(await service.connectionExists(v4.options.clientId), true);
});

test('CONNACK refusals: client id, keep alive (3.1.1), unsupported version', async () => {
  await assert.rejects(
    mqttClient({ version: 5, clientId: 'mqttjs_bad' }),
    (e) => e.code === 0x85 || /identifier/i.test(e.message),
  );
  await assert.rejects(mqttClient({ version: 4, clientId: 'bad_id' }), (e) => e.code === 2 || /Identifier/i.test(e.message));
  await assert.rejects(
    mqttClient({ version: 4, options: { keepalive: 0 } }),
    (e) => e.code === 3 || /unavailable/i.test(e.message),
  );
  // A 5.0 client with no id gets one assigned.
  const assigned = await mqttClient({ version: 5, clientId: '' });
  const given = assigned.connackPacket.properties.assignedClientIdentifier;
  assert.match(given, /^[0-9a-zA-Z]+$/);
  assert.equal(await service.connectionExists(given), true);
  // The connection id of a JSON client is not an MQTT client id to take over.
  const json = await jsonClient(server, HUB, { roles: ALL });
  others.push(json);
  await assert.rejects(mqttClient({ version: 5, clientId: json.connected.connectionId }), (e) => e.code === 0x85);
  assert.equal(await service.connectionExists(json.connected.connectionId), true);
  // Protocol level 3 (MQTT 3.1) and 6: CONNACK return code 1, then close.
  for (const level of [3, 6]) {
    const { ws, q } = await rawMqtt();
    ws.send(connectPacket(level, 'lvl'));
    const m = await q.next(() => true, 5000, 'CONNACK');
    assert.deepEqual([...m.raw], [0x20, 2, 0, 1]);
    await q.waitClose();
  }
});

test('packets before CONNECT, a second CONNECT, text frames and oversized packets close the connection', async () => {
  {
    const { ws, q } = await rawMqtt();
    ws.send(packet(0xc0, Buffer.alloc(0))); // PINGREQ first
    const close = await q.waitClose();
    assert.equal(close.code, 1002);
    assert.equal(q.items.length, 0);
  }
  {
    const { ws, q } = await rawMqtt();
    ws.send(connectPacket(5, newId()));
    await q.next(() => true, 5000, 'CONNACK');
    ws.send(connectPacket(5, newId()));
    const d = await q.next((m) => m.raw[0] === 0xe0, 5000, 'DISCONNECT');
    assert.equal(d.raw[2], 0x82); // Protocol Error
    assert.equal((await q.waitClose()).code, 1002);
  }
  {
    // A packet split across WebSocket messages works; an oversized one gets DISCONNECT 0x95.
    const { ws, q } = await rawMqtt();
    const connect = connectPacket(5, newId());
    ws.send(connect.subarray(0, 5));
    ws.send(connect.subarray(5));
    const connack = await q.next(() => true, 5000, 'CONNACK');
    assert.equal(connack.raw[0], 0x20);
    assert.equal(connack.raw[3], 0);
    ws.send(Buffer.from([0x30, 0x80, 0x80, 0x01])); // announces 16 KiB > 4096
    const d = await q.next((m) => m.raw[0] === 0xe0, 5000, 'DISCONNECT');
    assert.equal(d.raw[2], 0x95);
    assert.equal((await q.waitClose()).code, 1009);
  }
  {
    const { ws, q } = await rawMqtt();
    ws.send('not binary');
    assert.equal((await q.waitClose()).code, 1003);
  }
  {
    // Malformed: SUBSCRIBE with reserved flags 0 after CONNECT (3.1.1: closed without packet).
    const { ws, q } = await rawMqtt();
    ws.send(connectPacket(4, newId()));
    await q.next(() => true, 5000, 'CONNACK');
    ws.send(packet(0x80, Buffer.concat([Buffer.from([0, 1]), str('g'), Buffer.from([0])])));
    assert.equal((await q.waitClose()).code, 1002);
    assert.equal(q.items.length, 0, '3.1.1 gets no DISCONNECT');
  }
});

test('pub/sub between MQTT 5 and 3.1.1 clients with QoS 0 and 1; PINGREQ answered', async () => {
  const group = newId('g');
  const sub5 = await mqttClient({ version: 5 });
  const sub4 = await mqttClient({ version: 4 });
  const granted5 = await sub5.subscribeAsync(group, { qos: 1 });
  assert.equal(granted5[0].qos, 1);
  const granted4 = await sub4.subscribeAsync(group, { qos: 2 });
  assert.equal(granted4[0].qos, 1, 'QoS 2 is granted as 1');
  const pub = await mqttClient({ version: 5 });
  await pub.publishAsync(group, 'hello', { qos: 1, properties: { contentType: 'text/plain' } });
  const m5 = await sub5.nextMessage((m) => m.topic === group);
  assert.equal(m5.payload.toString(), 'hello');
  assert.equal(m5.packet.qos, 1);
  assert.equal(m5.packet.properties.contentType, 'text/plain');
  const m4 = await sub4.nextMessage((m) => m.topic === group);
  assert.equal(m4.payload.toString(), 'hello');
  assert.equal(m4.packet.qos, 1);
  // QoS 0 subscription gets QoS 0.
  const sub0 = await mqttClient({ version: 4 });
  await sub0.subscribeAsync(group, { qos: 0 });
  const pub4 = await mqttClient({ version: 4 });
  await pub4.publishAsync(group, Buffer.from([1, 2, 3]), { qos: 0 });
  const b = await sub0.nextMessage((m) => m.topic === group);
  assert.deepEqual([...b.payload], [1, 2, 3]);
  assert.equal(b.packet.qos, 0);
  const b5 = await sub5.nextMessage((m) => m.topic === group);
  assert.equal(b5.packet.properties.contentType, 'application/octet-stream');
  // Unsubscribe: no more deliveries.
  await sub0.unsubscribeAsync(group);
  await pub.publishAsync(group, 'after', { qos: 1 });
  await sub5.nextMessage((m) => m.payload.toString() === 'after');
  await delay(200);
  assert.equal(sub0.received.length, 0);
  // PINGREQ -> PINGRESP (MQTT.js sends one on demand).
  await withTimeout(
    new Promise((resolve) => {
      sub5.once('packetreceive', (p) => p.cmd === 'pingresp' && resolve());
      sub5._sendPacket({ cmd: 'pingreq' });
    }),
    3000,
    'PINGRESP',
  );
});

test('permissions: no role means SUBACK / PUBACK refusals (5.0 0x87, 3.1.1 fallbacks), QoS 0 closes', async () => {
  const group = newId('g');
  const watcher = await mqttClient({ version: 5 });
  await watcher.subscribeAsync(group, { qos: 1 });
  const none5 = await mqttClient({ version: 5, tokenOptions: { roles: [] } });
  assert.deepEqual(await grants(none5, group), [0x87]);
  await assert.rejects(none5.publishAsync(group, 'x', { qos: 1 }), /Not authorized|135/i);
  const none4 = await mqttClient({ version: 4, tokenOptions: { roles: [] } });
  assert.deepEqual(await grants(none4, group), [0x80]);
  await none4.publishAsync(group, 'y', { qos: 1 }); // 3.1.1: a plain PUBACK
  // Group-scoped roles allow exactly that group.
  const scoped = await mqttClient({
    version: 5,
    tokenOptions: { roles: [`webpubsub.sendToGroup.${group}`, `webpubsub.joinLeaveGroup.${group}`] },
  });
  assert.deepEqual(await grants(scoped, [group, `${group}other`]), [1, 0x87]);
  await scoped.publishAsync(group, 'scoped', { qos: 1 });
  await watcher.nextMessage((m) => m.payload.toString() === 'scoped');
  await delay(200);
  assert.ok(!watcher.received.some((m) => ['x', 'y'].includes(m.payload.toString())), 'refused publishes not delivered');
  // Wildcards and shared subscriptions are refused.
  assert.deepEqual(await grants(watcher, ['a/+', '$share/x/y', '$webpubsub/x']), [0xa2, 0x9e, 0x8f]);
  // QoS 0 publish without permission: DISCONNECT 0x87 and close.
  const gone = disconnectPacket(none5);
  none5.publish(group, 'z', { qos: 0 });
  const d = await withTimeout(gone, 5000, 'DISCONNECT');
  assert.equal(d.reasonCode, 0x87);
  // REST grant gives the permission at run time.
  const id = none4.options.clientId;
  await service.grantPermission(id, 'sendToGroup', { targetName: group });
  await none4.publishAsync(group, 'granted', { qos: 1 });
  await watcher.nextMessage((m) => m.payload.toString() === 'granted');
});

test('interop: MQTT publishes reach SDK, JSON, protobuf and simple members; their sends reach MQTT', async () => {
  const group = newId('g');
  const json = await jsonClient(server, HUB, { roles: ALL });
  others.push(json);
  json.ws.send(JSON.stringify({ type: 'joinGroup', group, ackId: 1 }));
  await json.q.ack(1);
  // The official client SDK (json.reliable by default) and a raw protobuf client.
  const sdkUrl = (await service.getClientAccessToken({ roles: ALL })).url;
  const sdk = new WebPubSubClient(sdkUrl, { autoReconnect: false });
  const sdkMessages = [];
  sdk.on('group-message', (e) => sdkMessages.push(e.message));
  await sdk.start();
  await sdk.joinGroup(group);
  const pbSock = await openSocket(sdkUrl, { protocols: ['protobuf.webpubsub.azure.v1'] });
  others.push(pbSock.ws);
  pbSock.ws.send(up.joinGroup(group, 1));
  await pbSock.q.next((i) => i.isBinary && decodeDownstream(i.raw).type === 'ack', 5000, 'protobuf join ack');
  const pbNext = async () => {
    const item = await pbSock.q.next((i) => i.isBinary && decodeDownstream(i.raw).type === 'message', 5000, 'protobuf message');
    return decodeDownstream(item.raw);
  };
  const simple = await simpleClient(server, HUB, { roles: ALL, groups: [group] });
  others.push(simple);

  const m5 = await mqttClient({ version: 5, tokenOptions: { userId: 'mqttuser' } });
  await m5.subscribeAsync(group, { qos: 1 });
  const m4 = await mqttClient({ version: 4 });
  await m4.subscribeAsync(group, { qos: 1 });

  // MQTT 5 JSON content -> json dataType with the parsed value.
  await m5.publishAsync(group, '{"a":1}', { qos: 1, properties: { contentType: 'application/json' } });
  const j1 = await json.q.groupMessage(group);
  assert.equal(j1.dataType, 'json');
  assert.deepEqual(j1.data, { a: 1 });
  assert.equal(j1.fromUserId, 'mqttuser');
  // MQTT 3.1.1 -> binary.
  await m4.publishAsync(group, 'raw', { qos: 1 });
  const j2 = await json.q.groupMessage(group);
  assert.equal(j2.dataType, 'binary');
  assert.equal(Buffer.from(j2.data, 'base64').toString(), 'raw');
  const p1 = await pbNext();
  // JSON reaches protobuf clients as text_data, as it does from JSON clients (protobuf.test.mjs).
  assert.deepEqual(p1.data, { kind: 'text', value: '{"a":1}' });
  const p2 = await pbNext();
  assert.deepEqual(p2.data, { kind: 'binary', value: Buffer.from('raw') });
  await eventually(() => sdkMessages.length >= 2, 5000, 'SDK member got both');
  assert.deepEqual(sdkMessages[0].data, { a: 1 });
  assert.equal(sdkMessages[0].dataType, 'json');
  assert.equal(sdkMessages[1].dataType, 'binary');
  // A simple client in the group (token group) gets the raw payloads: JSON as a text frame,
  // binary as a binary frame.
  const s1 = await simple.q.next(() => true, 5000, 'simple frame 1');
  assert.equal(s1.isBinary, false);
  assert.equal(s1.raw.toString(), '{"a":1}');
  const s2 = await simple.q.next(() => true, 5000, 'simple frame 2');
  assert.equal(s2.isBinary, true);
  assert.equal(s2.raw.toString(), 'raw');

  // JSON client text -> MQTT 5 text/plain, MQTT 3.1.1 payload only.
  json.ws.send(JSON.stringify({ type: 'sendToGroup', group, dataType: 'text', data: 'from json' }));
  const t5 = await m5.nextMessage((m) => m.payload.toString() === 'from json');
  assert.equal(t5.packet.properties.contentType, 'text/plain');
  assert.equal(t5.topic, group);
  await m4.nextMessage((m) => m.payload.toString() === 'from json');
  // The SDK client's JSON -> application/json; a protobuf client's binary -> octet-stream.
  await sdk.sendToGroup(group, { b: 2 }, 'json');
  const s5 = await m5.nextMessage((m) => m.payload.toString() === '{"b":2}');
  assert.equal(s5.packet.properties.contentType, 'application/json');
  pbSock.ws.send(up.sendToGroup(group, pbData.binary(Buffer.from([9, 8]))));
  const b5 = await m5.nextMessage((m) => m.payload.length === 2 && m.payload[0] === 9);
  assert.equal(b5.packet.properties.contentType, 'application/octet-stream');
  sdk.stop();

  // REST: group -> topic = group; all / user / connection -> $webpubsub/server/messages at QoS 1.
  await service.group(group).sendToAll('rest group', { contentType: 'text/plain' });
  const r1 = await m5.nextMessage((m) => m.payload.toString() === 'rest group');
  assert.equal(r1.topic, group);
  await service.sendToAll({ all: true });
  const r2 = await m5.nextMessage((m) => m.topic === '$webpubsub/server/messages');
  assert.equal(r2.packet.properties.contentType, 'application/json');
  assert.deepEqual(JSON.parse(r2.payload.toString()), { all: true });
  assert.equal(r2.packet.qos, 1);
  await m4.nextMessage((m) => m.topic === '$webpubsub/server/messages');
  await service.sendToUser('mqttuser', 'to user', { contentType: 'text/plain' });
  await m5.nextMessage((m) => m.payload.toString() === 'to user');
  await service.sendToConnection(m4.options.clientId, 'to conn', { contentType: 'text/plain' });
  const c4 = await m4.nextMessage((m) => m.payload.toString() === 'to conn');
  assert.equal(c4.topic, '$webpubsub/server/messages');
});

test('REST management: groups, filters on protocol, close with DISCONNECT 0x98', async () => {
  const group = newId('g');
  const m5 = await mqttClient({ version: 5 });
  const id = m5.options.clientId;
  await service.group(group).addConnection(id);
  await service.group(group).sendToAll('via rest join', { contentType: 'text/plain' });
  const m = await m5.nextMessage((x) => x.payload.toString() === 'via rest join');
  assert.equal(m.packet.qos, 1, 'REST-added subscriptions deliver at QoS 1');
  // OData filter on protocol: only MQTT connections.
  const json = await jsonClient(server, HUB, { roles: ALL });
  others.push(json);
  await service.sendToAll('mqtt only', { contentType: 'text/plain', filter: "protocol eq 'mqtt'" });
  await m5.nextMessage((x) => x.payload.toString() === 'mqtt only');
  await json.q.expectNothing(300, (x) => x.json?.data === 'mqtt only');
  await service.group(group).removeConnection(id);
  await service.group(group).sendToAll('after leave', { contentType: 'text/plain' });
  await delay(300);
  assert.ok(!m5.received.some((x) => x.payload.toString() === 'after leave'));
  // Close: DISCONNECT 0x98 with the REST reason.
  const gone = disconnectPacket(m5);
  await service.closeConnection(id, { reason: 'admin says bye' });
  const d = await withTimeout(gone, 5000, 'DISCONNECT');
  assert.equal(d.reasonCode, 0x98);
  assert.equal(d.properties?.reasonString, 'admin says bye');
  await eventually(async () => !(await service.connectionExists(id)), 3000, 'connection gone');
});

test('a second client with the same client id takes the session over (old gets 0x8E)', async () => {
  const id = newId('dup');
  const first = await mqttClient({ version: 5, clientId: id });
  const gone = disconnectPacket(first);
  const second = await mqttClient({ version: 5, clientId: id });
  const d = await withTimeout(gone, 5000, 'DISCONNECT of the old client');
  assert.equal(d.reasonCode, 0x8e);
  assert.ok(second.connected);
  assert.equal(await service.connectionExists(id), true);
});

test('will messages: published on an abnormal end, not after a normal DISCONNECT', async () => {
  const group = newId('g');
  const watcher = await mqttClient({ version: 5 });
  await watcher.subscribeAsync(group, { qos: 1 });
  const dying = await mqttClient({
    version: 5,
    options: { will: { topic: group, payload: Buffer.from('I died'), qos: 1, properties: { contentType: 'text/plain' } } },
  });
  dying.stream.destroy(); // network failure
  const w = await watcher.nextMessage((m) => m.payload.toString() === 'I died');
  assert.equal(w.packet.properties.contentType, 'text/plain');
  const polite = await mqttClient({ version: 4, options: { will: { topic: group, payload: 'polite will', qos: 0 } } });
  await polite.endAsync();
  await delay(300);
  assert.ok(!watcher.received.some((m) => m.payload.toString() === 'polite will'));
  // 5.0 DISCONNECT 0x04 = with will.
  const withWill = await mqttClient({ version: 5, options: { will: { topic: group, payload: 'asked will', qos: 0 } } });
  await withWill.endAsync(false, { reasonCode: 4 });
  await watcher.nextMessage((m) => m.payload.toString() === 'asked will');
});

test('sessions: Session Expiry / Clean Session 0 keep the session across a network drop', async () => {
  const group = newId('g');
  const id = newId('sess');
  const first = await mqttClient({ version: 5, clientId: id, options: { clean: false, properties: { sessionExpiryInterval: 30 } } });
  assert.equal(first.connackPacket.sessionPresent, false);
  await first.subscribeAsync(group, { qos: 1 });
  first.stream.destroy(); // network failure
  await delay(300);
  // The session is still a connection for REST, and messages wait for it.
  assert.equal(await service.connectionExists(id), true);
  await service.group(group).sendToAll('while offline', { contentType: 'text/plain' });
  const again = await mqttClient({ version: 5, clientId: id, options: { clean: false, properties: { sessionExpiryInterval: 30 } } });
  assert.equal(again.connackPacket.sessionPresent, true);
  const m = await again.nextMessage((x) => x.payload.toString() === 'while offline');
  assert.equal(m.topic, group);
  assert.equal(m.packet.qos, 1);
  // Still subscribed without a new SUBSCRIBE.
  await service.group(group).sendToAll('after resume', { contentType: 'text/plain' });
  await again.nextMessage((x) => x.payload.toString() === 'after resume');
  // Clean Start discards it: no session present, no longer in the group.
  again.stream.destroy();
  await delay(300);
  const fresh = await mqttClient({ version: 5, clientId: id, options: { clean: true } });
  assert.equal(fresh.connackPacket.sessionPresent, false);
  await service.group(group).sendToAll('not for fresh', { contentType: 'text/plain' });
  await delay(300);
  assert.ok(!fresh.received.some((x) => x.payload.toString() === 'not for fresh'));
  // A normal DISCONNECT of a session without expiry ends it.
  await fresh.endAsync();
  await eventually(async () => !(await service.connectionExists(id)), 3000, 'session ended');
});

test('sessions: 3.1.1 Clean Session 0 resumes; an expired session is gone', async () => {
  const group = newId('g');
  const id = newId('s311');
  const first = await mqttClient({ version: 4, clientId: id, options: { clean: false } });
  await first.subscribeAsync(group, { qos: 1 });
  first.stream.destroy();
  await delay(300);
  await service.group(group).sendToAll('offline 311', { contentType: 'text/plain' });
  const again = await mqttClient({ version: 4, clientId: id, options: { clean: false } });
  assert.equal(again.connackPacket.sessionPresent, true);
  await again.nextMessage((x) => x.payload.toString() === 'offline 311');
  // Session Expiry Interval 1 s: gone 1 s after the drop.
  const shortId = newId('short');
  const short = await mqttClient({ version: 5, clientId: shortId, options: { clean: false, properties: { sessionExpiryInterval: 1 } } });
  short.stream.destroy();
  await delay(300);
  assert.equal(await service.connectionExists(shortId), true);
  await eventually(async () => !(await service.connectionExists(shortId)), 4000, 'session expired');
  // REST close ends an offline session at once.
  const closeId = newId('closed');
  const c = await mqttClient({ version: 5, clientId: closeId, options: { clean: false, properties: { sessionExpiryInterval: 30 } } });
  c.stream.destroy();
  await delay(300);
  assert.equal(await service.connectionExists(closeId), true);
  await service.closeConnection(closeId);
  assert.equal(await service.connectionExists(closeId), false);
});

test('sessions: QoS 1 messages left without PUBACK are sent again (DUP) when the session resumes; Receive Maximum holds the rest', async () => {
  const group = newId('g');
  const id = newId('unacked');
  const sessionOptions = { clean: false, properties: { sessionExpiryInterval: 30, receiveMaximum: 2 } };
  // This client never acknowledges: MQTT.js sends the PUBACK (and emits 'message') only when
  // customHandleAcks calls back, and handles no further packet until then; what the server
  // sends is read from the socket with MQTT.js's own packet parser.
  const first = await mqttClient({ version: 5, clientId: id, options: { ...sessionOptions, customHandleAcks: () => {} } });
  const seen = [];
  const parser = mqttPacket.parser({ protocolVersion: 5 });
  parser.on('packet', (p) => {
    if (p.cmd === 'publish') seen.push(p.payload.toString());
  });
  first.stream.on('data', (b) => parser.parse(b));
  await first.subscribeAsync(group, { qos: 1 });
  for (let i = 1; i <= 5; i++) await service.group(group).sendToAll(`n${i}`, { contentType: 'text/plain' });
  await eventually(async () => seen.length >= 2, 5000, 'two PUBLISHes');
  await delay(300);
  // Receive Maximum 2: only two PUBLISHes await their PUBACK, the other three wait.
  assert.deepEqual(seen, ['n1', 'n2']);
  first.stream.destroy(); // network failure, nothing acknowledged
  await delay(300);
  const again = await mqttClient({ version: 5, clientId: id, options: { clean: false, properties: { sessionExpiryInterval: 30 } } });
  assert.equal(again.connackPacket.sessionPresent, true);
  await eventually(async () => again.received.length >= 5, 5000, 'five messages after the resume');
  await delay(200);
  const got = again.received.map((x) => [x.payload.toString(), x.packet.dup === true]);
  assert.deepEqual(got, [['n1', true], ['n2', true], ['n3', false], ['n4', false], ['n5', false]]);
  // Acknowledged now: a later drop and resume sends nothing again.
  again.stream.destroy();
  await delay(300);
  const third = await mqttClient({ version: 5, clientId: id, options: { clean: false, properties: { sessionExpiryInterval: 30 } } });
  assert.equal(third.connackPacket.sessionPresent, true);
  await delay(400);
  assert.deepEqual(third.received, []);
  await third.endAsync();
});

test('a WebSocket that sends no CONNECT within the handshake timeout is closed (1008)', async () => {
  const { q } = await rawMqtt();
  const started = Date.now();
  const close = await q.waitClose(5000);
  assert.equal(close.code, 1008);
  assert.ok(Date.now() - started >= 1000, 'not before the handshake timeout');
});

test('keep alive: silence beyond 1.5 x Keep Alive closes with DISCONNECT 0x8D', async () => {
  const { ws, q } = await rawMqtt();
  ws.send(connectPacket(5, newId(), { keepAlive: 1 }));
  await q.next(() => true, 5000, 'CONNACK');
  const d = await q.next((m) => m.raw[0] === 0xe0, 5000, 'DISCONNECT');
  assert.equal(d.raw[2], 0x8d);
  await q.waitClose();
});
