// Hostile and broken clients (issue 7, part 2). Every case crafts its bytes on a raw TCP socket
// (raw-ws.mjs) and then proves that a normal publisher/subscriber pair is still served. The
// flood case measures the server's RSS from /proc and states its bound; the open-close loop
// checks that the server's file descriptors return to their baseline.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import WebSocket from 'ws';
import {
  startServer,
  closeAll,
  jsonClient,
  clientToken,
  clientUrl,
  assertStillWorking,
  delay,
  JSON_PROTOCOL,
  SERVER_BIN,
} from './harness.mjs';
import { serviceClient } from './rest-helpers.mjs';
import { OP, frame, rawUpgrade, startProxy, memoryOf, fdCount, waitFor, sanitizerOf, tcpQueues } from './raw-ws.mjs';

const HANDSHAKE_TIMEOUT_MS = 1500;
const MAX_MESSAGE = 64 * 1024;

let server;
let pub;
let sub;
const clients = [];
const roles = ['webpubsub.joinLeaveGroup', 'webpubsub.sendToGroup'];

before(async () => {
  server = await startServer({
    args: ['--handshake-timeout-ms', String(HANDSHAKE_TIMEOUT_MS), '--max-message-bytes', String(MAX_MESSAGE)],
  });
  pub = await jsonClient(server, 'hostile', { userId: 'pub', roles });
  sub = await jsonClient(server, 'hostile', { userId: 'sub', groups: ['bystanders'] });
  clients.push(pub, sub);
});

after(async () => {
  closeAll(...clients);
  if (server) await server.stop();
});

const stillServed = (label) => assertStillWorking(pub, sub, 'bystanders', label);

/** A raw JSON-protocol PubSub client past its upgrade and `connected` message. */
async function rawJson(hub = 'hostile', { userId = 'raw', protocol = JSON_PROTOCOL } = {}) {
  const token = clientToken({ port: server.port, hub, key: server.key, userId, roles });
  const conn = await rawUpgrade(server.port, `/client/hubs/${hub}?access_token=${token}`, { protocol });
  assert.equal(conn.status, 101, conn.statusLine);
  if (protocol) await conn.next((f) => f.json?.event === 'connected', 5000, 'connected');
  return conn;
}

/** Expects the server to close `conn` with `code` (and the TCP connection to end). */
async function expectClose(conn, code, label) {
  const close = await conn.closeFrame(5000);
  assert.equal(close.code, code, `${label}: close ${JSON.stringify(close)}`);
  conn.send(frame(OP.close, Buffer.from([code >> 8, code & 0xff])));
  await conn.waitEnd(HANDSHAKE_TIMEOUT_MS + 5000);
}

