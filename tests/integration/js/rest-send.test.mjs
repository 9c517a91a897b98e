// REST API sends through @azure/web-pubsub 1.2.0 (issue 3; spec §4.3 ops 6, 9, 13, 22; §4.4;
// §5; §6.3.2; §6.7): every send is checked by what real connected clients receive.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { odata } from '@azure/web-pubsub';
import { startServer, closeAll } from './harness.mjs';
import { startServerOrCluster } from './cluster-harness.mjs';
import {
  serviceClient,
  trackedJson,
  trackedSimple,
  nextData,
  assertNextIsMarker,
  rawRequest,
  apiPath,
  assertError,
  assertSdkStatus,
} from './rest-helpers.mjs';

let server;
const clients = [];
let hubN = 0;
const newHub = () => `send${++hubN}`;
const json = (hub, opts) => trackedJson(clients, server, hub, opts);
const simple = (hub, opts) => trackedSimple(clients, server, hub, opts);

before(async () => {
  server = await startServerOrCluster();
});

after(async () => {
  closeAll(...clients);
  if (server) await server.stop();
});

test('sendToAll with a JSON object: JSON clients get dataType json, simple clients the JSON text', async () => {
  const hub = newHub();
  const a = await json(hub, { userId: 'a' });
  const b = await json(hub, {});
  const s = await simple(hub, { userId: 's' });
  const service = serviceClient(server, hub);
  await service.sendToAll({ hello: 'world', n: 1, nested: [true, null] });
  const expected = { type: 'message', from: 'server', dataType: 'json', data: { hello: 'world', n: 1, nested: [true, null] } };
  assert.deepEqual(await nextData(a), expected);
  assert.deepEqual(await nextData(b), expected);
  const frame = await s.q.next(() => true, 5000, 'simple frame');
  assert.equal(frame.isBinary, false, 'application/json goes to simple clients as a text frame');
  assert.deepEqual(JSON.parse(frame.text), { hello: 'world', n: 1, nested: [true, null] });
});

test('sendToAll with a string and contentType text/plain: dataType text, simple text frame as-is', async () => {
  const hub = newHub();
  const a = await json(hub);
  const s = await simple(hub);
  const service = serviceClient(server, hub);
  await service.sendToAll('Hello "text" ünï', { contentType: 'text/plain' });
  assert.deepEqual(await nextData(a), { type: 'message', from: 'server', dataType: 'text', data: 'Hello "text" ünï' });
  const frame = await s.q.next(() => true, 5000, 'simple frame');
  assert.equal(frame.isBinary, false);
  assert.equal(frame.text, 'Hello "text" ünï');
});

test('sendToAll with a string without contentType is JSON: the simple client gets it quoted', async () => {
  const hub = newHub();
  const a = await json(hub);
  const s = await simple(hub);
  await serviceClient(server, hub).sendToAll('Hello World');
  assert.deepEqual(await nextData(a), { type: 'message', from: 'server', dataType: 'json', data: 'Hello World' });
  const frame = await s.q.next(() => true, 5000, 'simple frame');
  assert.equal(frame.isBinary, false);
  assert.equal(frame.text, '"Hello World"');
});

test('sendToAll with binary (Uint8Array and ArrayBuffer): dataType binary base64, simple binary frame', async () => {
  const hub = newHub();
  const a = await json(hub);
  const s = await simple(hub);
  const service = serviceClient(server, hub);
  const bytes = new Uint8Array([0, 1, 2, 0xfe, 0xff, 0x7b, 0x22]);
  await service.sendToAll(bytes);
  assert.deepEqual(await nextData(a), {
    type: 'message',
    from: 'server',
    dataType: 'binary',
    data: Buffer.from(bytes).toString('base64'),
  });
  let frame = await s.q.next(() => true, 5000, 'simple binary frame');
  assert.equal(frame.isBinary, true, 'octet-stream goes to simple clients as a binary frame');
  assert.deepEqual(frame.raw, Buffer.from(bytes));

  const ab = new Uint8Array([9, 8, 7, 6]).buffer;
  await service.sendToAll(ab);
  const m = await nextData(a);
  assert.equal(m.dataType, 'binary');
  assert.equal(m.data, Buffer.from([9, 8, 7, 6]).toString('base64'));
  frame = await s.q.next(() => true, 5000, 'simple binary frame 2');
  assert.equal(frame.isBinary, true);
  assert.deepEqual(frame.raw, Buffer.from([9, 8, 7, 6]));
});

