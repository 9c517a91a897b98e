// Scale-out on Redis (issue 8), faults: one redis-server and three nodes on loopback; Redis
// restarted, nodes SIGKILLed or hung mid-traffic, a password, a balancer moving a reliable
// client. Each test states what clients of the surviving nodes observe.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { WebPubSubClient, WebPubSubJsonReliableProtocol } from '@azure/web-pubsub-client';
import { startServer, jsonClient, withTimeout, delay } from './harness.mjs';
import { serviceClient, eventually } from './rest-helpers.mjs';
import { startRedis, startNodes, waitForNodes, balancer, clusterFixture, CLUSTER_ROLES } from './cluster-harness.mjs';

const HUB = 'clusterfaults';
const ROLES = CLUSTER_ROLES;
const cluster = clusterFixture(HUB);
const { client, join, groupChannel, clients } = cluster;
let redis;
let A;
let B;
let C;

before(async () => {
  await cluster.start();
  redis = cluster.redis;
  [A, B, C] = cluster.nodes;
});
after(() => cluster.stop());

test('restart Redis mid-traffic: local traffic keeps flowing; cross-node resumes after reconnect', async () => {
  const a = await client(A);
  const b = await client(B);
  await join(a, 'outage', 1);
  await join(b, 'outage', 1);
  await eventually(async () => (await redis.numsub(groupChannel('outage'))) === 2, 5000, 'both subscribed');
  const svcA = serviceClient(A, HUB);
  await svcA.group('outage').sendToAll('before', { contentType: 'text/plain' });
  assert.equal((await b.q.groupMessage('outage')).data, 'before');
  assert.equal((await a.q.groupMessage('outage')).data, 'before');

  await redis.stop('SIGKILL');
  // While Redis is down: a REST send on A reaches A's member (local delivery needs no Redis);
  // B's member does not get it (the documented loss window: sends while Redis is unreachable).
  await svcA.group('outage').sendToAll('during', { contentType: 'text/plain' });
  assert.equal((await a.q.groupMessage('outage')).data, 'during');
  // Management calls answer from the local node alone instead of failing.
  assert.equal(await svcA.connectionExists(a.connected.connectionId), true);

  redis = await cluster.restartRedis();
  await waitForNodes(redis, 3, 20000);
  await eventually(async () => (await redis.numsub(groupChannel('outage'))) === 2, 10000, 'resubscribed');
  // After the reconnect nothing published is lost for either member.
  for (let i = 0; i < 10; i++) await svcA.group('outage').sendToAll(`after${i}`, { contentType: 'text/plain' });
  for (let i = 0; i < 10; i++) {
    assert.equal((await a.q.groupMessage('outage')).data, `after${i}`);
    assert.equal((await b.q.groupMessage('outage')).data, `after${i}`, 'B gets everything after the reconnect');
  }
  assert.equal(b.q.items.filter((x) => x.json?.data === 'during').length, 0);
  assert.match(A.stdout() + A.stderr(), /lost Redis/);
  assert.match(A.stdout() + A.stderr(), /reconnected to Redis/);
});