describe('slow and silent peers', () => {
  test('slowloris: headers dribbled one line at a time are cut off at the handshake timeout', async () => {
    const sock = net.connect(server.port, '127.0.0.1');
    const closed = new Promise((res) => sock.once('close', res));
    sock.on('error', () => {});
    await new Promise((res) => sock.once('connect', res));
    const start = Date.now();
    sock.write('GET /client/hubs/hostile HTTP/1.1\r\nHost: localhost\r\n');
    const drip = setInterval(() => sock.write(`X-Drip-${Date.now()}: y\r\n`), 100);
    try {
      await Promise.race([closed, delay(HANDSHAKE_TIMEOUT_MS + 8000).then(() => assert.fail('still open'))]);
    } finally {
      clearInterval(drip);
      sock.destroy();
    }
    const elapsed = Date.now() - start;
    assert.ok(elapsed >= HANDSHAKE_TIMEOUT_MS - 200, `closed after ${elapsed} ms, before the timeout`);
    await stillServed('slowloris');
  });

  test('a TCP connection that never sends anything is closed at the handshake timeout', async () => {
    const sock = net.connect(server.port, '127.0.0.1');
    sock.on('error', () => {});
    const start = Date.now();
    await withClose(sock, HANDSHAKE_TIMEOUT_MS + 8000);
    assert.ok(Date.now() - start >= HANDSHAKE_TIMEOUT_MS - 200);
    await stillServed('silent');
  });

  test('half-open TCP: a peer that vanishes without FIN is closed by the keep-alive ping timeout', async () => {
    // Its own server with a short keep-alive (2 s: a ping after 2 s of silence, the close after
    // 4 s), so that the busy test process cannot make the other tests' clients miss a ping.
    const server = await startServer({ args: ['--keep-alive-interval-ms', '2000', '--handshake-timeout-ms', String(HANDSHAKE_TIMEOUT_MS)] });
    const hpub = await jsonClient(server, 'hostile', { userId: 'pub', roles });
    const hsub = await jsonClient(server, 'hostile', { userId: 'sub', groups: ['bystanders'] });
    const proxy = await startProxy(server.port);
    const token = clientToken({ port: server.port, hub: 'hostile', key: server.key, userId: 'ghost', aud: `http://127.0.0.1:${proxy.port}/client/hubs/hostile` });
    // The server counts silence from the last input it read, the upgrade request: the drop is due
    // 2 intervals (4 s) after it, however long the test then takes to cut the link (a REST call
    // on a loaded machine took over 500 ms, which a bound counted from the cut did not allow).
    const openedAt = Date.now();
    const ws = new WebSocket(`ws://127.0.0.1:${proxy.port}/client/hubs/hostile?access_token=${token}`, [JSON_PROTOCOL]);
    ws.on('error', () => {});
    try {
      const connected = await new Promise((res, rej) => {
        ws.once('message', (d) => res(JSON.parse(d.toString())));
        ws.once('close', () => rej(new Error('closed before connected')));
      });
      const service = serviceClient(server, 'hostile');
      assert.equal(await service.connectionExists(connected.connectionId), true);
      const cutAt = Date.now();
      proxy.cut();
      const closedAt = await withTimeout(proxy.upstreamClosed, 20000, 'the server dropping the half-open peer');
      assert.ok(closedAt - openedAt >= 3950, `dropped ${closedAt - openedAt} ms after the upgrade, ${closedAt - cutAt} ms after the cut`);
      await waitFor(async () => !(await service.connectionExists(connected.connectionId)), 5000, 'the connection to be gone');
      await assertStillWorking(hpub, hsub, 'bystanders', 'half-open');
    } finally {
      ws.terminate();
      proxy.close();
      closeAll(hpub, hsub);
      await server.stop();
    }
    await stillServed('half-open');
  });
});

