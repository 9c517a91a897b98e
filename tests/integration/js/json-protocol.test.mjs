// Raw `ws` clients speaking json.webpubsub.azure.v1 (spec §6.3, §6.5, §6.7, §7) and simple
// clients receiving fan-out (§6.2).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  startServer,
  jsonClient,
  simpleClient,
  closeAll,
  openSocket,
  clientToken,
  clientUrl,
  JSON_PROTOCOL,
  syncSimpleClient,
  delay,
} from './harness.mjs';

const HUB = 'proto';
const ALL = ['webpubsub.joinLeaveGroup', 'webpubsub.sendToGroup'];
let server;
const clients = [];

async function client(opts = {}, hub = HUB) {
  const c = await jsonClient(server, hub, opts);
  clients.push(c);
  return c;
}

before(async () => {
  server = await startServer();
});

after(async () => {
  closeAll(...clients);
  if (server) await server.stop();
});

test('connected system message is the first message, with userId and connectionId', async () => {
  const a = await client({ userId: 'alice' });
  assert.equal(a.connected.userId, 'alice');
  assert.equal(typeof a.connected.connectionId, 'string');
  assert.ok(a.connected.connectionId.length >= 1);
  const anon = await client({});
  assert.ok('userId' in anon.connected, 'connected message carries userId');
  assert.equal(anon.connected.userId, null);
  assert.notEqual(anon.connected.connectionId, a.connected.connectionId);
  // JSON clients receive text frames only
  assert.equal(a.q.items.length, 0, `unexpected extra messages: ${a.q.describe()}`);
});

test('joinGroup / sendToGroup / leaveGroup with acks', async () => {
  const sub = await client({ userId: 'sub', roles: ALL });
  const pub = await client({ userId: 'pub', roles: ALL });
  sub.send({ type: 'joinGroup', group: 'g1', ackId: 1 });
  assert.deepEqual(await sub.q.ack(1), { type: 'ack', ackId: 1, success: true });

  pub.send({ type: 'sendToGroup', group: 'g1', data: { hello: 'world' }, ackId: 7 });
  const ack = await pub.q.ack(7);
  assert.equal(ack.success, true);
  const msg = await sub.q.groupMessage('g1');
  assert.deepEqual(msg, {
    type: 'message',
    from: 'group',
    group: 'g1',
    fromUserId: 'pub',
    dataType: 'json',
    data: { hello: 'world' },
  });
  // pub is not a member: it receives nothing
  await pub.q.expectNothing(300, (i) => i.json?.type === 'message');

  sub.send({ type: 'leaveGroup', group: 'g1', ackId: 2 });
  assert.equal((await sub.q.ack(2)).success, true);
  pub.send({ type: 'sendToGroup', group: 'g1', data: 'after leave', dataType: 'text', ackId: 8 });
  assert.equal((await pub.q.ack(8)).success, true);
  await sub.q.expectNothing(400, (i) => i.json?.type === 'message');
});

test('publishing without ackId still delivers, and members receive their own messages unless noEcho', async () => {
  const a = await client({ userId: 'a', roles: ALL });
  const b = await client({ userId: 'b', roles: ALL });
  for (const [c, id] of [
    [a, 1],
    [b, 1],
  ]) {
    c.send({ type: 'joinGroup', group: 'echo', ackId: id });
    assert.equal((await c.q.ack(id)).success, true);
  }
  a.send({ type: 'sendToGroup', group: 'echo', dataType: 'text', data: 'with echo' });
  assert.equal((await a.q.groupMessage('echo')).data, 'with echo');
  assert.equal((await b.q.groupMessage('echo')).data, 'with echo');

  a.send({ type: 'sendToGroup', group: 'echo', dataType: 'text', data: 'no echo', noEcho: true, ackId: 2 });
  assert.equal((await a.q.ack(2)).success, true);
  const got = await b.q.groupMessage('echo');
  assert.equal(got.data, 'no echo');
  assert.equal(got.fromUserId, 'a');
  await a.q.expectNothing(400, (i) => i.json?.type === 'message');
});

