// json.reliable.webpubsub.azure.v1: the default protocol of @azure/web-pubsub-client. Sequence
// ids, acknowledgements, recovery of the same logical connection after its TCP connection is cut,
// replay without gap or duplicate, and the 1008 close when a session cannot be recovered.

import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import WebSocket from 'ws';
import { WebPubSubServiceClient } from '@azure/web-pubsub';
import { WebPubSubClient } from '@azure/web-pubsub-client';
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

const HUB = 'reliable';

// A TCP proxy that can cut every connection passing through it at once (RST both ways).
function startCuttingProxy(targetPort) {
  const pairs = new Set();
  let refuseUntil = 0;
  const server = net.createServer((client) => {
    if (Date.now() < refuseUntil) {
      client.resetAndDestroy();
      return;
    }
    const upstream = net.connect(targetPort, '127.0.0.1');
    const pair = { client, upstream };
    pairs.add(pair);
    client.pipe(upstream);
    upstream.pipe(client);
    const drop = () => {
      pairs.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    client.on('error', drop);
    upstream.on('error', drop);
    client.on('close', drop);
    upstream.on('close', drop);
  });
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      resolve({
        port: server.address().port,
        refuseFor(ms) {
          refuseUntil = Date.now() + ms;
        },
        cutAll() {
          let n = 0;
          for (const { client, upstream } of [...pairs]) {
            client.resetAndDestroy();
            upstream.resetAndDestroy();
            n++;
          }
          pairs.clear();
          return n;
        },
        close() {
          for (const { client, upstream } of pairs) {
            client.destroy();
            upstream.destroy();
          }
          server.close();
        },
      });
    });
  });
}

async function reliableSocket(server, { port = server.port, token, query = '' } = {}) {
  const tok =
    token ??
    clientToken({ port: server.port, hub: HUB, key: server.key, roles: ['webpubsub.joinLeaveGroup'] });
  const url = `${clientUrl(port, HUB, tok)}${query}`;
  return openSocket(url, { protocols: [RELIABLE_JSON_PROTOCOL] });
}

