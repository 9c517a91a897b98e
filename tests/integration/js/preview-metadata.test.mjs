// Metadata and TTL on client sends (spec §6.10; docs/PROTOCOL.md "Preview features"): a raw JSON
// or protobuf sender (the JS SDK 1.1.0 has no option for them) sends `metadata` and `ttlSeconds`;
// the official SDK client (JSON), a raw protobuf client and a reliable raw JSON client receive.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { WebPubSubClient, WebPubSubJsonProtocol } from '@azure/web-pubsub-client';
import { WebPubSubServiceClient } from '@azure/web-pubsub';
import {
  startServer,
  stopAll,
  clientToken,
  clientUrl,
  openSocket,
  jsonClient,
  closeAll,
  delay,
  withTimeout,
  RELIABLE_JSON_PROTOCOL,
} from './harness.mjs';
import { up, data, decodeDownstream } from './protobuf-wire.mjs';

const HUB = 'meta';
const PROTOBUF = 'protobuf.webpubsub.azure.v1';
let server;
const sdkClients = [];

before(async () => {
  server = await startServer();
});
after(async () => {
  for (const c of sdkClients) c.stop();
  await delay(100);
  await stopAll(server);
});

async function protobufClient(tokenOptions = {}) {
  const tok = clientToken({ port: server.port, hub: HUB, key: server.key, ...tokenOptions });
  const { ws, q } = await openSocket(clientUrl(server.port, HUB, tok), { protocols: [PROTOBUF] });
  const next = async (pred = () => true, label = 'protobuf message') => {
    const item = await q.next((i) => i.isBinary && pred(decodeDownstream(i.raw)), 5000, label);
    return decodeDownstream(item.raw);
  };
  await next((m) => m.type === 'system', 'connected');
  return { ws, q, next, send: (buf) => ws.send(buf) };
}

async function sdkReceiver(group) {
  const service = new WebPubSubServiceClient(server.connectionString, HUB);
  const { url } = await service.getClientAccessToken({ roles: [`webpubsub.joinLeaveGroup.${group}`] });
  const client = new WebPubSubClient(url, {
    protocol: WebPubSubJsonProtocol(),
    autoReconnect: false,
    keepAliveIntervalInMs: 300,
    keepAliveTimeoutInMs: 1500,
  });
  sdkClients.push(client);
  const received = [];
  client.on('group-message', (e) => received.push(e.message));
  await withTimeout(client.start(), 5000, 'start');
  await client.joinGroup(group);
  const next = async (pred, label) => {
    for (let i = 0; i < 100; i += 1) {
      const idx = received.findIndex(pred);
      if (idx >= 0) return received.splice(idx, 1)[0];
      await delay(50);
    }
    throw new Error(`SDK client: no ${label}; got ${JSON.stringify(received)}`);
  };
  return { client, received, next };
}