test('every dataType reaches JSON clients (json/text/binary base64) and simple clients (text/binary frames)', async () => {
  const pub = await client({ roles: ['webpubsub.sendToGroup'] });
  const jsonSub = await client({ groups: ['types'] });
  const simple = await simpleClient(server, HUB, { groups: ['types'] });
  clients.push(simple);
  assert.equal(simple.protocol, '', 'simple client gets no subprotocol');
  await syncSimpleClient(pub, simple.q, 'types', { others: [jsonSub.q] });

  const bytes = Buffer.from([0, 1, 2, 250, 255, 10]);
  const cases = [
    { dataType: 'json', data: { a: [1, 2, { b: null }], s: 'x' } },
    { dataType: 'json', data: 42 },
    { dataType: 'json', data: 'a json string' },
    { dataType: 'text', data: 'plain text ü €' },
    { dataType: 'binary', data: bytes.toString('base64') },
  ];
  let ackId = 100;
  for (const c of cases) {
    ackId++;
    pub.send({ type: 'sendToGroup', group: 'types', ackId, ...c });
    assert.equal((await pub.q.ack(ackId)).success, true);
    const m = await jsonSub.q.groupMessage('types');
    assert.equal(m.dataType, c.dataType);
    assert.deepEqual(m.data, c.data);
    const frame = await simple.q.next(() => true, 5000, `simple-client frame for ${c.dataType}`);
    if (c.dataType === 'binary') {
      assert.equal(frame.isBinary, true, 'binary data -> binary frame');
      assert.deepEqual(frame.raw, bytes);
    } else if (c.dataType === 'text') {
      assert.equal(frame.isBinary, false, 'text data -> text frame');
      assert.equal(frame.text, c.data);
    } else {
      assert.equal(frame.isBinary, false, 'json data -> text frame');
      assert.deepEqual(JSON.parse(frame.text), c.data);
    }
  }
  // a missing dataType means json
  pub.send({ type: 'sendToGroup', group: 'types', data: { implicit: true }, ackId: 200 });
  assert.equal((await pub.q.ack(200)).success, true);
  const m = await jsonSub.q.groupMessage('types');
  assert.equal(m.dataType, 'json');
  assert.deepEqual(m.data, { implicit: true });
  const frame = await simple.q.next();
  assert.deepEqual(JSON.parse(frame.text), { implicit: true });
});

test('ping is answered with pong', async () => {
  const a = await client({});
  a.send({ type: 'ping' });
  assert.deepEqual(await a.q.nextJson((m) => m.type === 'pong', 3000, 'pong'), { type: 'pong' });
});

test('Forbidden without roles, for join, leave and send; connection stays usable', async () => {
  const member = await client({ groups: ['secret'] });
  const a = await client({ userId: 'noroles' });
  a.send({ type: 'joinGroup', group: 'secret', ackId: 1 });
  const j = await a.q.ack(1);
  assert.equal(j.success, false);
  assert.equal(j.error?.name, 'Forbidden');
  assert.equal(typeof j.error?.message, 'string');
  a.send({ type: 'leaveGroup', group: 'secret', ackId: 2 });
  const l = await a.q.ack(2);
  assert.equal(l.success, false);
  assert.equal(l.error?.name, 'Forbidden');
  a.send({ type: 'sendToGroup', group: 'secret', data: 'x', dataType: 'text', ackId: 3 });
  const s = await a.q.ack(3);
  assert.equal(s.success, false);
  assert.equal(s.error?.name, 'Forbidden');
  // the forbidden send was not delivered
  await member.q.expectNothing(300, (i) => i.json?.type === 'message');
  a.send({ type: 'ping' });
  await a.q.nextJson((m) => m.type === 'pong', 3000, 'pong after Forbidden');
});

