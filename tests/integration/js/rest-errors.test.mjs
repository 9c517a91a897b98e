// REST API bad requests with raw HTTP and self-signed JWTs (issue 3 "Errors"/"Auth"; spec §3.1,
// §4.1, §4.2, §4.4, §10.1): each gets its status, a JSON ErrorDetail {code, message} and an
// x-ms-error-code header (HEAD: status only), and connected clients see no disturbance.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import http from 'node:http';
import { startServer, closeAll, withTimeout } from './harness.mjs';
import { startServerOrCluster } from './cluster-harness.mjs';
import {
  serviceClient,
  trackedJson,
  nextData,
  rawRequest,
  apiPath,
  assertError,
  restToken,
  SUPPORTED_API_VERSIONS,
} from './rest-helpers.mjs';

const HUB = 'errs';
const SECONDARY = 'SecondaryKeyForTheRestTests0123456789abcdefXYZ';
const OTHER_KEY = 'SomeOtherKeyNobodyConfigured0123456789abcdefgh';
let server;
const clients = [];
let watcher; // a JSON client that must keep receiving through all of this

before(async () => {
  server = await startServerOrCluster({ args: ['--secondary-access-key', SECONDARY] });
  watcher = await trackedJson(clients, server, HUB, { userId: 'watcher' });
});

after(async () => {
  closeAll(...clients);
  if (server) await server.stop();
});

const sendPath = (query = '') => apiPath(HUB, '/:send', query);
const textBody = { body: 'hello', headers: { 'Content-Type': 'text/plain' } };

/** The watcher still receives a message sent by the SDK, and got nothing before it. */
async function assertUndisturbed(label) {
  const marker = `still-working-${label}`;
  await serviceClient(server, HUB).sendToUser('watcher', marker, { contentType: 'text/plain' });
  const m = await nextData(watcher, 5000, `watcher marker after ${label}`);
  assert.equal(m.data, marker, `${label}: the watcher got something else first: ${JSON.stringify(m)}`);
  assert.equal(watcher.q.closeInfo, null, `${label}: watcher still open`);
}

test('valid raw request (SDK-style token, aud = full URL with query) is accepted: baseline', async () => {
  const res = await rawRequest(server, sendPath(), textBody);
  assert.equal(res.status, 202, res.text);
  assert.equal((await nextData(watcher)).data, 'hello');
});

test('aud without the query string, and aud percent-decoded / different case, are accepted', async () => {
  const path = sendPath('excluded=nobody%201');
  const url = `${server.endpoint}${path}`;
  const res1 = await rawRequest(server, path, { ...textBody, tokenOptions: { aud: url.split('?')[0] } });
  assert.equal(res1.status, 202, `aud without query: ${res1.text}`);
  assert.equal((await nextData(watcher)).data, 'hello');
  const res2 = await rawRequest(server, path, { ...textBody, tokenOptions: { aud: decodeURIComponent(url) } });
  assert.equal(res2.status, 202, `aud percent-decoded: ${res2.text}`);
  assert.equal((await nextData(watcher)).data, 'hello');
  const res3 = await rawRequest(server, path, { ...textBody, tokenOptions: { aud: url.replace('/api/hubs/errs', '/API/Hubs/ERRS') } });
  assert.equal(res3.status, 202, `aud in another case: ${res3.text}`);
  assert.equal((await nextData(watcher)).data, 'hello');
});

test('a token signed with the secondary key is accepted (and the SDK works with it)', async () => {
  const res = await rawRequest(server, sendPath(), { ...textBody, key: SECONDARY });
  assert.equal(res.status, 202, res.text);
  assert.equal((await nextData(watcher)).data, 'hello');
  const cs = `Endpoint=${server.endpoint};AccessKey=${SECONDARY};Version=1.0;`;
  const { WebPubSubServiceClient } = await import('@azure/web-pubsub');
  const svc = new WebPubSubServiceClient(cs, HUB, { allowInsecureConnection: true });
  await svc.sendToUser('watcher', 'via-secondary', { contentType: 'text/plain' });
  assert.equal((await nextData(watcher)).data, 'via-secondary');
});