test('SIGKILL a node mid-traffic: the others are unaffected and its connections vanish', async () => {
  const pub = await client(A);
  const b = await client(B);
  const c = await client(C);
  await join(b, 'kill', 1);
  await join(c, 'kill', 1);
  await eventually(async () => (await redis.numsub(groupChannel('kill'))) === 2, 5000, 'B and C subscribed');
  const idC = c.connected.connectionId;
  const svcA = serviceClient(A, HUB);
  assert.equal(await svcA.connectionExists(idC), true);

  // A client on A publishes without pause while C is killed.
  const N = 200;
  let sent = 0;
  const sending = (async () => {
    for (; sent < N; sent++) {
      pub.send({ type: 'sendToGroup', group: 'kill', data: sent, dataType: 'json' });
      if (sent === 50) await C.stop('SIGKILL');
      if (sent % 10 === 0) await delay(1);
    }
  })();
  await sending;
  // B gets every message, in order, with no gap.
  for (let i = 0; i < N; i++) assert.equal((await b.q.groupMessage('kill', 10000)).data, i);
  await c.q.waitClose(5000);
  // C's connections disappear from exists checks and listings at once (its Redis connections
  // closed with the process); the REST calls do not wait for the dead node.
  const t0 = Date.now();
  assert.equal(await svcA.connectionExists(idC), false);
  const listed = [];
  for await (const m of await serviceClient(B, HUB).group('kill').listConnections()) listed.push(m.connectionId);
  assert.deepEqual(listed, [b.connected.connectionId]);
  assert.ok(Date.now() - t0 < 1500, `management calls after the kill took ${Date.now() - t0} ms`);
  // A and B keep working together.
  await serviceClient(B, HUB).group('kill').sendToAll('after the kill', { contentType: 'text/plain' });
  assert.equal((await b.q.groupMessage('kill')).data, 'after the kill');
  await waitForNodes(redis, 2);
});

test('a Redis with a password: nodes authenticate from the URL; a wrong password is logged and retried, never printed', async () => {
  const secured = await startRedis(undefined, { password: 'p@ss word' });
  const nodes = [];
  try {
    nodes.push(...(await startNodes(secured, 2, { args: ['--audience-ignore-host'] })));
    const [n1, n2] = nodes;
    const member = await client(n2);
    await join(member, 'authed', 1);
    await eventually(async () => (await secured.numsub(groupChannel('authed'))) === 1, 5000, 'n2 subscribed');
    await serviceClient(n1, HUB).group('authed').sendToAll('through an authenticated Redis', { contentType: 'text/plain' });
    assert.equal((await member.q.groupMessage('authed')).data, 'through an authenticated Redis');

    const wrong = await startServer({ args: ['--redis-url', `redis://:not-the-password@127.0.0.1:${secured.port}`] });
    nodes.push(wrong);
    await eventually(() => /AUTH refused/.test(wrong.stdout() + wrong.stderr()), 5000, 'the refusal is logged');
    assert.equal(await secured.numsub('wps:0:cmd'), 2, 'the node with the wrong password did not join');
    for (const n of nodes) assert.doesNotMatch(n.stdout() + n.stderr(), /not-the-password|p@ss word|p%40ss/);
    // It still serves its own clients.
    const local = await jsonClient(wrong, HUB, { roles: ROLES });
    clients.push(local);
    assert.ok(local.connected.connectionId);
  } finally {
    for (const n of nodes) await n.stop().catch(() => {});
    await secured.stop();
  }
});

