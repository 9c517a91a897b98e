// Scale-out on Redis (issue 8): one redis-server and three nodes on loopback. Clients, REST
// calls and group members sit on different nodes; faults (a node SIGKILLed, Redis restarted)
// happen mid-traffic and the test states what clients of the surviving nodes observe.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { WebPubSubClient, WebPubSubJsonProtocol } from '@azure/web-pubsub-client';
import { startServer, jsonClient, closeAll, withTimeout, delay } from './harness.mjs';
import { serviceClient, eventually, rawRequest, apiPath } from './rest-helpers.mjs';
import { startRedis, startNodes, waitForNodes } from './cluster-harness.mjs';

const HUB = 'cluster';
const GRACE_MS = 300; // --cluster-unsubscribe-grace-ms: short, so the test sees the unsubscribe
let redis;
let A;
let B;
let C;
const clients = [];
const sdkClients = [];

before(async () => {
  redis = await startRedis();
  [A, B, C] = await startNodes(redis, 3, {
    args: ['--audience-ignore-host', '--cluster-unsubscribe-grace-ms', String(GRACE_MS)],
  });
});

after(async () => {
  for (const c of sdkClients) c.stop();
  closeAll(...clients);
  for (const s of [A, B, C]) await s?.stop('SIGKILL').catch(() => {});
  await redis?.stop();
});

const ROLES = ['webpubsub.joinLeaveGroup', 'webpubsub.sendToGroup'];
async function client(node, opts = {}) {
  const c = await jsonClient(node, HUB, { roles: ROLES, ...opts });
  clients.push(c);
  return c;
}
const groupChannel = (group) => `wps:0:g:${HUB}:${group}`;

async function join(c, group, ackId) {
  c.send({ type: 'joinGroup', group, ackId });
  const ack = await c.q.ack(ackId);
  assert.equal(ack.success, true, JSON.stringify(ack));
}

test('SDK flow across nodes: client on A, REST on B, group member on C', async () => {
  const svcB = serviceClient(B, HUB);
  const svcA = serviceClient(A, HUB);
  // An SDK client on A, in the group by its own joinGroup.
  const { url } = await svcA.getClientAccessToken({ userId: 'ann', roles: ROLES });
  const sdk = new WebPubSubClient(url, { protocol: WebPubSubJsonProtocol(), autoReconnect: false });
  sdkClients.push(sdk);
  const got = [];
  sdk.on('group-message', (e) => got.push(e.message));
  await withTimeout(sdk.start(), 5000, 'SDK start on A');
  await sdk.joinGroup('room1');
  // A raw client on C, added to the group by a REST call on B.
  const onC = await client(C, { userId: 'cid' });
  await svcB.group('room1').addConnection(onC.connected.connectionId);

  await svcB.group('room1').sendToAll({ from: 'rest on B' });
  const m = await onC.q.groupMessage('room1');
  assert.deepEqual(m.data, { from: 'rest on B' });
  await eventually(() => got.some((x) => x.data?.from === 'rest on B'), 5000, 'SDK client on A got the REST message');

  // The SDK client's sendToGroup reaches the member on C.
  await sdk.sendToGroup('room1', 'hello from A', 'text');
  const m2 = await onC.q.groupMessage('room1');
  assert.equal(m2.data, 'hello from A');
  assert.equal(m2.fromUserId, 'ann');
});