describe('frames', () => {
  test('invalid UTF-8 in a text frame -> close 1007 (PubSub and simple clients)', async () => {
    const c = await rawJson();
    c.send(frame(OP.text, Buffer.from([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x7d])));
    await expectClose(c, 1007, 'json client');
    const s = await rawJson('hostile', { protocol: null });
    s.send(frame(OP.text, Buffer.from([0xc3, 0x28])));
    await expectClose(s, 1007, 'simple client');
    // Split across fragments: the first ends inside a character that the second never completes.
    const f = await rawJson();
    f.send(frame(OP.text, Buffer.from([0x7b, 0xe2, 0x82]), { fin: false }));
    f.send(frame(OP.cont, Buffer.from([0x41, 0x7d])));
    await expectClose(f, 1007, 'fragmented');
    await stillServed('utf8');
  });

  test('fragmented messages with control frames between the fragments work', async () => {
    const c = await rawJson();
    c.send(frame(OP.text, '{"type":"joinGroup",', { fin: false }));
    c.send(frame(OP.ping, 'p1'));
    c.send(frame(OP.cont, '"group":"fr', { fin: false }));
    c.send(frame(OP.pong, 'unsolicited'));
    c.send(frame(OP.cont, 'ag","ackId":1}'));
    const pong = await c.next((f) => f.opcode === OP.pong, 5000, 'pong');
    assert.equal(pong.payload.toString(), 'p1');
    const ack = await c.next((f) => f.json?.type === 'ack', 5000, 'ack');
    assert.equal(ack.json.success, true, ack.text);
    // A message in 50 fragments, a ping after each, and é split between two fragments.
    const body = JSON.stringify({ type: 'sendToGroup', group: 'bystanders', dataType: 'text', data: `frag-é-${'z'.repeat(500)}`, ackId: 2 });
    const bytes = Buffer.from(body, 'utf8');
    const split = bytes.indexOf(0xc3) + 1; // inside é
    const cuts = [0, split];
    for (let i = 1; i < 49; i++) cuts.push(split + i * 10);
    cuts.push(bytes.length);
    for (let i = 0; i + 1 < cuts.length; i++) {
      const op = i === 0 ? OP.text : OP.cont;
      c.send(frame(op, bytes.subarray(cuts[i], cuts[i + 1]), { fin: i + 2 === cuts.length }));
      c.send(frame(OP.ping, `x${i}`));
    }
    const ack2 = await c.next((f) => f.json?.type === 'ack' && f.json.ackId === 2, 5000, 'ack 2');
    assert.equal(ack2.json.success, true, ack2.text);
    const got = await sub.q.nextJson((m) => m.type === 'message' && typeof m.data === 'string' && m.data.startsWith('frag-é-'));
    assert.equal(got.data, `frag-é-${'z'.repeat(500)}`);
    c.destroy();
    await stillServed('fragments');
  });

  test('broken fragmentation -> close 1002: a continuation with nothing to continue, a new message inside one, a fragmented ping, a 126-byte ping', async () => {
    const cases = [
      [frame(OP.cont, 'x')],
      [frame(OP.text, '{"type":', { fin: false }), frame(OP.text, '"ping"}')],
      [frame(OP.ping, 'a', { fin: false })],
      [frame(OP.ping, 'p'.repeat(126))],
    ];
    for (const [i, frames] of cases.entries()) {
      const c = await rawJson();
      for (const f of frames) c.send(f);
      await expectClose(c, 1002, `case ${i}`);
    }
    await stillServed('broken fragmentation');
  });

  test('RSV1 (compression) without negotiation, unknown opcodes and unmasked frames -> close 1002', async () => {
    for (const [label, bytes] of [
      ['rsv1', frame(OP.text, '{"type":"ping"}', { rsv1: true })],
      ['opcode 3', frame(0x3, 'x')],
      ['opcode 0xB', frame(0xb, 'x')],
      ['unmasked', frame(OP.text, '{"type":"ping"}', { mask: false })],
    ]) {
      const c = await rawJson();
      c.send(bytes);
      await expectClose(c, 1002, label);
    }
    await stillServed('rsv1');
  });

  test('oversized frames and messages -> close 1009', async () => {
    // A header that announces 1 TiB, followed by a little data.
    const huge = await rawJson();
    huge.send(Buffer.concat([frame(OP.text, Buffer.alloc(0), { length: 2 ** 40 }).subarray(0, 14), Buffer.alloc(1000, 0x61)]));
    await expectClose(huge, 1009, 'announced 1 TiB');
    // A single frame just over the limit, sent in full.
    const one = await rawJson();
    one.send(frame(OP.text, 'a'.repeat(MAX_MESSAGE + 1)));
    const close = await one.closeFrame();
    assert.equal(close.code, 1009);
    one.destroy();
    // Many small fragments adding up to more than the limit.
    const many = await rawJson();
    const piece = 'b'.repeat(8 * 1024);
    for (let i = 0; i < 9; i++) many.send(frame(i === 0 ? OP.text : OP.cont, piece, { fin: i === 8 }));
    assert.equal((await many.closeFrame()).code, 1009);
    many.destroy();
    // A 64-bit length with its top bit set (RFC 6455 forbids it): too big as well.
    const bad = await rawJson();
    const header = Buffer.from([0x81, 0xff, 0x80, 0, 0, 0, 0, 0, 0, 1, 1, 2, 3, 4]);
    bad.send(Buffer.concat([header, Buffer.from('abc')]));
    await expectClose(bad, 1009, 'top bit of the length set');
    await stillServed('oversized');
  });

  test('ping flood: 500,000 pings from a client that does not read cost the server no memory; the latest is answered', async () => {
    // Each ping carries the largest control payload (125 bytes), so each pong is a 127-byte frame:
    // 63.5 MB of pongs the client never reads while it floods. A server that queued one pong per
    // ping would hold all of it but what the two sockets' kernel buffers take (measured below);
    // ours keeps only the latest unanswered ping.
    const PINGS = 500_000;
    const BOUND_KIB = 16 * 1024;
    // A server of its own: AddressSanitizer keeps freed memory in quarantine (256 MB by default),
    // which would show the reads' churn as growth; this server keeps none, so its RSS is what it
    // holds (the other tests keep ASan's defaults). Other builds ignore the variable.
    const asanOptions = [process.env.ASAN_OPTIONS, 'quarantine_size_mb=0'].filter(Boolean).join(':');
    const own = await startServer({ args: ['--max-message-bytes', String(MAX_MESSAGE)], env: { ASAN_OPTIONS: asanOptions } });
    const bystander = await jsonClient(own, 'hostile', { userId: 'bystander', groups: ['bystanders'] });
    clients.push(bystander);
    const token = clientToken({ port: own.port, hub: 'hostile', key: own.key, userId: 'flooder', roles });
    const c = await rawUpgrade(own.port, `/client/hubs/hostile?access_token=${token}`, { protocol: JSON_PROTOCOL });
    assert.equal(c.status, 101, c.statusLine);
    await c.next((f) => f.json?.event === 'connected', 5000, 'connected');
    const pid = own.proc.pid;
    const before = memoryOf(pid).rss;
    c.socket.pause();
    // One buffer of masked frames (a fixed mask key: the server does not care), each payload
    // numbered, then a sendToGroup that the bystander sees once the server has read every ping.
    const key = Buffer.from([0x12, 0x34, 0x56, 0x78]);
    const payloadOf = (i) => Buffer.from(`ping ${String(i).padStart(7, '0')} `.padEnd(125, '.'));
    const FRAME = 2 + 4 + 125;
    const flood = Buffer.alloc(PINGS * FRAME);
    for (let i = 0, at = 0; i < PINGS; i += 1, at += FRAME) {
      flood[at] = 0x80 | OP.ping;
      flood[at + 1] = 0x80 | 125;
      key.copy(flood, at + 2);
      const payload = payloadOf(i);
      for (let k = 0; k < 125; k += 1) flood[at + 6 + k] = payload[k] ^ key[k & 3];
    }
    c.send(flood);
    c.send(frame(OP.text, JSON.stringify({ type: 'sendToGroup', group: 'bystanders', dataType: 'text', data: 'after the ping flood', ackId: 77 })));
    await bystander.q.nextJson((m) => m.data === 'after the ping flood', 120000, 'the message sent after the flood');
    // Every ping has been read and answered or replaced; the client has read none of the pongs.
    const during = memoryOf(pid).rss;
    const serverSide = tcpQueues(own.port, c.socket.localPort);
    const clientSide = tcpQueues(c.socket.localPort, own.port);
    const inKernel = (serverSide?.tx ?? 0) + (clientSide?.rx ?? 0);
    const heldBack = PINGS * 127 - inKernel - c.frames.length * 127;
    console.log(`ping flood: RSS ${before} -> ${during} KiB; ${inKernel} pong bytes in the socket buffers, ${heldBack} that a queue per ping would hold`);
    // The test means something only if such a queue would blow the bound twice over.
    assert.ok(heldBack > 2 * BOUND_KIB * 1024, `only ${heldBack} bytes of pongs could not be written: flood too small for the bound`);
    assert.ok(during - before < BOUND_KIB, `server RSS grew by ${during - before} KiB during the ping flood (bound ${BOUND_KIB} KiB)`);

    c.socket.resume();
    await c.next((f) => f.json?.ackId === 77, 60000, 'ack after the flood');
    const pongs = c.frames.filter((f) => f.opcode === OP.pong);
    assert.ok(pongs.length > 0, 'the server answered pings');
    // RFC 6455 §5.5.3: pongs may be sent for the most recent ping only, but that one is answered.
    assert.deepEqual(pongs.at(-1).payload, payloadOf(PINGS - 1), 'the last pong answers the last ping');
    c.destroy();
    await own.stop();
  });
});