describe('json.reliable.webpubsub.azure.v1', () => {
  let server;
  before(async () => {
    server = await startServer({ args: ['--audience-ignore-host', '--recovery-window-ms', '3000'] });
  });
  after(async () => {
    await stopAll(server);
  });

  test('negotiated, connected carries a reconnectionToken, data messages carry sequenceId 1, 2, 3', async () => {
    const { ws, q, protocol } = await reliableSocket(server, {});
    assert.equal(protocol, RELIABLE_JSON_PROTOCOL);
    const connected = await q.nextJson((m) => m.event === 'connected');
    assert.match(connected.connectionId, /^[0-9a-f]{32}$/);
    assert.match(connected.reconnectionToken, /^[0-9a-f]{64}$/);
    ws.send(JSON.stringify({ type: 'joinGroup', group: 'g', ackId: 1 }));
    const ack = await q.nextJson((m) => m.type === 'ack');
    assert.equal(ack.sequenceId, undefined, 'acks carry no sequenceId');
    const pub = await jsonClient(server, HUB, { roles: ['webpubsub.sendToGroup'] });
    for (let i = 0; i < 3; i++) pub.send({ type: 'sendToGroup', group: 'g', dataType: 'text', data: `m${i}` });
    for (let i = 0; i < 3; i++) {
      const m = await q.nextJson((x) => x.type === 'message');
      assert.equal(m.sequenceId, i + 1);
      assert.equal(m.data, `m${i}`);
    }
    ws.send(JSON.stringify({ type: 'ping' }));
    const pong = await q.nextJson((m) => m.type === 'pong');
    assert.equal(pong.sequenceId, undefined);
    closeAll(ws, pub);
  });

  test('raw recovery: same connection id, groups kept, unacknowledged messages replayed in order', async () => {
    const first = await reliableSocket(server, {});
    const connected = await first.q.nextJson((m) => m.event === 'connected');
    first.ws.send(JSON.stringify({ type: 'joinGroup', group: 'r', ackId: 1 }));
    await first.q.nextJson((m) => m.type === 'ack' && m.ackId === 1);
    const pub = await jsonClient(server, HUB, { roles: ['webpubsub.sendToGroup'] });
    pub.send({ type: 'sendToGroup', group: 'r', dataType: 'text', data: 'a' });
    pub.send({ type: 'sendToGroup', group: 'r', dataType: 'text', data: 'b' });
    await first.q.nextJson((m) => m.data === 'b');
    first.ws.send(JSON.stringify({ type: 'sequenceAck', sequenceId: 1 })); // 'a' acknowledged
    await delay(100);
    first.ws.terminate(); // abrupt drop, no close frame
    await delay(100);
    pub.send({ type: 'sendToGroup', group: 'r', dataType: 'text', data: 'c' }); // while detached
    await delay(100);

    const query = `&awps_connection_id=${connected.connectionId}&awps_reconnection_token=${connected.reconnectionToken}`;
    // The stale access token stays in the URL, as the JS client leaves it.
    const second = await reliableSocket(server, { query });
    const again = await second.q.nextJson((m) => m.event === 'connected');
    assert.equal(again.connectionId, connected.connectionId);
    const replayed = [
      await second.q.nextJson((m) => m.type === 'message'),
      await second.q.nextJson((m) => m.type === 'message'),
    ];
    assert.deepEqual(
      replayed.map((m) => [m.sequenceId, m.data]),
      [
        [2, 'b'],
        [3, 'c'],
      ],
    );
    pub.send({ type: 'sendToGroup', group: 'r', dataType: 'text', data: 'd' }); // live again
    const live = await second.q.nextJson((m) => m.type === 'message');
    assert.deepEqual([live.sequenceId, live.data], [4, 'd']);
    // The ackId history survived: ackId 1 was a successful join.
    second.ws.send(JSON.stringify({ type: 'joinGroup', group: 'r', ackId: 1 }));
    const dup = await second.q.nextJson((m) => m.type === 'ack' && m.ackId === 1);
    assert.equal(dup.error?.name, 'Duplicate');
    closeAll(second.ws, pub);
  });

  for (const [label, query] of [
    ['unknown connection id', () => '&awps_connection_id=0123456789abcdef0123456789abcdef&awps_reconnection_token=x'],
    ['bad token', (c) => `&awps_connection_id=${c.connectionId}&awps_reconnection_token=${'0'.repeat(64)}`],
  ]) {
    test(`recovery with ${label}: upgrade accepted, then close 1008; others unaffected`, async () => {
      const victim = await reliableSocket(server, {});
      const c = await victim.q.nextJson((m) => m.event === 'connected');
      const r = await reliableSocket(server, { query: query(c) });
      const closed = await withTimeout(r.q.closed, 5000, 'close after refused recovery');
      assert.equal(closed.code, 1008);
      // The real session was not disturbed by the forged attempt.
      victim.ws.send(JSON.stringify({ type: 'ping' }));
      await victim.q.nextJson((m) => m.type === 'pong');
      closeAll(victim.ws);
    });
  }

  test('recovery after the window: close 1008', async () => {
    const first = await reliableSocket(server, {});
    const c = await first.q.nextJson((m) => m.event === 'connected');
    first.ws.terminate();
    await delay(3600); // --recovery-window-ms 3000
    const query = `&awps_connection_id=${c.connectionId}&awps_reconnection_token=${c.reconnectionToken}`;
    const r = await reliableSocket(server, { query });
    const closed = await withTimeout(r.q.closed, 5000, 'close after expired window');
    assert.equal(closed.code, 1008);
  });

  test('a client close ends the session: no recovery afterwards', async () => {
    const first = await reliableSocket(server, {});
    const c = await first.q.nextJson((m) => m.event === 'connected');
    first.ws.close(1000);
    await withTimeout(first.q.closed, 5000, 'close');
    const query = `&awps_connection_id=${c.connectionId}&awps_reconnection_token=${c.reconnectionToken}`;
    const r = await reliableSocket(server, { query });
    assert.equal((await withTimeout(r.q.closed, 5000, 'close')).code, 1008);
  });

  test('a client that never acknowledges is closed with 1008 when its replay buffer is full', async () => {
    const small = await startServer({ args: ['--max-replay-messages', '20'] });
    try {
      const tok = clientToken({ port: small.port, hub: HUB, key: small.key, groups: ['flood'] });
      const { q } = await openSocket(clientUrl(small.port, HUB, tok), { protocols: [RELIABLE_JSON_PROTOCOL] });
      await q.nextJson((m) => m.event === 'connected');
      const pub = await jsonClient(small, HUB, { roles: ['webpubsub.sendToGroup'] });
      for (let i = 0; i < 25; i++) pub.send({ type: 'sendToGroup', group: 'flood', dataType: 'text', data: `x${i}` });
      const closed = await withTimeout(q.closed, 5000, 'close on replay overflow');
      assert.equal(closed.code, 1008);
      const notice = q.items.map((i) => i.json).find((m) => m?.event === 'disconnected');
      assert.ok(notice, 'disconnected system message before the close');
      closeAll(pub);
    } finally {
      await stopAll(small);
    }
  });
});