test('REST management on any node applies to connections on other nodes', async () => {
  const a = await client(A, { userId: 'ua' });
  const c = await client(C, { userId: 'uc', roles: ['webpubsub.joinLeaveGroup'] });
  const idC = c.connected.connectionId;
  const svcA = serviceClient(A, HUB);
  const svcB = serviceClient(B, HUB);
  assert.equal(await svcA.connectionExists(idC), true, 'exists for a connection on C, asked on A');
  assert.equal(await svcB.userExists('uc'), true);
  assert.equal(await svcB.userExists('nobody'), false);
  assert.equal(await svcA.connectionExists('no-such-connection'), false);

  await join(a, 'mgmt', 1);
  await svcB.group('mgmt').addConnection(idC);
  assert.equal(await svcA.groupExists('mgmt'), true);
  // ListConnectionsInGroup merges the members of every node, ordered by connection id.
  const listed = [];
  for await (const m of await svcB.group('mgmt').listConnections()) listed.push(m);
  assert.deepEqual(
    listed.map((m) => m.connectionId).sort(),
    [a.connected.connectionId, idC].sort(),
  );
  // Paging across nodes: one per page.
  const paged = await rawRequest(B, apiPath(HUB, '/groups/mgmt/connections', 'maxpagesize=1'), { method: 'GET' });
  assert.equal(paged.status, 200, paged.text);
  assert.equal(paged.json.value.length, 1);
  assert.ok(paged.json.nextLink);

  // Permissions granted on B, checked on A, used by the client on C.
  assert.equal(await svcA.hasPermission(idC, 'sendToGroup', { targetName: 'perm' }), false);
  await svcB.grantPermission(idC, 'sendToGroup', { targetName: 'perm' });
  assert.equal(await svcA.hasPermission(idC, 'sendToGroup', { targetName: 'perm' }), true);
  await svcA.revokePermission(idC, 'sendToGroup', { targetName: 'perm' });
  assert.equal(await svcB.hasPermission(idC, 'sendToGroup', { targetName: 'perm' }), false);

  // Remove from group on A, then close on B: the client on C sees both.
  await svcA.group('mgmt').removeConnection(idC);
  await svcB.group('mgmt').sendToAll('after removal', { contentType: 'text/plain' });
  assert.equal((await a.q.groupMessage('mgmt')).data, 'after removal');
  await svcB.closeConnection(idC, { reason: 'closed from B' });
  const disconnected = await c.q.nextJson((m) => m.type === 'system' && m.event === 'disconnected');
  assert.equal(disconnected.message, 'closed from B');
  await c.q.waitClose();
  assert.equal(c.q.items.filter((i) => i.json?.type === 'message').length, 0, 'no message after removal');
  await eventually(async () => !(await svcA.connectionExists(idC)), 5000, 'closed connection gone');
});

test('a user on two nodes is added to a group from a third; sends to the user reach both', async () => {
  const onA = await client(A, { userId: 'dual' });
  const onC = await client(C, { userId: 'dual' });
  const svcB = serviceClient(B, HUB);
  await svcB.group('dual-room').addUser('dual');
  await serviceClient(A, HUB).group('dual-room').sendToAll('to the room', { contentType: 'text/plain' });
  assert.equal((await onA.q.groupMessage('dual-room')).data, 'to the room');
  assert.equal((await onC.q.groupMessage('dual-room')).data, 'to the room');
  await svcB.sendToUser('dual', 'to the user', { contentType: 'text/plain' });
  for (const c of [onA, onC]) {
    const m = await c.q.nextJson((x) => x.type === 'message' && x.from === 'server');
    assert.equal(m.data, 'to the user');
  }
  await serviceClient(C, HUB).sendToConnection(onA.connected.connectionId, 'to one', { contentType: 'text/plain' });
  assert.equal((await onA.q.nextJson((x) => x.type === 'message' && x.from === 'server')).data, 'to one');
  await svcB.group('dual-room').removeUser('dual');
  assert.equal(await svcB.groupExists('dual-room'), false);
});

test('interest routing: a node without members of a group gets none of its traffic', async () => {
  const a = await client(A);
  const b = await client(B);
  await join(a, 'interest', 1);
  await join(b, 'interest', 1);
  // Only A and B listen on the group's channel: Redis sends C nothing of it.
  await eventually(async () => (await redis.numsub(groupChannel('interest'))) === 2, 5000, 'two subscribers');
  // Count what Redis delivers: MONITOR-free, by the channel's subscriber count at publish time.
  // PUBLISH returns the number of subscribers that received the message.
  const delivered = await redis.cli('PUBLISH', groupChannel('interest'), 'not-an-envelope');
  assert.equal(Number(delivered[0]), 2, 'a publish to the group reaches exactly the two member nodes');
  const svcC = serviceClient(C, HUB);
  for (let i = 0; i < 20; i++) await svcC.group('interest').sendToAll(`m${i}`, { contentType: 'text/plain' });
  for (let i = 0; i < 20; i++) {
    assert.equal((await a.q.groupMessage('interest')).data, `m${i}`);
    assert.equal((await b.q.groupMessage('interest')).data, `m${i}`);
  }
  // The last member on B leaves: after the grace period B unsubscribes.
  b.send({ type: 'leaveGroup', group: 'interest', ackId: 2 });
  await b.q.ack(2);
  await eventually(async () => (await redis.numsub(groupChannel('interest'))) === 1, 5000, 'B unsubscribed after the grace');
});

