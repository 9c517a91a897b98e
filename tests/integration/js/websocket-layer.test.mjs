// The server's own WebSocket layer (RFC 6455 after the upgrade), seen from raw sockets: the 101
// (Sec-WebSocket-Accept, the subprotocol), refusals of bad upgrade requests, a first frame sent
// in the same write as the upgrade request, keep-alive pings (answered: the connection stays;
// unanswered: it is dropped after twice the interval), and both close handshakes.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { startServer, clientToken, delay, JSON_PROTOCOL } from './harness.mjs';
import { serviceClient } from './rest-helpers.mjs';
import { OP, frame, rawUpgrade } from './raw-ws.mjs';

const KEEP_ALIVE_MS = 1000;
const HANDSHAKE_TIMEOUT_MS = 1500;
const HUB = 'wslayer';
const roles = ['webpubsub.joinLeaveGroup', 'webpubsub.sendToGroup'];

let server;

before(async () => {
  server = await startServer({
    args: ['--keep-alive-interval-ms', String(KEEP_ALIVE_MS), '--handshake-timeout-ms', String(HANDSHAKE_TIMEOUT_MS)],
  });
});

after(async () => {
  if (server) await server.stop();
});

const path = (userId = 'raw') =>
  `/client/hubs/${HUB}?access_token=${clientToken({ port: server.port, hub: HUB, key: server.key, userId, roles })}`;

async function rawJson(options = {}) {
  const conn = await rawUpgrade(server.port, path(options.userId), { protocol: JSON_PROTOCOL, ...options });
  assert.equal(conn.status, 101, conn.statusLine);
  return conn;
}

test('the 101 carries the RFC 6455 accept value, the chosen subprotocol and no body before the frames', async () => {
  const key = 'dGhlIHNhbXBsZSBub25jZQ==';
  const conn = await rawJson({ key });
  // RFC 6455 §1.3's example: this key must be answered with this value.
  assert.equal(conn.headers['sec-websocket-accept'], 's3pPLMBiTxaQ9kYGzzhZRbK+xOo=');
  assert.equal(
    conn.headers['sec-websocket-accept'],
    createHash('sha1').update(`${key}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`).digest('base64'),
  );
  assert.equal(conn.headers['sec-websocket-protocol'], JSON_PROTOCOL);
  assert.equal(conn.headers.upgrade.toLowerCase(), 'websocket');
  const connected = await conn.next((f) => f.json?.event === 'connected', 5000, 'connected');
  assert.equal(connected.opcode, OP.text);
  conn.destroy();
});

test('bad upgrade requests: version 8 -> 426 naming version 13; a missing or short key -> 400', async () => {
  const v8 = await rawUpgrade(server.port, path(), { protocol: JSON_PROTOCOL, version: '8' });
  assert.equal(v8.status, 426);
  assert.equal(v8.headers['sec-websocket-version'], '13');
  await v8.closed;
  assert.equal(JSON.parse(v8.rest.toString()).code, 'UpgradeRequired');
  for (const key of [null, 'c2hvcnQ=', 'not base64 at all!!!!!!!']) {
    const bad = await rawUpgrade(server.port, path(), { protocol: JSON_PROTOCOL, key });
    assert.equal(bad.status, 400, `key ${key}`);
    await bad.closed;
    assert.equal(JSON.parse(bad.rest.toString()).code, 'BadRequest');
  }
  const missingVersion = await rawUpgrade(server.port, path(), { protocol: JSON_PROTOCOL, version: null });
  assert.equal(missingVersion.status, 426);
  missingVersion.destroy();
});

test('frames sent in the same write as the upgrade request are not lost', async () => {
  const early = Buffer.concat([
    frame(OP.text, JSON.stringify({ type: 'joinGroup', group: 'early', ackId: 1 })),
    frame(OP.ping, 'early-ping'),
    frame(OP.text, JSON.stringify({ type: 'sendToGroup', group: 'early', dataType: 'text', data: 'hello', ackId: 2 })),
  ]);
  const conn = await rawJson({ early });
  const ack1 = await conn.next((f) => f.json?.type === 'ack' && f.json.ackId === 1, 5000, 'ack 1');
  assert.equal(ack1.json.success, true, ack1.text);
  const pong = await conn.next((f) => f.opcode === OP.pong, 5000, 'pong');
  assert.equal(pong.payload.toString(), 'early-ping');
  const echoed = await conn.next((f) => f.json?.type === 'message', 5000, 'own group message');
  assert.equal(echoed.json.data, 'hello');
  conn.destroy();
});