describe('@azure/web-pubsub-client (default reliable protocol) through a TCP proxy that cuts connections', () => {
  let server;
  let proxy;
  before(async () => {
    server = await startServer({ args: ['--audience-ignore-host'] });
    proxy = await startCuttingProxy(server.port);
  });
  after(async () => {
    proxy?.close();
    await stopAll(server);
  });

  test('N=1000 group messages published by REST arrive exactly once and in order across 12 cuts; pinned-ackId sends arrive once', async () => {
    const N = 1000;
    const CUTS = 12;
    const service = new WebPubSubServiceClient(server.connectionString, HUB, { allowInsecureConnection: true });
    const { url } = await service.getClientAccessToken({
      userId: 'mobile',
      roles: ['webpubsub.joinLeaveGroup', 'webpubsub.sendToGroup'],
    });
    const proxied = url.replace(`localhost:${server.port}`, `127.0.0.1:${proxy.port}`);
    // Default protocol: json.reliable.webpubsub.azure.v1. Short keep-alive settings: the SDK's
    // timeout monitor sleeps keepAliveTimeoutInMs / 3 (40 s by default) and stop() does not cut
    // that sleep short, which kept this test process alive for 40 s after its last test.
    const client = new WebPubSubClient(proxied, { keepAliveIntervalInMs: 1000, keepAliveTimeoutInMs: 3000 });
    const received = [];
    let connectedEvents = 0;
    let stopped = false;
    client.on('connected', () => connectedEvents++);
    client.on('stopped', () => {
      stopped = true;
    });
    client.on('group-message', (e) => {
      if (e.message.group === 'feed') received.push(e.message.data.i);
    });
    await client.start();
    await client.joinGroup('feed');

    // Another member of 'echo' observes the client's own sends.
    const observer = await jsonClient(server, HUB, { groups: ['echo'] });

    let cuts = 0;
    const cutter = (async () => {
      while (cuts < CUTS) {
        await delay(120 + Math.floor(Math.random() * 150));
        if (proxy.cutAll() > 0) cuts++;
      }
    })();
    // Published through the REST API (@azure/web-pubsub), one request after another.
    const feed = service.group('feed');
    const publishing = (async () => {
      for (let i = 0; i < N; i++) await feed.sendToAll({ i });
    })();
    const SENDS = 30;
    const sending = (async () => {
      for (let k = 0; k < SENDS; k++) {
        // Pinned ackIds: a retry after a cut is deduplicated by the server (Duplicate = success).
        // The SDK gives up on a send after its own few retries if the connection is still
        // recovering (a loaded machine), and rejects every send still waiting for its ack when a
        // cut drops the connection ('Connection is disconnected before receive ack'); an app
        // retries with the same ackId, and so do we.
        for (let attempt = 0; ; attempt++) {
          try {
            await client.sendToGroup('echo', { k }, 'json', { ackId: 10_000 + k });
            break;
          } catch (err) {
            if (attempt >= 40 || !/not connected|disconnected before receive ack/i.test(String(err?.message)))
              throw err;
            await delay(250);
          }
        }
        await delay(30);
      }
    })();

    await withTimeout(Promise.all([cutter, publishing, sending]), 60_000, 'publishing with cuts');
    const deadline = Date.now() + 30_000;
    while (received.length < N && Date.now() < deadline) await delay(50);
    await delay(300); // a duplicate would show up late

    assert.equal(cuts, CUTS);
    assert.equal(stopped, false, 'the client recovered by itself every time');
    assert.equal(received.length, N, `received ${received.length} of ${N}`);
    assert.deepEqual(received, Array.from({ length: N }, (_, i) => i), 'in order, no gap, no duplicate');
    const echoes = observer.q.items
      .map((x) => x.json)
      .filter((m) => m?.type === 'message' && m.group === 'echo')
      .map((m) => m.data.k);
    assert.deepEqual(echoes, Array.from({ length: SENDS }, (_, k) => k), 'each send arrives exactly once');
    assert.ok(connectedEvents >= 1);
    client.stop();
    closeAll(observer);
  });

  test('recovery refused (1008) after the window: the SDK stops recovering and reports it', async () => {
    const shortLived = await startServer({ args: ['--audience-ignore-host', '--recovery-window-ms', '300'] });
    const gate = await startCuttingProxy(shortLived.port);
    try {
      const service = new WebPubSubServiceClient(shortLived.connectionString, HUB, {
        allowInsecureConnection: true,
      });
      const { url } = await service.getClientAccessToken({ userId: 'gone' });
      const client = new WebPubSubClient(url.replace(`localhost:${shortLived.port}`, `127.0.0.1:${gate.port}`), {
        autoReconnect: false,
        keepAliveIntervalInMs: 1000,
        keepAliveTimeoutInMs: 3000,
      });
      const stopped = new Promise((resolve) => client.on('stopped', resolve));
      await client.start();
      // The network is down longer than the recovery window: the first attempt that gets
      // through is refused with 1008, and the SDK stops instead of retrying for 30 s.
      gate.refuseFor(1500);
      gate.cutAll();
      await withTimeout(stopped, 20_000, 'client stopped');
    } finally {
      gate.close();
      await stopAll(shortLived);
    }
  });
});
