// Bad client messages and their documented answers (spec §6.1, §6.2, §6.3.1, §10.2): the close
// code, the `disconnected` system message before every server-initiated close of a JSON client,
// and other clients on the same server keep working while (and after) the bad one is closed.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, jsonClient, simpleClient, closeAll, assertStillWorking, syncSimpleClient } from './harness.mjs';

const HUB = 'bad';
let server;
let small; // server with --max-message-bytes 1024
let pub;
let sub;
const clients = [];

before(async () => {
  server = await startServer();
  small = await startServer({ args: ['--max-message-bytes', '1024'] });
  pub = await jsonClient(server, HUB, { userId: 'bystander-pub', roles: ['webpubsub.sendToGroup'] });
  sub = await jsonClient(server, HUB, { userId: 'bystander-sub', groups: ['bystanders'] });
  clients.push(pub, sub);
});

after(async () => {
  closeAll(...clients);
  if (server) await server.stop();
  if (small) await small.stop();
});

/** Asserts the JSON client got `disconnected` as its last message, then a close with `code`. */
async function expectDisconnected(c, code) {
  const close = await c.q.waitClose(5000);
  const last = c.q.items.at(-1);
  assert.ok(last, `expected a disconnected system message before close ${close.code}, got nothing`);
  assert.equal(last.isBinary, false, 'disconnected message must be a text frame');
  assert.equal(last.json?.type, 'system', `last message before close: ${last.text}`);
  assert.equal(last.json?.event, 'disconnected', `last message before close: ${last.text}`);
  assert.equal(typeof last.json?.message, 'string');
  assert.equal(close.code, code, `close code (reason: ${close.reason})`);
  return { close, disconnected: last.json };
}

async function badJsonCase(label, sendBad, code, target = server) {
  const bad = await jsonClient(target, HUB, { userId: `bad-${label}`, roles: ['webpubsub.joinLeaveGroup', 'webpubsub.sendToGroup'] });
  clients.push(bad);
  sendBad(bad.ws);
  // other clients keep working while the bad one is being closed...
  if (target === server) await assertStillWorking(pub, sub, 'bystanders', label);
  await expectDisconnected(bad, code);
  // ...and after
  if (target === server) await assertStillWorking(pub, sub, 'bystanders', `${label}-after`);
}

test('binary frame on the JSON protocol -> disconnected + close 1003', async () => {
  await badJsonCase('binary', (ws) => ws.send(Buffer.from('{"type":"ping"}'), { binary: true }), 1003);
});

test('malformed JSON -> disconnected + close 1007', async () => {
  await badJsonCase('malformed', (ws) => ws.send('{"type": "joinGroup", "group": '), 1007);
});

test('not a JSON object -> close 1007', async () => {
  await badJsonCase('number', (ws) => ws.send('42'), 1007);
});

test('missing type -> close 1007', async () => {
  await badJsonCase('notype', (ws) => ws.send(JSON.stringify({ group: 'g', ackId: 1 })), 1007);
});

test('unknown type -> disconnected + close 1007', async () => {
  await badJsonCase('unknown', (ws) => ws.send(JSON.stringify({ type: 'fly', ackId: 1 })), 1007);
});

test('invalid group name (whitespace only) -> close 1007', async () => {
  await badJsonCase('ws-group', (ws) => ws.send(JSON.stringify({ type: 'joinGroup', group: '   ', ackId: 1 })), 1007);
});

test('invalid group name (1025 chars) -> close 1007', async () => {
  await badJsonCase(
    'long-group',
    (ws) => ws.send(JSON.stringify({ type: 'sendToGroup', group: 'g'.repeat(1025), data: 'x', dataType: 'text', ackId: 1 })),
    1007,
  );
});

test('invalid group name (empty) -> close 1007', async () => {
  await badJsonCase('empty-group', (ws) => ws.send(JSON.stringify({ type: 'leaveGroup', group: '', ackId: 1 })), 1007);
});

test('joinGroup without group -> close 1007', async () => {
  await badJsonCase('missing-group', (ws) => ws.send(JSON.stringify({ type: 'joinGroup', ackId: 1 })), 1007);
});

test('noEcho that is not a boolean -> close 1007', async () => {
  await badJsonCase(
    'noecho',
    (ws) => ws.send(JSON.stringify({ type: 'sendToGroup', group: 'g', data: 'x', dataType: 'text', noEcho: 'yes' })),
    1007,
  );
});

