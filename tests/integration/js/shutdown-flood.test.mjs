// Nothing is lost on shutdown (issue 7 part 7): every message the REST API accepted (202) before
// SIGTERM reaches each client connected at that moment, in order, then `disconnected` and a 1001
// close; the `disconnected` events of those clients reach the event handler before the process
// exits, even when the handler is slow and its connection pool is small.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, jsonClient, closeAll } from './harness.mjs';
import { waitFor } from './raw-ws.mjs';
import { serviceClient } from './rest-helpers.mjs';
import { startRawHandler, answerValidation, isEvent } from './webhook-helpers.mjs';

const HUB = 'flood';
const IN_GROUP = 30; // clients in the big group
const OUTSIDE = 10; // clients in no group
const SENDS = 2000;
const LANES = 8; // concurrent senders; each waits for its 202 before the next send

test(`SIGTERM right after the last of ${SENDS} accepted REST sends: every client gets every message in order, then disconnected + 1001; every disconnected webhook is delivered`, async () => {
  // The handler answers `disconnected` slowly over at most 4 connections: ~40 x 100 ms / 4, so
  // the server must wait for the queued events instead of cutting them off at exit.
  const handler = await startRawHandler((rec, res) => {
    if (rec.method === 'OPTIONS') return answerValidation(res);
    const slow = isEvent(rec, 'azure.webpubsub.sys.disconnected');
    setTimeout(() => {
      res.writeHead(200);
      res.end();
    }, slow ? 100 : 0);
    return undefined;
  });
  const config = {
    hubs: { [HUB]: { eventHandlers: [{ urlTemplate: handler.urlTemplate, systemEvents: ['connected', 'disconnected'] }] } },
    limits: { maxEventHandlerConnections: 4, shutdownGraceMs: 20000 },
  };
  const server = await startServer({ config });
  const clients = [];
  try {
    for (let i = 0; i < IN_GROUP + OUTSIDE; i += 1) {
      const groups = i < IN_GROUP ? ['big'] : [];
      clients.push(await jsonClient(server, HUB, { userId: `u${i}`, groups }));
    }
    const ids = clients.map((c) => c.connected.connectionId);
    // Every connected event reached the handler first (they are ordered before disconnected anyway).
    const connectedEvents = () => handler.requests.items.filter((r) => isEvent(r, 'azure.webpubsub.sys.connected')).length;
    await waitFor(() => connectedEvents() === ids.length, 10000, `a connected event for each of the ${ids.length} clients`, 50);

    // What each send targets, and therefore what each client must receive (per lane, in order).
    const service = serviceClient(server, HUB);
    const expected = clients.map(() => []);
    const payloadOf = (i) => `m${i}:` + 'x'.repeat(i % 5 === 0 ? 2000 : 40);
    const targets = (i) => {
      switch (i % 4) {
        case 0:
          return { call: (m) => service.sendToAll(m, { contentType: 'text/plain' }), who: clients.map((_, k) => k) };
        case 1:
          return {
            call: (m) => service.group('big').sendToAll(m, { contentType: 'text/plain' }),
            who: clients.map((_, k) => k).filter((k) => k < IN_GROUP),
          };
        case 2: {
          const k = (i >> 2) % clients.length;
          return { call: (m) => service.sendToUser(`u${k}`, m, { contentType: 'text/plain' }), who: [k] };
        }
        default: {
          const k = ((i >> 2) * 7) % clients.length;
          return { call: (m) => service.sendToConnection(ids[k], m, { contentType: 'text/plain' }), who: [k] };
        }
      }
    };
    for (let i = 0; i < SENDS; i += 1) for (const k of targets(i).who) expected[k].push(i);

    const t0 = Date.now();
    await Promise.all(
      Array.from({ length: LANES }, async (_, lane) => {
        for (let i = lane; i < SENDS; i += LANES) {
          const t = targets(i);
          await t.call(payloadOf(i)); // throws unless 202
        }
      }),
    );
    const sendMs = Date.now() - t0;
    const exit = await server.stop('SIGTERM', 30000);
    assert.equal(exit.signal, null, `server died of ${exit.signal}\n${server.output()}`);
    assert.equal(exit.code, 0, server.output());

    for (let k = 0; k < clients.length; k += 1) {
      const c = clients[k];
      const close = await c.q.waitClose(10000);
      const items = c.q.items.map((it) => it.json);
      const last = items.at(-1);
      assert.equal(close.code, 1001, `client ${k}: close code (reason ${close.reason})`);
      assert.equal(last?.type, 'system', `client ${k}: last message ${JSON.stringify(last)}`);
      assert.equal(last?.event, 'disconnected', `client ${k}: last message ${JSON.stringify(last)}`);
      const got = items
        .filter((m) => m?.type === 'message')
        .map((m) => Number(/^m(\d+):/.exec(m.data)[1]));
      assert.equal(got.length, expected[k].length, `client ${k}: ${got.length} of ${expected[k].length} accepted messages arrived`);
      // Same set, and within each lane (sends that waited for each other's 202) the same order.
      assert.deepEqual([...got].sort((a, b) => a - b), expected[k], `client ${k}: the accepted messages`);
      for (let lane = 0; lane < LANES; lane += 1) {
        const seq = got.filter((i) => i % LANES === lane);
        assert.deepEqual(seq, expected[k].filter((i) => i % LANES === lane), `client ${k}, lane ${lane}: order`);
      }
    }

    const disconnected = handler.requests.items.filter((r) => isEvent(r, 'azure.webpubsub.sys.disconnected'));
    const seen = new Set(disconnected.map((r) => r.header('ce-connectionid')));
    const missing = ids.filter((id) => !seen.has(id));
    assert.deepEqual(missing, [], `disconnected webhooks missing at exit (${disconnected.length} of ${ids.length})\n${server.output().slice(-3000)}`);
    console.log(`# ${SENDS} sends in ${sendMs} ms; ${expected.reduce((n, e) => n + e.length, 0)} deliveries checked`);
  } finally {
    closeAll(...clients);
    await server.stop().catch(() => {});
    await handler.close();
  }
});