describe('garbage and churn', () => {
  test('garbage before the handshake gets 400 and a closed connection', async () => {
    const inputs = [
      Buffer.from('16030100a5010000a10303', 'hex'), // a TLS ClientHello start
      Buffer.from('\x00\x01\x02\x03 not http at all\r\n\r\n', 'latin1'),
      Buffer.from('GARBAGE\r\nGET /client/hubs/hostile HTTP/1.1\r\nHost: x\r\n\r\n'),
      Buffer.from('GET /client/hubs/hostile HTTP/9.9\r\nHost: x\r\n\r\n'),
      Buffer.from('GET /client/hubs/hostile HTTP/1.1\r\nContent-Length: -1\r\n\r\n'),
    ];
    for (const input of inputs) {
      const sock = net.connect(server.port, '127.0.0.1');
      sock.on('error', () => {});
      let answer = '';
      sock.on('data', (d) => (answer += d.toString('latin1')));
      await new Promise((res) => sock.once('connect', res));
      sock.write(input);
      // Every input is answered 400 with the JSON error body, then the connection is closed.
      await withClose(sock, HANDSHAKE_TIMEOUT_MS + 8000);
      const label = JSON.stringify(input.toString('latin1'));
      assert.match(answer, /^HTTP\/1\.1 400 /, `${label}: ${JSON.stringify(answer)}`);
      const body = answer.slice(answer.indexOf('\r\n\r\n') + 4);
      assert.equal(JSON.parse(body).code, 'BadRequest', `${label}: ${JSON.stringify(answer)}`);
    }
    await stillServed('garbage');
  });

  test('open-close loop: 2000 connections opened and dropped every way leave the fd count at its baseline', async () => {
    const pid = server.proc.pid;
    const baseline = fdCount(pid);
    const token = clientToken({ port: server.port, hub: 'churn', key: server.key, userId: 'churn', aud: `http://127.0.0.1:${server.port}/client/hubs/churn` });
    const path = `/client/hubs/churn?access_token=${token}`;
    const once = async (i) => {
      switch (i % 4) {
        case 0: {
          // A clean WebSocket close.
          const ws = new WebSocket(`ws://127.0.0.1:${server.port}${path}`, [JSON_PROTOCOL]);
          await new Promise((res, rej) => {
            ws.once('message', () => ws.close(1000));
            ws.once('close', res);
            ws.once('error', rej);
          });
          break;
        }
        case 1: {
          // Upgraded, then the TCP connection is dropped with no close frame.
          const c = await rawUpgrade(server.port, path, { protocol: JSON_PROTOCOL });
          c.destroy();
          break;
        }
        case 2: {
          // Half a request, then gone.
          const sock = net.connect(server.port, '127.0.0.1');
          sock.on('error', () => {});
          await new Promise((res) => sock.once('connect', res));
          sock.write('GET /client/hubs/churn HTTP/1.1\r\nHo');
          sock.destroy();
          break;
        }
        default: {
          // Connected and closed at once.
          const sock = net.connect(server.port, '127.0.0.1');
          sock.on('error', () => {});
          await new Promise((res) => sock.once('connect', res));
          sock.end();
          await new Promise((res) => sock.once('close', res));
        }
      }
    };
    let next = 0;
    const worker = async () => {
      while (next < 2000) await once(next++);
    };
    await Promise.all(Array.from({ length: 20 }, worker));
    await waitFor(() => fdCount(pid) <= baseline + 2, 15000, `fd count back to ${baseline} (now ${fdCount(pid)})`);
    await stillServed('open-close loop');
  });
});