test('Forbidden without ackId is silent and the connection stays open', async () => {
  const member = await client({ groups: ['quiet'] });
  const a = await client({});
  a.send({ type: 'sendToGroup', group: 'quiet', data: 'x', dataType: 'text' });
  a.send({ type: 'joinGroup', group: 'quiet' });
  a.send({ type: 'ping' });
  await a.q.nextJson((m) => m.type === 'pong', 3000, 'pong');
  await member.q.expectNothing(300, (i) => i.json?.type === 'message');
  assert.equal(a.q.closeInfo, null);
  assert.equal(a.q.items.length, 0, `unexpected: ${a.q.describe()}`);
});

test('sendToGroup role alone does not allow joining; joinLeaveGroup alone does not allow sending', async () => {
  const sender = await client({ roles: ['webpubsub.sendToGroup'] });
  sender.send({ type: 'joinGroup', group: 'x', ackId: 1 });
  assert.equal((await sender.q.ack(1)).error?.name, 'Forbidden');
  const joiner = await client({ roles: ['webpubsub.joinLeaveGroup'] });
  joiner.send({ type: 'joinGroup', group: 'x', ackId: 1 });
  assert.equal((await joiner.q.ack(1)).success, true);
  joiner.send({ type: 'sendToGroup', group: 'x', data: 'y', dataType: 'text', ackId: 2 });
  assert.equal((await joiner.q.ack(2)).error?.name, 'Forbidden');
  // being a member does not imply send permission: nothing was delivered
  await joiner.q.expectNothing(300, (i) => i.json?.type === 'message');
});

test('scoped roles: webpubsub.joinLeaveGroup.<g> and webpubsub.sendToGroup.<g> (dots included)', async () => {
  const a = await client({
    roles: ['webpubsub.joinLeaveGroup.room.1', 'webpubsub.sendToGroup.room.1'],
  });
  a.send({ type: 'joinGroup', group: 'room.1', ackId: 1 });
  assert.equal((await a.q.ack(1)).success, true);
  a.send({ type: 'joinGroup', group: 'room.2', ackId: 2 });
  assert.equal((await a.q.ack(2)).error?.name, 'Forbidden');
  a.send({ type: 'joinGroup', group: 'room', ackId: 3 });
  assert.equal((await a.q.ack(3)).error?.name, 'Forbidden');
  a.send({ type: 'sendToGroup', group: 'room.1', data: 'in scope', dataType: 'text', ackId: 4 });
  assert.equal((await a.q.ack(4)).success, true);
  assert.equal((await a.q.groupMessage('room.1')).data, 'in scope');
  a.send({ type: 'sendToGroup', group: 'room.2', data: 'no', dataType: 'text', ackId: 5 });
  assert.equal((await a.q.ack(5)).error?.name, 'Forbidden');
  // group names are case-sensitive, so is the scope
  a.send({ type: 'sendToGroup', group: 'ROOM.1', data: 'no', dataType: 'text', ackId: 6 });
  assert.equal((await a.q.ack(6)).error?.name, 'Forbidden');
  a.send({ type: 'leaveGroup', group: 'room.1', ackId: 7 });
  assert.equal((await a.q.ack(7)).success, true);
});

test('wildcard roles: webpubsub.joinLeaveGroups.<pattern> / webpubsub.sendToGroups.<pattern>', async () => {
  const a = await client({
    roles: ['webpubsub.joinLeaveGroups.chat-*', 'webpubsub.sendToGroups.clientA.**', 'webpubsub.sendToGroups.lit\\*x'],
  });
  const cases = [
    ['joinGroup', 'chat-1', true],
    ['joinGroup', 'chat-', true],
    ['joinGroup', 'chat.1', false],
    ['joinGroup', 'chat-1.x', false],
    ['joinGroup', 'other', false],
    ['sendToGroup', 'clientA.alpha.room1', true],
    ['sendToGroup', 'clientA.x', true],
    ['sendToGroup', 'clientB.x', false],
    ['sendToGroup', 'lit*x', true],
    ['sendToGroup', 'litzx', false],
    ['sendToGroup', 'chat-1', false],
  ];
  let ackId = 0;
  for (const [type, group, ok] of cases) {
    ackId++;
    a.send({ type, group, ackId, ...(type === 'sendToGroup' ? { data: 'w', dataType: 'text' } : {}) });
    const ack = await a.q.ack(ackId);
    if (ok) assert.equal(ack.success, true, `${type} ${group} should be allowed: ${JSON.stringify(ack)}`);
    else assert.equal(ack.error?.name, 'Forbidden', `${type} ${group} should be Forbidden: ${JSON.stringify(ack)}`);
  }
});