// The JS SDK's send options call the `excluded` query parameter `excludedConnections` (its close
// options call it `excluded`).
test('sendToAll with excluded connection ids skips exactly those connections', async () => {
  const hub = newHub();
  const a = await json(hub, { userId: 'a' });
  const b = await json(hub, { userId: 'b' });
  const c = await json(hub, { userId: 'c' });
  const service = serviceClient(server, hub);
  await service.sendToAll({ to: 'not b or c' }, { excludedConnections: [b.connected.connectionId, c.connected.connectionId] });
  assert.deepEqual((await nextData(a)).data, { to: 'not b or c' });
  await assertNextIsMarker(service, b, 'excluded-b');
  await assertNextIsMarker(service, c, 'excluded-c');
  // a single excluded id (one query parameter) also works
  await service.sendToAll('x', { contentType: 'text/plain', excludedConnections: [a.connected.connectionId] });
  assert.equal((await nextData(b)).data, 'x');
  assert.equal((await nextData(c)).data, 'x');
  await assertNextIsMarker(service, a, 'excluded-a');
});

test('sendToAll with an OData filter built by the SDK odata template', async () => {
  const hub = newHub();
  const a = await json(hub, { userId: 'a' });
  const b = await json(hub, { userId: 'b' });
  const q = await json(hub, { userId: "o'neil" });
  const anon = await json(hub, {});
  const service = serviceClient(server, hub);

  await service.sendToAll({ only: 'a' }, { filter: odata`userId eq ${'a'}` });
  assert.deepEqual((await nextData(a)).data, { only: 'a' });
  for (const [c, l] of [[b, 'b'], [q, 'q'], [anon, 'anon']]) await assertNextIsMarker(service, c, `filter-${l}`);

  // quote escaping ('' inside the literal)
  await service.sendToAll('quoted', { contentType: 'text/plain', filter: odata`userId eq ${"o'neil"}` });
  assert.equal((await nextData(q)).data, 'quoted');
  for (const [c, l] of [[a, 'a'], [b, 'b'], [anon, 'anon']]) await assertNextIsMarker(service, c, `quote-${l}`);

  // null-aware eq, `in` list, `not`, and connectionId
  await service.sendToAll('anon', { contentType: 'text/plain', filter: 'userId eq null' });
  assert.equal((await nextData(anon)).data, 'anon');
  await assertNextIsMarker(service, a, 'null-a');

  await service.sendToAll('ab', { contentType: 'text/plain', filter: "userId in ('a', 'b')" });
  assert.equal((await nextData(a)).data, 'ab');
  assert.equal((await nextData(b)).data, 'ab');
  await assertNextIsMarker(service, q, 'in-q');
  await assertNextIsMarker(service, anon, 'in-anon');

  await service.sendToAll('not-a', {
    contentType: 'text/plain',
    filter: odata`not (connectionId eq ${a.connected.connectionId}) and userId ne null`,
  });
  assert.equal((await nextData(b)).data, 'not-a');
  assert.equal((await nextData(q)).data, 'not-a');
  await assertNextIsMarker(service, a, 'not-a');
  await assertNextIsMarker(service, anon, 'not-anon');
});

test('filter on groups: "g in groups" selects members of g', async () => {
  const hub = newHub();
  const a = await json(hub, { userId: 'a', groups: ['g1'] });
  const b = await json(hub, { userId: 'b' });
  const service = serviceClient(server, hub);
  await service.sendToAll('members', { contentType: 'text/plain', filter: odata`${'g1'} in groups` });
  assert.equal((await nextData(a)).data, 'members');
  await assertNextIsMarker(service, b, 'groups-b');
});

