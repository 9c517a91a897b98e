// Limits (issue 7, part 1): each configurable limit refuses what is over it the documented way
// (docs/CONFIGURATION.md), and what is under it keeps working. Connection limits refuse the
// upgrade with 429 and a JSON ErrorDetail body; the group limit answers PubSub clients with an
// error ack and REST with 409; HTTP header and body limits answer 431 and 413; the event-handler
// connection cap makes further requests wait.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { startServer, closeAll, jsonClient, clientToken, clientUrl, openSocket, delay, JSON_PROTOCOL } from './harness.mjs';
import { hubConfig } from './webhook-helpers.mjs';
import { serviceClient, rawRequest } from './rest-helpers.mjs';
import { rawUpgrade, waitFor } from './raw-ws.mjs';

const servers = [];
const clients = [];
after(async () => {
  closeAll(...clients);
  for (const s of servers) await s.stop().catch(() => {});
});

async function start(args) {
  const s = await startServer({ args });
  servers.push(s);
  return s;
}

async function connect(server, hub, opts = {}) {
  const c = await jsonClient(server, hub, opts);
  clients.push(c);
  return c;
}

/** Upgrade for `hub` with a token for `userId`; resolves the raw response (status, json). */
async function rawAttempt(server, hub, userId) {
  const token = clientToken({ port: server.port, hub, key: server.key, userId });
  const conn = await rawUpgrade(server.port, `/client/hubs/${hub}?access_token=${token}`, { protocol: JSON_PROTOCOL });
  if (conn.status === 101) conn.destroy();
  return conn;
}

function assertLimitRefusal(conn, messagePart) {
  assert.equal(conn.status, 429, `status line: ${conn.statusLine}`);
  assert.equal(conn.headers['x-ms-error-code'], 'ConnectionCountLimitReached');
  assert.match(conn.headers['content-type'], /application\/json/);
  assert.equal(conn.json?.code, 'ConnectionCountLimitReached', conn.body);
  assert.match(conn.json.message, messagePart);
}

test('--max-connections: the connection over the limit gets 429 with a JSON body; a freed slot is reused', async () => {
  const server = await start(['--max-connections', '2']);
  const a = await connect(server, 'ha', { userId: 'a' });
  const b = await connect(server, 'hb', { userId: 'b' });
  assertLimitRefusal(await rawAttempt(server, 'hc', 'c'), /server.*maximum number of connections/);
  a.ws.close();
  await a.q.waitClose();
  // The slot frees once the server has seen the close.
  const c = await waitFor(async () => {
    const r = await rawAttempt(server, 'hc', 'c');
    return r.status === 101 ? r : null;
  }, 10000, 'a free connection slot');
  assert.equal(c.status, 101);
  // The survivor is still served.
  b.send({ type: 'ping' });
  await b.q.nextJson((m) => m.type === 'pong');
});

test('--max-connections-per-hub: a full hub refuses with 429; other hubs accept', async () => {
  const server = await start(['--max-connections-per-hub', '2']);
  await connect(server, 'full', { userId: 'a' });
  await connect(server, 'full', { userId: 'b' });
  assertLimitRefusal(await rawAttempt(server, 'full', 'c'), /hub.*maximum number of connections/);
  assertLimitRefusal(await rawAttempt(server, 'FULL', 'c'), /hub/); // hubs are case-insensitive
  const other = await rawAttempt(server, 'other', 'c');
  assert.equal(other.status, 101);
});

test('--max-connections-per-user: the user over the limit gets 429; other users and hubs accept', async () => {
  const server = await start(['--max-connections-per-user', '2']);
  await connect(server, 'users', { userId: 'alice' });
  await connect(server, 'users', { userId: 'alice' });
  assertLimitRefusal(await rawAttempt(server, 'users', 'alice'), /user.*maximum number of connections/);
  assert.equal((await rawAttempt(server, 'users', 'bob')).status, 101);
  assert.equal((await rawAttempt(server, 'elsewhere', 'alice')).status, 101, 'the limit is per hub');
  // The ws library sees the refusal as an HTTP status too.
  const token = clientToken({ port: server.port, hub: 'users', key: server.key, userId: 'alice' });
  await assert.rejects(openSocket(clientUrl(server.port, 'users', token), { protocols: [JSON_PROTOCOL] }), (err) => err.status === 429);
});