test('groups from the token (webpubsub.group as array and as string) need no role', async () => {
  const arr = await client({ groups: ['tg1', 'tg2'] });
  const str = await client({ groups: 'tg3' });
  const pub = await client({ userId: 'p', roles: ['webpubsub.sendToGroup'] });
  for (const [c, g] of [
    [arr, 'tg1'],
    [arr, 'tg2'],
    [str, 'tg3'],
  ]) {
    pub.send({ type: 'sendToGroup', group: g, dataType: 'text', data: `to ${g}` });
    const m = await c.q.groupMessage(g);
    assert.equal(m.data, `to ${g}`);
    assert.equal(m.fromUserId, 'p');
  }
  // a token group does not grant send permission
  arr.send({ type: 'sendToGroup', group: 'tg1', dataType: 'text', data: 'x', ackId: 1 });
  assert.equal((await arr.q.ack(1)).error?.name, 'Forbidden');
});

test('role claim given as a single string', async () => {
  const a = await client({ roles: 'webpubsub.joinLeaveGroup' });
  a.send({ type: 'joinGroup', group: 'single', ackId: 1 });
  assert.equal((await a.q.ack(1)).success, true);
});

test('Duplicate for a repeated successful ackId; not for a repeated failed one', async () => {
  const a = await client({ roles: ['webpubsub.joinLeaveGroup.dup'] });
  const member = await client({ groups: ['dup'] });
  a.send({ type: 'joinGroup', group: 'dup', ackId: 5 });
  assert.deepEqual(await a.q.ack(5), { type: 'ack', ackId: 5, success: true });
  a.send({ type: 'joinGroup', group: 'dup', ackId: 5 });
  const dup = await a.q.ack(5);
  assert.equal(dup.success, false);
  assert.equal(dup.error?.name, 'Duplicate');
  // a different operation with the same ackId is still a duplicate (ackId is the key)
  a.send({ type: 'leaveGroup', group: 'dup', ackId: 5 });
  assert.equal((await a.q.ack(5)).error?.name, 'Duplicate');
  // the leave was not executed: a is still in 'dup'
  const pub = await client({ roles: ['webpubsub.sendToGroup'] });
  pub.send({ type: 'sendToGroup', group: 'dup', dataType: 'text', data: 'still member' });
  assert.equal((await a.q.groupMessage('dup')).data, 'still member');
  assert.equal((await member.q.groupMessage('dup')).data, 'still member');

  // failed attempts are not remembered: the same ackId gets Forbidden again, not Duplicate
  a.send({ type: 'sendToGroup', group: 'dup', dataType: 'text', data: 'x', ackId: 9 });
  assert.equal((await a.q.ack(9)).error?.name, 'Forbidden');
  a.send({ type: 'sendToGroup', group: 'dup', dataType: 'text', data: 'x', ackId: 9 });
  assert.equal((await a.q.ack(9)).error?.name, 'Forbidden');
  // ...and once it succeeds, the next repeat is a Duplicate
  a.send({ type: 'joinGroup', group: 'dup', ackId: 9 });
  assert.equal((await a.q.ack(9)).success, true);
  a.send({ type: 'joinGroup', group: 'dup', ackId: 9 });
  assert.equal((await a.q.ack(9)).error?.name, 'Duplicate');

  // ackIds are per connection
  const other = await client({ roles: ['webpubsub.joinLeaveGroup'] });
  other.send({ type: 'joinGroup', group: 'dup', ackId: 5 });
  assert.equal((await other.q.ack(5)).success, true);
});

