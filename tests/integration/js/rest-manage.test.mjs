// REST API management operations through @azure/web-pubsub 1.2.0 (issue 3; spec §4.3-§4.7, §7):
// groups, users, exists, close, permissions, tokens, paging, health. Each operation is checked by
// what a real connected client observes (a message arrives or not, the close with its reason,
// exists true then false, a publish allowed then refused).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { odata } from '@azure/web-pubsub';
import { startServer, closeAll, openSocket, JSON_PROTOCOL, clientToken, clientUrl } from './harness.mjs';
import { startServerOrCluster, portPattern } from './cluster-harness.mjs';
import {
  serviceClient,
  trackedJson,
  trackedSimple,
  nextData,
  assertNextIsMarker,
  assertSdkStatus,
  rawRequest,
  apiPath,
  eventually,
} from './rest-helpers.mjs';

let server;
const clients = [];
let hubN = 0;
const newHub = () => `mgmt${++hubN}`;
const json = (hub, opts) => trackedJson(clients, server, hub, opts);
const simple = (hub, opts) => trackedSimple(clients, server, hub, opts);

before(async () => {
  server = await startServerOrCluster();
});

after(async () => {
  closeAll(...clients);
  if (server) await server.stop();
});

/**
 * Sends one text message to `group` and asserts every client of `members` receives it as its
 * next data message while every client of `others` does not (its next data message is a marker).
 */
async function assertMembers(service, group, members, others, label) {
  const tag = `${label}-${Math.random().toString(36).slice(2)}`;
  await service.group(group).sendToAll(tag, { contentType: 'text/plain' });
  for (const c of members) {
    const m = await nextData(c, 5000, `${label}: group message`);
    assert.equal(m.data, tag, `${label}: ${JSON.stringify(m)}`);
  }
  for (const c of others) await assertNextIsMarker(service, c, label);
}

/** Waits for the REST close: disconnected system message with `reason`, then close 1000. */
async function assertClosedWith(client, reason, label) {
  const msg = await client.q.nextJson((m) => m.type === 'system' && m.event === 'disconnected', 5000, `${label}: disconnected`);
  if (reason !== undefined) assert.equal(msg.message, reason, `${label}: reason`);
  else assert.equal(typeof msg.message, 'string', `${label}: disconnected carries a message`);
  const close = await client.q.waitClose(5000);
  assert.equal(close.code, 1000, `${label}: close code`);
}

async function assertStillOpen(service, client, label) {
  await assertNextIsMarker(service, client, label);
  assert.equal(client.q.closeInfo, null, `${label}: still open`);
}

test('group.addConnection / removeConnection; addConnection of an unknown connection is 404', async () => {
  const hub = newHub();
  const a = await json(hub, { userId: 'a' });
  const b = await json(hub, { userId: 'b' });
  const service = serviceClient(server, hub);
  const g = service.group('team');
  await g.addConnection(a.connected.connectionId);
  await g.addConnection(a.connected.connectionId); // idempotent
  await assertMembers(service, 'team', [a], [b], 'added');
  await g.removeConnection(a.connected.connectionId);
  await assertMembers(service, 'team', [], [a, b], 'removed');
  // removing again / an unknown connection: 204, no throw
  await g.removeConnection(a.connected.connectionId);
  await g.removeConnection('no-such-connection');

  // 404 is not a documented response in the SDK's operation spec, so core-client throws with the
  // server's ErrorDetail message before the SDK's own "Connection id '<id>' doesn't exist" check.
  const err = await assertSdkStatus(g.addConnection('no-such-connection'), 404, 'addConnection unknown');
  assert.match(err.message, /no-such-connection/);
});