test('metadata from JSON and protobuf senders reaches the SDK (JSON) and protobuf receivers; unknown fields are ignored', async () => {
  const G = 'm';
  const sdk = await sdkReceiver(G);
  const pb = await protobufClient({ roles: [`webpubsub.joinLeaveGroup.${G}`, 'webpubsub.sendToGroup'] });
  pb.send(up.joinGroup(G, 1));
  await pb.next((m) => m.type === 'ack');
  const sender = await jsonClient(server, HUB, { roles: ['webpubsub.sendToGroup'] });
  try {
    // JSON sender, with a field no version of the protocol has: accepted, not a disconnect.
    sender.send({
      type: 'sendToGroup',
      group: G,
      dataType: 'text',
      data: 'hello',
      ackId: 1,
      metadata: { 'Trace-Id': 'abc-1', k: 'v v' },
      futureField: { nested: [1, 2] },
    });
    const ack = await sender.q.nextJson((m) => m.type === 'ack');
    assert.equal(ack.success, true, JSON.stringify(ack));
    const atSdk = await sdk.next((m) => m.data === 'hello', 'hello');
    assert.deepEqual(atSdk.metadata, { 'Trace-Id': 'abc-1', k: 'v v' });
    const atPb = await pb.next((m) => m.type === 'message', 'hello');
    assert.deepEqual(atPb.data, { kind: 'text', value: 'hello' });
    assert.deepEqual(atPb.metadata, { 'Trace-Id': 'abc-1', k: 'v v' });

    // Protobuf sender with metadata; a metadata-only message is an empty text message.
    pb.send(up.sendToGroup(G, data.binary(Buffer.from([1, 2, 3])), { ackId: 2, metadata: { from: 'pb' } }));
    assert.equal((await pb.next((m) => m.type === 'ack' && m.ackId === 2)).success, true);
    const binary = await sdk.next((m) => m.dataType === 'binary', 'binary');
    assert.deepEqual(Buffer.from(binary.data), Buffer.from([1, 2, 3]));
    assert.deepEqual(binary.metadata, { from: 'pb' });
    sender.send({ type: 'sendToGroup', group: G, metadata: { only: 'metadata' } });
    const empty = await sdk.next((m) => m.metadata?.only === 'metadata', 'metadata-only');
    assert.equal(empty.dataType, 'text');
    assert.equal(empty.data, '');

    // Without metadata, no metadata field.
    sender.send({ type: 'sendToGroup', group: G, dataType: 'text', data: 'plain' });
    const plain = await sdk.next((m) => m.data === 'plain', 'plain');
    assert.equal(plain.metadata, undefined);

    // Invalid metadata is an invalid message (spec §6.10: close 1007, as the emulator does).
    const bad = await jsonClient(server, HUB, { roles: ['webpubsub.sendToGroup'] });
    bad.send({ type: 'sendToGroup', group: G, dataType: 'text', data: 'x', metadata: { 'bad key': 'v' } });
    const closed = await bad.q.closed;
    assert.equal(closed.code, 1007);
    // ... which leaves the others alone.
    sender.send({ type: 'sendToGroup', group: G, dataType: 'text', data: 'still', ackId: 3 });
    assert.equal((await sender.q.nextJson((m) => m.type === 'ack' && m.ackId === 3)).success, true);
  } finally {
    closeAll(sender, pb);
  }
});

test('ttlSeconds: a message past its TTL while a reliable client recovers is not replayed; the others are, in order', async () => {
  const G = 't';
  const tok = clientToken({ port: server.port, hub: HUB, key: server.key, roles: ['webpubsub.joinLeaveGroup'] });
  const first = await openSocket(clientUrl(server.port, HUB, tok), { protocols: [RELIABLE_JSON_PROTOCOL] });
  const connected = await first.q.nextJson((m) => m.event === 'connected');
  first.ws.send(JSON.stringify({ type: 'joinGroup', group: G, ackId: 1 }));
  await first.q.nextJson((m) => m.type === 'ack');
  const sender = await jsonClient(server, HUB, { roles: ['webpubsub.sendToGroup'] });
  try {
    first.ws.terminate(); // abrupt drop: the session waits for recovery
    await delay(200);
    sender.send({ type: 'sendToGroup', group: G, dataType: 'text', data: 'short', ttlSeconds: 1 });
    sender.send({ type: 'sendToGroup', group: G, dataType: 'text', data: 'forever', ttlSeconds: 0 });
    sender.send({ type: 'sendToGroup', group: G, dataType: 'text', data: 'long', ttlSeconds: 60, ackId: 9 });
    assert.equal((await sender.q.nextJson((m) => m.type === 'ack')).success, true);
    await delay(1500); // 'short' expires while nobody can take it
    const query = `&awps_connection_id=${connected.connectionId}&awps_reconnection_token=${connected.reconnectionToken}`;
    const second = await openSocket(clientUrl(server.port, HUB, tok) + query, { protocols: [RELIABLE_JSON_PROTOCOL] });
    try {
      await second.q.nextJson((m) => m.event === 'connected');
      const got = [await second.q.nextJson((m) => m.type === 'message'), await second.q.nextJson((m) => m.type === 'message')];
      assert.deepEqual(
        got.map((m) => m.data),
        ['forever', 'long'],
      );
      assert.ok(got[0].sequenceId < got[1].sequenceId);
      await delay(200);
      assert.equal(second.q.items.filter((i) => i.json?.data === 'short').length, 0, 'the expired message never arrives');
      // A message within its TTL is delivered live.
      sender.send({ type: 'sendToGroup', group: G, dataType: 'text', data: 'live', ttlSeconds: 5 });
      assert.equal((await second.q.nextJson((m) => m.type === 'message')).data, 'live');
      // Out of range: invalid message.
      sender.send({ type: 'sendToGroup', group: G, dataType: 'text', data: 'x', ttlSeconds: 301 });
      assert.equal((await sender.q.closed).code, 1007);
    } finally {
      second.ws.close();
    }
  } finally {
    closeAll(sender);
  }
});
