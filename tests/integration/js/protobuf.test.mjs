// protobuf.webpubsub.azure.v1 and protobuf.reliable.webpubsub.azure.v1 (spec §6.12): binary
// frames, every message type, and the data conversions of §6.7 between simple, JSON and
// protobuf clients in the same group, in both directions.

import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  startServer,
  stopAll,
  clientToken,
  clientUrl,
  openSocket,
  jsonClient,
  simpleClient,
  closeAll,
  delay,
  withTimeout,
} from './harness.mjs';
import { up, data, decodeDownstream } from './protobuf-wire.mjs';

const HUB = 'proto';
const PROTOBUF = 'protobuf.webpubsub.azure.v1';
const PROTOBUF_RELIABLE = 'protobuf.reliable.webpubsub.azure.v1';

async function protobufClient(server, tokenOptions = {}, { protocol = PROTOBUF, query = '' } = {}) {
  const tok = clientToken({ port: server.port, hub: HUB, key: server.key, ...tokenOptions });
  const { ws, q, protocol: got } = await openSocket(`${clientUrl(server.port, HUB, tok)}${query}`, {
    protocols: [protocol],
  });
  assert.equal(got, protocol);
  const next = async (pred = () => true, label = 'protobuf message') => {
    const item = await q.next((i) => i.isBinary && pred(decodeDownstream(i.raw)), 5000, label);
    return decodeDownstream(item.raw);
  };
  return { ws, q, next, send: (buf) => ws.send(buf) };
}