test('group.addUser / removeUser apply to every connection of the user', async () => {
  const hub = newHub();
  const u1 = await json(hub, { userId: 'u' });
  const u2 = await json(hub, { userId: 'u' });
  const v = await json(hub, { userId: 'v' });
  const service = serviceClient(server, hub);
  const g = service.group('club');
  await g.addUser('u');
  await assertMembers(service, 'club', [u1, u2], [v], 'user added');
  await g.removeUser('u');
  await assertMembers(service, 'club', [], [u1, u2, v], 'user removed');
  // a connection that arrives later is not added by the earlier addUser
  await g.addUser('u');
  const u3 = await json(hub, { userId: 'u' });
  await assertMembers(service, 'club', [u1, u2], [u3, v], 'later connection');
  await g.removeUser('nobody'); // 204 always
});

test('removeUserFromAllGroups and removeConnectionFromAllGroups', async () => {
  const hub = newHub();
  const u = await json(hub, { userId: 'u', groups: ['g1', 'g2'] });
  const c = await json(hub, { userId: 'c', groups: ['g1', 'g2'] });
  const service = serviceClient(server, hub);
  await assertMembers(service, 'g1', [u, c], [], 'both in g1');
  await assertMembers(service, 'g2', [u, c], [], 'both in g2');
  await service.removeUserFromAllGroups('u');
  await assertMembers(service, 'g1', [c], [u], 'u left g1');
  await assertMembers(service, 'g2', [c], [u], 'u left g2');
  await service.removeConnectionFromAllGroups(c.connected.connectionId);
  await assertMembers(service, 'g1', [], [u, c], 'c left g1');
  await assertMembers(service, 'g2', [], [u, c], 'c left g2');
  await service.removeConnectionFromAllGroups('no-such-connection'); // 204
  await service.removeUserFromAllGroups('nobody'); // 204
});

test('addConnectionsToGroups / removeConnectionsFromGroups with a filter', async () => {
  const hub = newHub();
  const a = await json(hub, { userId: 'a' });
  const b = await json(hub, { userId: 'b' });
  const c = await json(hub, { userId: 'c' });
  const service = serviceClient(server, hub);
  await service.addConnectionsToGroups(['x', 'y'], odata`userId ne ${'c'}`);
  await assertMembers(service, 'x', [a, b], [c], 'added to x');
  await assertMembers(service, 'y', [a, b], [c], 'added to y');

  await service.removeConnectionsFromGroups(['x'], odata`userId eq ${'a'}`);
  await assertMembers(service, 'x', [b], [a, c], 'a removed from x');
  await assertMembers(service, 'y', [a, b], [c], 'y unchanged');

  // a filter on groups: everyone in y joins z
  await service.addConnectionsToGroups(['z'], "'y' in groups");
  await assertMembers(service, 'z', [a, b], [c], 'y members added to z');
  // removeConnectionsFromGroups with several groups
  await service.removeConnectionsFromGroups(['y', 'z'], "userId eq 'b'");
  await assertMembers(service, 'y', [a], [b, c], 'b removed from y');
  await assertMembers(service, 'z', [a], [b, c], 'b removed from z');
});

test('groupExists / userExists / connectionExists: true, then false after the change', async () => {
  const hub = newHub();
  const a = await json(hub, { userId: 'exists-user', groups: ['eg'] });
  const service = serviceClient(server, hub);
  const id = a.connected.connectionId;
  assert.equal(await service.groupExists('eg'), true);
  assert.equal(await service.userExists('exists-user'), true);
  assert.equal(await service.connectionExists(id), true);
  assert.equal(await service.groupExists('never'), false);
  assert.equal(await service.userExists('never'), false);
  assert.equal(await service.connectionExists('never'), false);

  await service.group('eg').removeConnection(id);
  assert.equal(await service.groupExists('eg'), false, 'group without members does not exist');
  await service.closeConnection(id, { reason: 'bye' });
  await assertClosedWith(a, 'bye', 'exists close');
  await eventually(async () => (await service.connectionExists(id)) === false, 3000, 'connectionExists false');
  await eventually(async () => (await service.userExists('exists-user')) === false, 3000, 'userExists false');
});