test('dataType text with non-string data -> close 1007', async () => {
  await badJsonCase(
    'text-number',
    (ws) => ws.send(JSON.stringify({ type: 'sendToGroup', group: 'g', data: 12, dataType: 'text', ackId: 1 })),
    1007,
  );
});

test('dataType binary with data that is not base64 -> close 1007', async () => {
  await badJsonCase(
    'bad-base64',
    (ws) => ws.send(JSON.stringify({ type: 'sendToGroup', group: 'g', data: '%%% not base64 %%%', dataType: 'binary', ackId: 1 })),
    1007,
  );
});

test('a valid group name of exactly 1024 chars is accepted', async () => {
  const c = await jsonClient(server, HUB, { roles: ['webpubsub.joinLeaveGroup'] });
  clients.push(c);
  c.send({ type: 'joinGroup', group: 'g'.repeat(1024), ackId: 1 });
  assert.equal((await c.q.ack(1)).success, true);
});

test('--max-message-bytes 1024: a 1024-byte frame is accepted, a 1025-byte frame -> close 1009', async () => {
  const pubS = await jsonClient(small, HUB, { roles: ['webpubsub.sendToGroup'] });
  const subS = await jsonClient(small, HUB, { groups: ['big'] });
  clients.push(pubS, subS);
  const empty = JSON.stringify({ type: 'sendToGroup', group: 'big', dataType: 'text', data: '', ackId: 1 });
  const frame = (n) => {
    const s = JSON.stringify({ type: 'sendToGroup', group: 'big', dataType: 'text', data: 'x'.repeat(n - empty.length), ackId: 1 });
    assert.equal(Buffer.byteLength(s), n);
    return s;
  };
  pubS.ws.send(frame(1024));
  assert.equal((await pubS.q.ack(1)).success, true);
  assert.equal((await subS.q.groupMessage('big')).data.length, 1024 - empty.length);

  const bad = await jsonClient(small, HUB, { roles: ['webpubsub.sendToGroup'] });
  clients.push(bad);
  bad.ws.send(frame(1025));
  // the other clients of that server keep working
  pubS.send({ type: 'sendToGroup', group: 'big', dataType: 'text', data: 'small', ackId: 2 });
  assert.equal((await pubS.q.ack(2)).success, true);
  assert.equal((await subS.q.groupMessage('big')).data, 'small');
  await expectDisconnected(bad, 1009);
});

test('default limit: a frame over 1 MiB -> close 1009; a ~1 MB frame is delivered', async () => {
  const okSize = 1000 * 1000 - 200;
  pub.send({ type: 'sendToGroup', group: 'bystanders', dataType: 'text', data: 'y'.repeat(okSize), ackId: 4242 });
  assert.equal((await pub.q.ack(4242, 10000)).success, true);
  const m = await sub.q.groupMessage('bystanders', 10000);
  assert.equal(m.data.length, okSize);
  await badJsonCase(
    'huge',
    (ws) => ws.send(JSON.stringify({ type: 'sendToGroup', group: 'g', dataType: 'text', data: 'z'.repeat(1024 * 1024 + 1) })),
    1009,
  );
});

test('a simple client that sends a frame (no event handler) is closed with 1011; others keep working', async () => {
  const s = await simpleClient(server, HUB, { groups: ['bystanders'] });
  clients.push(s);
  // it receives group traffic while connected
  await syncSimpleClient(pub, s.q, 'bystanders', { others: [sub.q] });
  const probe = await assertStillWorking(pub, sub, 'bystanders', 'simple-before');
  const frame = await s.q.next(() => true, 5000, 'group data on the simple client');
  assert.equal(frame.text, probe.data);
  s.send('hello from a simple client');
  await assertStillWorking(pub, sub, 'bystanders', 'simple-during');
  const close = await s.q.waitClose(5000);
  assert.equal(close.code, 1011, `close reason: ${close.reason}`);
  // simple clients never receive system messages
  for (const it of s.q.items) {
    assert.notEqual(it.json?.type, 'system', `simple client got a system message: ${it.text}`);
  }
  await assertStillWorking(pub, sub, 'bystanders', 'simple-after');
});

test('a simple client sending a binary frame is closed with 1011 too', async () => {
  const s = await simpleClient(server, HUB, {});
  clients.push(s);
  s.ws.send(Buffer.from([1, 2, 3]), { binary: true });
  const close = await s.q.waitClose(5000);
  assert.equal(close.code, 1011);
  assert.equal(s.q.items.length, 0, `simple client got: ${s.q.describe()}`);
  await assertStillWorking(pub, sub, 'bystanders', 'simple-binary-after');
});
