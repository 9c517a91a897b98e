// Scale-out on Redis (issue 8), cross-node flows: one redis-server and three nodes on loopback;
// clients, REST calls and group members sit on different nodes. Faults: cluster-faults.test.mjs.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { WebPubSubClient, WebPubSubJsonProtocol } from '@azure/web-pubsub-client';
import { withTimeout } from './harness.mjs';
import { serviceClient, eventually, rawRequest, apiPath } from './rest-helpers.mjs';
import { clusterFixture, CLUSTER_ROLES } from './cluster-harness.mjs';

const HUB = 'cluster';
const ROLES = CLUSTER_ROLES;
const cluster = clusterFixture(HUB);
const { client, join, groupChannel, sdkClients } = cluster;
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

test('SDK flow across nodes: client on A, REST on B, group member on C', async () => {
  const svcB = serviceClient(B, HUB);
  const svcA = serviceClient(A, HUB);
  // An SDK client on A, in the group by its own joinGroup.
  const { url } = await svcA.getClientAccessToken({ userId: 'ann', roles: ROLES });
  // Short keep-alive settings: the SDK's timeout monitor sleeps keepAliveTimeoutInMs / 3 (40 s by
  // default) and stop() does not cut it short, which kept the test process alive that long.
  const sdk = new WebPubSubClient(url, { protocol: WebPubSubJsonProtocol(), autoReconnect: false, keepAliveIntervalInMs: 1000, keepAliveTimeoutInMs: 3000 });
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