describe('protobuf subprotocols', () => {
  let server;
  before(async () => {
    server = await startServer();
  });
  after(async () => {
    await stopAll(server);
  });

  test('connected, join with ack, ping/pong, Forbidden without role', async () => {
    const c = await protobufClient(server, { userId: 'pb-user', roles: ['webpubsub.joinLeaveGroup'] });
    const connected = await c.next((m) => m.type === 'system');
    assert.equal(connected.event, 'connected');
    assert.equal(connected.userId, 'pb-user');
    assert.match(connected.connectionId, /^[0-9a-f]{32}$/);
    assert.equal(connected.reconnectionToken, undefined);
    c.send(up.joinGroup('g', 1));
    assert.deepEqual(await c.next((m) => m.type === 'ack'), { type: 'ack', ackId: 1, success: true, error: undefined });
    c.send(up.joinGroup('g', 1));
    assert.equal((await c.next((m) => m.type === 'ack')).error.name, 'Duplicate');
    c.send(up.sendToGroup('g', data.text('x'), { ackId: 2 }));
    const forbidden = await c.next((m) => m.type === 'ack' && m.ackId === 2);
    assert.equal(forbidden.success, false);
    assert.equal(forbidden.error.name, 'Forbidden');
    c.send(up.ping());
    assert.equal((await c.next((m) => m.type === 'pong')).type, 'pong');
    c.send(up.event('hello', data.text('x'), 3));
    assert.equal((await c.next((m) => m.ackId === 3)).error.name, 'InternalServerError');
    closeAll(c);
  });

  test('JSON and REST-style payloads reach protobuf clients: text -> text_data, json -> text_data, binary -> binary_data', async () => {
    const pb = await protobufClient(server, { groups: ['mix'] });
    await pb.next((m) => m.type === 'system');
    const js = await jsonClient(server, HUB, { roles: ['webpubsub.sendToGroup'] });
    js.send({ type: 'sendToGroup', group: 'mix', dataType: 'text', data: 'héllo' });
    js.send({ type: 'sendToGroup', group: 'mix', dataType: 'json', data: { a: [1, 'b'] } });
    js.send({ type: 'sendToGroup', group: 'mix', dataType: 'binary', data: Buffer.from([0, 1, 255]).toString('base64') });
    const m1 = await pb.next((m) => m.type === 'message');
    assert.deepEqual([m1.from, m1.group, m1.data], ['group', 'mix', { kind: 'text', value: 'héllo' }]);
    const m2 = await pb.next((m) => m.type === 'message');
    assert.equal(m2.data.kind, 'text');
    assert.deepEqual(JSON.parse(m2.data.value), { a: [1, 'b'] });
    const m3 = await pb.next((m) => m.type === 'message');
    assert.deepEqual(m3.data, { kind: 'binary', value: Buffer.from([0, 1, 255]) });
    assert.equal(m3.sequenceId, undefined, 'no sequence id on the non-reliable protocol');
    closeAll(pb, js);
  });

  test('protobuf payloads reach JSON clients (dataType protobuf, base64 Any) and simple clients (binary Any)', async () => {
    const pub = await protobufClient(server, { roles: ['webpubsub.sendToGroup'], groups: ['any'] });
    await pub.next((m) => m.type === 'system');
    const js = await jsonClient(server, HUB, { groups: ['any'] });
    const simple = await simpleClient(server, HUB, { groups: ['any'] });
    const anyBytes = data.anyBytes('type.googleapis.com/google.protobuf.StringValue', Buffer.from([0x0a, 0x02, 0x68, 0x69]));
    pub.send(up.sendToGroup('any', data.any('type.googleapis.com/google.protobuf.StringValue', Buffer.from([0x0a, 0x02, 0x68, 0x69])), { ackId: 7, noEcho: true }));
    assert.equal((await pub.next((m) => m.type === 'ack')).success, true);
    const jm = await js.q.nextJson((m) => m.type === 'message');
    assert.equal(jm.dataType, 'protobuf');
    assert.deepEqual(Buffer.from(jm.data, 'base64'), anyBytes);
    assert.equal(jm.fromUserId, null);
    const frame = await simple.q.next(() => true, 5000, 'simple frame');
    assert.equal(frame.isBinary, true);
    assert.deepEqual(frame.raw, anyBytes);
    // noEcho: the publisher got its ack and nothing else.
    await delay(100);
    assert.equal(pub.q.items.filter((i) => decodeDownstream(i.raw).type === 'message').length, 0);
    // And text from a protobuf client reaches the JSON client as text.
    pub.send(up.sendToGroup('any', data.text('plain')));
    const jt = await js.q.nextJson((m) => m.type === 'message');
    assert.deepEqual([jt.dataType, jt.data], ['text', 'plain']);
    closeAll(pub, js, simple);
  });

  test('bad frames: a text frame closes 1003, garbage closes 1007 (after disconnected); others keep working', async () => {
    const bystander = await protobufClient(server, {});
    await bystander.next((m) => m.type === 'system');
    const a = await protobufClient(server, {});
    await a.next((m) => m.type === 'system');
    a.ws.send('{"type":"ping"}');
    assert.equal((await withTimeout(a.q.closed, 5000, 'close')).code, 1003);
    const b = await protobufClient(server, {});
    await b.next((m) => m.type === 'system');
    b.send(Buffer.from([0xff, 0xff, 0xff]));
    assert.equal((await withTimeout(b.q.closed, 5000, 'close')).code, 1007);
    assert.ok(b.q.items.some((i) => decodeDownstream(i.raw).event === 'disconnected'));
    bystander.send(up.ping());
    await bystander.next((m) => m.type === 'pong');
    closeAll(bystander);
  });

  test('protobuf.reliable: sequence ids from 1, acknowledgement, recovery with replay', async () => {
    const c = await protobufClient(server, { groups: ['rel'] }, { protocol: PROTOBUF_RELIABLE });
    const connected = await c.next((m) => m.type === 'system');
    assert.match(connected.reconnectionToken, /^[0-9a-f]{64}$/);
    const js = await jsonClient(server, HUB, { roles: ['webpubsub.sendToGroup'] });
    for (const t of ['a', 'b']) js.send({ type: 'sendToGroup', group: 'rel', dataType: 'text', data: t });
    assert.equal((await c.next((m) => m.type === 'message')).sequenceId, 1);
    assert.equal((await c.next((m) => m.type === 'message')).sequenceId, 2);
    c.send(up.sequenceAck(1));
    await delay(100);
    c.ws.terminate();
    await delay(100);
    js.send({ type: 'sendToGroup', group: 'rel', dataType: 'text', data: 'c' });
    await delay(100);
    const again = await protobufClient(server, {}, {
      protocol: PROTOBUF_RELIABLE,
      query: `&awps_connection_id=${connected.connectionId}&awps_reconnection_token=${connected.reconnectionToken}`,
    });
    assert.equal((await again.next((m) => m.type === 'system')).connectionId, connected.connectionId);
    const r1 = await again.next((m) => m.type === 'message');
    const r2 = await again.next((m) => m.type === 'message');
    assert.deepEqual([r1.sequenceId, r1.data.value, r2.sequenceId, r2.data.value], [2, 'b', 3, 'c']);
    closeAll(again, js);
  });
});