test('401: no Authorization, bad signature, other key, expired, no exp, wrong audience, alg none', async () => {
  const path = sendPath();
  const url = `${server.endpoint}${path}`;
  const now = Math.floor(Date.now() / 1000);
  const good = restToken(url, server.key);
  const [h, p, sig] = good.split('.');
  const flipped = `${h}.${p}.${sig.slice(0, -2)}${sig.endsWith('AA') ? 'BB' : 'AA'}`;
  const cases = [
    ['no Authorization', { token: false }],
    ['not a JWT', { token: 'not-a-jwt' }],
    ['bad signature', { token: flipped }],
    ['signed with another key', { key: OTHER_KEY }],
    ['expired', { tokenOptions: { exp: now - 3600, iat: now - 7200 } }],
    ['no exp', { tokenOptions: { exp: null } }],
    ['wrong audience (other path)', { tokenOptions: { aud: `${server.endpoint}/api/hubs/other/:send` } }],
    // A cluster (WPS_CLUSTER=1) runs with --audience-ignore-host, as nodes behind a balancer may.
    ...(server.nodes ? [] : [['wrong audience (other host)', { tokenOptions: { aud: `http://evil.example${path}` } }]]),
    ['not yet valid (nbf in 1 h)', { tokenOptions: { nbf: now + 3600 } }],
    ['alg none', { token: restToken(url, server.key, { header: { alg: 'none', typ: 'JWT' } }) }],
  ];
  for (const [label, opts] of cases) {
    const res = await rawRequest(server, path, { ...textBody, ...opts });
    assertError(res, 401, { label });
  }
  // Basic scheme instead of Bearer
  const basic = await rawRequest(server, path, { ...textBody, token: false, headers: { ...textBody.headers, Authorization: `Basic ${good}` } });
  assertError(basic, 401, { label: 'Basic scheme' });
  await assertUndisturbed('401s');
});

test('400: invalid OData filter names the problem; JSON body with code and message', async () => {
  for (const f of ["userId eq 'unterminated", 'userId eq', 'nosuchfield eq 1', "userId eq 'a' and", '(((', "length(userId) gt 'x'"]) {
    const res = await rawRequest(server, sendPath(`filter=${encodeURIComponent(f)}`), textBody);
    const body = assertError(res, 400, { label: `filter ${f}` });
    assert.ok(body.message.length > 5, body.message);
  }
  // also on :addToGroups bodies
  const res = await rawRequest(server, apiPath(HUB, '/:addToGroups'), {
    body: JSON.stringify({ groups: ['g'], filter: "userId eq 'x" }),
    headers: { 'Content-Type': 'application/json' },
  });
  assertError(res, 400, { label: ':addToGroups bad filter' });
  await assertUndisturbed('bad filters');
});

test('415: unsupported Content-Type on :send and on :addToGroups', async () => {
  for (const ct of ['application/xml', 'image/png', 'multipart/form-data; boundary=x']) {
    const res = await rawRequest(server, sendPath(), { body: '<a/>', headers: { 'Content-Type': ct } });
    assertError(res, 415, { label: `Content-Type ${ct}` });
  }
  const res = await rawRequest(server, apiPath(HUB, '/:addToGroups'), {
    body: JSON.stringify({ groups: ['g'] }),
    headers: { 'Content-Type': 'text/plain' },
  });
  assertError(res, 415, { label: ':addToGroups text/plain' });
  // charset parameters are fine
  const ok = await rawRequest(server, sendPath(), { body: 'cs', headers: { 'Content-Type': 'text/plain; charset=utf-8' } });
  assert.equal(ok.status, 202, ok.text);
  assert.equal((await nextData(watcher)).data, 'cs');
  await assertUndisturbed('415s');
});

test('400: invalid JSON with application/json', async () => {
  const res = await rawRequest(server, sendPath(), { body: '{"a":', headers: { 'Content-Type': 'application/json' } });
  assertError(res, 400, { label: 'invalid JSON' });
  await assertUndisturbed('invalid JSON');
});

test('413: a body over 1 MiB is refused; clients undisturbed; exactly 1 MiB is accepted', async () => {
  const over = Buffer.alloc(1024 * 1024 + 1, 0x61);
  const res = await rawRequest(server, sendPath(), { body: over, headers: { 'Content-Type': 'application/octet-stream' }, timeoutMs: 10000 });
  assertError(res, 413, { label: '1 MiB + 1' });
  await assertUndisturbed('413');
  const exact = Buffer.alloc(1024 * 1024, 0x62);
  const ok = await rawRequest(server, sendPath(), { body: exact, headers: { 'Content-Type': 'application/octet-stream' }, timeoutMs: 10000 });
  assert.equal(ok.status, 202, ok.text);
  const m = await nextData(watcher, 10000);
  assert.equal(m.dataType, 'binary');
  assert.equal(Buffer.from(m.data, 'base64').length, 1024 * 1024);
});