test('a reliable SDK client of a killed node resumes its session through the balancer on another node: same connection, nothing lost', async () => {
  const base = await redis.numsub('wps:0:cmd');
  const D = await startServer({ args: ['--redis-url', redis.url, '--audience-ignore-host'] });
  const lb = await balancer(D);
  let sdk;
  try {
    await waitForNodes(redis, base + 1); // D has joined
    const { token } = await serviceClient(A, HUB).getClientAccessToken({ userId: 'roamer', roles: ROLES });
    const url = `ws://127.0.0.1:${lb.port}/client/hubs/${HUB}?access_token=${token}`;
    // Reliable, autoReconnect, autoRejoinGroups. Short keep-alive settings: the SDK's timeout
    // monitor sleeps keepAliveTimeoutInMs / 3 (40 s by default) and stop() does not cut that
    // sleep short, which kept this test process alive for 40 s after the last test.
    sdk = new WebPubSubClient(url, { protocol: WebPubSubJsonReliableProtocol(), keepAliveIntervalInMs: 1000, keepAliveTimeoutInMs: 3000 });
    const connectedIds = [];
    const got = [];
    sdk.on('connected', (e) => connectedIds.push(e.connectionId));
    sdk.on('group-message', (e) => got.push(e.message.data));
    await withTimeout(sdk.start(), 5000, 'SDK start through the balancer');
    await sdk.joinGroup('roam');
    const svcB = serviceClient(B, HUB);
    await svcB.group('roam').sendToAll('before', { contentType: 'text/plain' });
    await eventually(() => got.includes('before'), 5000, 'message before the kill');

    lb.target = A; // new connections go to A from now on
    const t0 = Date.now();
    await D.stop('SIGKILL');
    // Sent while the client has no node: kept in the hub's log for it.
    await svcB.group('roam').sendToAll('while-down', { contentType: 'text/plain' });
    // The SDK recovers its session on A, which claims it from Redis and replays the log.
    await eventually(() => got.includes('while-down'), 10000, 'the message sent while its node was dead');
    console.log(`# resumed on another node in ${Date.now() - t0} ms`);
    await svcB.group('roam').sendToAll('after', { contentType: 'text/plain' });
    await eventually(() => got.includes('after'), 5000, 'message after the move');
    assert.deepEqual(got, ['before', 'while-down', 'after'], 'exactly once, in order');
    assert.deepEqual(connectedIds, [connectedIds[0]], 'no new connection');
    assert.equal(sdk._connectionId, connectedIds[0], 'the same connection id');
  } finally {
    // Stopped before the balancer goes, or it keeps retrying through a closed port.
    if (sdk) {
      const stopped = new Promise((resolve) => sdk.on('stopped', resolve));
      sdk.stop();
      await withTimeout(stopped, 5000, 'SDK stopped').catch(() => {});
    }
    await lb.close();
    await D.stop('SIGKILL').catch(() => {});
  }
});

test('a hung node (SIGSTOP) is dropped within node TTL + heartbeat interval; it rejoins when it wakes', async () => {
  const TTL = 1000;
  const BEAT = 200;
  const args = ['--audience-ignore-host', '--cluster-node-ttl-ms', String(TTL), '--cluster-heartbeat-interval-ms', String(BEAT), '--cluster-command-timeout-ms', '1500'];
  const base = await redis.numsub('wps:0:cmd');
  const live = await startServer({ args: ['--redis-url', redis.url, ...args] });
  const hung = await startServer({ args: ['--redis-url', redis.url, ...args] });
  try {
    const before = base + 2;
    await waitForNodes(redis, before);
    await delay(3 * BEAT); // both have recorded heartbeats with their subscriber's client id
    const onHung = await client(hung, { userId: 'sleeper' });
    const id = onHung.connected.connectionId;
    const svc = serviceClient(live, HUB);
    assert.equal(await svc.connectionExists(id), true);

    hung.proc.kill('SIGSTOP');
    const stoppedAt = Date.now();
    // Until it is dropped, calls that need every node wait for it (bounded by the command
    // timeout); once dropped they answer at once, without its connections.
    let droppedAfter = -1;
    for (;;) {
      const t = Date.now();
      const exists = await svc.connectionExists(id);
      if (!exists && Date.now() - t < 300) {
        droppedAfter = Date.now() - stoppedAt;
        break;
      }
      assert.ok(Date.now() - stoppedAt < TTL + BEAT + 6000, 'the hung node was not dropped in time');
    }
    // Documented bound: TTL + heartbeat interval (+ one command timeout for the call in flight).
    assert.ok(droppedAfter <= TTL + BEAT + 1500 + 2000, `dropped after ${droppedAfter} ms`);
    assert.equal(await redis.numsub('wps:0:cmd'), before - 1, 'its subscriber was disconnected');

    hung.proc.kill('SIGCONT');
    // It finds its subscriber gone, reconnects and registers again; its client was never cut.
    await waitForNodes(redis, before, 10000);
    await eventually(async () => svc.connectionExists(id), 5000, 'the woken node answers for its connection again');
    console.log(`# hung node dropped after ${droppedAfter} ms (TTL ${TTL} ms, heartbeat ${BEAT} ms)`);
  } finally {
    hung.proc.kill('SIGCONT');
    await hung.stop().catch(() => {});
    await live.stop().catch(() => {});
  }
});