test('closeConnection with a reason: disconnected message, close 1000; others untouched', async () => {
  const hub = newHub();
  const a = await json(hub);
  const b = await json(hub);
  const service = serviceClient(server, hub);
  await service.closeConnection(a.connected.connectionId, { reason: 'kicked by test' });
  await assertClosedWith(a, 'kicked by test', 'closeConnection');
  await assertStillOpen(service, b, 'closeConnection bystander');
  await service.closeConnection('no-such-connection'); // 204
});

test('closeAllConnections with reason and excluded', async () => {
  const hub = newHub();
  const a = await json(hub);
  const b = await json(hub);
  const keep = await json(hub);
  const s = await simple(hub);
  const otherHub = await json(`${hub}x`);
  const service = serviceClient(server, hub);
  await service.closeAllConnections({ reason: 'maintenance', excluded: [keep.connected.connectionId] });
  await assertClosedWith(a, 'maintenance', 'closeAll a');
  await assertClosedWith(b, 'maintenance', 'closeAll b');
  const sc = await s.q.waitClose(5000);
  assert.equal(sc.code, 1000, 'simple client closed with 1000');
  await assertStillOpen(service, keep, 'closeAll excluded');
  await assertStillOpen(serviceClient(server, `${hub}x`), otherHub, 'closeAll other hub');
});

test('group.closeAllConnections with reason and excluded', async () => {
  const hub = newHub();
  const m1 = await json(hub, { groups: ['cg'] });
  const m2 = await json(hub, { groups: ['cg'] });
  const m3 = await json(hub, { groups: ['cg'] });
  const out = await json(hub);
  const service = serviceClient(server, hub);
  await service.group('cg').closeAllConnections({ reason: 'room closed', excluded: [m3.connected.connectionId] });
  await assertClosedWith(m1, 'room closed', 'group close m1');
  await assertClosedWith(m2, 'room closed', 'group close m2');
  await assertStillOpen(service, m3, 'group close excluded');
  await assertStillOpen(service, out, 'group close non-member');
});

test('closeUserConnections with reason and excluded', async () => {
  const hub = newHub();
  const u1 = await json(hub, { userId: 'cu' });
  const u2 = await json(hub, { userId: 'cu' });
  const u3 = await json(hub, { userId: 'cu' });
  const other = await json(hub, { userId: 'other' });
  const service = serviceClient(server, hub);
  await service.closeUserConnections('cu', { reason: 'logged out', excluded: [u3.connected.connectionId] });
  await assertClosedWith(u1, 'logged out', 'user close u1');
  await assertClosedWith(u2, 'logged out', 'user close u2');
  await assertStillOpen(service, u3, 'user close excluded');
  await assertStillOpen(service, other, 'user close other user');
});

test('grantPermission / hasPermission / revokePermission: the client can publish, then cannot', async () => {
  const hub = newHub();
  const sub = await json(hub, { userId: 'sub', groups: ['perm'] });
  const pub = await json(hub, { userId: 'pub' });
  const service = serviceClient(server, hub);
  const id = pub.connected.connectionId;

  const publish = async (ackId, group = 'perm') => {
    pub.send({ type: 'sendToGroup', group, dataType: 'text', data: `p${ackId}`, ackId });
    return pub.q.ack(ackId);
  };
  assert.equal(await service.hasPermission(id, 'sendToGroup', { targetName: 'perm' }), false);
  assert.equal((await publish(1)).success, false, 'no permission yet');

  await service.grantPermission(id, 'sendToGroup', { targetName: 'perm' });
  assert.equal(await service.hasPermission(id, 'sendToGroup', { targetName: 'perm' }), true);
  assert.equal((await publish(2)).success, true, 'granted');
  const m = await sub.q.groupMessage('perm');
  assert.equal(m.data, 'p2');
  assert.equal((await publish(3, 'other')).success, false, 'grant is only for the target group');

  await service.revokePermission(id, 'sendToGroup', { targetName: 'perm' });
  assert.equal(await service.hasPermission(id, 'sendToGroup', { targetName: 'perm' }), false);
  assert.equal((await publish(4)).success, false, 'revoked');

  // joinLeaveGroup without targetName: any group
  pub.send({ type: 'joinGroup', group: 'anyg', ackId: 5 });
  assert.equal((await pub.q.ack(5)).success, false);
  await service.grantPermission(id, 'joinLeaveGroup');
  assert.equal(await service.hasPermission(id, 'joinLeaveGroup'), true);
  pub.send({ type: 'joinGroup', group: 'anyg', ackId: 6 });
  assert.equal((await pub.q.ack(6)).success, true);
  await service.revokePermission(id, 'joinLeaveGroup');
  assert.equal(await service.hasPermission(id, 'joinLeaveGroup'), false);
  pub.send({ type: 'leaveGroup', group: 'anyg', ackId: 7 });
  assert.equal((await pub.q.ack(7)).success, false);
});