test('404: unknown routes under /api get a JSON error', async () => {
  for (const [method, path] of [
    ['GET', '/api/nope?api-version=2024-12-01'],
    ['POST', apiPath(HUB, '/:nosuchaction')],
    ['POST', apiPath(HUB, '/groups/g/:nosuchaction')],
    ['GET', apiPath(HUB, '/users/u/somethingelse')],
  ]) {
    const res = await rawRequest(server, path, { method, ...(method === 'POST' ? textBody : {}) });
    assertError(res, 404, { label: `${method} ${path}` });
  }
  await assertUndisturbed('404s');
});

test('400: invalid group name, invalid hub name, empty groups', async () => {
  const longGroup = 'g'.repeat(1025);
  for (const [label, path] of [
    ['group name too long', apiPath(HUB, `/groups/${longGroup}/:send`)],
    ['whitespace-only group', apiPath(HUB, '/groups/%20%20/:send')],
    ['hub starting with a digit', `/api/hubs/1hub/:send?api-version=2024-12-01`],
  ]) {
    const res = await rawRequest(server, path, textBody);
    assertError(res, 400, { label });
  }
  const r = await rawRequest(server, apiPath(HUB, '/:addToGroups'), {
    body: JSON.stringify({ groups: [], filter: '' }),
    headers: { 'Content-Type': 'application/json' },
  });
  assertError(r, 400, { label: ':addToGroups empty groups' });
  // an invalid group name through the SDK: HTTP 400 reaches the caller
  const svc = serviceClient(server, HUB);
  await assert.rejects(svc.group(longGroup).sendToAll('x', { contentType: 'text/plain' }), (e) => e.statusCode === 400);
  await assertUndisturbed('bad names');
});

test('api-version: every supported version works, none = latest, unknown -> 400 listing the versions', async () => {
  for (const v of SUPPORTED_API_VERSIONS) {
    const res = await rawRequest(server, apiPath(HUB, '/:send', '', v), { body: v, headers: { 'Content-Type': 'text/plain' } });
    assert.equal(res.status, 202, `api-version ${v}: ${res.text}`);
    assert.equal((await nextData(watcher)).data, v);
  }
  const none = await rawRequest(server, apiPath(HUB, '/:send', '', null), { body: 'none', headers: { 'Content-Type': 'text/plain' } });
  assert.equal(none.status, 202, `no api-version: ${none.text}`);
  assert.equal((await nextData(watcher)).data, 'none');

  const res = await rawRequest(server, apiPath(HUB, '/:send', '', '1999-01-01'), textBody);
  const body = assertError(res, 400, { label: 'api-version 1999-01-01' });
  for (const v of ['2021-10-01', '2024-12-01']) assert.ok(body.message.includes(v), `message lists ${v}: ${body.message}`);
  await assertUndisturbed('api-version');
});

test('HEAD errors carry the status and no body', async () => {
  const res401 = await rawRequest(server, apiPath(HUB, '/connections/abc'), { method: 'HEAD', token: false });
  assertError(res401, 401, { head: true, label: 'HEAD no auth' });
  const res404 = await rawRequest(server, apiPath(HUB, '/connections/abc'), { method: 'HEAD' });
  assertError(res404, 404, { head: true, label: 'HEAD unknown connection' });
  const res400 = await rawRequest(server, apiPath(HUB, '/connections/abc', '', '1999-01-01'), { method: 'HEAD' });
  assertError(res400, 400, { head: true, label: 'HEAD bad api-version' });
  await assertUndisturbed('HEAD errors');
});