test('messageTtlSeconds: 0..300 accepted and delivered; 301 and -1 rejected with 400 by the server', async () => {
  const hub = newHub();
  const a = await json(hub);
  const service = serviceClient(server, hub);
  await service.sendToAll('ttl300', { contentType: 'text/plain', messageTtlSeconds: 300 });
  assert.equal((await nextData(a)).data, 'ttl300');
  await service.sendToAll('ttl0', { contentType: 'text/plain', messageTtlSeconds: 0 });
  assert.equal((await nextData(a)).data, 'ttl0');

  // The JS SDK sends 301 as is (no client-side check): the server must answer 400.
  await assertSdkStatus(
    service.sendToAll('ttl301', { contentType: 'text/plain', messageTtlSeconds: 301 }),
    400,
    'sendToAll messageTtlSeconds=301',
  );
  for (const bad of ['-1', 'abc', '1.5', '99999999999999999999']) {
    const res = await rawRequest(server, apiPath(hub, '/:send', `messageTtlSeconds=${bad}`), {
      body: 'ttl-bad',
      headers: { 'Content-Type': 'text/plain' },
    });
    assertError(res, 400, { label: `messageTtlSeconds=${bad}` });
  }
  await assertNextIsMarker(service, a, 'ttl-bad');
});

test('group.sendToAll reaches only the group members, with excluded and filter', async () => {
  const hub = newHub();
  const m1 = await json(hub, { userId: 'm1', groups: ['room'] });
  const m2 = await json(hub, { userId: 'm2', groups: ['room'] });
  const out = await json(hub, { userId: 'out' });
  const sm = await simple(hub, { userId: 'sm', groups: ['room'] });
  const service = serviceClient(server, hub);
  const group = service.group('room');

  await group.sendToAll({ in: 'room' });
  for (const c of [m1, m2]) {
    const m = await nextData(c);
    // A REST group send reaches JSON clients as a message of the group with no sender, which is
    // what @azure/web-pubsub-client's group-message event needs.
    assert.equal(m.from, 'group', JSON.stringify(m));
    assert.equal(m.group, 'room');
    assert.equal(m.fromUserId, null);
    assert.equal(m.dataType, 'json');
    assert.deepEqual(m.data, { in: 'room' });
  }
  const frame = await sm.q.next(() => true, 5000, 'simple group frame');
  assert.deepEqual(JSON.parse(frame.text), { in: 'room' });
  await assertNextIsMarker(service, out, 'group-out');

  await group.sendToAll('hi', { contentType: 'text/plain', excludedConnections: [m1.connected.connectionId] });
  const got = await nextData(m2);
  assert.equal(got.dataType, 'text');
  assert.equal(got.data, 'hi');
  await assertNextIsMarker(service, m1, 'group-excluded');

  await group.sendToAll(new Uint8Array([1, 2, 3]), { filter: odata`userId eq ${'m1'}` });
  const bin = await nextData(m1);
  assert.equal(bin.dataType, 'binary');
  assert.equal(bin.data, Buffer.from([1, 2, 3]).toString('base64'));
  await assertNextIsMarker(service, m2, 'group-filter');

  // an empty/unknown group: fire-and-forget 202
  await service.group('nobody-here').sendToAll('void', { contentType: 'text/plain' });
});

test('sendToUser reaches every connection of the user and nobody else; filter applies', async () => {
  const hub = newHub();
  const u1 = await json(hub, { userId: 'user1' });
  const u2 = await json(hub, { userId: 'user1' });
  const us = await simple(hub, { userId: 'user1' });
  const other = await json(hub, { userId: 'user2' });
  const service = serviceClient(server, hub);
  await service.sendToUser('user1', { for: 'user1' });
  for (const c of [u1, u2]) assert.deepEqual(await nextData(c), { type: 'message', from: 'server', dataType: 'json', data: { for: 'user1' } });
  assert.deepEqual(JSON.parse((await us.q.next(() => true, 5000, 'simple user frame')).text), { for: 'user1' });
  await assertNextIsMarker(service, other, 'user-other');

  await service.sendToUser('user1', 'one', { contentType: 'text/plain', filter: odata`connectionId eq ${u2.connected.connectionId}` });
  assert.equal((await nextData(u2)).data, 'one');
  await assertNextIsMarker(service, u1, 'user-filter');

  // unknown user: fire-and-forget 202
  await service.sendToUser('nobody', 'void', { contentType: 'text/plain' });
});