test('getClientAccessToken (local signing with the key): the token connects with userId, roles and groups', async () => {
  const hub = newHub();
  const service = serviceClient(server, hub);
  const tok = await service.getClientAccessToken({
    userId: 'tok-user',
    roles: ['webpubsub.sendToGroup.tg'],
    groups: ['tg'],
  });
  assert.match(tok.baseUrl, new RegExp(`^ws://localhost:${portPattern(server)}/client/hubs/${hub}$`));
  const { ws, q, protocol } = await openSocket(tok.url, { protocols: [JSON_PROTOCOL] });
  clients.push({ ws });
  assert.equal(protocol, JSON_PROTOCOL);
  const connected = await q.nextJson((m) => m.type === 'system' && m.event === 'connected');
  assert.equal(connected.userId, 'tok-user');
  const c = { ws, q, connected, send: (o) => ws.send(JSON.stringify(o)) };
  await assertMembers(service, 'tg', [c], [], 'token group');
  c.send({ type: 'sendToGroup', group: 'tg', dataType: 'text', data: 'self', ackId: 1 });
  assert.equal((await q.ack(1)).success, true, 'role from the token');
});

test(':generateToken REST call (what the SDK uses with a TokenCredential) returns a token that connects', async () => {
  const hub = newHub();
  const res = await rawRequest(
    server,
    apiPath(hub, '/:generateToken', 'userId=gen-user&role=webpubsub.joinLeaveGroup&group=gen1&group=gen2&minutesToExpire=5&clientType=Default'),
    { headers: { Accept: 'application/json, text/json' } },
  );
  assert.equal(res.status, 200, res.text);
  assert.equal(typeof res.json?.token, 'string', res.text);
  const payload = JSON.parse(Buffer.from(res.json.token.split('.')[1], 'base64url').toString('utf8'));
  assert.equal(payload.sub, 'gen-user');
  const now = Math.floor(Date.now() / 1000);
  assert.ok(payload.exp > now + 200 && payload.exp <= now + 310, `exp about 5 minutes: ${JSON.stringify(payload)}`);

  const { ws, q } = await openSocket(clientUrl(server.port, hub, res.json.token), { protocols: [JSON_PROTOCOL] });
  clients.push({ ws });
  const connected = await q.nextJson((m) => m.type === 'system' && m.event === 'connected');
  assert.equal(connected.userId, 'gen-user');
  const c = { ws, q, connected };
  const service = serviceClient(server, hub);
  await assertMembers(service, 'gen1', [c], [], 'generated token group gen1');
  await assertMembers(service, 'gen2', [c], [], 'generated token group gen2');
  ws.send(JSON.stringify({ type: 'joinGroup', group: 'gen3', ackId: 1 }));
  assert.equal((await q.ack(1)).success, true, 'role from the generated token');

  // minutesToExpire < 1 and an unknown clientType: 400
  for (const bad of ['minutesToExpire=0', 'minutesToExpire=abc', 'clientType=Nope']) {
    const r = await rawRequest(server, apiPath(hub, '/:generateToken', bad));
    assert.equal(r.status, 400, `${bad}: ${r.status} ${r.text}`);
  }
  // clientType in any case
  const mq = await rawRequest(server, apiPath(hub, '/:generateToken', 'clientType=mqtt'));
  assert.equal(mq.status, 200, mq.text);
  const mqPayload = JSON.parse(Buffer.from(mq.json.token.split('.')[1], 'base64url').toString('utf8'));
  assert.match(mqPayload.aud, new RegExp(`/clients/mqtt/hubs/${hub}$`));
});