test('keep-alive: a client that answers pings stays; one that stays silent is dropped after twice the interval', async () => {
  const alive = await rawJson({ userId: 'alive' });
  const silent = await rawJson({ userId: 'silent' });
  const silentStart = Date.now();
  let silentEnd;
  silent.closed.then(() => {
    silentEnd = Date.now();
  });
  let pings = 0;
  const stop = Date.now() + 4 * KEEP_ALIVE_MS + 600;
  while (Date.now() < stop) {
    try {
      const ping = await alive.next((f) => f.opcode === OP.ping, stop - Date.now(), 'ping');
      pings += 1;
      alive.send(frame(OP.pong, ping.payload));
    } catch {
      break; // no ping before the deadline
    }
  }
  assert.ok(pings >= 2, `the server pinged ${pings} times in ${4 * KEEP_ALIVE_MS + 600} ms`);
  assert.equal(alive.ended, false, 'the answering client was dropped');
  await silent.waitEnd(4 * KEEP_ALIVE_MS);
  await delay(0);
  const silentFor = silentEnd - silentStart;
  assert.ok(silentFor >= 2 * KEEP_ALIVE_MS - 100 && silentFor <= 2 * KEEP_ALIVE_MS + 1500, `silent client dropped after ${silentFor} ms`);
  assert.ok(silent.frames.some((f) => f.opcode === OP.ping), 'the silent client was pinged first');
  // The answering client still works.
  alive.send(frame(OP.text, JSON.stringify({ type: 'joinGroup', group: 'alive', ackId: 9 })));
  await alive.next((f) => f.json?.ackId === 9, 5000, 'ack after keep-alive');
  alive.destroy();
});

test('close handshakes: the client closes (its code is echoed), the server closes (REST), each ends the TCP connection', async () => {
  const byClient = await rawJson({ userId: 'closer' });
  await byClient.next((f) => f.json?.event === 'connected', 5000, 'connected');
  byClient.send(frame(OP.close, Buffer.concat([Buffer.from([0x0f, 0xa0]), Buffer.from('bye')]))); // 4000
  const echo = await byClient.closeFrame();
  assert.equal(echo.code, 4000);
  await byClient.waitEnd(HANDSHAKE_TIMEOUT_MS + 2000);

  const byServer = await rawJson({ userId: 'closed' });
  const connected = await byServer.next((f) => f.json?.event === 'connected', 5000, 'connected');
  await serviceClient(server, HUB).closeConnection(connected.json.connectionId, { reason: 'done here' });
  const notice = await byServer.next((f) => f.json?.event === 'disconnected', 5000, 'disconnected');
  assert.equal(notice.json.message, 'done here');
  const close = await byServer.closeFrame();
  assert.equal(close.code, 1000);
  assert.equal(close.reason, 'done here');
  byServer.send(frame(OP.close, Buffer.from([0x03, 0xe8])));
  await byServer.waitEnd(HANDSHAKE_TIMEOUT_MS + 2000);
  // Without the client's answer the server drops the TCP connection at the handshake timeout.
  const deaf = await rawJson({ userId: 'deaf' });
  const deafConnected = await deaf.next((f) => f.json?.event === 'connected', 5000, 'connected');
  const closedAt = Date.now();
  await serviceClient(server, HUB).closeConnection(deafConnected.json.connectionId);
  await deaf.closeFrame();
  await deaf.waitEnd(HANDSHAKE_TIMEOUT_MS + 3000);
  assert.ok(Date.now() - closedAt >= HANDSHAKE_TIMEOUT_MS - 200, `dropped after ${Date.now() - closedAt} ms`);
  await delay(10);
});