test('a Duplicate sendToGroup is not published twice', async () => {
  const pub = await client({ roles: ['webpubsub.sendToGroup'] });
  const sub = await client({ groups: ['once'] });
  pub.send({ type: 'sendToGroup', group: 'once', dataType: 'text', data: 'one', ackId: 77 });
  assert.equal((await pub.q.ack(77)).success, true);
  pub.send({ type: 'sendToGroup', group: 'once', dataType: 'text', data: 'one', ackId: 77 });
  assert.equal((await pub.q.ack(77)).error?.name, 'Duplicate');
  assert.equal((await sub.q.groupMessage('once')).data, 'one');
  await sub.q.expectNothing(400, (i) => i.json?.type === 'message');
});

test('large ackId (beyond 2^32) is acked with the same value', async () => {
  const a = await client({ roles: ALL });
  const big = 2 ** 40 + 3;
  a.send({ type: 'joinGroup', group: 'big', ackId: big });
  const ack = await a.q.ack(big);
  assert.equal(ack.success, true);
});

test('event message with ackId and no event handler: InternalServerError ack, connection stays open', async () => {
  const a = await client({ userId: 'ev' });
  a.send({ type: 'event', event: 'myevent', dataType: 'text', data: 'hi', ackId: 3 });
  const ack = await a.q.ack(3);
  assert.equal(ack.success, false);
  assert.equal(ack.error?.name, 'InternalServerError');
  a.send({ type: 'ping' });
  await a.q.nextJson((m) => m.type === 'pong', 3000, 'pong after event');
  // without ackId: silent
  a.send({ type: 'event', event: 'myevent', dataType: 'json', data: { x: 1 } });
  a.send({ type: 'ping' });
  await a.q.nextJson((m) => m.type === 'pong', 3000, 'pong after event without ack');
  assert.equal(a.q.items.length, 0, `unexpected: ${a.q.describe()}`);
  assert.equal(a.q.closeInfo, null);
});

test('message type is matched case-insensitively', async () => {
  const a = await client({ roles: ALL });
  a.send({ type: 'JoinGroup', group: 'ci', ackId: 1 });
  assert.equal((await a.q.ack(1)).success, true);
});

test('subprotocol negotiation: first supported offered value is echoed', async () => {
  const token = clientToken({ port: server.port, hub: HUB, key: server.key });
  const url = clientUrl(server.port, HUB, token);
  const r1 = await openSocket(url, { protocols: ['custom.v1', JSON_PROTOCOL] });
  clients.push(r1);
  assert.equal(r1.protocol, JSON_PROTOCOL);
  const m = await r1.q.nextJson((x) => x.type === 'system', 3000, 'connected');
  assert.equal(m.event, 'connected');
});

test('a simple client is in its token groups as soon as its handshake completes', async () => {
  // A simple client has no `connected` message: the 101 response is the only signal it gets,
  // so a message published to its token group after the handshake completed must reach it.
  const pub = await client({ roles: ['webpubsub.sendToGroup'] });
  for (let i = 0; i < 20; i++) {
    const token = clientToken({ port: server.port, hub: HUB, key: server.key, groups: [`race-${i}`] });
    const { ws, q } = await openSocket(clientUrl(server.port, HUB, token));
    clients.push(ws);
    // `open` has fired: publish immediately
    pub.send({ type: 'sendToGroup', group: `race-${i}`, dataType: 'text', data: `race ${i}` });
    const frame = await q.next(() => true, 2000, `message published right after handshake #${i}`);
    assert.equal(frame.text, `race ${i}`);
    ws.terminate();
  }
});