test('per-publisher order within a group holds across nodes', async () => {
  const pub = await client(A);
  const sub = await client(B);
  await join(sub, 'order', 1);
  await eventually(async () => (await redis.numsub(groupChannel('order'))) === 1, 5000, 'B subscribed');
  const N = 300;
  for (let i = 0; i < N; i++) pub.send({ type: 'sendToGroup', group: 'order', data: i, dataType: 'json' });
  for (let i = 0; i < N; i++) assert.equal((await sub.q.groupMessage('order', 10000)).data, i);
});

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

  redis = await startRedis(redis.port);
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
    for (const n of nodes) await n.stop('SIGKILL').catch(() => {});
    await secured.stop();
  }
});

// A load balancer in front of the nodes: one TCP port forwarding each new connection to the
// node named by `target` (switched by the test when its node dies).
async function balancer(target) {
  const state = { target, sockets: new Set() };
  const srv = net.createServer((down) => {
    const up = net.connect(state.target.port, '127.0.0.1');
    state.sockets.add(down).add(up);
    down.pipe(up).pipe(down);
    const end = () => {
      down.destroy();
      up.destroy();
    };
    down.on('error', end).on('close', end);
    up.on('error', end).on('close', end);
  });
  await new Promise((resolve) => srv.listen(0, '127.0.0.1', resolve));
  state.port = srv.address().port;
  state.close = () => {
    for (const s of state.sockets) s.destroy();
    return new Promise((resolve) => srv.close(resolve));
  };
  return state;
}

test('a reliable SDK client of a killed node reconnects through the balancer to another node: new connection, groups rejoined', async () => {
  const D = await startServer({ args: ['--redis-url', redis.url, '--audience-ignore-host'] });
  const lb = await balancer(D);
  try {
    await waitForNodes(redis, 3); // A, B (C was killed above) and D
    const { token } = await serviceClient(A, HUB).getClientAccessToken({ userId: 'roamer', roles: ROLES });
    const url = `ws://127.0.0.1:${lb.port}/client/hubs/${HUB}?access_token=${token}`;
    const sdk = new WebPubSubClient(url, { protocol: WebPubSubJsonProtocol() }); // reliable, autoReconnect, autoRejoinGroups
    sdkClients.push(sdk);
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
    // The SDK tries to recover its session on A, which does not know it (close 1008), then opens
    // a clean new connection and rejoins its group.
    await eventually(() => connectedIds.length === 2, 40000, 'a new connection through the balancer');
    assert.notEqual(connectedIds[1], connectedIds[0], 'a new connection id');
    await eventually(async () => (await svcB.group('roam').listConnections().then(async (it) => {
      const ids = [];
      for await (const m of it) ids.push(m.connectionId);
      return ids;
    })).includes(connectedIds[1]), 5000, 'rejoined its group on A');
    await svcB.group('roam').sendToAll('after', { contentType: 'text/plain' });
    await eventually(() => got.includes('after'), 5000, 'message after the move');
    console.log(`# moved to another node in ${Date.now() - t0} ms`);
  } finally {
    await lb.close();
    await D.stop('SIGKILL').catch(() => {});
  }
});

test('a hung node (SIGSTOP) is dropped within node TTL + heartbeat interval; it rejoins when it wakes', async () => {
  const TTL = 1000;
  const BEAT = 200;
  const args = ['--audience-ignore-host', '--cluster-node-ttl-ms', String(TTL), '--cluster-heartbeat-interval-ms', String(BEAT), '--cluster-command-timeout-ms', '1500'];
  const live = await startServer({ args: ['--redis-url', redis.url, ...args] });
  const hung = await startServer({ args: ['--redis-url', redis.url, ...args] });
  try {
    const before = await redis.numsub('wps:0:cmd');
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
      assert.ok(Date.now() - stoppedAt < TTL + BEAT + 3000, 'the hung node was not dropped in time');
    }
    // Documented bound: TTL + heartbeat interval (+ one command timeout for the call in flight).
    assert.ok(droppedAfter <= TTL + BEAT + 1500 + 500, `dropped after ${droppedAfter} ms`);
    assert.equal(await redis.numsub('wps:0:cmd'), before - 1, 'its subscriber was disconnected');

    hung.proc.kill('SIGCONT');
    // It finds its subscriber gone, reconnects and registers again; its client was never cut.
    await waitForNodes(redis, before, 10000);
    await eventually(async () => svc.connectionExists(id), 5000, 'the woken node answers for its connection again');
    console.log(`# hung node dropped after ${droppedAfter} ms (TTL ${TTL} ms, heartbeat ${BEAT} ms)`);
  } finally {
    hung.proc.kill('SIGCONT');
    await hung.stop('SIGKILL').catch(() => {});
    await live.stop('SIGKILL').catch(() => {});
  }
});