test('sendToUser with special characters in the userId (percent-encoded path segment)', async () => {
  const hub = newHub();
  const u = await json(hub, { userId: 'alice smith+äö' });
  const service = serviceClient(server, hub);
  await service.sendToUser('alice smith+äö', 'special', { contentType: 'text/plain' });
  assert.equal((await nextData(u)).data, 'special');
});

test('sendToConnection reaches exactly that connection (JSON and simple)', async () => {
  const hub = newHub();
  const a = await json(hub, { userId: 'same' });
  const b = await json(hub, { userId: 'same' });
  const service = serviceClient(server, hub);
  await service.sendToConnection(a.connected.connectionId, { direct: true });
  assert.deepEqual(await nextData(a), { type: 'message', from: 'server', dataType: 'json', data: { direct: true } });
  await assertNextIsMarker(service, b, 'conn-b');
  await service.sendToConnection(b.connected.connectionId, new Uint8Array([0xca, 0xfe]));
  assert.deepEqual(await nextData(b), { type: 'message', from: 'server', dataType: 'binary', data: 'yv4=' });
  // unknown connection: fire-and-forget 202
  await service.sendToConnection('no-such-connection', 'void', { contentType: 'text/plain' });
  await assertNextIsMarker(service, a, 'conn-a-after');
});

test('sendToUser with a connectionId filter reaches a simple client as a text frame', async () => {
  const hub = newHub();
  const s = await simple(hub, { userId: 'simple' });
  // A simple client gets no connected message, so its id is unknown: address it as "the
  // connection of user 'simple' that is not the watcher".
  const watcher = await json(hub, { userId: 'simple' });
  const service = serviceClient(server, hub);
  await service.sendToUser('simple', 'to-simple', {
    contentType: 'text/plain',
    filter: odata`connectionId ne ${watcher.connected.connectionId}`,
  });
  const f = await s.q.next(() => true, 5000, 'simple text frame');
  assert.equal(f.isBinary, false);
  assert.equal(f.text, 'to-simple');
  await assertNextIsMarker(service, watcher, 'simple-watcher');
});

test('a 512 KiB text message is delivered intact', async () => {
  const hub = newHub();
  const a = await json(hub);
  const service = serviceClient(server, hub);
  const big = 'x'.repeat(512 * 1024);
  await service.sendToAll(big, { contentType: 'text/plain' });
  const m = await nextData(a, 10000, 'big message');
  assert.equal(m.data, big);
});

test('userId path decoding: %2F stays literal, other escapes are decoded once (spec §4.2)', async () => {
  const hub = newHub();
  const slash = await json(hub, { userId: 'tenant/alice' });
  const literal = await json(hub, { userId: 'tenant%2Falice' });
  const space = await json(hub, { userId: 'alice smith' });
  const plus = await json(hub, { userId: 'alice+bob' });
  const service = serviceClient(server, hub);
  const send = async (segment, body) => {
    const res = await rawRequest(server, apiPath(hub, `/users/${segment}/:send`), {
      body,
      headers: { 'Content-Type': 'text/plain' },
    });
    assert.equal(res.status, 202, `${segment}: ${res.text}`);
  };
  await send('tenant%2Falice', 'to-literal');
  assert.equal((await nextData(literal)).data, 'to-literal');
  await assertNextIsMarker(service, slash, 'pct2F-not-slash');
  await send('tenant%252Falice', 'double-encoded');
  assert.equal((await nextData(literal)).data, 'double-encoded');
  await send('alice%20smith', 'space');
  assert.equal((await nextData(space)).data, 'space');
  await send('alice+bob', 'plus');
  assert.equal((await nextData(plus)).data, 'plus');
  // The SDK encodes '/' as %2F, so sendToUser('tenant/alice') reaches user 'tenant%2Falice'
  // (the service's documented behaviour), not 'tenant/alice'.
  await service.sendToUser('tenant/alice', 'via-sdk', { contentType: 'text/plain' });
  assert.equal((await nextData(literal)).data, 'via-sdk');
  await assertNextIsMarker(service, slash, 'sdk-slash');
});