describe('a thousand clients that never read', () => {
  let flood;
  let fpub;
  let fsub;
  after(async () => {
    closeAll(fpub, fsub);
    if (flood) await flood.stop();
  });

  test('a publisher floods their group: they are closed as slow consumers, server RSS stays bounded, others are served', async () => {
    const CLIENTS = 1000;
    // Stated bound: 96 MiB with these limits on a release build (measured: ~27 MiB). Sanitized
    // builds shadow memory and ASan quarantines what is freed (256 MiB): 1 GiB there.
    const sanitizer = sanitizerOf(SERVER_BIN);
    const RSS_BOUND_KIB = (sanitizer ? 1024 : 96) * 1024;
    flood = await startServer({
      args: ['--max-pending-messages', '100', '--max-pending-bytes', String(1024 * 1024), '--handshake-timeout-ms', '3000', '--keep-alive-interval-ms', '120000'],
    });
    const pid = flood.proc.pid;
    fpub = await jsonClient(flood, 'flood', { userId: 'pub', roles });
    fsub = await jsonClient(flood, 'flood', { userId: 'sub', groups: ['bystanders'] });
    const baselineFds = fdCount(pid);
    const token = clientToken({ port: flood.port, hub: 'flood', key: flood.key, userId: 'sink', groups: ['flooded'] });
    const sinks = [];
    for (let i = 0; i < CLIENTS; i += 50) {
      const batch = await Promise.all(
        Array.from({ length: Math.min(50, CLIENTS - i) }, () => rawUpgrade(flood.port, `/client/hubs/flood?access_token=${token}`)),
      );
      for (const c of batch) {
        assert.equal(c.status, 101);
        c.socket.pause(); // never read again
        sinks.push(c);
      }
    }
    const before = memoryOf(pid);
    // 16 KiB messages until every sink is gone or 3000 were sent.
    const data = 'f'.repeat(16 * 1024);
    let sent = 0;
    let slow = 0;
    const countSlow = () => (flood.stdout() + flood.stderr()).split('closing slow consumer').length - 1;
    while (sent < 3000) {
      for (let k = 0; k < 50; k++) fpub.send({ type: 'sendToGroup', group: 'flooded', dataType: 'text', data, noEcho: true });
      sent += 50;
      fpub.send({ type: 'sendToGroup', group: 'flooded', dataType: 'text', data: 'mark', ackId: sent });
      await fpub.q.ack(sent, 30000);
      slow = countSlow();
      if (slow >= CLIENTS) break;
    }
    await waitFor(() => countSlow() >= CLIENTS, 30000, `all ${CLIENTS} sinks closed as slow consumers (so far ${countSlow()})`);
    const peak = memoryOf(pid);
    // The server drops the sockets at the close deadline (handshake timeout) as they never read.
    await waitFor(() => fdCount(pid) <= baselineFds + 2, 30000, `fd count back to ${baselineFds} (now ${fdCount(pid)})`);
    for (const c of sinks) c.destroy();
    console.log(`flood: ${sent} messages of 16 KiB to ${CLIENTS} non-reading clients; server RSS ${before.rss} KiB before, peak ${peak.hwm} KiB (bound ${RSS_BOUND_KIB} KiB${sanitizer ? `, ${sanitizer} sanitizer` : ''})`);
    assert.ok(peak.hwm < RSS_BOUND_KIB, `server peak RSS ${peak.hwm} KiB exceeds ${RSS_BOUND_KIB} KiB`);
    await assertStillWorking(fpub, fsub, 'bystanders', 'after the flood');
  });
});

function withClose(sock, timeoutMs) {
  return withTimeout(new Promise((res) => sock.once('close', res)), timeoutMs, 'server closing the connection');
}

function withTimeout(promise, ms, label) {
  let timer;
  return Promise.race([
    promise,
    new Promise((_, rej) => {
      timer = setTimeout(() => rej(new Error(`timed out after ${ms} ms: ${label}`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}