test('group.listConnections pages with maxPageSize 2 and follows nextLink (no api-version) to the end', async () => {
  const hub = newHub();
  const members = [];
  for (let i = 0; i < 5; i++) members.push(await json(hub, { userId: `lm${i}`, groups: ['listed'] }));
  const anon = await json(hub, { groups: ['listed'] });
  await json(hub, { userId: 'not-listed' });
  const service = serviceClient(server, hub);
  const iter = await service.group('listed').listConnections({ maxPageSize: 2 });
  const pages = [];
  for await (const page of iter.byPage()) pages.push(page);
  assert.ok(pages.length >= 3, `6 members in pages of 2: got ${pages.length} pages ${JSON.stringify(pages)}`);
  for (const p of pages) assert.ok(p.length <= 2, `page larger than maxPageSize: ${JSON.stringify(p)}`);
  const all = pages.flat();
  const expected = [...members, anon].map((c) => ({ connectionId: c.connected.connectionId, userId: c.connected.userId }));
  const key = (m) => m.connectionId;
  assert.deepEqual(
    all.map((m) => ({ connectionId: m.connectionId, userId: m.userId ?? null })).sort((x, y) => key(x).localeCompare(key(y))),
    expected.sort((x, y) => key(x).localeCompare(key(y))),
  );

  // top caps the total; the flat iterator agrees
  const top = [];
  for await (const m of await service.group('listed').listConnections({ maxPageSize: 2, top: 3 })) top.push(m);
  assert.equal(top.length, 3, JSON.stringify(top));
  // unknown group: empty
  const none = [];
  for await (const m of await service.group('empty-group').listConnections()) none.push(m);
  assert.deepEqual(none, []);
  // maxpagesize out of range: 400
  const bad = await rawRequest(server, apiPath(hub, '/groups/listed/connections', 'maxpagesize=201'), { method: 'GET' });
  assert.equal(bad.status, 400, bad.text);
});

test('health: HEAD /api/health is 200 without auth; the generated healthApi agrees', async () => {
  const res = await rawRequest(server, `/api/health?api-version=2024-12-01`, { method: 'HEAD', token: false });
  assert.equal(res.status, 200);
  assert.equal(res.body.length, 0);
  const get = await rawRequest(server, `/api/health`, { method: 'GET', token: false });
  assert.equal(get.status, 200);
  // @azure/web-pubsub 1.2.0 does not expose the health operation publicly; its generated client
  // (the service client's internal `client`) has healthApi.getServiceStatus, which throws unless 200.
  const service = serviceClient(server, 'healthhub');
  assert.ok(service.client?.healthApi, 'generated healthApi present in this SDK version');
  await service.client.healthApi.getServiceStatus();
});

test('closing a connection removes it from its groups and from the user (membership observed)', async () => {
  const hub = newHub();
  const a = await json(hub, { userId: 'gone', groups: ['solo'] });
  const service = serviceClient(server, hub);
  await service.closeConnection(a.connected.connectionId, { reason: 'r' });
  await assertClosedWith(a, 'r', 'close before exists');
  await eventually(async () => (await service.groupExists('solo')) === false, 3000, 'groupExists false after close');
  // token claims untouched: a fresh connection with the same token works
  const again = await openSocket(
    clientUrl(server.port, hub, clientToken({ port: server.port, hub, key: server.key, userId: 'gone' })),
    { protocols: [JSON_PROTOCOL] },
  );
  clients.push(again);
  await again.q.nextJson((m) => m.type === 'system' && m.event === 'connected');
  assert.equal(await service.userExists('gone'), true);
});