test('exact success statuses of the operation table (raw HTTP)', async () => {
  const id = watcher.connected.connectionId;
  const cases = [
    ['POST', apiPath(HUB, '/:send'), 202, textBody],
    ['POST', apiPath(HUB, `/connections/${id}/:send`), 202, textBody],
    ['POST', apiPath(HUB, '/users/watcher/:send'), 202, textBody],
    ['POST', apiPath(HUB, '/groups/eg/:send'), 202, textBody],
    ['HEAD', apiPath(HUB, `/connections/${id}`), 200],
    ['HEAD', apiPath(HUB, '/users/watcher'), 200],
    ['PUT', apiPath(HUB, `/groups/sg/connections/${id}`), 200],
    ['HEAD', apiPath(HUB, '/groups/sg'), 200],
    ['GET', apiPath(HUB, '/groups/sg/connections'), 200],
    ['DELETE', apiPath(HUB, `/groups/sg/connections/${id}`), 204],
    ['PUT', apiPath(HUB, '/users/watcher/groups/sg'), 200],
    ['DELETE', apiPath(HUB, '/users/watcher/groups/sg'), 204],
    ['DELETE', apiPath(HUB, '/users/watcher/groups'), 204],
    ['DELETE', apiPath(HUB, `/connections/${id}/groups`), 204],
    ['PUT', apiPath(HUB, `/permissions/sendToGroup/connections/${id}`, 'targetName=sg'), 200],
    ['HEAD', apiPath(HUB, `/permissions/sendToGroup/connections/${id}`, 'targetName=sg'), 200],
    ['DELETE', apiPath(HUB, `/permissions/sendToGroup/connections/${id}`, 'targetName=sg'), 204],
    ['HEAD', apiPath(HUB, `/permissions/sendToGroup/connections/${id}`, 'targetName=sg'), 404],
    ['POST', apiPath(HUB, '/:addToGroups'), 200, { body: JSON.stringify({ groups: ['ag'], filter: "userId eq 'nobody'" }), headers: { 'Content-Type': 'application/json' } }],
    ['POST', apiPath(HUB, '/:removeFromGroups'), 200, { body: JSON.stringify({ groups: ['ag'] }), headers: { 'Content-Type': 'application/json' } }],
    ['POST', apiPath(HUB, '/groups/nobody/:closeConnections', 'reason=x'), 204],
    ['POST', apiPath(HUB, '/users/nobody/:closeConnections', 'reason=x'), 204],
    ['DELETE', apiPath(HUB, '/connections/nobody', 'reason=x'), 204],
    ['POST', apiPath(`${HUB}empty`, '/:closeConnections', 'reason=x'), 204],
    ['POST', apiPath(HUB, '/:generateToken', 'userId=x'), 200],
  ];
  for (const [method, path, status, opts = {}] of cases) {
    const res = await rawRequest(server, path, { method, ...opts });
    assert.equal(res.status, status, `${method} ${path}: ${res.status} ${res.text}`);
  }
  // the four sends above reached the watcher (connection, user, hub; not the empty group)
  for (let i = 0; i < 3; i++) assert.equal((await nextData(watcher)).data, 'hello');
  await assertUndisturbed('status table');
});

test('a slow, incomplete REST request does not stall client traffic (keep-alive on the same port)', async () => {
  const sock = net.connect(server.port, 'localhost');
  await withTimeout(new Promise((r) => sock.once('connect', r)), 5000, 'tcp connect');
  sock.write(`POST ${sendPath()} HTTP/1.1\r\nHost: localhost:${server.port}\r\nContent-Type: text/plain\r\nContent-Length: 1000\r\n\r\npartial`);
  sock.on('error', () => {});
  try {
    await assertUndisturbed('slow request');
    // two requests on one keep-alive connection
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    const agentRes = [];
    const one = server.nodes ? server.nodes[0] : server; // in a cluster: both to the same node
    for (let i = 0; i < 2; i++) agentRes.push(await rawRequest(one, sendPath(), { body: `ka${i}`, headers: { 'Content-Type': 'text/plain' }, agent }));
    agent.destroy();
    assert.deepEqual(agentRes.map((r) => r.status), [202, 202]);
    assert.equal(agentRes[1].reusedSocket, true, 'second request reused the keep-alive connection');
    assert.equal((await nextData(watcher)).data, 'ka0');
    assert.equal((await nextData(watcher)).data, 'ka1');
  } finally {
    sock.destroy();
  }
});

test('--public-origin: audiences signed for the public origin are accepted; nextLink is built from it', async () => {
  const origin = 'https://pubsub.example.test:8443';
  const proxied = await startServer({ args: ['--public-origin', origin] });
  try {
    const c = await trackedJson(clients, proxied, 'po', { userId: 'po', groups: ['pg'] });
    const c2 = await trackedJson(clients, proxied, 'po', { groups: ['pg'] });
    const path = apiPath('po', '/:send');
    const ok = await rawRequest(proxied, path, { ...textBody, tokenOptions: { aud: `${origin}${path}` } });
    assert.equal(ok.status, 202, ok.text);
    assert.equal((await nextData(c)).data, 'hello');
    assert.equal((await nextData(c2)).data, 'hello');
    const list = await rawRequest(proxied, apiPath('po', '/groups/pg/connections', 'maxpagesize=1'), {
      method: 'GET',
      tokenOptions: { aud: `${origin}${apiPath('po', '/groups/pg/connections', 'maxpagesize=1')}` },
    });
    assert.equal(list.status, 200, list.text);
    assert.equal(list.json.value.length, 1, list.text);
    assert.ok(list.json.nextLink.startsWith(`${origin}/api/hubs/po/groups/pg/connections?`), list.text);
  } finally {
    await proxied.stop();
  }
});