test('--max-groups-per-connection: joinGroup over the limit is acked BadRequest, REST answers 409, tokens with too many groups get 400', async () => {
  const server = await start(['--max-groups-per-connection', '2']);
  const roles = ['webpubsub.joinLeaveGroup', 'webpubsub.sendToGroup'];
  const c = await connect(server, 'g', { userId: 'u1', roles });
  c.send({ type: 'joinGroup', group: 'g1', ackId: 1 });
  assert.equal((await c.q.ack(1)).success, true);
  c.send({ type: 'joinGroup', group: 'g2', ackId: 2 });
  assert.equal((await c.q.ack(2)).success, true);
  c.send({ type: 'joinGroup', group: 'g3', ackId: 3 });
  const refused = await c.q.ack(3);
  assert.equal(refused.success, false);
  assert.equal(refused.error.name, 'BadRequest');
  assert.match(refused.error.message, /maximum number of groups \(2\)/);
  // Joining a group it is in already is fine; leaving frees a slot.
  c.send({ type: 'joinGroup', group: 'g2', ackId: 4 });
  assert.equal((await c.q.ack(4)).success, true);
  c.send({ type: 'leaveGroup', group: 'g1', ackId: 5 });
  assert.equal((await c.q.ack(5)).success, true);
  c.send({ type: 'joinGroup', group: 'g3', ackId: 6 });
  assert.equal((await c.q.ack(6)).success, true);

  // REST: the SDK's addConnection fails with 409 and the service's error shape.
  const service = serviceClient(server, 'g');
  await assert.rejects(service.group('g4').addConnection(c.connected.connectionId), (err) => err.statusCode === 409);
  const raw = await rawRequest(server, `/api/hubs/g/groups/g4/connections/${c.connected.connectionId}?api-version=2024-12-01`, { method: 'PUT' });
  assert.equal(raw.status, 409);
  assert.equal(raw.headers['x-ms-error-code'], 'GroupLimitReached');
  assert.equal(raw.json.code, 'GroupLimitReached');
  // Bulk adds skip the connection that is full instead of overfilling it.
  await service.group('g5').addUser('u1');
  await service.addConnectionsToGroups(['g6', 'g7'], 'true');
  // Still exactly its two groups: messages to g5 and g6 do not arrive, the one to g3 does.
  await service.group('g5').sendToAll('not-for-you', { contentType: 'text/plain' });
  await service.group('g6').sendToAll('not-for-you', { contentType: 'text/plain' });
  await service.group('g3').sendToAll('for-you', { contentType: 'text/plain' });
  const m = await c.q.nextJson((x) => x.type === 'message');
  assert.equal(m.data, 'for-you');

  // A token listing more groups than allowed is refused before the upgrade.
  const token = clientToken({ port: server.port, hub: 'g', key: server.key, userId: 'u2', groups: ['a', 'b', 'c'] });
  const conn = await rawUpgrade(server.port, `/client/hubs/g?access_token=${token}`, { protocol: JSON_PROTOCOL });
  assert.equal(conn.status, 400);
  assert.match(conn.json.message, /lists 3 groups; a connection may be in at most 2/);
  // Two groups are fine.
  await connect(server, 'g', { userId: 'u3', groups: ['a', 'b'] });
});

test('--max-http-header-bytes: an oversized header block gets 431; --max-http-body-bytes: an oversized body gets 413', async () => {
  const server = await start(['--max-http-header-bytes', '2048', '--max-http-body-bytes', '4096']);
  const big = await rawRequest(server, '/api/health', { method: 'GET', token: false, headers: { 'X-Filler': 'x'.repeat(4000) } });
  assert.equal(big.status, 431);
  assert.equal(big.json.code, 'RequestHeaderFieldsTooLarge');
  const body = await rawRequest(server, '/api/hubs/h/:send?api-version=2024-12-01', {
    body: 'y'.repeat(5000),
    headers: { 'Content-Type': 'text/plain' },
  });
  assert.equal(body.status, 413);
  assert.equal(body.json.code, 'PayloadTooLarge');
  const ok = await rawRequest(server, '/api/hubs/h/:send?api-version=2024-12-01', {
    body: 'y'.repeat(4000),
    headers: { 'Content-Type': 'text/plain' },
  });
  assert.equal(ok.status, 202);
});

test('maxEventHandlerConnections: at most N connections reach a handler that holds its requests; the others wait, and all complete', async () => {
  const CAP = 2;
  const CLIENTS = 6;
  // A handler that counts the TCP connections open to it and holds every user event until released.
  const held = [];
  let open = 0;
  let maxOpen = 0;
  let opened = 0;
  const handler = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      if (req.method !== 'POST') {
        res.writeHead(200, { 'WebHook-Allowed-Origin': '*' });
        return res.end();
      }
      held.push(res);
      return undefined;
    });
  });
  handler.on('connection', (socket) => {
    opened += 1;
    open += 1;
    maxOpen = Math.max(maxOpen, open);
    socket.on('close', () => (open -= 1));
  });
  await new Promise((resolve) => handler.listen(0, '127.0.0.1', resolve));
  try {
    const hub = 'capped';
    const url = `http://127.0.0.1:${handler.address().port}/api/{hub}/{event}`;
    const server = await startServer({
      config: { ...hubConfig(hub, url, { systemEvents: [] }), limits: { maxEventHandlerConnections: CAP } },
    });
    servers.push(server);
    const cs = [];
    for (let i = 0; i < CLIENTS; i += 1) cs.push(await connect(server, hub, { userId: `u${i}` }));
    cs.forEach((c, i) => c.send({ type: 'event', event: 'hold', dataType: 'text', data: `e${i}`, ackId: i + 1 }));

    // CAP requests arrive; the others wait for a connection (a handler without the cap would see
    // all of them within milliseconds).
    await waitFor(() => held.length >= CAP, 10000, `${CAP} held requests`);
    await delay(1000);
    assert.equal(held.length, CAP, `requests reaching the handler while ${CAP} are held`);
    assert.equal(maxOpen, CAP, `connections open to the handler at once (opened ${opened})`);

    // Released one by one, each frees its connection for a waiting request: all complete, over at
    // most CAP connections.
    let answered = 0;
    while (answered < CLIENTS) {
      await waitFor(() => held.length > answered, 10000, `request ${answered + 1}`);
      held[answered].writeHead(200, { 'Content-Type': 'text/plain' });
      held[answered].end(`reply ${answered}`);
      answered += 1;
    }
    for (let i = 0; i < CLIENTS; i += 1) {
      const ack = await cs[i].q.ack(i + 1, 10000);
      assert.equal(ack.success, true, JSON.stringify(ack));
    }
    assert.ok(maxOpen <= CAP, `at most ${CAP} connections at once, saw ${maxOpen}`);
  } finally {
    for (const res of held) res.destroy();
    handler.closeAllConnections();
    await new Promise((resolve) => handler.close(resolve));
  }
});
