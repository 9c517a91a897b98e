// messageTtlSeconds (REST send, spec §4.3; docs/REST_API.md): a message still queued for a
// connection when its TTL passes is never delivered; messages without a TTL, or whose TTL has not
// passed, are. Deterministic: the client stops reading and the test fills the server's queue for it
// until /proc/net/tcp shows that megabytes of it cannot go out (the socket buffers on both sides
// are full), so the messages sent with a TTL are known to wait in the server past their TTL.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, clientToken, delay, JSON_PROTOCOL } from './harness.mjs';
import { serviceClient } from './rest-helpers.mjs';
import { rawUpgrade, tcpQueues, waitFor } from './raw-ws.mjs';

const servers = [];
after(async () => {
  for (const s of servers) await s.stop().catch(() => {});
});

test('messageTtlSeconds: messages that expire while queued for a client are dropped; later and unexpired ones arrive, in order', async () => {
  const HUB = 'ttl';
  const FILLER = 1_000_000; // bytes of text per filler message (under the 1 MiB message limit)
  const STUCK = 4 * 1024 * 1024; // bytes that must be queued in the server before the TTL sends
  // A queue that may hold tens of megabytes without the client being closed as a slow consumer.
  const server = await startServer({ args: ['--max-pending-bytes', String(256 * 1024 * 1024)] });
  servers.push(server);
  const token = clientToken({ port: server.port, hub: HUB, key: server.key, userId: 'slow' });
  const c = await rawUpgrade(server.port, `/client/hubs/${HUB}?access_token=${token}`, { protocol: JSON_PROTOCOL });
  assert.equal(c.status, 101, c.statusLine);
  try {
    const connected = await c.next((f) => f.json?.event === 'connected', 5000, 'connected');
    const id = connected.json.connectionId;
    const service = serviceClient(server, HUB);
    const send = (text, options = {}) => service.sendToConnection(id, text, { contentType: 'text/plain', ...options });

    // What the server has written to this connection so far: what node read, what waits in the
    // client's receive buffer and what waits in the server's send buffer.
    c.socket.pause();
    const written = () => {
      const serverSide = tcpQueues(server.port, c.socket.localPort);
      const clientSide = tcpQueues(c.socket.localPort, server.port);
      assert.ok(serverSide && clientSide, 'both ends of the connection in /proc/net/tcp');
      return c.socket.bytesRead + serverSide.tx + clientSide.rx;
    };
    const settled = async () => {
      // The server writes while it can; wait until the amount has not moved for 300 ms.
      let last = -1;
      let still = 0;
      for (let i = 0; i < 100 && still < 3; i += 1) {
        const now = written();
        still = now === last ? still + 1 : 0;
        last = now;
        await delay(100);
      }
      return last;
    };
    const base = await settled();
    // Filler until at least STUCK bytes of it are still in the server's own queue. Each filler
    // frame is longer than its text, so fillers * FILLER is a lower bound of what they occupy.
    let fillers = 0;
    let stuck = 0;
    while (stuck < STUCK) {
      assert.ok(fillers < 100, `could not fill the server's queue: only ${stuck} bytes stuck after ${fillers} MB`);
      await send(`filler ${fillers} `.padEnd(FILLER, 'x'));
      fillers += 1;
      stuck = base + fillers * FILLER - (await settled());
    }

    // These wait behind the filler and expire there.
    for (let i = 0; i < 3; i += 1) await send(`ttl ${i}`, { messageTtlSeconds: 1 });
    await delay(2500);
    // Sent after the TTL passed: one without a TTL, one with a TTL that has not passed.
    await send('fresh 0');
    await send('fresh 1', { messageTtlSeconds: 300 });
    // The expired messages have not been written yet: the filler in front of them has not been.
    const leftInServer = base + fillers * FILLER - (await settled());
    assert.ok(leftInServer > 0, `the server wrote past the filler (${leftInServer} bytes left) before the TTL passed`);

    c.socket.resume();
    await waitFor(() => c.frames.some((f) => f.json?.data === 'fresh 1') || c.ended, 60000, 'the last message');
    const texts = c.frames.filter((f) => f.json?.type === 'message').map((f) => f.json.data);
    const got = texts.map((t) => (t.startsWith('filler ') ? t.slice(0, t.indexOf(' ', 7)) : t));
    const expected = [...Array.from({ length: fillers }, (_, i) => `filler ${i}`), 'fresh 0', 'fresh 1'];
    console.log(`message TTL: ${fillers} MB of filler, ${stuck} bytes of it queued in the server, ${leftInServer} when the TTL had passed`);
    assert.deepEqual(got, expected, 'every filler message, no expired one, then the fresh ones');
  } finally {
    c.destroy();
  }
});
